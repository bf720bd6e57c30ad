"""Planning pages through HTTP on the real dev server and worker (tests/planning_world.py's network,
reviewed and planned by the real writers): a buyer releases a proposal as a purchase order once
however often it is sent, dismisses one with a reason; HQ releases a transfer proposal line as a
transfer once; the supplier sees its own SKUs' stock and forecast and nothing else; the admin page
and the forecast page render in both languages; other roles and organisations are refused."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from supplychain import planning
from supplychain.models import (
    MovementType,
    ProposalStatus,
    PurchaseOrder,
    ReplenishmentProposal,
    Role,
    Transfer,
    TransferOrigin,
    TransferProposalLine,
)
from supplychain.rules.dates import business_date
from supplychain.rules.stock import StockDelta
from supplychain.settings import settings
from tests.factories import make_user
from tests.fixtures.numbers import fresh_document_numbers
from tests.fixtures.portal import WorkerThread
from tests.fixtures.web import ClientFactory, form_id_in, form_post, login
from tests.planning_world import HISTORY_DAYS, PlanningWorld, build_planning_world, noon, post


def today() -> dt.date:
    return business_date(dt.datetime.now(dt.UTC))


@pytest.fixture
def world(db: Engine, monkeypatch: pytest.MonkeyPatch) -> PlanningWorld:
    monkeypatch.setattr(settings, "PLANNING_HISTORY_DAYS", HISTORY_DAYS)
    monkeypatch.setattr(settings, "PLANNING_REVIEW_DAYS", 7)
    fresh_document_numbers(db, ("PO", "TR"))
    with Session(db, expire_on_commit=False) as session:
        world = build_planning_world(session, today())
        post(
            session,
            world.warehouse,
            world.sku_x,
            MovementType.RECEIPT,
            StockDelta(on_hand=30),
            noon(today() - dt.timedelta(days=1)),
        )
        return world


def _review(db: Engine, workflow_id: str) -> int:
    with Session(db) as session:
        planning.write_reorder_review(session, workflow_id=workflow_id, today=today())
        session.commit()
        return int(
            session.execute(
                select(col(ReplenishmentProposal.id)).where(
                    col(ReplenishmentProposal.status) == ProposalStatus.PROPOSED
                )
            ).scalar_one()
        )


def _count(db: Engine, model: type) -> int:
    with Session(db) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_buyer_releases_a_proposal_once_as_a_purchase_order_for_the_store(
    portal_client: ClientFactory, portal_worker: WorkerThread, world: PlanningWorld, db: Engine
) -> None:
    proposal_id = _review(db, "web-review-1")
    buyer = portal_client()
    login(buyer, world.buyer)
    listing = buyer.get("/planning/proposals")
    assert listing.status_code == 200 and f"/planning/proposals/{proposal_id}" in listing.text
    page = buyer.get(f"/planning/proposals/{proposal_id}")
    assert page.status_code == 200
    line = re.search(r'data-testid="proposal-line".*?</tr>', page.text, re.S)
    assert line is not None and world.sku_x.code in line.group(0)
    assert re.search(r'data-testid="reorder-point">6<', line.group(0))
    assert re.search(r'data-testid="quantity">18<', line.group(0))
    form_id = form_id_in(page.text, f"/planning/proposals/{proposal_id}/release")
    first = form_post(buyer, f"/planning/proposals/{proposal_id}/release", {"form_id": form_id})
    assert first.status_code == 303, first.text
    number = first.headers["location"].rsplit("/", 1)[1]
    again = form_post(buyer, f"/planning/proposals/{proposal_id}/release", {"form_id": form_id})
    assert again.status_code == 303 and again.headers["location"] == f"/planning/proposals/{proposal_id}"
    assert _count(db, PurchaseOrder) == 1
    with Session(db) as session:
        proposal = session.get(ReplenishmentProposal, proposal_id)
        assert proposal is not None
        assert (proposal.status, proposal.purchase_order_number) == (ProposalStatus.RELEASED, number)
        po = session.execute(select(PurchaseOrder).where(col(PurchaseOrder.number) == number)).scalar_one()
        assert (po.requester_user_id, po.requested_for_location_id, po.ship_to_location_id) == (
            world.buyer.id,
            world.store_a.id,
            world.warehouse.id,
        )
    # Released: no form any more, and the page says which order it became.
    page = buyer.get(f"/planning/proposals/{proposal_id}")
    assert "release-form" not in page.text and number in page.text


def test_a_buyer_dismisses_a_proposal_with_a_reason_only(
    portal_client: ClientFactory, world: PlanningWorld, db: Engine
) -> None:
    proposal_id = _review(db, "web-review-2")
    buyer = portal_client()
    login(buyer, world.buyer)
    page = buyer.get(f"/planning/proposals/{proposal_id}")
    url = f"/planning/proposals/{proposal_id}/dismiss"
    refused = form_post(buyer, url, {"form_id": form_id_in(page.text, url), "reason": "  "})
    assert refused.status_code == 400 and 'data-testid="action-error"' in refused.text
    done = form_post(buyer, url, {"form_id": form_id_in(page.text, url), "reason": "promotion ended"})
    assert done.status_code == 303
    with Session(db) as session:
        proposal = session.get(ReplenishmentProposal, proposal_id)
        assert proposal is not None and proposal.status is ProposalStatus.DISMISSED
    detail = buyer.get(f"/planning/proposals/{proposal_id}")
    assert "promotion ended" in detail.text  # on the timeline


def test_hq_releases_a_transfer_proposal_line_once(
    portal_client: ClientFactory, portal_worker: WorkerThread, world: PlanningWorld, db: Engine
) -> None:
    with Session(db) as session:
        planning.write_transfer_plan(session, workflow_id="web-plan-1", today=today())
        session.commit()
        line_id = session.execute(select(col(TransferProposalLine.id))).scalar_one()
    buyer = portal_client()
    login(buyer, world.buyer)
    page = buyer.get("/planning/transfers")
    assert page.status_code == 200 and 'data-testid="transfer-proposal"' in page.text
    assert re.search(r'data-testid="line-cost">[^<]*7\.50<', page.text)
    form_id = form_id_in(page.text, "/planning/transfers")
    data = {"form_id": form_id, "line": str(line_id), "action": "release"}
    first = form_post(buyer, "/planning/transfers", data)
    assert first.status_code == 303, first.text
    again = form_post(buyer, "/planning/transfers", data)
    assert again.status_code == 303
    assert _count(db, Transfer) == 1
    with Session(db) as session:
        line = session.get(TransferProposalLine, line_id)
        assert line is not None and line.status is ProposalStatus.RELEASED and line.transfer_number
        transfer = session.execute(
            select(Transfer).where(col(Transfer.number) == line.transfer_number)
        ).scalar_one()
        assert transfer.origin is TransferOrigin.PLANNER
        assert (transfer.source_location_id, transfer.destination_location_id) == (
            world.warehouse.id,
            world.store_a.id,
        )


def test_the_supplier_sees_only_its_own_skus_stock_and_forecast_and_no_prices(
    portal_client: ClientFactory, world: PlanningWorld
) -> None:
    supplier = portal_client()
    login(supplier, world.supplier_user)
    page = supplier.get("/supplier/stock-forecast")
    assert page.status_code == 200
    assert world.sku_x.code in page.text and world.sku_other.code not in page.text
    assert "10.00" not in page.text and "¥" not in page.text
    x = re.search(rf'data-testid="sku-{world.sku_x.code}".*?</section>', page.text, re.S)
    assert x is not None
    assert re.search(r'data-testid="on-hand">35<', x.group(0))  # 5 at store A + 30 at the warehouse
    assert re.search(r'data-testid="sold">8<', x.group(0))
    other = portal_client()
    login(other, world.other_supplier_user)
    theirs = other.get("/supplier/stock-forecast")
    assert world.sku_x.code not in theirs.text and world.sku_other.code in theirs.text


def test_other_roles_and_organisations_are_refused(
    portal_client: ClientFactory, world: PlanningWorld, db: Engine
) -> None:
    proposal_id = _review(db, "web-review-3")
    store = portal_client()
    login(store, world.store_user)
    assert store.get("/planning/proposals").status_code == 403
    assert store.get(f"/planning/proposals/{proposal_id}").status_code == 403
    assert store.get("/supplier/stock-forecast").status_code == 403
    supplier = portal_client()
    login(supplier, world.supplier_user)
    assert supplier.get("/planning/transfers").status_code == 403
    assert supplier.get("/admin/planning").status_code == 403
    for url in (
        "/planning/run/reorder-review",
        "/admin/planning/reorder-review/pause",
        "/planning/transfers",
    ):
        assert form_post(supplier, url, {"action": "release", "line": "1"}).status_code == 403
    assert form_post(store, "/planning/run/transfer-plan", {}).status_code == 403
    # A buyer of another organisation would need the role in HQ; a supplier with a buyer's role
    # cannot exist (roles belong to kinds of organisation), so scoping is the second wall: HQ only.
    with Session(db) as session:
        from supplychain.models import Organisation

        org = session.get(Organisation, world.supplier.id)
        assert org is not None
    buyer = portal_client()
    login(buyer, world.buyer)
    assert buyer.get("/planning/proposals/999999").status_code == 404


def test_the_admin_page_and_the_forecast_page_render_in_both_languages(
    portal_client: ClientFactory, world: PlanningWorld, db: Engine
) -> None:
    # Three weeks of sales at store B: enough history for a forecast.
    with Session(db) as session:
        post(
            session,
            world.store_b,
            world.sku_y,
            MovementType.RECEIPT,
            StockDelta(on_hand=500),
            noon(today() - dt.timedelta(days=40)),
        )
        for n in range(21):
            post(
                session,
                world.store_b,
                world.sku_y,
                MovementType.ISSUE,
                StockDelta(on_hand=-(2 + n % 3)),
                noon(today() - dt.timedelta(days=n)),
            )
        english = make_user(session, organisation=world.hq, roles=[Role.ADMIN, Role.BUYER], locale="en")
    for user, words in ((world.admin, "计划"), (english, "Planning schedules")):
        client = portal_client()
        login(client, user)
        page = client.get("/admin/planning")
        assert page.status_code == 200 and words in page.text
    client = portal_client()
    login(client, english)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(settings, "PLANNING_HISTORY_DAYS", 21)
        chart = client.get(f"/planning/sku/{world.store_b.id}/{world.sku_y.id}")
    assert chart.status_code == 200, chart.text[-3000:]
    assert 'data-testid="demand-chart"' in chart.text and 'data-testid="forecast"' in chart.text
    assert "Demand and forecast" in chart.text
    short = client.get(f"/planning/sku/{world.store_a.id}/{world.sku_x.id}")
    assert short.status_code == 200 and 'data-testid="no-forecast"' in short.text


def test_the_proposal_pages_take_the_same_number_of_queries_for_one_proposal_and_three(
    make_client: ClientFactory, world: PlanningWorld, db: Engine
) -> None:
    from tests.web.test_replenishment_catalogue import counted

    first = _review(db, "web-review-q1")
    buyer = make_client()
    login(buyer, world.buyer)
    buyer.get("/planning/proposals?status=all")
    with counted(db) as few:
        buyer.get("/planning/proposals?status=all")
    with counted(db) as one_line:
        buyer.get(f"/planning/proposals/{first}")
    for n in (2, 3):
        _review(db, f"web-review-q{n}")
    with counted(db) as many:
        buyer.get("/planning/proposals?status=all")
    assert len(few) == len(many)
    last = _review(db, "web-review-q4")
    with counted(db) as again:
        buyer.get(f"/planning/proposals/{last}")
    assert len(one_line) == len(again)

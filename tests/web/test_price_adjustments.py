"""Price adjustments (issue 12): a buyer enters them, the supplier reads its own, the next statement
collects them; bad input is refused beside its field with nothing written."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from starlette.testclient import TestClient

from supplychain import price_adjustments, statements
from supplychain.models import DocumentEvent, DocumentSequence, Notification, Role
from supplychain.models.settlement import PriceAdjustment, StatementLineSource
from supplychain.rules.dates import BUSINESS_TIMEZONE
from supplychain.rules.statement import Period
from tests.factories import make_user
from tests.fixtures.web import ClientFactory, form_id_in, form_post, login
from tests.statement_world import StatementWorld, build_world, receive
from tests.web.test_queries_per_page import counted


@pytest.fixture
def world(session: Session) -> StatementWorld:
    return build_world(session)


def _entry(world: StatementWorld, **changes: str) -> dict[str, str]:
    return {
        "supplier_id": str(world.supplier_id),
        "po_number": "",
        "reason": "Volume rebate Q4",
        "vat_rate": "13",
        "net_amount": "-120.50",
        **changes,
    }


def _adjustments(session: Session) -> list[PriceAdjustment]:
    session.expire_all()
    return list(session.execute(select(PriceAdjustment).order_by(col(PriceAdjustment.id))).scalars())


def test_a_buyer_adds_a_rebate_and_a_surcharge_the_supplier_sees_them_and_the_next_statement_collects_them(
    client: TestClient, make_client: ClientFactory, world: StatementWorld, session: Session
) -> None:
    po = receive(session, world, on=date(2026, 1, 10), lots=[3]).po
    login(client, world.buyer)
    rebate = form_post(client, "/price-adjustments", _entry(world, po_number=po.number))
    assert rebate.status_code == 303, rebate.text
    surcharge = form_post(
        client, "/price-adjustments", _entry(world, reason="Freight surcharge", vat_rate="6", net_amount="80")
    )
    assert surcharge.status_code == 303, surcharge.text

    first, second = _adjustments(session)
    assert first.number.startswith(f"ADJ-{datetime.now(BUSINESS_TIMEZONE).year}-")
    assert (first.po_number, first.tax_rate, first.net_amount, first.tax_amount, first.total_amount) == (
        po.number,
        Decimal("0.13"),
        Decimal("-120.50"),
        Decimal("-15.67"),  # 15.665 half-up, away from zero
        Decimal("-136.17"),
    )
    assert (second.po_number, second.net_amount, second.tax_amount, second.total_amount) == (
        "",
        Decimal("80.00"),
        Decimal("4.80"),
        Decimal("84.80"),
    )
    assert rebate.headers["location"] == f"/price-adjustments/{first.number}"
    page = client.get(rebate.headers["location"])
    assert 'data-action="created"' in page.text and "Volume rebate Q4" in page.text
    told = (
        session.execute(select(Notification).where(col(Notification.document_id) == first.number))
        .scalars()
        .all()
    )
    assert [n.user_id for n in told] == [world.supplier_user.id]

    supplier = make_client()
    login(supplier, world.supplier_user)
    listed = supplier.get("/price-adjustments").text
    assert first.number in listed and second.number in listed
    assert listed.index(second.number) < listed.index(first.number)  # newest first
    assert 'href="/price-adjustments/new"' not in listed
    assert supplier.get(f"/price-adjustments/{first.number}").status_code == 200

    today = datetime.now(UTC).astimezone(BUSINESS_TIMEZONE).date()
    period = Period(today - timedelta(days=60), today)
    statement, _told = statements.collect_statement(
        session,
        workflow_id=statements.statement_workflow_id(world.supplier_id, period),
        supplier_id=world.supplier_id,
        period=period,
        idempotency_key=f"test-adjustments-{world.supplier_id}",
        at=datetime.now(UTC),
    )
    session.commit()
    assert statement is not None and statement.id is not None
    collected = {
        line.source_id: line
        for line in statements.statement_lines(session, statement.id)
        if line.source_type is StatementLineSource.PRICE_ADJUSTMENT
    }
    assert first.id is not None and second.id is not None
    assert set(collected) == {first.id, second.id}
    assert (collected[first.id].net_amount, collected[first.id].tax_amount) == (
        Decimal("-120.50"),
        Decimal("-15.67"),
    )
    assert collected[second.id].total_amount == Decimal("84.80")
    listed = supplier.get("/price-adjustments").text
    assert f'href="/statements/{statement.number}"' in listed  # which statement each landed on


@pytest.mark.parametrize(
    ("field", "changes", "message"),
    [
        ("net_amount", {"net_amount": "0"}, "cannot be zero"),
        ("net_amount", {"net_amount": "-0.00"}, "cannot be zero"),
        ("net_amount", {"net_amount": "twelve"}, "Enter an amount excluding VAT"),
        ("net_amount", {"net_amount": "12.345"}, "at most 2 decimals"),
        ("net_amount", {"net_amount": "-10000000.01"}, "at most 10,000,000"),
        ("reason", {"reason": "   "}, "Enter the reason"),
        ("vat_rate", {"vat_rate": "17"}, "Choose a VAT rate"),
        ("supplier_id", {"supplier_id": "hq"}, "Choose a supplier"),  # HQ is no supplier
        ("po_number", {"po_number": "other"}, "is not a purchase order of this supplier"),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_nothing_is_written(
    client: TestClient,
    world: StatementWorld,
    session: Session,
    field: str,
    changes: dict[str, str],
    message: str,
) -> None:
    if changes.get("po_number") == "other":  # a real PO, but another supplier's
        changes = {
            "po_number": receive(
                session, world, on=date(2026, 1, 10), lots=[1], supplier=world.other_supplier
            ).po.number
        }
    if changes.get("supplier_id") == "hq":
        changes = {"supplier_id": str(world.hq.id)}
    login(client, world.buyer)
    response = form_post(client, "/price-adjustments", _entry(world, **changes))
    assert response.status_code == 400
    assert f'data-testid="error-{field}"' in response.text and message in response.text
    assert _adjustments(session) == []
    assert (
        session.execute(
            select(DocumentSequence).where(col(DocumentSequence.prefix) == "ADJ")
        ).scalar_one_or_none()
        is None
    )  # not even a number reserved
    assert (
        session.execute(
            select(func.count())
            .select_from(DocumentEvent)
            .where(col(DocumentEvent.document_type) == "price_adjustment")
        ).scalar_one()
        == 0
    )


def test_a_supplier_cannot_post_the_form_and_finance_only_reads(
    make_client: ClientFactory, world: StatementWorld, session: Session
) -> None:
    supplier = make_client()
    login(supplier, world.supplier_user)
    assert form_post(supplier, "/price-adjustments", _entry(world)).status_code == 403
    assert supplier.get("/price-adjustments/new").status_code == 403
    finance = make_client()
    login(finance, make_user(session, organisation=world.hq, roles=[Role.FINANCE], locale="en"))
    assert finance.get("/price-adjustments").status_code == 200
    assert form_post(finance, "/price-adjustments", _entry(world)).status_code == 403
    assert _adjustments(session) == []


def test_another_suppliers_adjustment_is_404(
    client: TestClient, make_client: ClientFactory, world: StatementWorld, session: Session
) -> None:
    login(client, world.buyer)
    assert form_post(client, "/price-adjustments", _entry(world)).status_code == 303
    (adjustment,) = _adjustments(session)
    other = make_client()
    login(other, world.other_supplier_user)
    assert other.get(f"/price-adjustments/{adjustment.number}").status_code == 404
    assert adjustment.number not in other.get("/price-adjustments").text


def test_the_same_form_sent_twice_records_one_adjustment(
    client: TestClient, world: StatementWorld, session: Session
) -> None:
    login(client, world.buyer)
    form_id = form_id_in(client.get("/price-adjustments/new").text, "/price-adjustments")
    first = form_post(client, "/price-adjustments", {**_entry(world), "form_id": form_id})
    again = form_post(client, "/price-adjustments", {**_entry(world), "form_id": form_id})
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert len(_adjustments(session)) == 1


def test_the_list_costs_the_same_statements_over_one_adjustment_or_many(
    client: TestClient, world: StatementWorld, session: Session, db: Engine
) -> None:
    def add(count: int) -> None:
        for n in range(count):
            entry = price_adjustments.AdjustmentEntry(str(world.supplier_id), "", f"rebate {n}", "9", "-1.00")
            price_adjustments.create_price_adjustment(session, entry, user_id=world.buyer.id or 0)

    login(client, world.buyer)
    add(1)
    with counted(db) as few:
        assert client.get("/price-adjustments").status_code == 200
    add(6)
    with counted(db) as many:
        assert client.get("/price-adjustments").status_code == 200
    assert len(many) == len(few)


def test_the_form_and_its_messages_render_in_chinese(
    client: TestClient, world: StatementWorld, session: Session
) -> None:
    buyer = make_user(session, organisation=world.hq, roles=[Role.BUYER], locale="zh_CN")
    login(client, buyer)
    assert "新建价格调整" in client.get("/price-adjustments/new").text
    refused = form_post(client, "/price-adjustments", _entry(world, net_amount="0"))
    assert refused.status_code == 400 and "调整金额不能为零。" in refused.text
    assert "价格调整" in client.get("/price-adjustments").text

"""Statement pages through the real dev server and worker: the supplier sees only its own
statements (404 for another's by URL and by form), confirms or disputes lines; the buyer sees the
disputes to resolve and resolves them; bad input is refused on the page with nothing changed."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from temporalio.client import Client

from supplychain import statements
from supplychain.models import DebitNoteKind, DocumentEvent, InspectionStage, Statement
from supplychain.models.settlement import StatementDispute, StatementLine, StatementStatus
from supplychain.rules.statement import Period
from supplychain.temporal import connect
from tests.fixtures.portal import WorkerThread
from tests.fixtures.web import ClientFactory, form_id_in, form_post, login
from tests.statement_world import StatementWorld, build_world, debit_note, inspect, receive
from workflows.statement import StatementInput, StatementState, StatementWorkflow

JANUARY = Period(date(2026, 1, 1), date(2026, 1, 31))


@pytest.fixture
async def temporal(portal_worker: WorkerThread) -> Client:
    return await connect(portal_worker.address)


@pytest.fixture
def world(db: Engine) -> StatementWorld:
    with Session(db, expire_on_commit=False) as session:
        world = build_world(session)
        receipt = receive(session, world, on=date(2026, 1, 10), lots=[3, 4])
        inspection = inspect(session, world, receipt, 2, stage=InspectionStage.DONE)
        debit_note(
            session,
            world,
            inspection,
            kind=DebitNoteKind.RETURN_TO_VENDOR,
            quantity=1,
            net=Decimal("10.00"),
            tax=Decimal("1.30"),
            on=date(2026, 1, 11),
        )
        receive(session, world, on=date(2026, 1, 12), lots=[5], supplier=world.other_supplier)
        return world


async def start_statement(temporal: Client, portal_worker: WorkerThread, db: Engine, supplier_id: int) -> str:
    handle = await temporal.start_workflow(
        StatementWorkflow.run,
        StatementInput(supplier_id=supplier_id, period_start=JANUARY.start, period_end=JANUARY.end),
        id=statements.statement_workflow_id(supplier_id, JANUARY),
        task_queue=portal_worker.task_queue,
    )
    deadline = time.monotonic() + 20
    while True:
        state: StatementState = await handle.query(StatementWorkflow.get_state)
        if state.recorded:
            return state.number
        assert time.monotonic() < deadline, "the statement was never collected"
        await asyncio.sleep(0.05)


def snapshot(db: Engine, number: str) -> tuple[object, ...]:
    """Everything a refused click must leave as it was."""
    with Session(db) as session:
        statement = statements.get_statement(session, number)
        assert statement is not None
        lines = [
            (line.net_amount, line.tax_amount)
            for line in session.execute(
                select(StatementLine).where(col(StatementLine.statement_id) == statement.id)
            ).scalars()
        ]
        disputes = session.execute(select(func.count()).select_from(StatementDispute)).scalar_one()
        events = session.execute(
            select(func.count()).where(col(DocumentEvent.document_id) == number).select_from(DocumentEvent)
        ).scalar_one()
        return statement.status, statement.total_amount, tuple(lines), disputes, events


async def test_the_supplier_sees_only_its_own_statements_by_list_url_and_form(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    world: StatementWorld,
    db: Engine,
) -> None:
    mine = await start_statement(temporal, portal_worker, db, world.supplier_id)
    assert world.other_supplier.id is not None
    theirs = await start_statement(temporal, portal_worker, db, world.other_supplier.id)
    browser = portal_client()
    login(browser, world.supplier_user)

    listed = browser.get("/supplier/statements")
    assert listed.status_code == 200 and mine in listed.text and theirs not in listed.text
    page = browser.get(f"/statements/{mine}")
    assert page.status_code == 200
    assert 'href="/purchase-orders/PO-' in page.text and 'href="/inspections/INS-' in page.text  # sources
    assert browser.get(f"/statements/{theirs}").status_code == 404
    before = snapshot(db, theirs)
    assert form_post(browser, f"/statements/{theirs}/confirm").status_code == 404
    refused = form_post(browser, f"/statements/{theirs}/lines/1/dispute", {"reason": "x", "amount": "1"})
    assert refused.status_code == 404
    assert snapshot(db, theirs) == before
    assert browser.get("/statements").status_code == 403  # HQ's list
    assert browser.get("/statement-disputes").status_code == 403


async def test_dispute_resolve_and_confirm_through_the_pages(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    world: StatementWorld,
    db: Engine,
) -> None:
    number = await start_statement(temporal, portal_worker, db, world.supplier_id)
    supplier, buyer = portal_client(), portal_client()
    login(supplier, world.supplier_user)
    login(buyer, world.buyer)

    page = supplier.get(f"/statements/{number}")
    assert 'data-testid="source-link"' in page.text
    assert f"/statements/{number}/confirm" in page.text
    action = f"/statements/{number}/lines/1/dispute"
    disputed = form_post(
        supplier,
        action,
        {"reason": "2 units damaged", "amount": "20.00", "form_id": form_id_in(page.text, action)},
    )
    assert disputed.status_code == 303, disputed.text
    with Session(db) as session:
        assert statements.get_statement(session, number).status is StatementStatus.DISPUTED

    queue = buyer.get("/statement-disputes")
    assert queue.status_code == 200 and number in queue.text and "2 units damaged" in queue.text
    page = buyer.get(f"/statements/{number}")
    action = f"/statements/{number}/lines/1/resolve"
    resolved = form_post(
        buyer, action, {"resolution": "accepted_supplier", "form_id": form_id_in(page.text, action)}
    )
    assert resolved.status_code == 303, resolved.text
    assert number not in buyer.get("/statement-disputes").text

    page = supplier.get(f"/statements/{number}")
    assert 'data-testid="dispute-1-1"' in page.text
    action = f"/statements/{number}/confirm"
    confirmed = form_post(supplier, action, {"form_id": form_id_in(page.text, action)})
    assert confirmed.status_code == 303, confirmed.text
    with Session(db) as session:
        statement = statements.get_statement(session, number)
        assert statement is not None and statement.status is StatementStatus.CONFIRMED
        assert statement.total_amount == Decimal("56.50")  # 20 + 40 - 10 net, 13 % VAT

    again = form_post(supplier, action)
    assert again.status_code == 400 and "already confirmed" in again.text
    page = supplier.get(f"/statements/{number}")
    assert 'data-action="confirmed"' in page.text and 'data-action="line_disputed"' in page.text
    assert number in supplier.get("/supplier/statements?status=confirmed").text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"reason": "too much", "amount": "-5"}, "positive number"),
        ({"reason": "too much", "amount": "abc"}, "Enter an amount"),
        ({"reason": "too much", "amount": "1.005"}, "at most 2 decimals"),
        ({"reason": "  ", "amount": "5"}, "Give a reason"),
    ],
)
async def test_bad_dispute_input_is_refused_with_nothing_changed(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    world: StatementWorld,
    db: Engine,
    fields: dict[str, str],
    message: str,
) -> None:
    number = await start_statement(temporal, portal_worker, db, world.supplier_id)
    browser = portal_client()
    login(browser, world.supplier_user)
    before = snapshot(db, number)
    response = form_post(browser, f"/statements/{number}/lines/1/dispute", fields)
    assert response.status_code == 400 and message in response.text
    assert snapshot(db, number) == before


async def test_the_buyer_must_comment_to_keep_our_figure_and_cannot_confirm(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    world: StatementWorld,
    db: Engine,
) -> None:
    number = await start_statement(temporal, portal_worker, db, world.supplier_id)
    supplier, buyer = portal_client(), portal_client()
    login(supplier, world.supplier_user)
    login(buyer, world.buyer)
    assert (
        form_post(
            supplier, f"/statements/{number}/lines/3/dispute", {"reason": "r", "amount": "5"}
        ).status_code
        == 303
    )
    before = snapshot(db, number)
    kept = form_post(
        buyer, f"/statements/{number}/lines/3/resolve", {"resolution": "kept_ours", "comment": ""}
    )
    assert kept.status_code == 400 and "Give a comment" in kept.text
    adjusted = form_post(
        buyer, f"/statements/{number}/lines/3/resolve", {"resolution": "adjusted", "amount": "-1"}
    )
    assert adjusted.status_code == 400 and "positive number" in adjusted.text
    assert form_post(buyer, f"/statements/{number}/confirm").status_code == 403
    assert snapshot(db, number) == before
    done = form_post(
        buyer, f"/statements/{number}/lines/3/resolve", {"resolution": "adjusted", "amount": "8"}
    )
    assert done.status_code == 303
    with Session(db) as session:
        line = session.execute(select(StatementLine).where(col(StatementLine.line_no) == 3)).scalars().first()
        assert line is not None and line.net_amount == Decimal("-8.00")
        assert session.execute(select(Statement)).scalars().first() is not None


async def test_the_same_dispute_form_sent_twice_raises_one_dispute(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    world: StatementWorld,
    db: Engine,
) -> None:
    number = await start_statement(temporal, portal_worker, db, world.supplier_id)
    browser = portal_client()
    login(browser, world.supplier_user)
    page = browser.get(f"/statements/{number}")
    action = f"/statements/{number}/lines/2/dispute"
    fields = {"reason": "1 unit short", "amount": "30", "form_id": form_id_in(page.text, action)}
    first = form_post(browser, action, fields)
    second = form_post(browser, action, fields)
    assert (first.status_code, second.status_code) == (303, 303), second.text
    with Session(db) as session:
        disputes = session.execute(select(StatementDispute)).scalars().all()
        assert [(d.round, d.supplier_net_amount) for d in disputes] == [(1, Decimal("30.00"))]

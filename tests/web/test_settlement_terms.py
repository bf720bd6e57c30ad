"""The admin page of a supplier's settlement terms and statement schedule, against the dev server:
saving the terms brings the schedule to the cycle, pause/resume/run now act on it, bad input is
refused with nothing changed, and only admins reach it."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session
from temporalio.client import Client
from temporalio.service import RPCError

from supplychain import statement_schedules as schedules
from supplychain.models import DocumentEvent, OrgKind, Role
from supplychain.models.settlement import DueDateMode, SettlementTerms, StatementCycle
from supplychain.rules.dates import BUSINESS_TIMEZONE
from supplychain.temporal import connect
from tests.factories import make_organisation, make_user
from tests.fixtures.portal import WorkerThread
from tests.fixtures.web import ClientFactory, form_post, login
from tests.statement_world import StatementWorld, build_world

VALID = {
    "statement_cycle": "weekly",
    "payment_days": "10",
    "due_date_mode": "working_days",
    "prices_include_tax": "on",
    "tolerance_amount": "2.50",
    "tolerance_percent": "0.5",
    "early_payment_percent_per_day": "0.05",
}


@pytest.fixture
async def temporal(portal_worker: WorkerThread) -> Client:
    return await connect(portal_worker.address)


@pytest.fixture
def world(db: Engine) -> StatementWorld:
    with Session(db, expire_on_commit=False) as session:
        return build_world(session)


@pytest.fixture
def admin(db: Engine, world: StatementWorld) -> object:
    with Session(db, expire_on_commit=False) as session:
        return make_user(session, organisation=world.hq, roles=[Role.ADMIN], locale="en")


def _terms(db: Engine, supplier_id: int) -> tuple[object, ...] | None:
    with Session(db) as session:
        row = session.execute(
            select(SettlementTerms).where(SettlementTerms.supplier_id == supplier_id)
        ).scalar_one_or_none()
        events = session.execute(select(func.count()).select_from(DocumentEvent)).scalar_one()
        if row is None:
            return (None, events)
        return (row.statement_cycle, row.payment_days, row.tolerance_percent, row.schedule_paused, events)


async def test_saving_the_terms_sets_the_schedule_and_the_buttons_act_on_it(
    portal_client: ClientFactory,
    portal_worker: WorkerThread,
    temporal: Client,
    world: StatementWorld,
    admin: object,
    db: Engine,
) -> None:
    browser = portal_client()
    login(browser, admin)
    url = f"/admin/suppliers/{world.supplier_id}/settlement"
    try:
        page = browser.get(url)
        assert page.status_code == 200 and "No schedule yet" in page.text

        saved = form_post(browser, url, VALID)
        assert saved.status_code == 303, saved.text
        with Session(db) as session:
            terms = session.execute(select(SettlementTerms)).scalar_one()
            assert (terms.statement_cycle, terms.payment_days, terms.due_date_mode) == (
                StatementCycle.WEEKLY,
                10,
                DueDateMode.WORKING_DAYS,
            )
            assert terms.prices_include_tax and terms.tolerance_amount == Decimal("2.50")
            assert terms.tolerance_percent == Decimal(
                "0.005"
            ) and terms.early_payment_rate_per_day == Decimal("0.0005")
        status = await schedules.describe_schedule(temporal, world.supplier_id)
        assert status is not None and not status.paused
        assert all(moment.astimezone(BUSINESS_TIMEZONE).weekday() == 0 for moment in status.next_runs)

        assert form_post(browser, f"{url}/schedule/pause").status_code == 303
        status = await schedules.describe_schedule(temporal, world.supplier_id)
        assert status is not None and status.paused
        assert _terms(db, world.supplier_id)[3] is True  # type: ignore[index]
        assert "Paused" in browser.get(url).text
        assert form_post(browser, f"{url}/schedule/resume").status_code == 303
        status = await schedules.describe_schedule(temporal, world.supplier_id)
        assert status is not None and not status.paused
        assert form_post(browser, f"{url}/schedule/run-now").status_code == 303
        page = browser.get(url)
        assert 'data-action="schedule_paused"' in page.text and 'data-action="schedule_resumed"' in page.text
    finally:
        with contextlib.suppress(RPCError):
            await temporal.get_schedule_handle(schedules.schedule_id(world.supplier_id)).delete()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("payment_days", "0"),
        ("payment_days", "abc"),
        ("tolerance_amount", "-1"),
        ("tolerance_amount", "1.234"),
        ("tolerance_percent", "101"),
        ("early_payment_percent_per_day", "x"),
        ("statement_cycle", "daily"),
    ],
)
async def test_bad_terms_are_refused_with_nothing_changed(
    portal_client: ClientFactory, world: StatementWorld, admin: object, db: Engine, field: str, value: str
) -> None:
    browser = portal_client()
    login(browser, admin)
    before = _terms(db, world.supplier_id)
    response = form_post(browser, f"/admin/suppliers/{world.supplier_id}/settlement", {**VALID, field: value})
    assert response.status_code == 400
    assert _terms(db, world.supplier_id) == before


async def test_only_admins_reach_the_page_and_only_for_a_supplier(
    portal_client: ClientFactory, world: StatementWorld, admin: object, db: Engine
) -> None:
    supplier = portal_client()
    login(supplier, world.supplier_user)
    url = f"/admin/suppliers/{world.supplier_id}/settlement"
    assert supplier.get(url).status_code == 403
    assert form_post(supplier, f"{url}/schedule/run-now").status_code == 403
    browser = portal_client()
    login(browser, admin)
    assert world.hq.id is not None
    assert browser.get(f"/admin/suppliers/{world.hq.id}/settlement").status_code == 404
    with Session(db) as session:
        distributor = make_organisation(session, kind=OrgKind.DISTRIBUTOR)
    assert browser.get(f"/admin/suppliers/{distributor.id}/settlement").status_code == 404
    assert form_post(browser, f"{url}/schedule/explode").status_code == 404

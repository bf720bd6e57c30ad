"""supplychain.planning_data: daily demand and last movement dates read from the stock ledger,
posted through the stock service, on business (China) days, in one query; SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session

from supplychain.models import LocationKind, MovementType, OrgKind, StockLedgerEntry
from supplychain.planning_data import daily_demand, last_movement_dates, stock_ages
from supplychain.rules.stock import StockDelta
from supplychain.rules.transfer_planner import StockAge
from supplychain.stock import post_movement
from tests.factories import make_location, make_organisation, make_sku

UTC = dt.UTC
TODAY = dt.date(2026, 12, 6)  # China date
_keys = itertools.count()

Post = Callable[..., None]


@pytest.fixture
def post(session: Session, monkeypatch: pytest.MonkeyPatch) -> Post:
    """Post a movement through the stock service as if at the UTC moment `at` (the ledger's
    `created_at` is stamped by the row's default, the clock the service itself uses)."""
    field = StockLedgerEntry.model_fields["created_at"]

    def _post(
        location_id: int, sku_id: int, movement_type: MovementType, delta: StockDelta, at: dt.datetime
    ) -> None:
        monkeypatch.setattr(field, "default_factory", lambda: at)
        post_movement(
            session,
            idempotency_key=f"planning-data-test-{next(_keys)}",
            location_id=location_id,
            sku_id=sku_id,
            movement_type=movement_type,
            delta=delta,
            source_document_type="test",
            source_document_id="T-1",
        )

    return _post


@pytest.fixture
def world(session: Session) -> tuple[int, int, int, int]:
    """Two stores and two SKUs: (store_a, store_b, sku_x, sku_y) ids."""
    org = make_organisation(session, kind=OrgKind.HQ)
    a = make_location(session, organisation=org, kind=LocationKind.STORE)
    b = make_location(session, organisation=org, kind=LocationKind.STORE)
    x, y = make_sku(session), make_sku(session)
    assert a.id and b.id and x.id and y.id
    return a.id, b.id, x.id, y.id


def issue(quantity: int) -> StockDelta:
    return StockDelta(on_hand=-quantity)


def at(y: int, m: int, d: int, hh: int = 12, mm: int = 0, ss: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, ss, tzinfo=UTC)


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_daily_demand_sums_issues_per_china_day_with_zero_days(
    session: Session, world: tuple[int, int, int, int], post: Post
) -> None:
    a, b, x, y = world
    post(a, x, MovementType.OPENING, StockDelta(on_hand=1000), at(2026, 11, 1))
    post(a, x, MovementType.ISSUE, issue(11), at(2026, 12, 1, 15, 59))  # China Dec 1 23:59: before
    post(a, x, MovementType.ISSUE, issue(9), at(2026, 12, 3, 12))  # China Dec 3 20:00
    post(a, x, MovementType.ISSUE, issue(2), at(2026, 12, 4, 1))  # China Dec 4 09:00
    post(a, x, MovementType.ISSUE, issue(5), at(2026, 12, 4, 3))  # China Dec 4 11:00: same day
    post(a, x, MovementType.ISSUE, issue(3), at(2026, 12, 5, 15, 59, 59))  # China Dec 5 23:59:59
    post(a, x, MovementType.ISSUE, issue(4), at(2026, 12, 5, 16))  # China Dec 6 00:00: today
    post(a, x, MovementType.ISSUE, issue(8), at(2026, 12, 6, 16))  # China Dec 7: after today
    # Not demand: a count correction, a reservation and its dispatch (a transfer leaving).
    post(a, x, MovementType.ADJUSTMENT, StockDelta(on_hand=-1), at(2026, 12, 5))
    post(a, x, MovementType.RESERVE, StockDelta(reserved=6), at(2026, 12, 5))
    post(a, x, MovementType.DISPATCH, StockDelta(on_hand=-6, reserved=-6), at(2026, 12, 5))
    post(b, x, MovementType.OPENING, StockDelta(on_hand=50), at(2026, 11, 1))
    post(b, x, MovementType.ISSUE, issue(1), at(2026, 12, 2))  # China Dec 2: the first day of 5

    demand = daily_demand(session, location_ids=[a, b], sku_ids=[x, y], days=5, today=TODAY)
    # Days Dec 2, 3, 4, 5, 6 (China)
    assert demand == {
        (a, x): [0, 9, 7, 3, 4],
        (a, y): [0, 0, 0, 0, 0],
        (b, x): [1, 0, 0, 0, 0],
        (b, y): [0, 0, 0, 0, 0],
    }
    # A shorter window drops the older days.
    assert daily_demand(session, location_ids=[a], sku_ids=[x], days=2, today=TODAY) == {(a, x): [3, 4]}


def test_daily_demand_is_one_query_whatever_the_size(
    session: Session, world: tuple[int, int, int, int], post: Post, db: Engine
) -> None:
    a, b, x, y = world
    for location, sku in itertools.product((a, b), (x, y)):
        post(location, sku, MovementType.OPENING, StockDelta(on_hand=100), at(2026, 11, 1))
        for day in range(1, 6):
            post(location, sku, MovementType.ISSUE, issue(day), at(2026, 12, day))
    session.flush()
    with counted(db) as statements:
        demand = daily_demand(session, location_ids=[a, b], sku_ids=[x, y], days=90, today=TODAY)
    assert len(statements) == 1
    assert all(sum(series) == 15 and len(series) == 90 for series in demand.values())


def test_daily_demand_of_nothing_asks_nothing(session: Session, db: Engine) -> None:
    with counted(db) as statements:
        assert daily_demand(session, location_ids=[], sku_ids=[1], days=7, today=TODAY) == {}
    assert statements == []


@pytest.mark.parametrize("days", [0, -1, 100_000])
def test_daily_demand_refuses_a_bad_window(session: Session, days: int) -> None:
    with pytest.raises(ValueError):
        daily_demand(session, location_ids=[1], sku_ids=[1], days=days, today=TODAY)


def test_last_movement_dates_take_any_movement_on_china_days(
    session: Session, world: tuple[int, int, int, int], post: Post, db: Engine
) -> None:
    a, b, x, y = world
    post(a, x, MovementType.OPENING, StockDelta(on_hand=10), at(2026, 8, 1))
    post(a, x, MovementType.ISSUE, issue(1), at(2026, 9, 1))
    post(a, x, MovementType.RESERVE, StockDelta(reserved=2), at(2026, 9, 30, 16, 30))  # China Oct 1
    post(b, y, MovementType.OPENING, StockDelta(on_hand=5), at(2026, 3, 1))
    session.flush()
    with counted(db) as statements:
        last = last_movement_dates(session)
    assert len(statements) == 1
    assert last == {(a, x): dt.date(2026, 10, 1), (b, y): dt.date(2026, 3, 1)}
    assert last_movement_dates(session, location_ids=[b]) == {(b, y): dt.date(2026, 3, 1)}
    assert last_movement_dates(session, sku_ids=[x], location_ids=[b]) == {}


def test_stock_ages_give_available_stock_with_its_last_movement(
    session: Session, world: tuple[int, int, int, int], post: Post
) -> None:
    a, b, x, y = world
    post(a, x, MovementType.OPENING, StockDelta(on_hand=10), at(2026, 8, 1))
    post(a, x, MovementType.RESERVE, StockDelta(reserved=4), at(2026, 8, 2))
    post(b, y, MovementType.OPENING, StockDelta(on_hand=5), at(2026, 3, 1))
    post(b, y, MovementType.ISSUE, issue(5), at(2026, 3, 2))  # nothing left: not listed
    assert stock_ages(session) == [StockAge(a, x, 6, dt.date(2026, 8, 2))]

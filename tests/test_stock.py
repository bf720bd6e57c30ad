"""The stock rules and the stock service: the ledger always sums to the balance, nothing goes negative,
a retried posting is a no-op and a refused one changes nothing."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from supplychain.models import (
    Location,
    LocationKind,
    MovementType,
    OrgKind,
    Sku,
    StockBalance,
    StockLedgerEntry,
)
from supplychain.rules.stock import (
    MOVEMENT_RULES,
    NEGATIVE,
    POSITIVE,
    SAME_AMOUNT_ON_HAND_AND_QUARANTINE,
    InvalidMovement,
    StockDelta,
    check_movement,
)
from supplychain.stock import InsufficientStock, PostingResult, get_balance, ledger_totals, post_movement
from tests.factories import make_location, make_organisation, make_sku

# --- Rules -----------------------------------------------------------------------------------------


def test_every_movement_type_has_a_rule() -> None:
    assert set(MOVEMENT_RULES) == set(MovementType)


@pytest.mark.parametrize(
    ("movement_type", "delta"),
    [
        (MovementType.OPENING, StockDelta(on_hand=10)),
        (MovementType.RECEIPT, StockDelta(on_hand=1)),
        (MovementType.ISSUE, StockDelta(on_hand=-3)),
        (MovementType.ADJUSTMENT, StockDelta(on_hand=2)),
        (MovementType.ADJUSTMENT, StockDelta(on_hand=-2)),
        (MovementType.RESERVE, StockDelta(reserved=4)),
        (MovementType.RELEASE, StockDelta(reserved=-4)),
        (MovementType.DISPATCH, StockDelta(on_hand=-5, reserved=-5)),
        (MovementType.TRANSIT_IN, StockDelta(in_transit=5)),
        (MovementType.TRANSIT_RECEIPT, StockDelta(in_transit=-5, on_hand=5)),
        (MovementType.TRANSIT_LOSS, StockDelta(in_transit=-1)),
    ],
)
def test_check_movement_accepts_movements_that_fit_their_type(
    movement_type: MovementType, delta: StockDelta
) -> None:
    check_movement(movement_type, delta)


@pytest.mark.parametrize(
    ("movement_type", "delta", "message"),
    [
        (MovementType.RECEIPT, StockDelta(), "at least one"),
        (MovementType.ADJUSTMENT, StockDelta(), "at least one"),
        (MovementType.RECEIPT, StockDelta(on_hand=-1), "must increase on_hand"),
        (MovementType.OPENING, StockDelta(on_hand=-1), "must increase on_hand"),
        (MovementType.ISSUE, StockDelta(on_hand=1), "must decrease on_hand"),
        (MovementType.RESERVE, StockDelta(reserved=-1), "must increase reserved"),
        (MovementType.RELEASE, StockDelta(reserved=1), "must decrease reserved"),
        (MovementType.DISPATCH, StockDelta(on_hand=-1, reserved=1), "must decrease reserved"),
        (MovementType.TRANSIT_RECEIPT, StockDelta(in_transit=-1, on_hand=-1), "must increase on_hand"),
        (MovementType.RECEIPT, StockDelta(on_hand=1, reserved=1), "cannot change reserved"),
        (MovementType.RESERVE, StockDelta(on_hand=1, reserved=1), "cannot change on_hand"),
        (MovementType.ISSUE, StockDelta(in_transit=-1), "cannot change in_transit"),
        (MovementType.TRANSIT_IN, StockDelta(on_hand=1), "cannot change on_hand"),
        (MovementType.TRANSIT_LOSS, StockDelta(on_hand=-1), "cannot change on_hand"),
    ],
)
def test_check_movement_refuses_movements_that_do_not_fit_their_type(
    movement_type: MovementType, delta: StockDelta, message: str
) -> None:
    with pytest.raises(InvalidMovement, match=message):
        check_movement(movement_type, delta)


# --- The service -----------------------------------------------------------------------------------


@dataclass
class Place:
    location_id: int
    sku_id: int


@pytest.fixture
def place(session: Session) -> Place:
    hq = make_organisation(session, kind=OrgKind.HQ)
    location = make_location(session, organisation=hq, kind=LocationKind.CENTRAL_WAREHOUSE)
    sku = make_sku(session)
    assert location.id is not None and sku.id is not None
    return Place(location.id, sku.id)


def post_delta(
    session: Session, place: Place, movement_type: MovementType, delta: StockDelta, key: str | None = None
) -> PostingResult:
    return post_movement(
        session,
        idempotency_key=key or f"test:{uuid.uuid4()}",
        location_id=place.location_id,
        sku_id=place.sku_id,
        movement_type=movement_type,
        delta=delta,
        source_document_type="test",
        source_document_id="T-1",
    )


def post(
    session: Session, place: Place, movement_type: MovementType, *, key: str | None = None, **buckets: int
) -> PostingResult:
    return post_delta(session, place, movement_type, StockDelta(**buckets), key)


def balance_of(session: Session, place: Place) -> StockDelta:
    row = get_balance(session, place.location_id, place.sku_id)
    return (
        StockDelta() if row is None else StockDelta(row.on_hand, row.reserved, row.in_transit, row.quarantine)
    )


def ledger_rows(session: Session, place: Place) -> int:
    return session.execute(  # type: ignore[no-any-return]
        select(func.count()).where(
            StockLedgerEntry.location_id == place.location_id,
            StockLedgerEntry.sku_id == place.sku_id,
        )
    ).scalar_one()


def test_a_first_receipt_creates_the_balance_and_one_ledger_row(session: Session, place: Place) -> None:
    assert get_balance(session, place.location_id, place.sku_id) is None

    result = post(session, place, MovementType.RECEIPT, on_hand=12)
    session.commit()

    assert result.created
    assert balance_of(session, place) == StockDelta(on_hand=12)
    assert ledger_totals(session, place.location_id, place.sku_id) == StockDelta(on_hand=12)
    entry = session.get(StockLedgerEntry, result.entry_id)
    assert entry is not None
    assert (entry.movement_type, entry.delta_on_hand, entry.source_document_id) == (
        MovementType.RECEIPT,
        12,
        "T-1",
    )


def test_a_movement_can_be_dated_when_it_happened_and_is_dated_now_by_default(
    session: Session, place: Place
) -> None:
    """`occurred_at` (a sale entered the day after) becomes the ledger row's created_at."""
    happened = datetime(2026, 3, 30, 4, 0, tzinfo=UTC)
    before = datetime.now(UTC)
    opened = post(session, place, MovementType.RECEIPT, on_hand=5)
    dated = post_movement(
        session,
        idempotency_key=f"test:{uuid.uuid4()}",
        location_id=place.location_id,
        sku_id=place.sku_id,
        movement_type=MovementType.ISSUE,
        delta=StockDelta(on_hand=-2),
        source_document_type="sale",
        source_document_id="form:x",
        occurred_at=happened,
    )
    session.commit()
    first, second = (
        session.get(StockLedgerEntry, opened.entry_id),
        session.get(StockLedgerEntry, dated.entry_id),
    )
    assert first is not None and second is not None
    assert first.created_at >= before
    assert second.created_at == happened
    assert balance_of(session, place) == StockDelta(on_hand=3)


def test_reserve_dispatch_and_transit_move_the_right_buckets(session: Session, place: Place) -> None:
    post(session, place, MovementType.OPENING, on_hand=20)
    post(session, place, MovementType.RESERVE, reserved=8)
    assert balance_of(session, place) == StockDelta(on_hand=20, reserved=8)
    row = get_balance(session, place.location_id, place.sku_id)
    assert row is not None and row.available == 12

    post(session, place, MovementType.RELEASE, reserved=-3)
    post(session, place, MovementType.DISPATCH, on_hand=-5, reserved=-5)
    post(session, place, MovementType.TRANSIT_IN, in_transit=6)
    post(session, place, MovementType.TRANSIT_RECEIPT, in_transit=-4, on_hand=4)
    post(session, place, MovementType.TRANSIT_LOSS, in_transit=-2)
    post(session, place, MovementType.ISSUE, on_hand=-1)
    post(session, place, MovementType.ADJUSTMENT, on_hand=-2)
    session.commit()

    expected = StockDelta(on_hand=16, reserved=0, in_transit=0)
    assert balance_of(session, place) == expected
    assert ledger_totals(session, place.location_id, place.sku_id) == expected
    assert ledger_rows(session, place) == 9


def test_posting_the_same_idempotency_key_twice_writes_one_row(session: Session, place: Place) -> None:
    first = post(session, place, MovementType.RECEIPT, key="po:1:receipt", on_hand=5)
    session.commit()
    second = post(session, place, MovementType.RECEIPT, key="po:1:receipt", on_hand=5)
    session.commit()

    assert first.created and not second.created
    assert second.entry_id == first.entry_id
    assert balance_of(session, place) == StockDelta(on_hand=5)
    assert ledger_rows(session, place) == 1


def test_a_retry_in_a_new_session_is_a_no_op_too(engine: Engine, session: Session, place: Place) -> None:
    post(session, place, MovementType.RECEIPT, key="retry", on_hand=5)
    session.commit()

    with Session(engine) as other:
        assert not post(other, place, MovementType.RECEIPT, key="retry", on_hand=5).created
        other.commit()

    assert balance_of(session, place) == StockDelta(on_hand=5)


def test_a_movement_that_would_go_negative_changes_nothing(session: Session, place: Place) -> None:
    post(session, place, MovementType.RECEIPT, on_hand=3)
    session.commit()

    with pytest.raises(InsufficientStock):
        post(session, place, MovementType.ISSUE, key="too-much", on_hand=-4)

    # The session is still usable, and the refused movement left no trace.
    assert balance_of(session, place) == StockDelta(on_hand=3)
    assert ledger_rows(session, place) == 1
    post(session, place, MovementType.ISSUE, on_hand=-3)
    session.commit()
    assert balance_of(session, place) == StockDelta()
    assert ledger_totals(session, place.location_id, place.sku_id) == StockDelta()
    # A refused key was never recorded, so it may be used for a movement that fits.
    post(session, place, MovementType.RECEIPT, key="too-much", on_hand=1)
    session.commit()
    assert balance_of(session, place) == StockDelta(on_hand=1)


def test_a_refused_movement_keeps_the_callers_earlier_work(session: Session, place: Place) -> None:
    post(session, place, MovementType.RECEIPT, on_hand=3)  # not committed yet

    with pytest.raises(InsufficientStock):
        post(session, place, MovementType.ISSUE, on_hand=-10)
    session.commit()

    assert balance_of(session, place) == StockDelta(on_hand=3)
    assert ledger_rows(session, place) == 1


def test_post_movement_leaves_the_commit_to_the_caller(
    engine: Engine, session: Session, place: Place
) -> None:
    # On SQLite the savepoint used to become the outer transaction and commit the posting by itself.
    post(session, place, MovementType.RECEIPT, on_hand=7)
    post(session, place, MovementType.RESERVE, reserved=2)
    session.rollback()

    with Session(engine) as other:
        assert get_balance(other, place.location_id, place.sku_id) is None
        assert ledger_rows(other, place) == 0


def test_the_first_posting_on_a_fresh_session_is_not_committed_early(engine: Engine, place: Place) -> None:
    with Session(engine) as fresh:
        post(fresh, place, MovementType.OPENING, on_hand=7)
        fresh.rollback()

    with Session(engine) as other:
        assert ledger_rows(other, place) == 0


@pytest.mark.parametrize(
    ("opening", "movement_type", "delta"),
    [
        (5, MovementType.RESERVE, StockDelta(reserved=6)),
        (0, MovementType.RESERVE, StockDelta(reserved=1)),
        (5, MovementType.RELEASE, StockDelta(reserved=-1)),
        (5, MovementType.DISPATCH, StockDelta(on_hand=-1, reserved=-1)),
        (5, MovementType.TRANSIT_LOSS, StockDelta(in_transit=-1)),
        (5, MovementType.TRANSIT_RECEIPT, StockDelta(in_transit=-1, on_hand=1)),
        (5, MovementType.ADJUSTMENT, StockDelta(on_hand=-6)),
        (0, MovementType.ISSUE, StockDelta(on_hand=-1)),
    ],
)
def test_impossible_movements_are_refused(
    session: Session, place: Place, opening: int, movement_type: MovementType, delta: StockDelta
) -> None:
    if opening:
        post(session, place, MovementType.OPENING, on_hand=opening)
        session.commit()
    before = balance_of(session, place)

    with pytest.raises(InsufficientStock):
        post_delta(session, place, movement_type, delta)
    session.commit()

    assert balance_of(session, place) == before
    assert ledger_totals(session, place.location_id, place.sku_id) == before


def test_issuing_reserved_stock_without_dispatch_is_refused(session: Session, place: Place) -> None:
    post(session, place, MovementType.OPENING, on_hand=5)
    post(session, place, MovementType.RESERVE, reserved=4)
    session.commit()

    with pytest.raises(InsufficientStock):  # reserved would exceed on hand
        post(session, place, MovementType.ISSUE, on_hand=-2)

    assert balance_of(session, place) == StockDelta(on_hand=5, reserved=4)


def test_an_invalid_movement_is_refused_before_touching_the_database(session: Session, place: Place) -> None:
    with pytest.raises(InvalidMovement):
        post(session, place, MovementType.RECEIPT, on_hand=-1)
    assert ledger_rows(session, place) == 0


@pytest.mark.parametrize(
    "values",
    [{"on_hand": -1}, {"reserved": -1}, {"in_transit": -1}, {"reserved": 11}],
    ids=["on_hand", "reserved", "in_transit", "reserved_over_on_hand"],
)
def test_check_constraints_refuse_a_direct_negative_balance(
    session: Session, place: Place, values: dict[str, int]
) -> None:
    post(session, place, MovementType.OPENING, on_hand=10)
    session.commit()

    with pytest.raises(IntegrityError):
        session.execute(
            update(StockBalance).where(StockBalance.location_id == place.location_id).values(**values)
        )
        session.flush()
    session.rollback()

    assert balance_of(session, place) == StockDelta(on_hand=10)


def test_the_ledger_refuses_update_and_delete(session: Session, place: Place) -> None:
    post(session, place, MovementType.OPENING, on_hand=10)
    session.commit()

    for statement in ("UPDATE stock_ledger SET delta_on_hand = 99", "DELETE FROM stock_ledger"):
        with pytest.raises(Exception, match="append-only"):
            session.execute(text(statement))
        session.rollback()

    assert ledger_totals(session, place.location_id, place.sku_id) == StockDelta(on_hand=10)


# --- Random sequences ------------------------------------------------------------------------------

# Mostly small quantities, so reservations and dispatches often fit; larger ones often do not.
QUANTITY = st.one_of(st.integers(min_value=0, max_value=4), st.integers(min_value=0, max_value=15))


@st.composite
def movements(draw: st.DrawFn) -> tuple[MovementType, StockDelta]:
    """Any movement that fits its type (quantities chosen freely, so many would go negative)."""
    movement_type = draw(st.sampled_from(list(MovementType)))
    buckets: dict[str, int] = {}
    for bucket, sign in MOVEMENT_RULES[movement_type].items():
        size = draw(QUANTITY)
        if sign == POSITIVE:
            buckets[bucket] = size
        elif sign == NEGATIVE:
            buckets[bucket] = -size
        else:
            buckets[bucket] = draw(st.sampled_from([1, -1])) * size
    if movement_type is MovementType.DISPATCH and draw(st.booleans()):
        buckets["reserved"] = buckets["on_hand"]  # the usual dispatch: exactly what was reserved
    if movement_type in SAME_AMOUNT_ON_HAND_AND_QUARANTINE:
        buckets["quarantine"] = buckets["on_hand"]
    delta = StockDelta(**buckets)
    if delta.is_zero():
        bucket, sign = next(iter(MOVEMENT_RULES[movement_type].items()))
        delta = StockDelta(**{bucket: -1 if sign == NEGATIVE else 1})
    if movement_type in SAME_AMOUNT_ON_HAND_AND_QUARANTINE:  # the lot enters or leaves while held
        delta = replace(delta, quarantine=delta.on_hand)
    return movement_type, delta


def apply(balance: StockDelta, delta: StockDelta) -> StockDelta:
    return StockDelta(
        balance.on_hand + delta.on_hand,
        balance.reserved + delta.reserved,
        balance.in_transit + delta.in_transit,
        balance.quarantine + delta.quarantine,
    )


def is_valid(balance: StockDelta) -> bool:
    return (
        min(balance.on_hand, balance.reserved, balance.in_transit, balance.quarantine) >= 0
        and balance.reserved + balance.quarantine <= balance.on_hand
    )


def test_random_movement_sequences_keep_ledger_and_balance_in_step(engine: Engine, db: Engine) -> None:
    outcomes: Counter[str] = Counter()

    class StockMachine(RuleBasedStateMachine):
        """Posts random movements at two locations x two SKUs (fresh rows per example) and compares
        the database with a model that applies the accepted movements only."""

        def __init__(self) -> None:
            super().__init__()
            self.run = uuid.uuid4().hex[:12]
            with Session(engine) as s:
                org = make_organisation(s, kind=OrgKind.HQ)
                locations: list[Location] = [
                    make_location(s, organisation=org, kind=kind)
                    for kind in (LocationKind.REGIONAL_WAREHOUSE, LocationKind.STORE)
                ]
                skus: list[Sku] = [make_sku(s), make_sku(s)]
                self.places = [Place(loc.id, sku.id) for loc in locations for sku in skus]
            self.model = {i: StockDelta() for i in range(len(self.places))}
            self.accepted: dict[str, int] = {}  # idempotency key -> entry id

        @rule(
            place=st.integers(min_value=0, max_value=3),
            movement=movements(),
            key=st.integers(min_value=0, max_value=40),
        )
        def post_one(self, place: int, movement: tuple[MovementType, StockDelta], key: int) -> None:
            movement_type, delta = movement
            idempotency_key = f"prop:{self.run}:{key}"
            where = self.places[place]
            with Session(engine) as s:
                try:
                    result = post_movement(
                        s,
                        idempotency_key=idempotency_key,
                        location_id=where.location_id,
                        sku_id=where.sku_id,
                        movement_type=movement_type,
                        delta=delta,
                        source_document_type="test",
                        source_document_id=self.run,
                    )
                except InsufficientStock:
                    event("refused: would go negative")
                    outcomes["refused"] += 1
                    assert idempotency_key not in self.accepted
                    assert not is_valid(apply(self.model[place], delta))
                    s.commit()  # the session is still usable and commits nothing
                    return
                s.commit()

            if idempotency_key in self.accepted:
                event("repeated key: no-op")
                outcomes["repeated"] += 1
                assert not result.created
                assert result.entry_id == self.accepted[idempotency_key]
                return
            event(f"accepted: {movement_type.value}")
            outcomes[movement_type.value] += 1
            assert result.created
            expected = apply(self.model[place], delta)
            assert is_valid(expected)
            self.model[place] = expected
            self.accepted[idempotency_key] = result.entry_id

        @invariant()
        def ledger_balance_and_model_agree(self) -> None:
            location_ids = {where.location_id for where in self.places}
            ledger = col(StockLedgerEntry.location_id), col(StockLedgerEntry.sku_id)
            with Session(engine) as s:
                balances = {
                    (b.location_id, b.sku_id): StockDelta(b.on_hand, b.reserved, b.in_transit, b.quarantine)
                    for b in s.execute(
                        select(StockBalance).where(col(StockBalance.location_id).in_(location_ids))
                    ).scalars()
                }
                sums = s.execute(
                    select(
                        *ledger,
                        func.sum(StockLedgerEntry.delta_on_hand),
                        func.sum(StockLedgerEntry.delta_reserved),
                        func.sum(StockLedgerEntry.delta_in_transit),
                        func.sum(StockLedgerEntry.delta_quarantine),
                        func.count(),
                    )
                    .where(ledger[0].in_(location_ids))
                    .group_by(*ledger)
                ).all()
            totals = {
                (loc, sku): StockDelta(int(a), int(b), int(c), int(d)) for loc, sku, a, b, c, d, _ in sums
            }
            assert sum(row[-1] for row in sums) == len(self.accepted)
            for i, where in enumerate(self.places):
                key = (where.location_id, where.sku_id)
                balance = balances.get(key, StockDelta())
                assert totals.get(key, StockDelta()) == balance
                assert is_valid(balance)
                assert balance == self.model[i]

    run_state_machine_as_test(
        StockMachine,
        settings=settings(
            max_examples=50,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    # The sequences really did exercise refusals and retries, not only easy postings.
    assert outcomes["refused"] and outcomes["repeated"] and outcomes["opening"], outcomes


# --- Concurrency -----------------------------------------------------------------------------------


def run_concurrently(
    engine: Engine, count: int, work: Callable[[Session, int], PostingResult]
) -> list[object]:
    """Run `work` in `count` threads at once, each with its own session; return results or errors."""
    barrier = threading.Barrier(count)

    def one(i: int) -> object:
        with Session(engine) as s:
            barrier.wait()
            try:
                result = work(s, i)
                s.commit()
                return result
            except InsufficientStock as exc:
                s.rollback()
                return exc

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_concurrent_retries_of_one_posting_write_it_once(engine: Engine, place: Place) -> None:
    outcomes = run_concurrently(
        engine, 6, lambda s, _: post(s, place, MovementType.RECEIPT, key="same-key-everywhere", on_hand=4)
    )

    results = [o for o in outcomes if isinstance(o, PostingResult)]
    assert len(results) == 6
    assert sum(r.created for r in results) == 1
    assert len({r.entry_id for r in results}) == 1
    with Session(engine) as s:
        assert balance_of(s, place) == StockDelta(on_hand=4)
        assert ledger_rows(s, place) == 1


def test_concurrent_reservations_never_exceed_on_hand(engine: Engine, session: Session, place: Place) -> None:
    post(session, place, MovementType.OPENING, on_hand=10)
    session.commit()

    outcomes = run_concurrently(engine, 6, lambda s, _: post(s, place, MovementType.RESERVE, reserved=3))

    assert sum(isinstance(o, PostingResult) for o in outcomes) == 3
    assert sum(isinstance(o, InsufficientStock) for o in outcomes) == 3
    with Session(engine) as s:
        assert balance_of(s, place) == StockDelta(on_hand=10, reserved=9)
        assert ledger_totals(s, place.location_id, place.sku_id) == StockDelta(on_hand=10, reserved=9)

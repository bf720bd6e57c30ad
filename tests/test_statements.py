"""Collecting a supplier statement (supplychain/statements.py): every kind of source line with its
amounts, a lot still in inspection left for a later statement, and each source line on exactly one
statement however runs overlap or retry (the unique (source type, source id) is the guard)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from supplychain import statements
from supplychain.models import (
    DebitNote,
    DebitNoteKind,
    DebitNoteStatus,
    InspectionStage,
    Statement,
    StatementLine,
)
from supplychain.models.settlement import SettlementTerms, StatementLineSource
from supplychain.rules.statement import Period
from tests.statement_world import (
    adjustment,
    build_world,
    debit_note,
    inspect,
    receive,
)

JANUARY = Period(date(2026, 1, 1), date(2026, 1, 31))
FIRST_HALF = Period(date(2026, 1, 1), date(2026, 1, 15))
SECOND_HALF = Period(date(2026, 1, 16), date(2026, 1, 31))
FEBRUARY = Period(date(2026, 2, 1), date(2026, 2, 28))
AT = datetime(2026, 2, 1, 1, 0, tzinfo=UTC)


def _collect(engine: Engine, supplier_id: int, period: Period, workflow_id: str | None = None) -> str | None:
    workflow_id = workflow_id or statements.statement_workflow_id(supplier_id, period)
    with Session(engine) as session:
        statement, _told = statements.collect_statement(
            session,
            workflow_id=workflow_id,
            supplier_id=supplier_id,
            period=period,
            idempotency_key=f"{workflow_id}:created",
            at=AT,
        )
        session.commit()
        return statement.number if statement else None


def _lines(session: Session, number: str) -> list[StatementLine]:
    statement = statements.get_statement(session, number)
    assert statement is not None and statement.id is not None
    return statements.statement_lines(session, statement.id)


def _all_sources(session: Session) -> Counter[tuple[StatementLineSource, int]]:
    return Counter(
        (row.source_type, row.source_id) for row in session.execute(select(StatementLine)).scalars()
    )


def test_every_kind_of_source_line_is_collected_with_its_amounts(db: Engine, session: Session) -> None:
    world = build_world(session)
    plain = receive(session, world, on=date(2026, 1, 10), lots=[3, 4])
    inspected = receive(session, world, on=date(2026, 1, 12), lots=[5])
    inspect(session, world, inspected, 1, stage=InspectionStage.DONE)
    waiting = receive(session, world, on=date(2026, 1, 13), lots=[6])
    waiting_inspection = inspect(session, world, waiting, 1, stage=InspectionStage.AWAITING_DECISION)
    conceded = debit_note(
        session,
        world,
        waiting_inspection,
        kind=DebitNoteKind.CONCESSION,
        quantity=6,
        net=Decimal("6.00"),
        tax=Decimal("0.78"),
        on=date(2026, 1, 14),
    )
    returned = debit_note(
        session,
        world,
        waiting_inspection,
        kind=DebitNoteKind.RETURN_TO_VENDOR,
        quantity=2,
        net=Decimal("20.00"),
        tax=Decimal("2.60"),
        on=date(2026, 1, 15),
    )
    rebate = adjustment(session, world, net=Decimal("-5.00"), tax=Decimal("-0.65"), on=date(2026, 1, 20))
    surcharge = adjustment(
        session, world, net=Decimal("7.00"), tax=Decimal("0.42"), on=date(2026, 1, 31), rate=Decimal("0.06")
    )
    receive(session, world, on=date(2026, 2, 1), lots=[9])  # after the period
    receive(session, world, on=date(2026, 1, 10), lots=[8], supplier=world.other_supplier)

    number = _collect(db, world.supplier_id, JANUARY)

    assert number is not None and number.startswith("ST-")
    lines = _lines(session, number)
    by_source: dict[tuple[StatementLineSource, int | None], StatementLine] = {
        (line.source_type, line.source_id): line for line in lines
    }
    assert set(by_source) == {
        (StatementLineSource.RECEIPT, plain.lots[0].id),
        (StatementLineSource.RECEIPT, plain.lots[1].id),
        (StatementLineSource.RECEIPT, inspected.lots[0].id),
        (StatementLineSource.DEBIT_NOTE, conceded.id),
        (StatementLineSource.DEBIT_NOTE, returned.id),
        (StatementLineSource.PRICE_ADJUSTMENT, rebate.id),
        (StatementLineSource.PRICE_ADJUSTMENT, surcharge.id),
    }
    lot = by_source[(StatementLineSource.RECEIPT, plain.lots[1].id)]
    assert (lot.quantity, lot.unit_price, lot.net_amount, lot.tax_amount, lot.total_amount) == (
        4,
        Decimal("10.0000"),
        Decimal("40.00"),
        Decimal("5.20"),
        Decimal("45.20"),
    )
    assert lot.source_document == plain.shipment.number and lot.po_number == plain.po.number
    back = by_source[(StatementLineSource.DEBIT_NOTE, returned.id)]
    assert (back.quantity, back.net_amount, back.tax_amount, back.source_document) == (
        -2,
        Decimal("-20.00"),
        Decimal("-2.60"),
        returned.number,
    )
    concession = by_source[(StatementLineSource.DEBIT_NOTE, conceded.id)]
    assert (concession.quantity, concession.net_amount) == (0, Decimal("-6.00"))
    statement = statements.get_statement(session, number)
    assert statement is not None
    # 30 + 40 + 50 - 6 - 20 - 5 + 7 net; VAT 3.90 + 5.20 + 6.50 - 0.78 - 2.60 - 0.65 + 0.42.
    assert (statement.net_amount, statement.tax_amount, statement.total_amount) == (
        Decimal("96.00"),
        Decimal("11.99"),
        Decimal("107.99"),
    )
    for note in (conceded, returned):
        session.refresh(note)
        assert (note.status, note.statement_id) == (DebitNoteStatus.RECONCILED, statement.id)


def test_a_lot_in_inspection_is_billed_once_its_inspection_has_ended(db: Engine, session: Session) -> None:
    world = build_world(session)
    receipt = receive(session, world, on=date(2026, 1, 20), lots=[5])
    inspection = inspect(session, world, receipt, 1, stage=InspectionStage.AWAITING_INSPECTION)

    assert _collect(db, world.supplier_id, JANUARY) is None  # nothing else: no statement at all

    inspection.stage = InspectionStage.DONE
    inspection.verdict = inspection.verdict.ACCEPTED
    inspection.critical_defects = inspection.major_defects = inspection.minor_defects = 0
    inspection.accepted_quantity, inspection.rejected_quantity = 5, 0
    inspection.decided_at = datetime.now(UTC)
    session.add(inspection)
    session.commit()
    number = _collect(db, world.supplier_id, FEBRUARY)
    assert number is not None
    assert [(line.source_type, line.source_id) for line in _lines(session, number)] == [
        (StatementLineSource.RECEIPT, receipt.lots[0].id)
    ]


def test_a_retried_collection_returns_the_same_statement_and_writes_nothing_twice(
    db: Engine, session: Session
) -> None:
    world = build_world(session)
    receive(session, world, on=date(2026, 1, 10), lots=[3])
    first = _collect(db, world.supplier_id, JANUARY)
    again = _collect(db, world.supplier_id, JANUARY)
    assert first is not None and again == first
    assert len(session.execute(select(Statement)).scalars().all()) == 1
    assert len(_lines(session, first)) == 1


def test_a_run_that_read_its_lines_before_an_overlapping_run_committed_skips_them(
    db: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs for overlapping periods (January, and the first half of January) read the same
    pending lines; the second to write finds the ones the first took by the unique constraint and
    skips them, and keeps the rest."""
    world = build_world(session)
    early = receive(session, world, on=date(2026, 1, 5), lots=[2])
    late = receive(session, world, on=date(2026, 1, 20), lots=[3])
    inspection = inspect(session, world, late, 1, stage=InspectionStage.DONE)
    note = debit_note(
        session,
        world,
        inspection,
        kind=DebitNoteKind.CONCESSION,
        quantity=3,
        net=Decimal("3.00"),
        tax=Decimal("0.39"),
        on=date(2026, 1, 21),
    )
    with Session(db) as reader:
        stale = statements.pending_source_lines(reader, world.supplier_id, JANUARY.end)
    first_half = _collect(db, world.supplier_id, FIRST_HALF)
    monkeypatch.setattr(statements, "pending_source_lines", lambda *_args: stale)

    january = _collect(db, world.supplier_id, JANUARY)

    assert first_half is not None and january is not None
    assert {(line.source_type, line.source_id) for line in _lines(session, first_half)} == {
        (StatementLineSource.RECEIPT, early.lots[0].id)
    }
    assert {(line.source_type, line.source_id) for line in _lines(session, january)} == {
        (StatementLineSource.RECEIPT, late.lots[0].id),
        (StatementLineSource.DEBIT_NOTE, note.id),
    }
    assert [line.line_no for line in _lines(session, january)] == [1, 2]
    assert max(_all_sources(session).values()) == 1
    session.refresh(note)
    january_row = statements.get_statement(session, january)
    assert january_row is not None and note.statement_id == january_row.id
    assert january_row.total_amount == Decimal("30.51")  # 30 + 3.90 - 3 - 0.39


def test_a_run_whose_every_line_was_taken_by_an_overlapping_run_makes_no_statement(
    db: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(session)
    receive(session, world, on=date(2026, 1, 20), lots=[3])
    with Session(db) as reader:
        stale = statements.pending_source_lines(reader, world.supplier_id, JANUARY.end)
    assert _collect(db, world.supplier_id, SECOND_HALF) is not None
    monkeypatch.setattr(statements, "pending_source_lines", lambda *_args: stale)

    assert _collect(db, world.supplier_id, JANUARY) is None
    assert len(session.execute(select(Statement)).scalars().all()) == 1


def test_concurrent_runs_for_overlapping_periods_put_each_source_line_on_exactly_one_statement(
    db: Engine, session: Session
) -> None:
    world = build_world(session)
    receipts = [receive(session, world, on=date(2026, 1, 16 + n), lots=[1, 2]) for n in range(6)]
    for receipt in receipts[:3]:
        inspection = inspect(session, world, receipt, 1, stage=InspectionStage.DONE)
        debit_note(
            session,
            world,
            inspection,
            kind=DebitNoteKind.CONCESSION,
            quantity=1,
            net=Decimal("1.00"),
            tax=Decimal("0.13"),
            on=date(2026, 1, 25),
        )
    periods = [JANUARY, SECOND_HALF, Period(date(2026, 1, 19), date(2026, 1, 31))]
    start = threading.Barrier(len(periods))
    errors: list[BaseException] = []

    def run(period: Period) -> None:
        try:
            start.wait()
            _collect(db, world.supplier_id, period)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(period,)) for period in periods]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors

    sources = _all_sources(session)
    assert len(sources) == 6 * 2 + 3 and set(sources.values()) == {1}
    for statement in session.execute(select(Statement)).scalars():
        lines = statements.statement_lines(session, statement.id)
        assert statement.total_amount == sum((line.total_amount for line in lines), Decimal("0.00"))
    reconciled = session.execute(
        select(DebitNote, StatementLine).join(
            StatementLine,
            (col(StatementLine.source_type) == StatementLineSource.DEBIT_NOTE)
            & (col(StatementLine.source_id) == col(DebitNote.id)),
        )
    ).all()
    assert len(reconciled) == 3
    assert all(note.statement_id == line.statement_id for note, line in reconciled)


def test_a_supplier_whose_prices_include_vat_gets_its_lines_priced_that_way(
    db: Engine, session: Session
) -> None:
    """7 units at a net 0.8850 with 13 % VAT. Excluding tax: amount round(6.195) = 6.20, tax
    round(0.806) = 0.81. Including tax, the price is 0.8850 x 1.13 = 1.0001 (4 places): total
    round(7.0007) = 7.00, amount round(7.00 / 1.13 = 6.1947) = 6.19, tax 7.00 - 6.19 = 0.81."""
    world = build_world(session)
    session.add(SettlementTerms(supplier_id=world.supplier_id, prices_include_tax=True))
    session.commit()
    price = Decimal("0.8850")
    for supplier in (world.supplier, world.other_supplier):
        receive(session, world, on=date(2026, 1, 10), lots=[7], unit_price=price, supplier=supplier)

    including = _collect(db, world.supplier_id, JANUARY)
    assert world.other_supplier.id is not None
    excluding = _collect(db, world.other_supplier.id, JANUARY)

    assert including is not None and excluding is not None
    [line] = _lines(session, including)
    assert (line.unit_price, line.net_amount, line.tax_amount, line.total_amount) == (
        Decimal("1.0001"),
        Decimal("6.19"),
        Decimal("0.81"),
        Decimal("7.00"),
    )
    [line] = _lines(session, excluding)
    assert (line.unit_price, line.net_amount, line.tax_amount, line.total_amount) == (
        Decimal("0.8850"),
        Decimal("6.20"),
        Decimal("0.81"),
        Decimal("7.01"),
    )
    statement = session.execute(select(Statement).where(col(Statement.number) == including)).scalar_one()
    assert statement.prices_include_tax and statement.total_amount == Decimal("7.00")

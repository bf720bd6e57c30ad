"""The stock service: the only code that changes stock.

`post_movement` appends one ledger row and applies the same deltas to the balance row in the
caller's transaction. The ledger row's unique idempotency key makes a retried posting a no-op, and
the balance CHECK constraints make a posting that would take any bucket below zero fail as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from supplychain.models.stock import MovementType, StockBalance, StockLedgerEntry
from supplychain.rules.stock import StockDelta, check_movement


class InsufficientStock(ValueError):
    """The movement would take on hand, reserved or in transit below zero, or reserve more than on hand."""


@dataclass(frozen=True)
class PostingResult:
    entry_id: int
    created: bool  # False when the idempotency key had already been posted


def post_movement(
    session: Session,
    *,
    idempotency_key: str,
    location_id: int,
    sku_id: int,
    movement_type: MovementType,
    delta: StockDelta,
    source_document_type: str,
    source_document_id: str,
    actor_user_id: int | None = None,
    note: str = "",
    occurred_at: datetime | None = None,
) -> PostingResult:
    """Post one movement; safe to call again with the same key. Does not commit.

    `occurred_at`: when the movement happened in the business (a sale entered the day after), kept
    as the ledger row's `created_at`; by default the moment of posting."""
    check_movement(movement_type, delta)
    existing = _entry_by_key(session, idempotency_key)
    if existing is not None:
        return PostingResult(entry_id=existing, created=False)

    # A savepoint, so a rejected movement leaves the caller's transaction usable and unchanged.
    savepoint = session.begin_nested()
    try:
        _ensure_balance_row(session, location_id, sku_id)
        entry = StockLedgerEntry(
            location_id=location_id,
            sku_id=sku_id,
            movement_type=movement_type,
            delta_on_hand=delta.on_hand,
            delta_reserved=delta.reserved,
            delta_in_transit=delta.in_transit,
            delta_quarantine=delta.quarantine,
            source_document_type=source_document_type,
            source_document_id=source_document_id,
            idempotency_key=idempotency_key,
            actor_user_id=actor_user_id,
            note=note,
        )
        if occurred_at is not None:
            entry.created_at = occurred_at
        session.add(entry)
        session.flush()
        # One UPDATE with relative arithmetic: concurrent postings serialise on the row lock and
        # the CHECK constraints judge the result, so no read-modify-write race is possible.
        session.execute(
            update(StockBalance)
            .where(StockBalance.location_id == location_id, StockBalance.sku_id == sku_id)  # type: ignore[arg-type]
            .values(
                on_hand=StockBalance.on_hand + delta.on_hand,
                reserved=StockBalance.reserved + delta.reserved,
                in_transit=StockBalance.in_transit + delta.in_transit,
                quarantine=StockBalance.quarantine + delta.quarantine,
            )
        )
        savepoint.commit()
    except IntegrityError as exc:
        savepoint.rollback()
        existing = _entry_by_key(session, idempotency_key)
        if existing is not None:  # a concurrent posting with the same key won the race
            return PostingResult(entry_id=existing, created=False)
        if "ck_stock" in str(exc.orig) or "CHECK" in str(exc.orig).upper():
            raise InsufficientStock(
                f"not enough stock for {movement_type.value} of SKU {sku_id} at location {location_id}"
            ) from exc
        raise
    session.expire_all()
    assert entry.id is not None
    return PostingResult(entry_id=entry.id, created=True)


def get_balance(session: Session, location_id: int, sku_id: int) -> StockBalance | None:
    return session.exec(  # type: ignore[call-overload,no-any-return]
        select(StockBalance).where(StockBalance.location_id == location_id, StockBalance.sku_id == sku_id)  # type: ignore[arg-type]
    ).scalar_one_or_none()


def ledger_totals(session: Session, location_id: int, sku_id: int) -> StockDelta:
    """The ledger summed for one location and SKU; always equal to the balance row."""
    row = session.execute(
        select(
            func.coalesce(func.sum(StockLedgerEntry.delta_on_hand), 0),
            func.coalesce(func.sum(StockLedgerEntry.delta_reserved), 0),
            func.coalesce(func.sum(StockLedgerEntry.delta_in_transit), 0),
            func.coalesce(func.sum(StockLedgerEntry.delta_quarantine), 0),
        ).where(StockLedgerEntry.location_id == location_id, StockLedgerEntry.sku_id == sku_id)  # type: ignore[arg-type]
    ).one()
    return StockDelta(
        on_hand=int(row[0]), reserved=int(row[1]), in_transit=int(row[2]), quarantine=int(row[3])
    )


def _entry_by_key(session: Session, idempotency_key: str) -> int | None:
    key = col(StockLedgerEntry.idempotency_key)
    statement = select(col(StockLedgerEntry.id)).where(key == idempotency_key)
    return session.execute(statement).scalar_one_or_none()


def _ensure_balance_row(session: Session, location_id: int, sku_id: int) -> None:
    if get_balance(session, location_id, sku_id) is None:
        nested = session.begin_nested()
        try:
            session.add(StockBalance(location_id=location_id, sku_id=sku_id))
            session.flush()
            nested.commit()
        except IntegrityError:  # created concurrently by another posting
            nested.rollback()

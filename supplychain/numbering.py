"""Document numbers from a database counter, reserved before the workflow starts.

`PO-2026-000123`: prefix, year, six digits. A failed start leaves a gap, which is acceptable for
operational documents (DESIGN 2). The counter row is incremented with one UPDATE, so concurrent
reservations serialise on the row lock and never hand out the same number.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from supplychain.models import DocumentSequence


def reserve_number(session: Session, prefix: str, year: int) -> str:
    """Reserve the next number and commit at once, so a long transaction never holds the counter."""
    for _attempt in range(3):
        result = session.execute(
            update(DocumentSequence)
            .where(col(DocumentSequence.prefix) == prefix, col(DocumentSequence.year) == year)
            .values(last_value=DocumentSequence.last_value + 1)
            .returning(col(DocumentSequence.last_value))
        ).scalar_one_or_none()
        if result is not None:
            session.commit()
            return format_number(prefix, year, int(result))
        try:
            session.add(DocumentSequence(prefix=prefix, year=year, last_value=0))
            session.commit()
        except IntegrityError:  # created concurrently; increment it on the next pass
            session.rollback()
    raise RuntimeError(f"could not reserve a {prefix} number")


def format_number(prefix: str, year: int, value: int) -> str:
    return f"{prefix}-{year}-{value:06d}"


def workflow_id_for(number: str) -> str:
    """`PO-2026-000123` -> `po-2026-000123`: the document page can always find its process."""
    return number.lower()

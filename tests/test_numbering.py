"""Document numbers: sequential per prefix and year, never handed out twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from sqlmodel import Session

from supplychain.numbering import reserve_number, workflow_id_for


def test_numbers_are_sequential_per_prefix_and_year(session: Session) -> None:
    assert reserve_number(session, "PO", 2026) == "PO-2026-000001"
    assert reserve_number(session, "PO", 2026) == "PO-2026-000002"
    assert reserve_number(session, "PO", 2027) == "PO-2027-000001"
    assert reserve_number(session, "SHP", 2026) == "SHP-2026-000001"
    assert workflow_id_for("PO-2026-000002") == "po-2026-000002"


def test_concurrent_reservations_never_share_a_number(db: Engine) -> None:
    def reserve(_: int) -> str:
        with Session(db) as session:
            return reserve_number(session, "PO", 2026)

    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = list(pool.map(reserve, range(30)))
    assert len(set(numbers)) == 30
    assert sorted(numbers)[-1] == "PO-2026-000030"

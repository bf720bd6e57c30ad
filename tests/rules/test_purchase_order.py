"""When a PO line settles, when the PO is finished, when a promised date is overdue."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from supplychain.models import POLineStatus, POStatus
from supplychain.rules.purchase_order import finished_status, overdue_from, settle_line

OPEN, RECEIVED, CANCELLED, SHORT = (
    POLineStatus.OPEN,
    POLineStatus.RECEIVED,
    POLineStatus.CANCELLED,
    POLineStatus.SHORT_CLOSED,
)


@pytest.mark.parametrize(
    ("confirmed", "received", "in_transit", "expected"),
    [
        (None, 0, 0, OPEN),  # not confirmed yet
        (100, 100, 0, RECEIVED),
        (100, 103, 0, RECEIVED),  # over-receipt settles it
        (100, 95, 0, OPEN),  # received short: waits for the buyer
        (60, 60, 0, OPEN),  # confirmed short: the backorder stays open
        (0, 0, 0, CANCELLED),  # the supplier cannot supply it
        (100, 100, 5, OPEN),  # something still in transit
    ],
)
def test_settle_line(confirmed: int | None, received: int, in_transit: int, expected: POLineStatus) -> None:
    assert (
        settle_line(OPEN, ordered=100, confirmed=confirmed, received=received, in_transit=in_transit)
        is expected
    )


def test_a_settled_line_stays_settled() -> None:
    assert settle_line(SHORT, ordered=100, confirmed=60, received=60, in_transit=0) is SHORT


def test_finished_status() -> None:
    assert finished_status([RECEIVED, OPEN], received_any=True) is None
    assert finished_status([RECEIVED, SHORT, CANCELLED], received_any=True) is POStatus.CLOSED
    assert finished_status([CANCELLED, SHORT], received_any=False) is POStatus.CANCELLED


def test_overdue_from_the_end_of_the_promised_day_in_china() -> None:
    assert overdue_from(date(2026, 3, 1)) == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)

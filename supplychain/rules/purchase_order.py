"""When a purchase order line is done, when the whole order is, and when a promised date is overdue.

Pure rules, used by ReplenishmentWorkflow (deterministic: no clock, no I/O) and by the tests.

- A line is OPEN until it settles:
  - confirmed 0 by the supplier (cannot supply) -> CANCELLED;
  - received at least what was ordered, with nothing of it still in transit -> RECEIVED
    (an over-receipt settles it too);
  - short-closed by the buyer -> SHORT_CLOSED (set by the buyer's action, not by this rule).
  A line confirmed short, or received short, stays OPEN as a backorder: the supplier may confirm
  more later, and the buyer decides when to stop waiting (short-close).
- The order is finished when every line is settled: CLOSED when anything was received, CANCELLED
  when nothing was (every line cancelled or short-closed before any delivery).
- A promised date is overdue from the end of that day in China (midnight, Asia/Shanghai).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from supplychain.models.purchasing import POLineStatus, POStatus
from supplychain.rules.dates import BUSINESS_TIMEZONE


def settle_line(
    status: POLineStatus, *, ordered: int, confirmed: int | None, received: int, in_transit: int
) -> POLineStatus:
    """The status of a line after a change to its quantities (a settled line stays as it is)."""
    if status is not POLineStatus.OPEN:
        return status
    if in_transit > 0:
        return POLineStatus.OPEN
    if received >= ordered:
        return POLineStatus.RECEIVED
    if confirmed == 0 and received == 0:
        return POLineStatus.CANCELLED
    return POLineStatus.OPEN


def finished_status(line_statuses: Iterable[POLineStatus], *, received_any: bool) -> POStatus | None:
    """CLOSED or CANCELLED once no line is open; None while some line still is."""
    if any(status is POLineStatus.OPEN for status in line_statuses):
        return None
    return POStatus.CLOSED if received_any else POStatus.CANCELLED


def overdue_from(promised_date: date) -> datetime:
    """The moment a delivery promised for `promised_date` becomes overdue: that day's end in China."""
    return datetime.combine(promised_date + timedelta(days=1), time(0), tzinfo=BUSINESS_TIMEZONE)

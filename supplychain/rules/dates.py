"""Business dates: the retailer works on China dates (promised dates, ETAs, delegations, due dates)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

BUSINESS_TIMEZONE = ZoneInfo("Asia/Shanghai")


def business_date(now: datetime) -> date:
    """The China date at the aware moment `now` (a workflow passes `workflow.now()`)."""
    return now.astimezone(BUSINESS_TIMEZONE).date()

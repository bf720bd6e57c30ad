"""Pieces every workflow uses: refusing an Update with a message a person can act on.

Validators raise `UpdateRejected(message_id, **params)`. The message id is English text from the
translation catalogue (marked with `lazy`), so the web layer shows it in the reader's language with
`web.workflow_errors.rejection_message`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.exceptions import ApplicationError

REJECTED_TYPE = "UpdateRejected"
# Business dates (promised dates, ETAs, "not in the past") are China dates.
BUSINESS_TIMEZONE = ZoneInfo("Asia/Shanghai")


class UpdateRejected(ApplicationError):
    def __init__(self, message_id: str, **params: Any) -> None:
        super().__init__(message_id, params, type=REJECTED_TYPE, non_retryable=True)


def business_date(now: datetime) -> date:
    """Today's date in China for a workflow's `workflow.now()`."""
    return now.astimezone(BUSINESS_TIMEZONE).date()

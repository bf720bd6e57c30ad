"""Pieces every workflow uses: refusing an Update with a message a person can act on.

Validators raise `UpdateRejected(message_id, **params)`. The message id is English text from the
translation catalogue (marked with `lazy`), so the web layer shows it in the reader's language with
`web.workflow_errors.rejection_message`.
"""

from __future__ import annotations

from typing import Any

from temporalio.exceptions import ApplicationError

from supplychain.rules.dates import BUSINESS_TIMEZONE, business_date

REJECTED_TYPE = "UpdateRejected"
__all__ = ["BUSINESS_TIMEZONE", "REJECTED_TYPE", "UpdateRejected", "business_date"]


class UpdateRejected(ApplicationError):
    def __init__(self, message_id: str, **params: Any) -> None:
        super().__init__(message_id, params, type=REJECTED_TYPE, non_retryable=True)

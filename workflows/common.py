"""Pieces every workflow uses: refusing an Update with a message a person can act on, and the
state a click is judged against while a step is being recorded.

Validators raise `UpdateRejected(message_id, **params)`. The message id is English text from the
translation catalogue (marked with `lazy`), so the web layer shows it in the reader's language with
`web.workflow_errors.rejection_message`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from temporalio.exceptions import ApplicationError

from supplychain.rules.dates import BUSINESS_TIMEZONE, business_date
from supplychain.rules.refusal import Refused

REJECTED_TYPE = "UpdateRejected"
__all__ = ["BUSINESS_TIMEZONE", "REJECTED_TYPE", "UpdateRejected", "as_shown", "business_date", "checked"]

State = TypeVar("State")


class UpdateRejected(ApplicationError):
    def __init__(self, message_id: str, **params: Any) -> None:
        super().__init__(message_id, params, type=REJECTED_TYPE, non_retryable=True)


def checked(rule: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    """Run a pure rule (supplychain.rules.*_checks); its `Refused` becomes the Update's refusal."""
    try:
        rule(*args, **kwargs)
    except Refused as refused:
        raise UpdateRejected(refused.message_id, **refused.params) from None


def as_shown(state: State, recording: Any | None) -> State:
    """`state` as the pages show it: a step's row is written by its activity a moment before the
    workflow hears back, and the page offers the next click from the row. So while a step is being
    recorded (`recording`: the status it sets), validators judge a click against that status; the
    handler checks again under the workflow's lock, once the step is recorded."""
    if recording is None:
        return state
    return replace(state, status=recording)  # type: ignore[type-var]

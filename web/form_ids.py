"""One click, one effect: a one-time id in every form, used as the id of the Update it sends.

Each render of a form gets a fresh id (`new_form_id`, a hidden `form_id` field written by the
`csrf()` macro). The route passes it to Temporal as the Update id. Temporal keeps at most one Update
per id in a workflow run and gives a repeat the first one's outcome, even when the first is still
running or the run has closed since. So a double click, a retry after a timeout or the same page
sent from two tabs has exactly one effect, and every request answers as the first did.

The id is bound to the Update's name and the acting user, so one form's id cannot stand for another
kind of action or another person. A request without a well-formed id (a hand-made client) still
works, without this protection.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from supplychain.principal import Principal

FORM_ID_FIELD = "form_id"
_FORM_ID = re.compile(r"[0-9a-f]{32}")


def new_form_id() -> str:
    return uuid.uuid4().hex


def submitted_form_id(form: Mapping[str, Any], field: str = FORM_ID_FIELD) -> str | None:
    """The form's one-time id, or None when it is missing or not one of ours."""
    value = form.get(field)
    return value if isinstance(value, str) and _FORM_ID.fullmatch(value) else None


def update_id(form_id: str | None, update: Any, user: Principal) -> str | None:
    """The Update id for a submit of this form by this user (None: Temporal picks a random one)."""
    if form_id is None:
        return None
    name = getattr(update, "__name__", str(update))
    return f"{name}:{user.user_id}:{form_id}"


async def earlier_result(
    client: Client | None, workflow_id: str, update: Any, update_id: str | None
) -> Outcome | None:
    """The result of the Update this form already sent to the workflow (waiting for it if it still
    runs), or None when it sent none, it failed, or Temporal cannot say.

    A route asks before it refuses a submit from the database (an order already shipped, a lot
    already decided): when it was this very form that did it, the repeat answers as the first did.
    """
    if client is None or update_id is None:
        return None
    try:
        handle = client.get_workflow_handle(workflow_id).get_update_handle_for(update, update_id)
        result = await handle.result()
    except (WorkflowUpdateFailedError, RPCError):
        return None
    return Outcome(result)


@dataclass(frozen=True)
class Outcome:
    result: Any

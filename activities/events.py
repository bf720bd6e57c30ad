"""Recording document events from workflows: the activity behind every timeline entry.

Activities here are plain `def`s: the database layer (SQLAlchemy sessions) is blocking, so they run
on the worker's thread pool (`activity_executor` in worker.py) instead of stalling the event loop
that drives workflows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio import activity

from supplychain.db import session_scope
from supplychain.events import record_event_once


@dataclass
class RecordEventInput:
    document_type: str
    document_id: str
    action: str
    # Minted by the workflow as `<workflow id>:<step>`: a retry records nothing new.
    idempotency_key: str
    actor_user_id: int | None = None
    on_behalf_of_user_id: int | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    note: str = ""
    # Pass `workflow.now()` to date the event when the step happened rather than when it was written.
    occurred_at: datetime | None = None


@dataclass
class RecordEventResult:
    event_id: int
    created: bool  # False when the key had been recorded already


@activity.defn
def record_event(input: RecordEventInput) -> RecordEventResult:
    with session_scope() as session:
        event, created = record_event_once(
            session,
            document_type=input.document_type,
            document_id=input.document_id,
            action=input.action,
            idempotency_key=input.idempotency_key,
            actor_user_id=input.actor_user_id,
            on_behalf_of_user_id=input.on_behalf_of_user_id,
            before=input.before,
            after=input.after,
            note=input.note,
            occurred_at=input.occurred_at,
        )
        assert event.id is not None
        return RecordEventResult(event_id=event.id, created=created)

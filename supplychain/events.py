"""Document events: the audit trail and the timeline on every document page.

Every workflow step that changes a document records one event through `record_event`, with an
idempotency key minted by the workflow (`<workflow id>:<step>`), so an activity retried after a crash
never records the same step twice. `timeline` reads the events back, oldest first, with the names of
the people involved and the fields that changed, ready for a template.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from supplychain.models.base import utcnow
from supplychain.models.events import DocumentEvent
from supplychain.models.users import User

IDEMPOTENCY_KEY_MAX_LENGTH = 200


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class TimelineEntry:
    """One event as a document page shows it."""

    id: int
    action: str
    occurred_at: datetime
    actor_user_id: int | None
    actor_name: str | None
    on_behalf_of_user_id: int | None
    on_behalf_of_name: str | None
    note: str
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def changed_fields(self) -> list[str]:
        return [change.field for change in self.changes]


def record_event(
    session: Session,
    *,
    document_type: str,
    document_id: str,
    action: str,
    idempotency_key: str,
    actor_user_id: int | None = None,
    on_behalf_of_user_id: int | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str = "",
    occurred_at: datetime | None = None,
) -> DocumentEvent:
    """Append one event; a second call with the same key returns the first row and writes nothing.

    Does not commit: the event belongs to the caller's transaction, next to the change it records.
    """
    event, _created = record_event_once(
        session,
        document_type=document_type,
        document_id=document_id,
        action=action,
        idempotency_key=idempotency_key,
        actor_user_id=actor_user_id,
        on_behalf_of_user_id=on_behalf_of_user_id,
        before=before,
        after=after,
        note=note,
        occurred_at=occurred_at,
    )
    return event


def record_event_once(
    session: Session,
    *,
    document_type: str,
    document_id: str,
    action: str,
    idempotency_key: str,
    actor_user_id: int | None = None,
    on_behalf_of_user_id: int | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str = "",
    occurred_at: datetime | None = None,
) -> tuple[DocumentEvent, bool]:
    """`record_event`, also telling whether this call wrote the row (False: the key was known)."""
    check_idempotency_key(idempotency_key)
    existing = _event_by_key(session, idempotency_key)
    if existing is not None:
        return existing, False

    event = DocumentEvent(
        document_type=document_type,
        document_id=document_id,
        action=action,
        actor_user_id=actor_user_id,
        on_behalf_of_user_id=on_behalf_of_user_id,
        occurred_at=occurred_at or utcnow(),
        before=_jsonable(before),
        after=_jsonable(after),
        note=note,
        idempotency_key=idempotency_key,
    )
    # A savepoint, so losing a race on the key leaves the caller's transaction usable.
    savepoint = session.begin_nested()
    try:
        session.add(event)
        session.flush()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        existing = _event_by_key(session, idempotency_key)
        if existing is None:  # not a duplicate key: a real constraint violation (unknown user id...)
            raise
        return existing, False
    return event, True


def recorded(session: Session, idempotency_key: str) -> bool:
    """Whether an event with this key is there already (the action it records was done)."""
    return _event_by_key(session, idempotency_key) is not None


def timeline(session: Session, document_type: str, document_id: str) -> list[TimelineEntry]:
    """The document's events, oldest first, with people's names and the fields each one changed."""
    events = list(
        session.execute(
            select(DocumentEvent)
            .where(
                col(DocumentEvent.document_type) == document_type,
                col(DocumentEvent.document_id) == document_id,
            )
            .order_by(col(DocumentEvent.occurred_at), col(DocumentEvent.id))
        ).scalars()
    )
    user_ids = {uid for e in events for uid in (e.actor_user_id, e.on_behalf_of_user_id) if uid is not None}
    changes = {e.id: changed_fields(e.before, e.after) for e in events}
    user_ids |= {
        v
        for cs in changes.values()
        for c in cs
        if _is_user_field(c.field)
        for v in (c.before, c.after)
        if isinstance(v, int)
    }
    names = _user_names(session, user_ids)
    return [
        TimelineEntry(
            id=event.id or 0,
            action=event.action,
            occurred_at=event.occurred_at,
            actor_user_id=event.actor_user_id,
            actor_name=names.get(event.actor_user_id) if event.actor_user_id is not None else None,
            on_behalf_of_user_id=event.on_behalf_of_user_id,
            on_behalf_of_name=(
                names.get(event.on_behalf_of_user_id) if event.on_behalf_of_user_id is not None else None
            ),
            note=event.note,
            changes=[_with_user_names(change, names) for change in changes[event.id]],
        )
        for event in events
    ]


def changed_fields(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[FieldChange]:
    """Fields whose value differs between before and after (a missing field counts as None).

    Order: the fields of `after` as recorded, then fields only `before` had (removed ones).
    """
    before = before or {}
    after = after or {}
    keys = list(after) + [key for key in before if key not in after]
    return [
        FieldChange(field=key, before=before.get(key), after=after.get(key))
        for key in keys
        if before.get(key) != after.get(key)
    ]


def _is_user_field(field: str) -> bool:
    return field.endswith("user_id")


def _with_user_names(change: FieldChange, names: Mapping[int, str]) -> FieldChange:
    """People are recorded by id; the timeline names them."""
    if not _is_user_field(change.field):
        return change

    def name(value: Any) -> Any:
        return names.get(value, value) if isinstance(value, int) else value

    return FieldChange(field=change.field, before=name(change.before), after=name(change.after))


def check_idempotency_key(key: str) -> None:
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ValueError(f"idempotency key must be 1-{IDEMPOTENCY_KEY_MAX_LENGTH} characters, got {key!r}")


def _jsonable(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    # Decimal, datetime, date, enums and UUIDs become JSON strings the same way the Temporal
    # pydantic converter writes them, so a value reads the same whichever path recorded it.
    if value is None:
        return None
    result = to_jsonable_python(dict(value))
    assert isinstance(result, dict)
    return result


def _event_by_key(session: Session, idempotency_key: str) -> DocumentEvent | None:
    return session.execute(
        select(DocumentEvent).where(col(DocumentEvent.idempotency_key) == idempotency_key)
    ).scalar_one_or_none()


def _user_names(session: Session, user_ids: Iterable[int]) -> dict[int, str]:
    ids = list(user_ids)
    if not ids:
        return {}
    rows = session.execute(select(col(User.id), col(User.full_name)).where(col(User.id).in_(ids)))
    return {row[0]: row[1] for row in rows}

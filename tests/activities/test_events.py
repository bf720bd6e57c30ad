"""Document events: idempotent recording and the timeline a document page shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col
from temporalio.testing import ActivityEnvironment

from activities.events import RecordEventInput
from activities.events import record_event as record_event_activity
from supplychain import events
from supplychain.events import FieldChange, changed_fields, record_event, timeline
from supplychain.models import DocumentEvent, OrgKind, Role
from tests.factories import make_organisation, make_user


def _event_count(session: Session, key: str | None = None) -> int:
    query = select(func.count()).select_from(DocumentEvent)
    if key is not None:
        query = query.where(col(DocumentEvent.idempotency_key) == key)
    return int(session.execute(query).scalar_one())


def test_second_record_with_same_key_returns_first_row_and_writes_nothing(session: Session) -> None:
    first = record_event(
        session, document_type="po", document_id="PO-1", action="submitted", idempotency_key="po-1:submit"
    )
    second = record_event(
        session,
        document_type="po",
        document_id="PO-1",
        action="submitted again",
        idempotency_key="po-1:submit",
        note="a retry with different content must not overwrite",
    )
    session.commit()

    assert second.id == first.id
    assert second.action == "submitted"
    assert _event_count(session) == 1


def test_lost_race_on_key_returns_winner_and_keeps_transaction_usable(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner = record_event(
        session, document_type="po", document_id="PO-1", action="approved", idempotency_key="po-1:approve"
    )
    session.commit()
    # The pre-check misses the row once, as when a concurrent transaction commits in between.
    real_lookup = events._event_by_key
    misses = [True]

    def lookup(s: Session, key: str) -> DocumentEvent | None:
        return None if misses and misses.pop() else real_lookup(s, key)

    monkeypatch.setattr(events, "_event_by_key", lookup)

    again = record_event(
        session, document_type="po", document_id="PO-1", action="approved", idempotency_key="po-1:approve"
    )
    other = record_event(
        session, document_type="po", document_id="PO-1", action="sent", idempotency_key="po-1:send"
    )
    session.commit()

    assert not misses  # the pre-check was bypassed, so the unique constraint decided
    assert again.id == winner.id
    assert other.id is not None
    assert _event_count(session) == 2


def test_before_and_after_store_money_and_dates_as_json(session: Session) -> None:
    event = record_event(
        session,
        document_type="po",
        document_id="PO-1",
        action="price_changed",
        idempotency_key="po-1:price",
        before={"unit_price": Decimal("12.30"), "due": datetime(2026, 12, 1, tzinfo=UTC)},
        after={"unit_price": Decimal("12.50"), "due": datetime(2026, 12, 1, tzinfo=UTC), "role": Role.BUYER},
    )
    session.commit()
    session.expire_all()

    stored = session.get(DocumentEvent, event.id)
    assert stored is not None
    assert stored.before == {"unit_price": "12.30", "due": "2026-12-01T00:00:00Z"}
    assert stored.after == {"unit_price": "12.50", "due": "2026-12-01T00:00:00Z", "role": "buyer"}


def test_unknown_actor_is_an_error_not_a_silent_duplicate(session: Session) -> None:
    with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
        record_event(
            session,
            document_type="po",
            document_id="PO-1",
            action="submitted",
            idempotency_key="po-1:submit",
            actor_user_id=999_999,
        )
        session.commit()


def test_idempotency_key_longer_than_the_column_is_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="idempotency key"):
        record_event(session, document_type="po", document_id="PO-1", action="x", idempotency_key="k" * 201)


def test_timeline_is_oldest_first_with_names_and_changed_fields(session: Session) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    buyer = make_user(session, organisation=hq, roles=[Role.BUYER])
    approver = make_user(session, organisation=hq, roles=[Role.APPROVER])
    session.commit()
    start = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    # Recorded out of order: the timeline orders by when things happened.
    record_event(
        session,
        document_type="po",
        document_id="PO-7",
        action="approved",
        idempotency_key="po-7:approve",
        actor_user_id=buyer.id,
        on_behalf_of_user_id=approver.id,
        before={"status": "pending_approval", "total": "100.00"},
        after={"status": "approved", "total": "100.00"},
        note="delegated",
        occurred_at=start + timedelta(hours=2),
    )
    record_event(
        session,
        document_type="po",
        document_id="PO-7",
        action="created",
        idempotency_key="po-7:create",
        actor_user_id=buyer.id,
        after={"status": "draft", "total": "100.00"},
        occurred_at=start,
    )
    record_event(
        session, document_type="po", document_id="PO-8", action="created", idempotency_key="po-8:create"
    )
    session.commit()

    entries = timeline(session, "po", "PO-7")

    assert [e.action for e in entries] == ["created", "approved"]
    created, approved = entries
    assert created.actor_name == buyer.full_name
    assert created.on_behalf_of_name is None
    assert created.changed_fields == ["status", "total"]
    assert approved.actor_name == buyer.full_name
    assert approved.on_behalf_of_name == approver.full_name
    assert approved.note == "delegated"
    assert approved.changes == [FieldChange("status", "pending_approval", "approved")]
    assert timeline(session, "po", "PO-404") == []


def test_changed_fields_lists_changed_added_and_removed_fields_only() -> None:
    before = {"status": "draft", "qty": 5, "note": "x", "same": 1}
    after = {"qty": 6, "status": "draft", "new": True, "same": 1}

    assert changed_fields(before, after) == [
        FieldChange("qty", 5, 6),
        FieldChange("new", None, True),
        FieldChange("note", "x", None),
    ]
    assert changed_fields(None, None) == []
    assert changed_fields(None, {"a": 1}) == [FieldChange("a", None, 1)]


def test_record_event_activity_is_idempotent(db: object, session: Session) -> None:
    env = ActivityEnvironment()
    input = RecordEventInput(
        document_type="transfer",
        document_id="TR-1",
        action="dispatched",
        idempotency_key="tr-1:dispatch",
        after={"qty": Decimal("3")},
    )

    first = env.run(record_event_activity, input)
    second = env.run(record_event_activity, input)

    assert first.created and not second.created
    assert first.event_id == second.event_id
    assert _event_count(session, "tr-1:dispatch") == 1

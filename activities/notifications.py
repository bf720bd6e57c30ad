"""Notifying people from workflows: in-app rows first, then e-mail.

Sync activities on the worker's thread pool, like every database activity (see activities/events.py).
Writing and e-mailing are two transactions in one activity: the in-app rows are committed before any
SMTP traffic, and when the SMTP server fails the activity is retried, which finds the rows already
written (same keys) and sends only the e-mails still pending (`emailed_at` unset).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity

from supplychain import notifications
from supplychain.db import session_scope
from supplychain.models.users import Role


@dataclass
class NotifyInput:
    user_ids: list[int]
    message: str  # a message id from the translation catalogue
    # Minted by the workflow as `<workflow id>:<step>`; each row gets `<key>:<user id>`.
    idempotency_key: str
    params: dict[str, Any] = field(default_factory=dict)
    link: str = ""
    document_type: str = ""
    document_id: str = ""
    send_email: bool = True


@dataclass
class NotifyRoleInput:
    role: Role
    message: str
    idempotency_key: str
    organisation_id: int | None = None  # None: holders of the role in every organisation
    params: dict[str, Any] = field(default_factory=dict)
    link: str = ""
    document_type: str = ""
    document_id: str = ""
    send_email: bool = True


@dataclass
class NotifyResult:
    notification_ids: list[int]
    user_ids: list[int]
    emailed: int  # e-mails sent by this attempt


@activity.defn
def notify(input: NotifyInput) -> NotifyResult:
    with session_scope() as session:
        rows = notifications.notify(
            session,
            user_ids=input.user_ids,
            message=input.message,
            idempotency_key=input.idempotency_key,
            params=input.params,
            link=input.link,
            document_type=input.document_type,
            document_id=input.document_id,
        )
        ids = [row.id for row in rows if row.id is not None]
        user_ids = [row.user_id for row in rows]
    return _with_emails(ids, user_ids, input.send_email)


@activity.defn
def notify_role(input: NotifyRoleInput) -> NotifyResult:
    with session_scope() as session:
        rows = notifications.notify_role(
            session,
            role=input.role,
            organisation_id=input.organisation_id,
            message=input.message,
            idempotency_key=input.idempotency_key,
            params=input.params,
            link=input.link,
            document_type=input.document_type,
            document_id=input.document_id,
        )
        ids = [row.id for row in rows if row.id is not None]
        user_ids = [row.user_id for row in rows]
    return _with_emails(ids, user_ids, input.send_email)


def _with_emails(notification_ids: list[int], user_ids: list[int], send_email: bool) -> NotifyResult:
    emailed = email_after_commit(notification_ids) if send_email else 0
    return NotifyResult(notification_ids=notification_ids, user_ids=user_ids, emailed=emailed)


def email_after_commit(notification_ids: Sequence[int]) -> int:
    """E-mail notifications whose rows are already committed, in a transaction of its own: an SMTP
    outage never holds back the in-app notification or the change that caused it. Every activity
    that notifies calls this after its `session_scope` has committed."""
    if not notification_ids:
        return 0
    with session_scope() as session:
        return notifications.deliver_emails(session, notification_ids)

"""Notifications: idempotent writes, who gets them, the bell's counts, and e-mail delivery."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from typing import Any, ClassVar

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from temporalio.testing import ActivityEnvironment

from activities.notifications import NotifyInput, NotifyRoleInput
from activities.notifications import notify as notify_activity
from activities.notifications import notify_role as notify_role_activity
from supplychain import notifications
from supplychain.inbox import mark_all_read, mark_read, recent, unread_count
from supplychain.models import Notification, Organisation, OrgKind, Role, User
from supplychain.notifications import deliver_emails, notify, notify_role
from supplychain.principal import principal_for
from supplychain.settings import settings
from tests.factories import make_organisation, make_user


class RecordingSMTP:
    """Stands in for smtplib.SMTP: records what would have been sent."""

    sent: ClassVar[list[EmailMessage]] = []
    connections: ClassVar[list[tuple[str, int]]] = []
    fail: ClassVar[bool] = False

    def __init__(self, host: str, port: int, timeout: float = 0) -> None:
        self.connections.append((host, port))
        self.started_tls = False
        self.logged_in_as: str | None = None

    def __enter__(self) -> RecordingSMTP:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def starttls(self, context: Any = None) -> None:
        self.started_tls = True

    def login(self, user: str, password: str) -> None:
        self.logged_in_as = user

    def send_message(self, message: EmailMessage) -> None:
        if self.fail:
            raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")
        assert self.started_tls and self.logged_in_as == "mailer"
        self.sent.append(message)


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> type[RecordingSMTP]:
    RecordingSMTP.sent = []
    RecordingSMTP.connections = []
    RecordingSMTP.fail = False
    monkeypatch.setattr(smtplib, "SMTP", RecordingSMTP)
    monkeypatch.setattr(settings, "SMTP_HOST", "smtp.example.test")
    monkeypatch.setattr(settings, "SMTP_PORT", 587)
    monkeypatch.setattr(settings, "SMTP_STARTTLS", True)
    monkeypatch.setattr(settings, "SMTP_USERNAME", "mailer")
    monkeypatch.setattr(settings, "SMTP_PASSWORD", "pw")
    monkeypatch.setattr(settings, "SMTP_FROM", "portal@example.test")
    return RecordingSMTP


@pytest.fixture
def no_smtp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "SMTP_HOST", None)


@pytest.fixture
def hq(session: Session) -> Organisation:
    org = make_organisation(session, kind=OrgKind.HQ)
    session.commit()
    return org


def _user(session: Session, org: Organisation, *roles: Role, active: bool = True) -> User:
    user = make_user(session, organisation=org, roles=list(roles))
    user.is_active = active
    session.add(user)
    session.commit()
    assert user.id is not None
    return user


def _count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(Notification)).scalar_one())


def test_notify_twice_with_same_key_writes_one_row_per_user(session: Session, hq: Organisation) -> None:
    a, b = _user(session, hq, Role.BUYER), _user(session, hq, Role.BUYER)
    assert a.id and b.id

    first = notify(
        session,
        user_ids=[a.id, b.id, a.id],
        message="Purchase order %(number)s awaits your approval",
        params={"number": "PO-2026-000123"},
        link="/po/PO-2026-000123",
        document_type="po",
        document_id="PO-2026-000123",
        idempotency_key="po-2026-000123:ask-approval",
    )
    second = notify(
        session,
        user_ids=[b.id, a.id],
        message="Purchase order %(number)s awaits your approval",
        params={"number": "PO-2026-000123"},
        idempotency_key="po-2026-000123:ask-approval",
    )
    session.commit()

    assert [n.user_id for n in first] == [a.id, b.id]
    assert {n.id for n in second} == {n.id for n in first}
    assert _count(session) == 2
    assert first[0].idempotency_key == f"po-2026-000123:ask-approval:{a.id}"
    assert first[0].params == {"number": "PO-2026-000123"}


def test_notify_role_reaches_active_holders_in_the_organisation_only(
    session: Session, hq: Organisation
) -> None:
    other_hq = make_organisation(session, kind=OrgKind.HQ)
    session.commit()
    approver = _user(session, hq, Role.APPROVER, Role.BUYER)
    _user(session, hq, Role.APPROVER, active=False)
    _user(session, hq, Role.BUYER)
    other_org_approver = _user(session, other_hq, Role.APPROVER)

    in_hq = notify_role(
        session,
        role=Role.APPROVER,
        organisation_id=hq.id,
        message="Approve %(number)s",
        params={"number": "PO-1"},
        idempotency_key="po-1:approve",
    )
    everywhere = notify_role(
        session, role=Role.APPROVER, message="Approve %(number)s", idempotency_key="po-2:approve"
    )
    session.commit()

    assert [n.user_id for n in in_hq] == [approver.id]
    assert [n.user_id for n in everywhere] == [approver.id, other_org_approver.id]


def test_unread_count_recent_and_marking_read(session: Session, hq: Organisation) -> None:
    mine, theirs_ = _user(session, hq, Role.BUYER), _user(session, hq, Role.BUYER)
    assert mine.id and theirs_.id
    for step in range(3):
        notify(session, user_ids=[mine.id, theirs_.id], message=f"m{step}", idempotency_key=f"wf:{step}")
    session.commit()
    me, someone_else = principal_for(session, mine), principal_for(session, theirs_)

    assert unread_count(session, me) == 3
    latest = recent(session, me, limit=2)
    assert [n.message for n in latest] == ["m2", "m1"]

    theirs = recent(session, someone_else, limit=1)[0]
    assert theirs.id is not None and latest[0].id is not None
    assert mark_read(session, me, theirs.id) is False  # not mine: nothing happens
    assert mark_read(session, me, 999_999) is False
    assert mark_read(session, me, latest[0].id) is True
    assert mark_read(session, me, latest[0].id) is True  # a second click is harmless
    session.commit()
    assert unread_count(session, me) == 2
    assert unread_count(session, someone_else) == 3

    assert mark_all_read(session, me) == 2
    session.commit()
    assert unread_count(session, me) == 0
    assert unread_count(session, someone_else) == 3


def test_email_is_sent_once_in_the_readers_language(
    session: Session, hq: Organisation, smtp: type[RecordingSMTP]
) -> None:
    user = _user(session, hq, Role.BUYER)
    assert user.id
    rows = notify(
        session,
        user_ids=[user.id],
        message="Purchase order %(number)s awaits your approval",
        params={"number": "PO-9"},
        link="/po/PO-9",
        idempotency_key="po-9:ask",
    )
    session.commit()
    ids = [n.id for n in rows if n.id is not None]

    assert deliver_emails(session, ids) == 1
    assert deliver_emails(session, ids) == 0  # already e-mailed: a retry sends nothing

    assert smtp.connections == [("smtp.example.test", 587)]
    (email,) = smtp.sent
    assert email["To"] == user.email
    assert email["From"] == "portal@example.test"
    assert "PO-9" in email["Subject"]
    assert "/po/PO-9" in email.get_content()
    session.expire_all()
    stored = session.get(Notification, ids[0])
    assert stored is not None and stored.emailed_at is not None


def test_smtp_failure_leaves_the_notification_pending_for_the_retry(
    session: Session, hq: Organisation, smtp: type[RecordingSMTP]
) -> None:
    user = _user(session, hq, Role.BUYER)
    assert user.id
    (row,) = notify(session, user_ids=[user.id], message="hello", idempotency_key="wf:hello")
    session.commit()
    assert row.id

    smtp.fail = True
    with pytest.raises(smtplib.SMTPException):
        deliver_emails(session, [row.id])
    session.rollback()
    stored = session.get(Notification, row.id)
    assert stored is not None and stored.emailed_at is None

    smtp.fail = False
    assert deliver_emails(session, [row.id]) == 1


def test_without_smtp_the_email_is_logged_not_sent(
    session: Session, hq: Organisation, no_smtp: None, caplog: pytest.LogCaptureFixture
) -> None:
    user = _user(session, hq, Role.BUYER)
    assert user.id
    (row,) = notify(
        session,
        user_ids=[user.id],
        message="Receipt %(number)s",
        params={"number": "GR-1"},
        idempotency_key="k",
    )
    session.commit()
    assert row.id

    with caplog.at_level(logging.INFO, logger="supplychain.notifications"):
        assert deliver_emails(session, [row.id]) == 0

    assert any(user.email in r.getMessage() and "GR-1" in r.getMessage() for r in caplog.records)
    session.expire_all()
    stored = session.get(Notification, row.id)
    assert stored is not None and stored.emailed_at is None


def test_inactive_users_get_no_email(session: Session, hq: Organisation, smtp: type[RecordingSMTP]) -> None:
    user = _user(session, hq, Role.BUYER, active=False)
    assert user.id
    rows = notify(session, user_ids=[user.id], message="hello", idempotency_key="wf:x")
    session.commit()

    assert deliver_emails(session, [n.id for n in rows if n.id]) == 0
    assert smtp.sent == []


def test_custom_translator_renders_the_email(
    session: Session, hq: Organisation, smtp: type[RecordingSMTP], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _user(session, hq, Role.BUYER)
    assert user.id
    monkeypatch.setattr(notifications, "_translator", lambda m, p, locale: f"[{locale}] {m}")
    rows = notify(session, user_ids=[user.id], message="greeting", idempotency_key="wf:greet")
    session.commit()

    deliver_emails(session, [n.id for n in rows if n.id])

    assert smtp.sent[0]["Subject"] == f"[{user.locale}] greeting"


def test_notify_activities_write_once_and_email_once(
    session: Session, hq: Organisation, smtp: type[RecordingSMTP]
) -> None:
    buyer = _user(session, hq, Role.BUYER)
    approver = _user(session, hq, Role.APPROVER)
    assert buyer.id and approver.id
    env = ActivityEnvironment()
    direct = NotifyInput(user_ids=[buyer.id], message="hi", idempotency_key="wf-1:notify")
    by_role = NotifyRoleInput(
        role=Role.APPROVER, organisation_id=hq.id, message="approve", idempotency_key="wf-1:ask"
    )

    first = env.run(notify_activity, direct)
    again = env.run(notify_activity, direct)
    role_first = env.run(notify_role_activity, by_role)
    role_again = env.run(notify_role_activity, by_role)

    assert first.notification_ids == again.notification_ids
    assert (first.emailed, again.emailed) == (1, 0)
    assert role_first.user_ids == [approver.id]
    assert role_first.notification_ids == role_again.notification_ids
    assert (role_first.emailed, role_again.emailed) == (1, 0)
    assert _count(session) == 2
    assert len(smtp.sent) == 2

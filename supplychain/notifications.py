"""Notifications: in-app (the bell) for everyone, e-mail too when SMTP is configured.

A notification stores a message id and its parameters, never rendered text, so the web layer shows
it in each reader's language. `notify` writes one row per recipient under the key
`<idempotency key>:<user id>`, so a retried workflow step notifies nobody twice.

E-mail is a second, separate step (`deliver_emails`), run after the rows are committed: an SMTP outage
never holds back the in-app notification, and `emailed_at` marks what has been sent, so retrying the
delivery only sends what is still pending. Without SMTP the message goes to the log instead.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Iterable, Mapping, Sequence
from email.message import EmailMessage
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from supplychain import accounts
from supplychain.events import check_idempotency_key
from supplychain.models.base import utcnow
from supplychain.models.events import Notification
from supplychain.models.users import Role, User
from supplychain.settings import settings

logger = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30
SUBJECT_MAX_LENGTH = 150

# (message id, params, locale) -> text, for e-mail (the web layer translates in templates).
Translator = Callable[[str, Mapping[str, Any], str], str]


def _gettext_translator(message: str, params: Mapping[str, Any], locale: str) -> str:
    """The catalogue lookup of supplychain.i18n with gettext's `%(name)s` parameters."""
    try:
        from supplychain import i18n
    except ImportError:  # the catalogue is optional here: fall back to the message id itself
        text = message
    else:
        text = i18n.translations(locale).gettext(message)
    try:
        return text % dict(params) if params else text
    except (KeyError, TypeError, ValueError):  # a malformed translation must not lose the e-mail
        logger.warning("could not format message %r with %r", message, params)
        return text


_translator: Translator = _gettext_translator


def set_translator(translator: Translator) -> None:
    """Replace how e-mails render message ids (tests, or another catalogue)."""
    global _translator
    _translator = translator


def render_message(message: str, params: Mapping[str, Any], locale: str) -> str:
    return _translator(message, params, locale)


# -- writing --------------------------------------------------------------------------------------


def notify(
    session: Session,
    *,
    user_ids: Iterable[int],
    message: str,
    idempotency_key: str,
    params: Mapping[str, Any] | None = None,
    link: str = "",
    document_type: str = "",
    document_id: str = "",
) -> list[Notification]:
    """One notification per user (duplicates in `user_ids` count once); safe to call again.

    Returns the rows, new or already there, in the order of `user_ids`. Does not commit.
    """
    check_idempotency_key(idempotency_key)
    jsonable_params = to_jsonable_python(dict(params or {}))
    result: list[Notification] = []
    for user_id in dict.fromkeys(user_ids):
        key = f"{idempotency_key}:{user_id}"
        check_idempotency_key(key)
        existing = _notification_by_key(session, key)
        if existing is not None:
            result.append(existing)
            continue
        notification = Notification(
            user_id=user_id,
            message=message,
            params=jsonable_params,
            link=link,
            document_type=document_type,
            document_id=document_id,
            idempotency_key=key,
        )
        savepoint = session.begin_nested()
        try:
            session.add(notification)
            session.flush()
            savepoint.commit()
        except IntegrityError:
            savepoint.rollback()
            existing = _notification_by_key(session, key)
            if existing is None:  # not the key: an unknown user id or another real violation
                raise
            notification = existing
        result.append(notification)
    return result


def users_with_role(session: Session, role: Role, organisation_id: int | None = None) -> list[int]:
    """Ids of the active users holding `role` (in one organisation, when given), in id order."""
    query = (
        select(col(User.id))
        .where(col(User.id).in_(accounts.holders_of(role)), col(User.is_active).is_(True))
        .order_by(col(User.id))
        .distinct()
    )
    if organisation_id is not None:
        query = query.where(col(User.organisation_id) == organisation_id)
    return list(session.execute(query).scalars())


def notify_role(
    session: Session,
    *,
    role: Role,
    message: str,
    idempotency_key: str,
    organisation_id: int | None = None,
    params: Mapping[str, Any] | None = None,
    link: str = "",
    document_type: str = "",
    document_id: str = "",
) -> list[Notification]:
    """`notify` every active user with `role` (in `organisation_id`, when given)."""
    return notify(
        session,
        user_ids=users_with_role(session, role, organisation_id),
        message=message,
        idempotency_key=idempotency_key,
        params=params,
        link=link,
        document_type=document_type,
        document_id=document_id,
    )


# -- e-mail ---------------------------------------------------------------------------------------


def deliver_emails(session: Session, notification_ids: Sequence[int]) -> int:
    """E-mail the given notifications that have not been e-mailed yet; returns how many were sent.

    Commits after each message (the row is locked while it is sent), so a crash in between resends at
    most that one message and a second worker never sends it at the same time. SMTP errors propagate
    so the calling activity is retried; rows already marked are skipped on the retry. Without SMTP
    each message is logged and left unmarked.
    """
    sent = 0
    for notification_id in notification_ids:
        notification = session.execute(
            select(Notification).where(col(Notification.id) == notification_id).with_for_update()
        ).scalar_one_or_none()
        if notification is None or notification.emailed_at is not None:
            session.commit()
            continue
        user = session.get(User, notification.user_id)
        if user is None or not user.is_active or not user.email:
            session.commit()
            continue
        email = compose_email(notification, user)
        if not settings.smtp_enabled:
            logger.info(
                "SMTP not configured; notification %s for %s not e-mailed: %s",
                notification.id,
                user.email,
                email["Subject"],
            )
            session.commit()
            continue
        send_email(email)
        notification.emailed_at = utcnow()
        session.add(notification)
        session.commit()
        sent += 1
    return sent


def compose_email(notification: Notification, user: User) -> EmailMessage:
    text = render_message(notification.message, notification.params or {}, user.locale)
    subject = text.splitlines()[0] if text else notification.message
    if len(subject) > SUBJECT_MAX_LENGTH:
        subject = subject[: SUBJECT_MAX_LENGTH - 1] + "…"
    email = EmailMessage()
    email["From"] = settings.SMTP_FROM
    email["To"] = user.email
    email["Subject"] = subject
    body = text
    if notification.link:
        body += f"\n\n{notification.link}"
    email.set_content(body)
    return email


def send_email(email: EmailMessage) -> None:
    """Send one message through the configured SMTP server (implicit TLS on port 465, else STARTTLS)."""
    assert settings.SMTP_HOST
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.SMTP_PORT == 465:
        smtp = smtplib.SMTP_SSL(
            settings.SMTP_HOST, settings.SMTP_PORT, timeout=SMTP_TIMEOUT_SECONDS, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.SMTP_HOST, settings.SMTP_PORT, timeout=SMTP_TIMEOUT_SECONDS)
    with smtp:
        if settings.SMTP_PORT != 465 and settings.SMTP_STARTTLS:
            smtp.starttls(context=context)
        if settings.SMTP_USERNAME:
            smtp.login(settings.SMTP_USERNAME, settings.SMTP_PASSWORD or "")
        smtp.send_message(email)


def _notification_by_key(session: Session, key: str) -> Notification | None:
    return session.execute(
        select(Notification).where(col(Notification.idempotency_key) == key)
    ).scalar_one_or_none()

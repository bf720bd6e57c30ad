"""The notification inbox: what a user reads (the bell, the list) and marks read.

Every read goes through the scoping rule (`supplychain.scoping`: notifications are personal), so
another user's notification answers as if it did not exist. Writing notifications is
`supplychain.notifications`.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from supplychain.models.base import utcnow
from supplychain.models.events import Notification
from supplychain.principal import Principal
from supplychain.scoping import visible


def unread_count(session: Session, principal: Principal) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(Notification)
            .where(visible(principal, Notification), col(Notification.read_at).is_(None))
        ).scalar_one()
    )


def recent(session: Session, principal: Principal, limit: int = 20) -> list[Notification]:
    """The user's latest notifications, newest first, read or not."""
    return list(
        session.execute(
            select(Notification)
            .where(visible(principal, Notification))
            .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
            .limit(limit)
        ).scalars()
    )


def mark_read(session: Session, principal: Principal, notification_id: int) -> bool:
    """Mark one of the user's notifications read; False when they cannot see it (or it does not exist)."""
    notification = session.execute(
        select(Notification).where(visible(principal, Notification), col(Notification.id) == notification_id)
    ).scalar_one_or_none()
    if notification is None:
        return False
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.add(notification)
        session.flush()
    return True


def mark_all_read(session: Session, principal: Principal) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    result = session.execute(
        update(Notification)
        .where(visible(principal, Notification), col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
    )
    session.expire_all()
    return int(result.rowcount)  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult

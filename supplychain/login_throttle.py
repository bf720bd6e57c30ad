"""Login throttling: failed attempts per account and per client lock logins for a while.

Attempts are rows in `login_attempt`, so every web process sees the same counts. Failures count
inside a sliding window of LOGIN_LOCK_MINUTES; a successful login clears the account's count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from supplychain.models import LoginAttempt
from supplychain.models.base import utcnow
from supplychain.settings import settings


@dataclass(frozen=True)
class ThrottleState:
    locked: bool
    attempts_left: int  # failures the account may still make before it locks
    retry_after: datetime | None = None

    @property
    def minutes_left(self) -> int:
        if self.retry_after is None:
            return 0
        return max(1, -(-int((self.retry_after - utcnow()).total_seconds()) // 60))


def _window_start(now: datetime) -> datetime:
    return now - timedelta(minutes=settings.LOGIN_LOCK_MINUTES)


def _failures(session: Session, column: Any, value: str, since: datetime) -> tuple[int, datetime | None]:
    row = session.execute(
        select(func.count(), func.min(LoginAttempt.attempted_at)).where(
            col(column) == value,
            col(LoginAttempt.succeeded).is_(False),
            col(LoginAttempt.attempted_at) >= since,
        )
    ).one()
    return int(row[0]), row[1]


def throttle_state(session: Session, *, email: str, client_ip: str) -> ThrottleState:
    now = utcnow()
    since = _window_start(now)
    last_success = session.execute(
        select(func.max(LoginAttempt.attempted_at)).where(
            col(LoginAttempt.email) == email,
            col(LoginAttempt.succeeded).is_(True),
        )
    ).scalar_one_or_none()
    account_since = max(since, last_success) if last_success else since
    account_failures, account_first = _failures(session, LoginAttempt.email, email, account_since)
    client_failures, client_first = _failures(session, LoginAttempt.client_ip, client_ip, since)
    lock = timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    if account_failures >= settings.LOGIN_MAX_FAILURES_PER_ACCOUNT and account_first is not None:
        return ThrottleState(locked=True, attempts_left=0, retry_after=account_first + lock)
    if client_failures >= settings.LOGIN_MAX_FAILURES_PER_CLIENT and client_first is not None:
        return ThrottleState(locked=True, attempts_left=0, retry_after=client_first + lock)
    return ThrottleState(
        locked=False, attempts_left=settings.LOGIN_MAX_FAILURES_PER_ACCOUNT - account_failures
    )


def record_attempt(session: Session, *, email: str, client_ip: str, succeeded: bool) -> None:
    session.add(LoginAttempt(email=email, client_ip=client_ip, succeeded=succeeded))
    session.commit()

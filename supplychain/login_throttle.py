"""Login throttling with growing delays instead of locks, so nobody can keep an owner out.

A hard lock after N failures lets anyone who knows an e-mail address lock its owner out. Here a
failure never locks; it makes the *next* attempt wait, and the wait doubles with each further
failure, up to LOGIN_MAX_DELAY_MINUTES. Three counts, each of failures since the last success
that would clear it, over the past FAILURE_MEMORY:

- the pair (account, client address): after LOGIN_MAX_FAILURES_PER_ACCOUNT failures, the next
  attempt from that address waits 2^(n-k) seconds after the last failure. This is the guesser's
  own brake; a success from that address clears it.
- the account from *any* address, applied only to addresses the account has not logged in from:
  the same doubling, but only after twice as many failures and never more than
  ACCOUNT_DELAY_CAP, so guessing from many addresses is slowed while the owner on a new device
  waits a minute at most.
- the client address over all accounts (password spraying): after LOGIN_MAX_FAILURES_PER_CLIENT
  failures, every account tried from that address waits, except accounts that have logged in
  from it before.

An address the account logged in from successfully within KNOWN_ADDRESS_MEMORY is that account's
known address: failures from other addresses never delay it, so the owner at their usual address
gets in with the right password at once whatever an attacker elsewhere does. A refused (too
early) attempt is not checked and not counted; the per-address request rate limit
(LOGIN_RATE_LIMIT, web.ratelimit) caps how often it can be tried.

Attempts are rows in `login_attempt`, so every web process sees the same counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from supplychain.models import LoginAttempt
from supplychain.models.base import utcnow
from supplychain.settings import settings

FAILURE_MEMORY = timedelta(hours=24)
KNOWN_ADDRESS_MEMORY = timedelta(days=90)
# The account-wide delay stays short: it is the one that also falls on the owner at a new address.
ACCOUNT_DELAY_CAP = timedelta(minutes=1)


@dataclass(frozen=True)
class ThrottleState:
    retry_after: datetime | None  # the next attempt is refused before this time
    attempts_left: int  # failures this account may still make from this address before delays start

    @property
    def delayed(self) -> bool:
        return self.retry_after is not None and self.retry_after > utcnow()

    @property
    def seconds_left(self) -> int:
        if self.retry_after is None:
            return 0
        return max(1, math.ceil((self.retry_after - utcnow()).total_seconds()))


def backoff(failures: int, free: int, cap: timedelta) -> timedelta:
    """The wait after `failures` failures when the first `free` cost nothing: 1 s, 2 s, 4 s ... cap."""
    if failures < free:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - free, 30)), cap)


def _last_success(session: Session, *conditions: Any) -> datetime | None:
    return session.execute(
        select(func.max(LoginAttempt.attempted_at)).where(col(LoginAttempt.succeeded).is_(True), *conditions)
    ).scalar_one_or_none()


def _failures(session: Session, since: datetime, *conditions: Any) -> tuple[int, datetime | None]:
    """How many failures since `since`, and when the last one was."""
    row = session.execute(
        select(func.count(), func.max(LoginAttempt.attempted_at)).where(
            col(LoginAttempt.succeeded).is_(False), col(LoginAttempt.attempted_at) > since, *conditions
        )
    ).one()
    return int(row[0]), row[1]


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


def throttle_state(session: Session, *, email: str, client_ip: str) -> ThrottleState:
    now = utcnow()
    memory_start = now - FAILURE_MEMORY
    max_delay = timedelta(minutes=settings.LOGIN_MAX_DELAY_MINUTES)
    free = settings.LOGIN_MAX_FAILURES_PER_ACCOUNT
    same_account = col(LoginAttempt.email) == email
    same_address = col(LoginAttempt.client_ip) == client_ip

    pair_success = _last_success(session, same_account, same_address)
    pair_failures, pair_last = _failures(
        session, _later(memory_start, pair_success) or memory_start, same_account, same_address
    )
    retry_after: datetime | None = None
    if pair_last is not None and pair_failures >= free:
        retry_after = pair_last + backoff(pair_failures, free, max_delay)

    known_address = pair_success is not None and pair_success > now - KNOWN_ADDRESS_MEMORY
    if not known_address:
        account_since = _later(memory_start, _last_success(session, same_account)) or memory_start
        account_failures, account_last = _failures(session, account_since, same_account)
        if account_last is not None and account_failures >= 2 * free:
            retry_after = _later(
                retry_after, account_last + backoff(account_failures, 2 * free, ACCOUNT_DELAY_CAP)
            )
        client_free = settings.LOGIN_MAX_FAILURES_PER_CLIENT
        client_failures, client_last = _failures(session, memory_start, same_address)
        if client_last is not None and client_failures >= client_free:
            retry_after = _later(retry_after, client_last + backoff(client_failures, client_free, max_delay))

    return ThrottleState(retry_after=retry_after, attempts_left=max(0, free - pair_failures))


def record_attempt(session: Session, *, email: str, client_ip: str, succeeded: bool) -> None:
    session.add(LoginAttempt(email=email, client_ip=client_ip, succeeded=succeeded))
    session.commit()

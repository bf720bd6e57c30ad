"""Calling workflows from a route without blocking the event loop or holding a database connection.

Routes that touch the database are sync (FastAPI runs them in its thread pool). When such a route
needs Temporal (an Update, a query, a start), `await_on_loop` first ends the request session's
transaction, giving its pooled connection back, then runs the coroutine on the event loop (where
the app's Temporal client lives) and blocks only this worker thread until it answers. So neither
the loop nor a connection waits on Temporal, and a page under load cannot run out of connections
while it waits (the deadlock issue 10 describes).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, TypeVarTuple

import anyio.from_thread
import anyio.to_thread
from sqlmodel import Session

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


def await_on_loop(session: Session, function: Callable[[*Ts], Coroutine[Any, Any, T]], *args: *Ts) -> T:
    """`await function(*args)` on the event loop, from a sync route, after releasing the session's
    connection (what the route wrote so far is committed; loaded rows reload when next read)."""
    session.commit()
    return anyio.from_thread.run(_waiting_aside, function, *args)


async def _waiting_aside(function: Callable[[*Ts], Coroutine[Any, Any, T]], *args: *Ts) -> T:
    """Run `function` while the calling thread, which only waits, does not count against the
    WEB_THREADS limit: pages go on being served while clicks wait for their Updates."""
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens += 1
    try:
        return await function(*args)
    finally:
        limiter.total_tokens -= 1

"""The request path blocks nothing (issue 10): no database work on the event loop.

A route that touches the database is a plain `def` (FastAPI runs it in its thread pool); only routes
that do no database work may be `async def`. `/healthz` is one: its database check runs on an
executor of its own, so it still answers when slow pages fill the shared thread pool.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import anyio
import anyio.to_thread
import httpx
from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine
from starlette.routing import BaseRoute
from temporalio.client import Client

from web.app import create_app
from web.workflow_calls import await_on_loop

# Async endpoints that do no database work, each with the reason it may stay async.
ASYNC_ALLOWED = {
    # Awaits Temporal on the loop; its database check runs on health's own executor.
    "web.routes.health.healthz",
}


def endpoints(routes: Sequence[BaseRoute]) -> Iterator[Callable[..., Any]]:
    """Every endpoint under `routes`, inside included routers too (FastAPI keeps them whole)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from endpoints(included.routes)
        elif (endpoint := getattr(route, "endpoint", None)) is not None:
            yield endpoint


def async_endpoints(app: FastAPI) -> set[str]:
    """The dotted names of the app's endpoints that are coroutine functions."""
    return {
        f"{endpoint.__module__}.{endpoint.__qualname__}"
        for endpoint in endpoints(app.routes)
        if inspect.iscoroutinefunction(endpoint)
    }


def test_the_walk_sees_the_routes_of_every_router() -> None:
    modules = {endpoint.__module__ for endpoint in endpoints(create_app().routes)}
    assert {f"web.routes.{name}" for name in ("purchase_orders", "shipments", "admin", "health")} <= modules


def test_no_route_is_async_unless_allowed() -> None:
    assert async_endpoints(create_app()) - ASYNC_ALLOWED == set()


def test_every_allowed_async_route_still_exists_and_is_async() -> None:
    assert ASYNC_ALLOWED - async_endpoints(create_app()) == set()


async def _a_page() -> dict[str, str]:
    return {}


def _another_page() -> dict[str, str]:
    return {}


def test_the_check_finds_an_async_route_and_passes_a_sync_one() -> None:
    router = APIRouter()
    router.get("/a")(_a_page)
    router.get("/b")(_another_page)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(router)
    assert async_endpoints(app) == {f"{__name__}._a_page"}


class _NoTemporal:
    async def get(self) -> Client | None:
        return None


async def test_healthz_answers_while_the_thread_pool_is_full(db: Engine) -> None:
    app = create_app()
    app.state.temporal = _NoTemporal()  # no lifespan under ASGITransport
    limiter = anyio.to_thread.current_default_thread_limiter()
    tokens = limiter.total_tokens
    release = threading.Event()
    limiter.total_tokens = 1
    try:
        async with (
            anyio.create_task_group() as tasks,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
        ):
            tasks.start_soon(anyio.to_thread.run_sync, release.wait)  # a slow page holds the pool
            try:
                with anyio.fail_after(5):
                    while limiter.borrowed_tokens < 1:
                        await anyio.sleep(0.01)
                # A sync page waits for the pool ...
                with anyio.move_on_after(1) as waited:
                    await client.get("/login")
                assert waited.cancelled_caught
                # ... while the probe answers.
                with anyio.fail_after(5):
                    response = await client.get("/healthz")
            finally:
                release.set()  # before the task group waits for the slow page
    finally:
        limiter.total_tokens = tokens
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "temporal": "down"}


class _CommitOnly:
    """What `await_on_loop` needs of the request's session."""

    def __init__(self) -> None:
        self.committed = False

    def commit(self) -> None:
        self.committed = True


async def test_a_thread_waiting_on_temporal_leaves_its_place_to_a_page() -> None:
    """With one worker thread, a click waiting for its Update (on the loop) does not hold the
    thread's place: a page runs meanwhile, and the limit is as it was afterwards."""
    limiter = anyio.to_thread.current_default_thread_limiter()
    tokens = limiter.total_tokens
    update_answered = anyio.Event()
    waiting = anyio.Event()
    session = _CommitOnly()

    async def update() -> str:
        waiting.set()
        await update_answered.wait()
        return "accepted"

    def click() -> str:
        return await_on_loop(session, update)

    limiter.total_tokens = 1
    try:
        async with anyio.create_task_group() as tasks:
            results: dict[str, str] = {}

            async def run_click() -> None:
                results["click"] = await anyio.to_thread.run_sync(click)

            tasks.start_soon(run_click)
            with anyio.fail_after(5):
                await waiting.wait()
                assert await anyio.to_thread.run_sync(lambda: "page") == "page"
            update_answered.set()
        assert results == {"click": "accepted"} and session.committed
        assert (limiter.total_tokens, limiter.borrowed_tokens) == (1, 0)
    finally:
        limiter.total_tokens = tokens

"""Health: database and Temporal connectivity, as a page for people and JSON for probes.

The database check runs on a small executor of its own, not on the thread pool the sync routes
share: `/healthz` (async, no request session) still answers when slow pages fill that pool, and a
check that does not answer within `DATABASE_CHECK_TIMEOUT_SECONDS` reports the database down.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlmodel import Session
from starlette.responses import Response

from supplychain.db import get_engine
from supplychain.models import Role
from supplychain.settings import settings
from web.deps import AdminUser, SessionDep
from web.templating import render
from web.workflow_calls import await_on_loop

router = APIRouter()

# Two threads: probes come one at a time; a second covers one stuck on a hung connection.
_database_checks = ThreadPoolExecutor(max_workers=2, thread_name_prefix="health-db")
DATABASE_CHECK_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _check_database() -> Check:
    try:
        with Session(get_engine()) as session:
            revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
        backend = get_engine().dialect.name
        return Check("database", True, f"{backend}, schema {revision or '-'}")
    except Exception as exc:
        return Check("database", False, type(exc).__name__)


async def _check_temporal(request: Request) -> Check:
    client = await request.app.state.temporal.get()
    if client is None:
        return Check("temporal", False, "not connected")
    try:
        await asyncio.wait_for(client.service_client.check_health(), timeout=3)
        return Check(
            "temporal", True, f"{client.service_client.config.target_host}, {settings.TEMPORAL_NAMESPACE}"
        )
    except Exception as exc:
        return Check("temporal", False, type(exc).__name__)


async def _check_database_off_pool() -> Check:
    run = asyncio.get_running_loop().run_in_executor(_database_checks, _check_database)
    try:
        return await asyncio.wait_for(run, timeout=DATABASE_CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return Check("database", False, "TimeoutError")


async def run_checks(request: Request) -> list[Check]:
    database, temporal = await asyncio.gather(_check_database_off_pool(), _check_temporal(request))
    return [database, temporal]


@router.get("/healthz")
async def healthz(request: Request) -> Response:
    """For load balancers and docker-compose: 200 while the database answers."""
    checks = await run_checks(request)
    status = 200 if checks[0].ok else 503
    return JSONResponse({c.name: "ok" if c.ok else "down" for c in checks}, status_code=status)


@router.get("/health")
def health_page(request: Request, user: AdminUser, session: SessionDep) -> Response:
    # HQ administrators only: the database kind, schema revision and Temporal address are a map
    # for an attacker, and nothing a supplier or a store needs.
    if not (user.is_hq and user.has_role(Role.ADMIN)):
        raise HTTPException(status_code=403)
    # Sync: the page's shell reads the database; the request's connection is given back meanwhile.
    checks = await_on_loop(session, run_checks, request)
    status = 200 if all(c.ok for c in checks) else 503
    return render(request, "health.html", {"user": user, "checks": checks}, status_code=status)

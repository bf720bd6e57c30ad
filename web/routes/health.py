"""Health: database and Temporal connectivity, as a page for people and JSON for probes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from supplychain.db import get_engine
from supplychain.settings import settings
from web.deps import CurrentUser
from web.templating import render

router = APIRouter()


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


async def run_checks(request: Request) -> list[Check]:
    return [await run_in_threadpool(_check_database), await _check_temporal(request)]


@router.get("/healthz")
async def healthz(request: Request) -> Response:
    """For load balancers and docker-compose: 200 while the database answers."""
    checks = await run_checks(request)
    status = 200 if checks[0].ok else 503
    return JSONResponse({c.name: "ok" if c.ok else "down" for c in checks}, status_code=status)


@router.get("/health")
async def health_page(request: Request, user: CurrentUser) -> Response:
    checks = await run_checks(request)
    status = 200 if all(c.ok for c in checks) else 503
    return render(request, "health.html", {"user": user, "checks": checks}, status_code=status)

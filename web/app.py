"""The portal's FastAPI application: middleware, error pages, routers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from slowapi.errors import RateLimitExceeded
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp
from temporalio.client import Client

from supplychain import i18n, security_log
from supplychain.settings import PROJECT_ROOT, settings
from web import security_events
from web.csrf import verify_csrf
from web.deps import LoginRequired, identify
from web.middleware import (
    BodySizeLimitMiddleware,
    LocaleMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
)
from web.ratelimit import limiter
from web.routes import (
    admin,
    approvals,
    auth,
    catalog,
    certificates,
    forecasts,
    health,
    home,
    inspections,
    inventory,
    locale,
    payments,
    planning,
    planning_admin,
    price_adjustments,
    purchase_orders,
    quality,
    replenishment,
    returns,
    settlement_terms,
    shipments,
    statement_invoices,
    statements,
    transfers,
    working_days,
)
from web.security_events import request_id
from web.templating import render

log = logging.getLogger(__name__)
STATIC_DIR = PROJECT_ROOT / "web" / "static"


class TemporalConnection:
    """The web app's Temporal client. The portal starts (and shows its health page) even when
    Temporal is down; a request that needs it reconnects, at most every few seconds."""

    RETRY_SECONDS = 5.0

    def __init__(self) -> None:
        self._client: Client | None = None
        self._last_attempt = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> Client | None:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None and time.monotonic() - self._last_attempt >= self.RETRY_SECONDS:
                self._last_attempt = time.monotonic()
                try:
                    from supplychain.temporal import connect

                    self._client = await asyncio.wait_for(connect(), timeout=5)
                except Exception as exc:  # unreachable server: health page reports it
                    log.warning("Temporal not reachable: %s", exc)
        return self._client


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The sync routes' worker threads (the database pool is at least this large: Settings).
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.WEB_THREADS
    app.state.temporal = TemporalConnection()
    await app.state.temporal.get()
    yield


class Portal(FastAPI):
    """FastAPI with the request id and the security headers outside Starlette's
    ServerErrorMiddleware, which is otherwise the outermost layer: the 500 page it sends would
    bypass every user middleware and go out with no headers and no request id."""

    def build_middleware_stack(self) -> ASGIApp:
        return RequestIdMiddleware(SecurityHeadersMiddleware(super().build_middleware_stack()))


def create_app() -> FastAPI:
    security_log.configure(settings.SECURITY_LOG_FILE)
    app = Portal(
        title="Supply-chain portal",
        lifespan=lifespan,
        dependencies=[Depends(verify_csrf)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.limiter = limiter
    app.add_middleware(LocaleMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.MAX_REQUEST_BYTES)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Before admin's generic `/admin/{table}` pages, which would take `/admin/planning`.
    app.include_router(planning.router)
    app.include_router(planning_admin.router)
    app.include_router(forecasts.router)
    for module in (
        auth,
        home,
        locale,
        health,
        catalog,
        inventory,
        admin,
        approvals,
        purchase_orders,
        replenishment,
        shipments,
    ):
        app.include_router(module.router)
    app.include_router(certificates.router)
    app.include_router(inspections.router)
    app.include_router(returns.router)
    app.include_router(quality.router)
    app.include_router(statements.router)
    app.include_router(statement_invoices.router)
    app.include_router(settlement_terms.router)
    app.include_router(payments.router)
    app.include_router(price_adjustments.router)
    app.include_router(working_days.router)
    app.include_router(transfers.router)
    _install_error_handlers(app)
    return app


ERROR_TITLES = {
    400: i18n.lazy("The request could not be understood."),
    403: i18n.lazy("You do not have permission to do this."),
    404: i18n.lazy("We could not find that page."),
    405: i18n.lazy("This action is not allowed here."),
    413: i18n.lazy("The upload is too large."),
    422: i18n.lazy("Some of the information sent was not valid."),
    429: i18n.lazy("Too many attempts. Please wait a moment and try again."),
    500: i18n.lazy("Something went wrong on our side. Please try again."),
    503: i18n.lazy("A service the portal needs is not available right now."),
}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def error_response(request: Request, status_code: int, detail: str | None = None) -> Response:
    if status_code == 403 and detail == "csrf":
        message = i18n.gettext("Your form expired. Please reload the page and try again.")
    elif status_code == 403 and detail == "cross-origin":
        message = i18n.gettext("This request came from another site and was refused.")
    else:
        message = i18n.gettext(ERROR_TITLES.get(status_code, ERROR_TITLES[500]))
    quoted_id = request_id(request)  # for the user to quote to support; the logs carry it too
    if _wants_json(request):
        return JSONResponse(
            {"error": message, "status": status_code, "request_id": quoted_id}, status_code=status_code
        )
    return render(
        request,
        "errors/error.html",
        {
            "status_code": status_code,
            "message": message,
            "request_id": quoted_id,
            "user": getattr(request.state, "principal", None),
        },
        status_code=status_code,
    )


async def _identify(request: Request) -> None:
    """Resolve the user for an error page when no route ran (an unknown URL), so a logged-in
    user keeps their navigation and language."""
    try:
        await identify(request)
    except Exception:  # the error page must render even when the database is what failed
        request.state.principal = None


async def _error_page(request: Request, status_code: int, detail: str | None = None) -> Response:
    await _identify(request)
    _log_access_denied(request, status_code, detail)
    return await run_in_threadpool(error_response, request, status_code, detail)


def _log_access_denied(request: Request, status_code: int, detail: str | None) -> None:
    """A security event for every 403 (but the CSRF refusal, logged as such where it is refused)
    and every 404 of a route whose path names a document (an id or a document number). Whether a
    404 hides another organisation's document or answers a mistyped id is not told apart: the
    lookups are many (web.deps.Scope.get, po_or_404, ...) and the log's reader wants both anyway,
    since probing ids is what an attacker does."""
    if status_code == 403 and detail != "csrf":
        reason = "forbidden"
    elif status_code == 404 and request.scope.get("path_params"):
        reason = "not_found"
    else:
        return
    route = request.scope.get("route")
    security_events.log_security_event(
        request,
        "access_denied",
        "refused",
        status=status_code,
        reason=reason,
        route=getattr(route, "path", None),
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = "/login?next=" + request.url.path
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        if _wants_json(request):
            return JSONResponse({"error": "login required", "status": 401}, status_code=401)
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else None
        return await _error_page(request, exc.status_code, detail)

    @app.exception_handler(HTTPException)
    async def fastapi_http_error(request: Request, exc: HTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else None
        return await _error_page(request, exc.status_code, detail)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # A path that cannot name a row (not a number, or out of range: web.deps.RowId) is a page
        # that does not exist; a bad query or form value (a page number out of range) a bad request.
        in_path = any(error.get("loc", ("",))[0] == "path" for error in exc.errors())
        return await _error_page(request, 404 if in_path else 400)

    @app.exception_handler(RateLimitExceeded)
    async def rate_limited(request: Request, exc: RateLimitExceeded) -> Response:
        return await run_in_threadpool(error_response, request, 429)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("Unhandled error on %s %s", request.method, request.url.path)
        return await run_in_threadpool(error_response, request, 500)


app = create_app()

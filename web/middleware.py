"""ASGI middleware: a request id, security headers on every response, and the locale of anonymous requests."""

from __future__ import annotations

import re
import uuid
from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supplychain import i18n
from supplychain.settings import settings
from web.sessions import LOCALE_COOKIE, anon_cookie_name

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)
# For an uploaded file opened on its own (a photo in a new tab, a certificate): whatever it turns
# out to be, it runs no script, loads nothing and is its own unique origin (no cookies, no DOM of ours).
STORED_FILE_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def add_security_headers(headers: MutableHeaders, *, https: bool, status: int) -> None:
    """The headers every answer carries. Error answers are never cached (they may name the user's
    documents or carry a request id that is theirs alone), nor are pages."""
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if https:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if status >= 400 or "text/html" in headers.get("content-type", ""):
        headers.setdefault("Cache-Control", "no-store")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                add_security_headers(headers, https=https, status=message["status"])
                seed = scope.get("state", {}).get("new_anon_seed")
                if seed:
                    secure = settings.COOKIE_SECURE if settings.COOKIE_SECURE is not None else https
                    cookie = f"{anon_cookie_name(secure=secure)}={seed}; Path=/; HttpOnly; SameSite=Lax" + (
                        "; Secure" if secure else ""
                    )
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_headers)


REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's id is kept only when it is short and plain, so it cannot forge lines in the logs.
_FORWARDED_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


class RequestIdMiddleware:
    """Give every request an id (the proxy's X-Request-ID when sane, else a new one), keep it in
    `request.state.request_id` for logs and error pages, and send it back as X-Request-ID."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        forwarded = dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode(), b"").decode("latin-1")
        request_id = forwarded if _FORWARDED_REQUEST_ID.fullmatch(forwarded) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


class LocaleMiddleware:
    """Locale before we know the user: the language cookie, else the portal default (Chinese).

    A logged-in user's own preference is applied by the `optional_user` dependency.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            cookie_header = headers.get(b"cookie", b"").decode("latin-1")
            cookies = SimpleCookie()
            try:
                cookies.load(cookie_header)
            except Exception:  # a malformed cookie header must not break the page
                cookies = SimpleCookie()
            chosen = i18n.normalize_locale(cookies[LOCALE_COOKIE].value if LOCALE_COOKIE in cookies else None)
            i18n.set_locale(chosen or settings.DEFAULT_LOCALE)
        await self.app(scope, receive, send)


class BodySizeLimitMiddleware:
    """Refuse request bodies over MAX_REQUEST_BYTES with 413 before they are read into memory or
    spooled to disk: by Content-Length up front, and by counting while a body without one streams
    in (the app then answers 413 through its error pages)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            request_id = scope.get("state", {}).get("request_id")
            message = i18n.gettext("The upload is too large.")
            body = (
                f"{message}\n{i18n.gettext('Request id:')} {request_id}" if request_id else message
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(status_code=413)
            return message

        await self.app(scope, counting_receive, send)

"""CSRF protection for every state-changing request.

The token is an HMAC of the session cookie (or, before login, of a random anonymous cookie), so
it needs no storage and changes when the session id rotates at login. htmx sends it in the
`X-CSRF-Token` header (from `hx-headers` on <body>); plain forms send it in the `csrf_token`
field, so the portal also works without JavaScript. We wrote this small check because the
libraries at hand read only one of the two (starlette-csrf: header only).
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from supplychain.security import constant_time_equals, new_token, sign
from supplychain.settings import settings
from web.sessions import ANON_COOKIE, SESSION_COOKIE

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def csrf_seed(request: Request) -> str:
    """The value the token is bound to; a new anonymous seed is minted (and set as a cookie) if needed."""
    seed = request.cookies.get(SESSION_COOKIE) or request.cookies.get(ANON_COOKIE)
    if seed:
        return seed
    seed = getattr(request.state, "new_anon_seed", None)
    if seed is None:
        seed = new_token()
        request.state.new_anon_seed = seed  # the security middleware sets the cookie on the way out
    return str(seed)


def csrf_token(request: Request) -> str:
    override = getattr(request.state, "csrf_seed_override", None)
    return sign(settings.SECRET_KEY, "csrf:" + (override or csrf_seed(request)))


async def verify_csrf(request: Request) -> None:
    """App-wide dependency: refuse unsafe requests without a valid token (403)."""
    if request.method in SAFE_METHODS:
        return
    seed = request.cookies.get(SESSION_COOKIE) or request.cookies.get(ANON_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # cached by Starlette; the route reads the same form
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    expected = sign(settings.SECRET_KEY, "csrf:" + seed) if seed else None
    if not sent or not expected or not constant_time_equals(sent, expected):
        raise HTTPException(status_code=403, detail="csrf")

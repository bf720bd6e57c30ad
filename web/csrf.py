"""CSRF protection for every state-changing request.

The token is an HMAC of the session cookie (or, before login, of a random anonymous cookie), so
it needs no storage and changes when the session id rotates at login. htmx sends it in the
`X-CSRF-Token` header (from `hx-headers` on <body>); plain forms send it in the `csrf_token`
field, so the portal also works without JavaScript. We wrote this small check because the
libraries at hand read only one of the two (starlette-csrf: header only).

Before the token, the origin: a browser says where a request comes from (`Sec-Fetch-Site`, and
`Origin` on every cross-origin POST), and a state-changing request from another site is refused
even with a valid token (defence in depth should the token ever leak). Requests without either
header (curl, API clients, old browsers) rely on the token alone. The origin is compared with
the Host the browser addressed (or, behind a proxy that rewrites Host, its `X-Forwarded-Host`):
a page on another site cannot set either header on a request it makes.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from supplychain.security import constant_time_equals, new_token, sign
from supplychain.settings import settings
from web.deps import identify
from web.security_events import log_security_event
from web.sessions import anon_seed, session_token

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Sec-Fetch-Site values of a request the portal's own pages made (or the user typed).
OWN_FETCH_SITES = frozenset({"same-origin", "none"})


def csrf_seed(request: Request) -> str:
    """The value the token is bound to; a new anonymous seed is minted (and set as a cookie) if needed."""
    seed = session_token(request) or anon_seed(request)
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
    if not same_origin(request):
        await identify(request)  # who was logged in, for the log line (the refusal comes before any route)
        log_security_event(
            request,
            "cross_origin_refused",
            "refused",
            origin=request.headers.get("origin", "")[:200],
            fetch_site=request.headers.get("sec-fetch-site", "")[:40],
        )
        raise HTTPException(status_code=403, detail="cross-origin")
    seed = session_token(request) or anon_seed(request)
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


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another origin."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in OWN_FETCH_SITES:
        return False  # cross-site, or same-site: a sibling subdomain is another origin too
    origin = request.headers.get("origin")
    if origin is None:
        return True
    origin_host = urlsplit(origin).netloc.lower() if origin != "null" else ""
    own_hosts = {request.headers.get("host", "").lower()}
    forwarded = request.headers.get("x-forwarded-host")
    if forwarded:
        own_hosts.add(forwarded.split(",")[0].strip().lower())
    return bool(origin_host) and origin_host in own_hosts

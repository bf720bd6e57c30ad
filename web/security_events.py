"""Security events from a request: who, from where and which request, filled in from the request."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from supplychain.principal import Principal
from supplychain.security_log import security_event
from web.sessions import client_ip


def request_id(request: Request) -> str | None:
    """The id RequestIdMiddleware gave this request (shown on error pages, sent as X-Request-ID)."""
    return getattr(request.state, "request_id", None)


def log_security_event(
    request: Request,
    event: str,
    outcome: str,
    *,
    principal: Principal | None = None,
    user_id: int | None = None,
    email: str | None = None,
    organisation_id: int | None = None,
    **details: Any,
) -> None:
    """One line in the security log for this request. The acting user is `principal`, else the
    request's logged-in user, else the explicit ids (a login attempt names the account tried)."""
    actor = principal or getattr(request.state, "principal", None)
    if actor is not None:
        user_id = user_id if user_id is not None else actor.user_id
        email = email or actor.email
        organisation_id = organisation_id if organisation_id is not None else actor.organisation_id
    security_event(
        event,
        outcome,
        user_id=user_id,
        email=email,
        organisation_id=organisation_id,
        client_ip=client_ip(request),
        request_id=request_id(request),
        method=request.method,
        path=request.url.path,
        **details,
    )

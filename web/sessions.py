"""Server-side sessions: the cookie holds a random token, the database holds its digest.

Deleting the row ends the session at once; logout, a password change and deactivating a user do
exactly that. Sessions end after SESSION_IDLE_MINUTES without a request and, at the latest,
SESSION_ABSOLUTE_HOURS after login.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from fastapi import Request, Response
from sqlalchemy import Select, and_, bindparam, delete, select
from sqlmodel import Session, col

from supplychain import accounts
from supplychain.models import Location, Organisation, User, UserRole, WebSession
from supplychain.models.base import utcnow
from supplychain.principal import Principal
from supplychain.security import new_token, token_digest
from supplychain.settings import settings

SESSION_COOKIE = "scp_session"
# Over HTTPS the session cookie carries the __Host- prefix: browsers then keep it only when it is
# Secure, for path / and without a Domain, so a sibling subdomain can neither plant nor overwrite it.
HTTPS_SESSION_COOKIE = "__Host-" + SESSION_COOKIE
ANON_COOKIE = "scp_anon"  # seeds the CSRF token before login
HTTPS_ANON_COOKIE = "__Host-" + ANON_COOKIE  # the same over HTTPS, so no subdomain can plant a seed
LOCALE_COOKIE = "scp_lang"
# Writing last_seen_at on every request would make each page view a write; a minute is precise
# enough for an idle timeout measured in tens of minutes.
TOUCH_INTERVAL = timedelta(seconds=60)


def cookie_secure(request: Request) -> bool:
    if settings.COOKIE_SECURE is not None:
        return settings.COOKIE_SECURE
    return request.url.scheme == "https"


def session_cookie_name(request: Request) -> str:
    return HTTPS_SESSION_COOKIE if cookie_secure(request) else SESSION_COOKIE


def anon_cookie_name(*, secure: bool) -> str:
    return HTTPS_ANON_COOKIE if secure else ANON_COOKIE


def anon_seed(request: Request) -> str | None:
    """The anonymous CSRF seed this request carries (only under the cookie name its scheme calls for)."""
    return request.cookies.get(anon_cookie_name(secure=cookie_secure(request)))


def session_token(request: Request) -> str | None:
    """The session token this request carries (only under the cookie name its scheme calls for)."""
    return request.cookies.get(session_cookie_name(request))


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path="/",
    )


def start_session(session: Session, request: Request, response: Response, user: User) -> str:
    """Create a fresh session (a new id every login, so a planted id is useless)."""
    old = session_token(request)
    if old:
        session.execute(delete(WebSession).where(WebSession.id == token_digest(old)))  # type: ignore[arg-type]
    token = new_token()
    now = utcnow()
    assert user.id is not None
    session.add(
        WebSession(
            id=token_digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            authenticated_at=now,
            expires_at=now + timedelta(hours=settings.SESSION_ABSOLUTE_HOURS),
            client_ip=client_ip(request),
            user_agent=request.headers.get("user-agent", "")[:300],
        )
    )
    set_cookie(
        request, response, session_cookie_name(request), token, max_age=settings.SESSION_ABSOLUTE_HOURS * 3600
    )
    secure = cookie_secure(request)
    response.delete_cookie(
        anon_cookie_name(secure=secure), path="/", secure=secure, httponly=True, samesite="lax"
    )
    set_cookie(request, response, LOCALE_COOKIE, user.locale, max_age=365 * 24 * 3600)
    return token


def end_session(session: Session, request: Request, response: Response) -> None:
    token = session_token(request)
    if token:
        session.execute(delete(WebSession).where(WebSession.id == token_digest(token)))  # type: ignore[arg-type]
    # A __Host- cookie is only replaced by one with the same attributes, Secure included.
    response.delete_cookie(
        session_cookie_name(request), path="/", secure=cookie_secure(request), httponly=True, samesite="lax"
    )


def end_all_sessions(session: Session, user_id: int, *, keep_token: str | None = None) -> None:
    stmt = delete(WebSession).where(WebSession.user_id == user_id)  # type: ignore[arg-type]
    if keep_token:
        stmt = stmt.where(WebSession.id != token_digest(keep_token))  # type: ignore[arg-type]
    session.execute(stmt)


@cache
def _principal_statement() -> Select[Any]:
    """Built once: composing it (the role rule's OR of IN lists) costs more than running it."""
    stmt: Select[Any] = (
        select(WebSession, User, Organisation, UserRole.role)  # type: ignore[call-overload]
        .join(User, col(User.id) == col(WebSession.user_id))
        .join(Organisation, col(Organisation.id) == col(User.organisation_id))
        .outerjoin(UserRole, and_(col(UserRole.user_id) == col(User.id), accounts.role_counts()))
        .where(col(WebSession.id) == bindparam("digest"))
    )
    return stmt


def load_principal(session: Session, token: str) -> tuple[Principal, WebSession] | None:
    """The user behind a session token, or None when the session is unknown, expired or the user
    inactive. One statement: the session row with its user, organisation and the roles that count
    (one row per role), so the shell of every page costs this and the bell count only."""
    rows = session.execute(_principal_statement(), {"digest": token_digest(token)}).all()
    if not rows:
        return None
    web_session, user, organisation, _ = rows[0]
    now = utcnow()
    idle_deadline = web_session.last_seen_at + timedelta(minutes=settings.SESSION_IDLE_MINUTES)
    if now >= web_session.expires_at or now >= idle_deadline or not user.is_active:
        session.delete(web_session)
        session.commit()
        return None
    if now - web_session.last_seen_at >= TOUCH_INTERVAL:
        web_session.last_seen_at = now
        session.add(web_session)
        session.commit()
    assert user.id is not None and organisation.id is not None
    principal = Principal(
        user_id=user.id,
        email=user.email,
        full_name=user.full_name,
        organisation_id=organisation.id,
        organisation_name=organisation.name,
        org_kind=organisation.kind,
        roles=frozenset(role for *_, role in rows if role is not None),
        location_id=user.location_id,
        locale=user.locale,
        approval_limit=user.approval_limit,
    )
    return principal, web_session


def location_name(session: Session, location_id: int | None) -> str:
    if location_id is None:
        return ""
    location = session.get(Location, location_id)
    return location.name if location else ""


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"

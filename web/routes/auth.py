"""Login, logout and password change."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlmodel import col
from starlette.responses import Response

from supplychain import i18n
from supplychain.accounts import demo_login_refused
from supplychain.login_throttle import ThrottleState, record_attempt, throttle_state
from supplychain.models import User
from supplychain.models.base import utcnow
from supplychain.passwords import password_problems
from supplychain.security import DUMMY_HASH, hash_password, needs_rehash, verify_password
from supplychain.settings import settings
from web.deps import CurrentUser, OptionalUser, SessionDep
from web.flash import flash
from web.ratelimit import limiter
from web.security_events import log_security_event
from web.sessions import client_ip, end_all_sessions, end_session, session_token, start_session
from web.templating import render

router = APIRouter()
logger = logging.getLogger(__name__)


def safe_next(target: str | None) -> str:
    """Only same-site paths, so the login form cannot be used as an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login")
def login_page(
    request: Request, user: OptionalUser, next: str = "/", bye: Annotated[int, Query(ge=0, le=1)] = 0
) -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    info = i18n.gettext("You have been logged out.") if bye else None
    return render(request, "auth/login.html", {"next": safe_next(next), "info": info, "email": ""})


@router.post("/login")
@limiter.limit(lambda: settings.LOGIN_RATE_LIMIT)
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=512)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    email = email.strip().lower()
    ip = client_ip(request)
    ctx = {"next": safe_next(next), "email": email}
    state = throttle_state(session, email=email, client_ip=ip)
    if state.delayed:
        # Too early: the password is not even checked, so waiting is the only way on.
        log_security_event(
            request,
            "login",
            "refused",
            email=email,
            reason="throttled",
            retry_after_seconds=state.seconds_left,
        )
        return _too_early(request, ctx, state)

    user = session.execute(select(User).where(func.lower(col(User.email)) == email)).scalar_one_or_none()
    password_ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not password_ok or not user.is_active:
        record_attempt(session, email=email, client_ip=ip, succeeded=False)
        _log_failed_login(request, email, user, password_ok=password_ok)
        after = throttle_state(session, email=email, client_ip=ip)
        if after.delayed:
            log_security_event(
                request,
                "lockout",
                "delayed",
                email=email,
                user_id=user.id if user else None,
                retry_after_seconds=after.seconds_left,
            )
            message = _wait_message(after)
        else:
            message = i18n.ngettext(
                "Wrong e-mail or password. %(num)s attempt left before logins are paused.",
                "Wrong e-mail or password. %(num)s attempts left before logins are paused.",
                after.attempts_left,
            )
        return render(request, "auth/login.html", {**ctx, "error": message}, status_code=400)

    if demo_login_refused(user.email):
        return _refuse_demo_account(request, ctx, email)

    record_attempt(session, email=email, client_ip=ip, succeeded=True)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    response = RedirectResponse(safe_next(next), status_code=303)
    start_session(session, request, response, user)
    session.commit()
    log_security_event(
        request, "login", "success", user_id=user.id, email=email, organisation_id=user.organisation_id
    )
    return response


def _refuse_demo_account(request: Request, ctx: dict[str, str], email: str) -> Response:
    """A demo account on a production installation: its password is public, so even the right one
    does not let it in (the seed refuses to create these in production; this covers older rows)."""
    log_security_event(request, "login", "refused", email=email, reason="demo account in production")
    logger.warning("Refused a login to the demo account %s: demo accounts are disabled in production", email)
    message = i18n.gettext(
        "Demo accounts are disabled on this installation. Ask your administrator for an account."
    )
    return render(request, "auth/login.html", {**ctx, "error": message}, status_code=403)


def _log_failed_login(request: Request, email: str, user: User | None, *, password_ok: bool) -> None:
    """The visitor sees one message for all three; the log tells them apart."""
    if user is None:
        log_security_event(request, "login", "failure", email=email, reason="unknown_account")
        return
    outcome, reason = ("failure", "wrong_password") if not password_ok else ("refused", "inactive")
    log_security_event(
        request,
        "login",
        outcome,
        user_id=user.id,
        email=email,
        organisation_id=user.organisation_id,
        reason=reason,
    )


def _too_early(request: Request, ctx: dict[str, str], state: ThrottleState) -> Response:
    response = render(request, "auth/login.html", {**ctx, "error": _wait_message(state)}, status_code=429)
    response.headers["Retry-After"] = str(state.seconds_left)
    return response


def _wait_message(state: ThrottleState) -> str:
    seconds = state.seconds_left
    if seconds < 60:
        return i18n.ngettext(
            "Too many failed logins. Try again in %(num)s second.",
            "Too many failed logins. Try again in %(num)s seconds.",
            seconds,
        )
    return i18n.ngettext(
        "Too many failed logins. Try again in %(num)s minute.",
        "Too many failed logins. Try again in %(num)s minutes.",
        -(-seconds // 60),
    )


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    response = RedirectResponse("/login?bye=1", status_code=303)
    end_session(session, request, response)
    session.commit()
    if request.state.principal is not None:
        log_security_event(request, "logout", "success")
    return response


@router.get("/account/password")
def password_page(request: Request, user: CurrentUser) -> Response:
    return render(request, "auth/password.html", {"user": user, "errors": {}})


@router.post("/account/password")
def change_password(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    current_password: Annotated[str, Form(max_length=512)] = "",
    new_password: Annotated[str, Form(max_length=512)] = "",
    confirm_password: Annotated[str, Form(max_length=512)] = "",
) -> Response:
    row = session.get(User, user.user_id)
    assert row is not None
    errors: dict[str, str] = {}
    if not verify_password(row.password_hash, current_password):
        errors["current_password"] = i18n.gettext("The current password is not correct.")
    problems = password_problems(new_password, email=row.email, organisation_name=user.organisation_name)
    if problems:
        errors["new_password"] = " ".join(problems)
    elif new_password != confirm_password:
        errors["confirm_password"] = i18n.gettext("The two new passwords do not match.")
    if errors:
        log_security_event(request, "password_change", "failure", reason=",".join(sorted(errors)))
        return render(request, "auth/password.html", {"user": user, "errors": errors}, status_code=400)
    row.password_hash = hash_password(new_password)
    session.add(row)
    web_session = request.state.web_session
    web_session.authenticated_at = utcnow()  # they have just typed their password
    session.add(web_session)
    # Every other browser logged in as this user is logged out at once.
    end_all_sessions(session, user.user_id, keep_token=session_token(request))
    session.commit()
    log_security_event(request, "password_change", "success", other_sessions_ended=True)
    flash(session, request, i18n.gettext("Your password has been changed. Other sessions were logged out."))
    return RedirectResponse("/", status_code=303)

"""Login, logout and password change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlmodel import col
from starlette.responses import Response

from supplychain import i18n
from supplychain.login_throttle import ThrottleState, record_attempt, throttle_state
from supplychain.models import User
from supplychain.security import DUMMY_HASH, MIN_PASSWORD_LENGTH, hash_password, needs_rehash, verify_password
from web.deps import CurrentUser, OptionalUser, SessionDep
from web.flash import flash
from web.ratelimit import limiter
from web.sessions import SESSION_COOKIE, client_ip, end_all_sessions, end_session, start_session
from web.templating import render

router = APIRouter()


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
@limiter.limit("30/minute")
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
    if state.locked:
        return render(request, "auth/login.html", {**ctx, "error": _locked_message(state)}, status_code=429)

    user = session.execute(select(User).where(func.lower(col(User.email)) == email)).scalar_one_or_none()
    password_ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not password_ok or not user.is_active:
        record_attempt(session, email=email, client_ip=ip, succeeded=False)
        left = state.attempts_left - 1
        if left <= 0:
            message = _locked_message(throttle_state(session, email=email, client_ip=ip))
        else:
            message = i18n.ngettext(
                "Wrong e-mail or password. %(num)s attempt left before logins are paused.",
                "Wrong e-mail or password. %(num)s attempts left before logins are paused.",
                left,
            )
        return render(request, "auth/login.html", {**ctx, "error": message}, status_code=400)

    record_attempt(session, email=email, client_ip=ip, succeeded=True)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    response = RedirectResponse(safe_next(next), status_code=303)
    start_session(session, request, response, user)
    session.commit()
    return response


def _locked_message(state: ThrottleState) -> str:
    return i18n.ngettext(
        "Too many failed logins. Try again in %(num)s minute.",
        "Too many failed logins. Try again in %(num)s minutes.",
        state.minutes_left,
    )


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    response = RedirectResponse("/login?bye=1", status_code=303)
    end_session(session, request, response)
    session.commit()
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
    if len(new_password) < MIN_PASSWORD_LENGTH:
        errors["new_password"] = i18n.gettext("Use at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
    elif new_password != confirm_password:
        errors["confirm_password"] = i18n.gettext("The two new passwords do not match.")
    if errors:
        return render(request, "auth/password.html", {"user": user, "errors": errors}, status_code=400)
    row.password_hash = hash_password(new_password)
    session.add(row)
    # Every other browser logged in as this user is logged out at once.
    end_all_sessions(session, user.user_id, keep_token=request.cookies.get(SESSION_COOKIE))
    session.commit()
    flash(session, request, i18n.gettext("Your password has been changed. Other sessions were logged out."))
    return RedirectResponse("/", status_code=303)

"""The language switch: remembered in a cookie and, for a logged-in user, on their account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from supplychain.i18n import SUPPORTED_LOCALES
from supplychain.models import User
from web.deps import OptionalUser, SessionDep
from web.routes.auth import safe_next
from web.sessions import LOCALE_COOKIE, set_cookie

router = APIRouter()


@router.post("/locale")
def switch_locale(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    locale: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    if locale not in SUPPORTED_LOCALES:
        raise HTTPException(status_code=400)
    if user is not None:
        row = session.get(User, user.user_id)
        assert row is not None
        row.locale = locale
        session.add(row)
        session.commit()
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(request, response, LOCALE_COOKIE, locale, max_age=365 * 24 * 3600)
    return response

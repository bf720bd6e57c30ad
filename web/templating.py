"""Jinja2 environment shared by every page, with htmx fragments via jinja2-fragments.

`render(request, "x/page.html", ctx)` renders the whole page, or only `block` when the request
comes from htmx, so a page and its fragment can never drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Request
from jinja2_fragments.fastapi import Jinja2Blocks
from sqlmodel import Session
from starlette.responses import Response

from supplychain import i18n, inbox
from supplychain.db import get_engine
from supplychain.settings import PROJECT_ROOT
from web import timeline


def portal_context(request: Request) -> dict[str, Any]:
    """What base.html needs on every page: CSRF token, navigation, bell count, flash messages."""
    from web.csrf import csrf_token
    from web.flash import pop_flashes
    from web.navigation import navigation_for

    principal = getattr(request.state, "principal", None)
    ctx: dict[str, Any] = {
        "csrf_token": csrf_token(request),
        "current_user": principal,
        "nav": [],
        "flashes": [],
        "unread_count": 0,
    }
    if principal is not None:
        ctx["nav"] = navigation_for(principal)
        with _request_session(request) as session:
            ctx["unread_count"] = inbox.unread_count(session, principal)
            if not is_htmx(request):  # a fragment would swallow them unseen
                ctx["flashes"] = pop_flashes(session, request)
    return ctx


@contextmanager
def _request_session(request: Request) -> Iterator[Session]:
    """The request's own database session (web.deps.get_session); a page rendered outside a route
    (an error page) gets a short one of its own."""
    shared = getattr(request.state, "db", None)
    if shared is not None:
        yield shared
        return
    with Session(get_engine()) as session:
        yield session


templates = Jinja2Blocks(directory=str(PROJECT_ROOT / "templates"), context_processors=[portal_context])
env = templates.env
env.add_extension("jinja2.ext.i18n")
# Newstyle gettext: the extension substitutes the %(name)s placeholders itself (escaping them).
env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=i18n.translate, ngettext=i18n.translate_plural, newstyle=True
)
env.globals.update(
    action_label=timeline.action_label,
    note_label=timeline.note_label,
    field_label=timeline.field_label,
    value_label=timeline.value_label,
    format_money=i18n.format_money,
    format_decimal=i18n.format_decimal,
    format_percent=i18n.format_percent,
    format_date=i18n.format_date,
    format_datetime=i18n.format_datetime,
    get_locale=i18n.get_locale,
    SUPPORTED_LOCALES=i18n.SUPPORTED_LOCALES,
)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    block: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render a page; with `block` and an htmx request, only that block."""
    ctx = dict(context or {})
    block_name = block if block and is_htmx(request) else None
    return templates.TemplateResponse(
        request, name, ctx, status_code=status_code, block_name=block_name, headers=headers
    )

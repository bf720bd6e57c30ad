"""Jinja2 environment shared by every page, with htmx fragments via jinja2-fragments.

`render(request, "x/page.html", ctx)` renders the whole page, or only `block` when the request
comes from htmx, so a page and its fragment can never drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from fastapi import Request
from jinja2 import pass_context
from jinja2.runtime import Context
from jinja2_fragments.fastapi import Jinja2Blocks
from markupsafe import Markup
from sqlmodel import Session
from starlette.responses import Response

from supplychain import i18n, inbox
from supplychain.db import get_engine
from supplychain.settings import PROJECT_ROOT, settings
from web import timeline
from web.form_ids import new_form_id


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


@lru_cache(maxsize=8192)
def _message(locale: str, message: str, autoescape: bool) -> str:
    text = i18n.translations(locale).gettext(message)
    return (Markup(text) if autoescape else text) % {}  # noqa: S704 (our catalogue, as jinja2.ext does)


@pass_context
def _cached_gettext(context: Context, message: str, **variables: Any) -> str:
    """As `jinja2.ext`'s newstyle gettext (escaped, always %-formatted), cached when no variables."""
    autoescape = context.eval_ctx.autoescape
    if not variables:
        return _message(i18n.get_locale(), message, autoescape)
    text = i18n.translate(message)
    return (Markup(text) if autoescape else text) % variables  # noqa: S704


templates = Jinja2Blocks(directory=str(PROJECT_ROOT / "templates"), context_processors=[portal_context])
env = templates.env
# Checking every template file's mtime on each render is for editing them; elsewhere they are fixed.
env.auto_reload = settings.ENVIRONMENT == "development"
env.add_extension("jinja2.ext.i18n")
# Newstyle gettext: the extension substitutes the %(name)s placeholders itself (escaping them).
env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=i18n.translate, ngettext=i18n.translate_plural, newstyle=True
)
# Jinja's newstyle gettext translates and %-formats on every call; a page makes a hundred such
# calls, most without variables, so those answers are kept per locale (same result, escaping kept).
env.globals["gettext"] = env.globals["_"] = _cached_gettext
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
    new_form_id=new_form_id,
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

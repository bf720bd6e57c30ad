"""FastAPI dependencies: database session, current user, organisation scope, Temporal client."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Path, Query, Request
from sqlalchemy import Select, func, select
from sqlmodel import Session, SQLModel, col
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from temporalio.client import Client

from supplychain import i18n
from supplychain.db import get_engine
from supplychain.models import Location, Organisation, Role, Sku, User, WebSession
from supplychain.principal import Principal
from supplychain.scoping import visible
from web.sessions import load_principal, session_token

M = TypeVar("M", bound=SQLModel)

# Numbers from the URL or a form are bounded here, before they reach a query: SQLite raises
# OverflowError (a 500) past 2**63 - 1 and PostgreSQL's INTEGER columns end at 2**31 - 1. An id
# out of range names no row (the route answers 404, as for any unknown id), a page number out of
# range is a bad request (400): web.app.invalid_request.
MAX_ROW_ID = 2**31 - 1
MAX_PAGE_NUMBER = 100_000  # far past the last page of any list; keeps OFFSET in range
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
RowIdQuery = Annotated[int, Query(ge=1, le=MAX_ROW_ID)]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE_NUMBER)]
# A stored file's random public id (supplychain.models.base.public_id_field); anything else is a 404.
FileId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
_ROW_ID_TEXT = re.compile(r"[0-9]{1,10}")  # ASCII digits: str.isdigit() also takes "²", which int() refuses


def parse_row_id(raw: object) -> int | None:
    """A row id sent in a form field or a list filter, or None when the text cannot name a row
    (empty, not a number, out of range): the caller then finds nothing or ignores the filter."""
    if not isinstance(raw, str) or not _ROW_ID_TEXT.fullmatch(raw.strip()):
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ROW_ID else None


def get_session(request: Request) -> Iterator[Session]:
    """One database session per request, shared by the route, its dependencies and the page's
    shell (bell, flashes: web/templating.py reads `request.state.db`). Routes give its connection
    back before they wait on Temporal (`web.workflow_calls`).

    The session cookie's user is loaded here too: this runs in a worker thread already, and a
    thread hop of its own for the lookup cost more than the lookup (`optional_user` reads it)."""
    with Session(get_engine()) as session:
        request.state.db = session
        if not hasattr(request.state, "principal"):
            token = session_token(request)
            _remember(request, _load_and_release(session, token) if token else None)
        try:
            yield session
        finally:
            request.state.db = None


SessionDep = Annotated[Session, Depends(get_session)]


class LoginRequired(Exception):
    """Raised for an anonymous request to a page that needs a user; answered with a redirect."""


async def optional_user(request: Request, session: SessionDep) -> Principal | None:
    """The logged-in user (loaded with the session: `get_session`), or None. Async so that setting
    the locale here reaches the route and the error pages (a context variable set in a worker
    thread stays there)."""
    principal: Principal | None = request.state.principal
    if principal is not None:
        i18n.set_locale(principal.locale)
    return principal


def _load_and_release(session: Session, token: str) -> tuple[Principal, WebSession] | None:
    """Load the user, then give the connection back to the pool: the request may now wait for a
    worker thread, and must not hold a connection while it waits (under load, more requests wait
    than there are threads). What was loaded stays loaded (no expiry), for the page's shell."""
    loaded = load_principal(session, token)
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
    return loaded


async def identify(request: Request) -> None:
    """The user for a page no route rendered (an error page): like `optional_user`, with a short
    session of its own since the request's has ended."""
    if not hasattr(request.state, "principal"):  # no route's session loaded it
        token = session_token(request)
        _remember(request, await run_in_threadpool(_load_in_own_session, token) if token else None)
    if request.state.principal is not None:
        i18n.set_locale(request.state.principal.locale)


def _load_in_own_session(token: str) -> tuple[Principal, WebSession] | None:
    with Session(get_engine(), expire_on_commit=False) as session:
        return load_principal(session, token)


def _remember(request: Request, loaded: tuple[Principal, WebSession] | None) -> None:
    request.state.principal = loaded[0] if loaded else None
    request.state.web_session = loaded[1] if loaded else None  # keeps it in the request session
    request.state.web_session_id = loaded[1].id if loaded else None


async def current_user(user: Annotated[Principal | None, Depends(optional_user)]) -> Principal:
    if user is None:
        raise LoginRequired()
    return user


async def form_data(request: Request) -> FormData:
    """The posted form, parsed on the event loop so that a sync route can take it as a parameter."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form's text fields, without the CSRF token (shown back to the user as typed)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str) and key != "csrf_token"}


FieldsDep = Annotated[dict[str, str], Depends(form_fields)]


OptionalUser = Annotated[Principal | None, Depends(optional_user)]
CurrentUser = Annotated[Principal, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[..., Any]:
    """Dependency factory: the current user must hold one of `roles` (403 otherwise)."""

    async def check(user: CurrentUser) -> Principal:
        if not user.has_role(*roles):
            raise HTTPException(status_code=403)
        return user

    return check


AdminUser = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


class Scope:
    """Organisation scoping for one request: every query for scoped rows is built here."""

    def __init__(self, session: Session, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    def select(self, model: type[M]) -> Select[M]:
        return select(model).where(visible(self.principal, model))

    def get(self, model: type[M], row_id: int) -> M:
        """The row if this user may see it; 404 otherwise (whether or not it exists)."""
        if not 1 <= row_id <= MAX_ROW_ID:  # no such row, and SQLite would overflow on it
            raise HTTPException(status_code=404)
        pk = model.__table__.primary_key.columns.values()[0]  # type: ignore[attr-defined]
        row: M | None = self.session.execute(self.select(model).where(pk == row_id)).scalar_one_or_none()
        if row is None:
            raise HTTPException(status_code=404)
        return row

    def page(self, stmt: Select[M], page: int, per_page: int = 25) -> Page[M]:
        return paginate(self.session, stmt, page, per_page)


def paginate(session: Session, stmt: Select[M], page: int, per_page: int = 25) -> Page[M]:
    """One page of `stmt`'s rows plus the total, for the `pagination` macro."""
    counted = select(func.count()).select_from(stmt.order_by(None).subquery())
    total = session.execute(counted).scalar_one()
    page = max(1, page)
    rows = list(session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).scalars())
    return Page(items=rows, page=page, per_page=per_page, total=int(total))


class Page(list[M]):
    def __init__(self, *, items: list[M], page: int, per_page: int, total: int) -> None:
        super().__init__(items)
        self.page = page
        self.per_page = per_page
        self.total = total

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def names_for(
    session: Session,
    *,
    org_ids: Iterable[int | None] = (),
    location_ids: Iterable[int | None] = (),
    user_ids: Iterable[int | None] = (),
    sku_ids: Iterable[int | None] = (),
) -> dict[str, dict[int, Any]]:
    """Rows for the ids on documents already scoped: one query per kind instead of one per row."""

    def load(model: Any, ids: Iterable[int | None]) -> dict[int, Any]:
        wanted = {i for i in ids if i is not None}
        if not wanted:
            return {}
        return {r.id: r for r in session.execute(select(model).where(col(model.id).in_(wanted))).scalars()}

    return {
        "orgs": load(Organisation, org_ids),
        "locs": load(Location, location_ids),
        "users": load(User, user_ids),
        "skus": load(Sku, sku_ids),
    }


async def get_scope(session: SessionDep, user: CurrentUser) -> Scope:
    """Async: it only builds the object (a sync dependency would cost a worker-thread hop)."""
    return Scope(session, user)


OrgScope = Annotated[Scope, Depends(get_scope)]


async def get_temporal_client(request: Request) -> Client:
    """The app's Temporal client (connected in the lifespan, reconnected on demand); 503 if unreachable."""
    client = await request.app.state.temporal.get()
    if client is None:
        raise HTTPException(status_code=503, detail="temporal")
    return client  # type: ignore[no-any-return]


TemporalClientDep = Annotated[Client, Depends(get_temporal_client)]

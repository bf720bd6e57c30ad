"""No 500 from a number: every id and page number is bounded at the edge (web.deps: RowId,
RowIdQuery, PageNumber, parse_row_id), so a huge one is a 404 or a 400 with a message, never an
OverflowError from the database. The crawl of a populated portal replays every id-bearing URL and
form with huge numbers too (tests/web/test_cross_org_replay.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import annotated_types
import pytest
from fastapi._compat import ModelField
from fastapi.routing import APIRoute, iter_route_contexts
from sqlmodel import Session
from starlette.testclient import TestClient

from supplychain.models import LocationKind, OrgKind, Role
from supplychain.rules.roles import HQ_ONLY_ROLES
from tests.factories import make_location, make_organisation, make_user
from tests.fixtures.web import ClientFactory, csrf, login
from web.app import create_app
from web.deps import MAX_PAGE_NUMBER, MAX_ROW_ID

HUGE = "99999999999999999999"  # past SQLite's 64 bits
PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def api_routes() -> list[APIRoute]:
    """Every route of the app, inside included routers too."""
    contexts = iter_route_contexts(create_app().routes)
    return [context.route for context in contexts if isinstance(context.route, APIRoute)]


def _is_int(field: ModelField) -> bool:
    return field.field_info.annotation is int


def _upper_bound(field: object) -> int | None:
    metadata = getattr(getattr(field, "field_info", None), "metadata", [])
    return next((int(m.le) for m in metadata if isinstance(m, annotated_types.Le)), None)


def test_every_int_path_parameter_and_page_number_is_bounded_where_it_is_declared() -> None:
    unbounded = []
    for route in api_routes():
        for field in route.dependant.path_params:
            if _is_int(field) and (_upper_bound(field) or MAX_ROW_ID + 1) > MAX_ROW_ID:
                unbounded.append(f"{route.path}: path {field.name}")
        for field in route.dependant.query_params:
            if _is_int(field) and (_upper_bound(field) or MAX_ROW_ID + 1) > MAX_ROW_ID:
                unbounded.append(f"{route.path}: query {field.name}")
            if field.name == "page" and _upper_bound(field) != MAX_PAGE_NUMBER:
                unbounded.append(f"{route.path}: page is not a PageNumber")
    assert not unbounded, "\n".join(unbounded)


@pytest.fixture
def clients(make_client: ClientFactory, session: Session) -> Iterator[list[TestClient]]:
    """One logged-in client per kind of organisation: HQ with every HQ role, a supplier, a store."""
    hq = make_organisation(session, kind=OrgKind.HQ)
    warehouse = make_location(session, organisation=hq, kind=LocationKind.CENTRAL_WAREHOUSE)
    distributor = make_organisation(session, kind=OrgKind.DISTRIBUTOR)
    store = make_location(session, organisation=distributor, kind=LocationKind.STORE)
    users = [
        make_user(session, organisation=hq, roles=sorted(HQ_ONLY_ROLES), location=warehouse, locale="en"),
        make_user(
            session, organisation=make_organisation(session, kind=OrgKind.SUPPLIER), roles=[Role.SUPPLIER]
        ),
        make_user(session, organisation=distributor, roles=[Role.STORE], location=store),
    ]
    logged_in = []
    for user in users:
        client = make_client(raise_server_exceptions=False)
        login(client, user)
        logged_in.append(client)
    yield logged_in


TEXT_PARAMS = {"number": "PO-2026-000001", "entity": "users"}  # a document number, an admin table


def _huge_url(path: str) -> str:
    return PARAM.sub(lambda m: TEXT_PARAMS.get(m.group(1), HUGE), path)


def test_a_huge_page_number_or_filter_is_a_400_on_every_list(clients: list[TestClient]) -> None:
    lists = [
        r
        for r in api_routes()
        if "GET" in (r.methods or set()) and any(f.name == "page" for f in r.dependant.query_params)
    ]
    assert len(lists) >= 15  # the admin tables share one route
    server_errors, refused = [], set()
    for route in lists:
        # Ids in the path are small (a huge one is a 404 first: test_a_huge_id_in_any_url_is_a_404),
        # so the page number and the filters are what is judged (a ledger's pages).
        url = PARAM.sub(lambda m: TEXT_PARAMS.get(m.group(1), "1"), route.path)
        for client in clients:
            # every filter of the list huge as well: a supplier, store or location id
            query = {f.name: HUGE for f in route.dependant.query_params if f.name != "q"}
            status = client.get(url, params=query).status_code
            if status >= 500:
                server_errors.append(f"GET {url}?{query} -> {status}")
            if status == 400:
                refused.add(route.path)
    assert not server_errors, "\n".join(server_errors)
    assert refused == {r.path for r in lists}


def test_a_huge_filter_id_without_a_page_number_shows_an_empty_or_whole_list(
    clients: list[TestClient],
) -> None:
    for path in (
        "/purchase-orders",
        "/certificates",
        "/inspections",
        "/stock",
        "/returns",
        "/warehouse/receipts",
    ):
        for name in ("supplier", "store", "location"):
            status = clients[0].get(path, params={name: HUGE}).status_code
            assert status == 200, f"{path}?{name}={HUGE} -> {status}"


def test_a_huge_id_in_any_url_is_a_404(clients: list[TestClient]) -> None:
    with_ids = [r for r in api_routes() if any(_is_int(f) for f in r.dependant.path_params)]
    assert len(with_ids) >= 10
    server_errors, not_found = [], set()
    for route in with_ids:
        url = _huge_url(route.path)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            for client in clients:
                if method == "GET":
                    status = client.get(url).status_code
                else:
                    status = client.request(method, url, data={"csrf_token": csrf(client)}).status_code
                if status in (404, 503):  # 503: Temporal (down here) is a dependency, checked first
                    not_found.add((method, route.path))
                elif status >= 500:
                    server_errors.append(f"{method} {url} -> {status}")
    assert not server_errors, "\n".join(server_errors)
    assert not_found == {(m, r.path) for r in with_ids for m in (r.methods or set()) - {"HEAD"}}

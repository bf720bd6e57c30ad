"""The portal shell: navigation by role, the home page's work queues, error pages, the bell."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from sqlmodel import Session
from starlette.testclient import TestClient

from supplychain.models import LocationKind, MovementType, Notification, OrgKind, Role, User
from supplychain.notifications import notify
from supplychain.rules.stock import StockDelta
from supplychain.stock import post_movement
from tests.factories import make_location, make_organisation, make_price, make_sku, make_user
from tests.fixtures.web import ClientFactory, form_post, login
from web.app import create_app
from web.deps import AdminUser

HQ_STOCK = ["/stock", "/stock/heatmap"]  # HQ-wide roles: stock and the region x SKU heat map
HQ_BUYING = ["/", "/purchase-orders", *HQ_STOCK, "/price-lists"]
# Buyers, approvers and admins follow transfers (after the stock entries).
HQ_BUYING_TRANSFERS = ["/", "/purchase-orders", *HQ_STOCK, "/transfers", "/price-lists"]
HQ_BUYING_QUALITY = [*HQ_BUYING_TRANSFERS, "/certificates"]
# Buyers also work the planner's proposals (after the transfers).
BUYER_MAIN = [
    "/",
    "/purchase-orders",
    *HQ_STOCK,
    "/transfers",
    "/planning/proposals",
    "/planning/transfers",
    "/price-lists",
    "/certificates",
]
SCORECARD = "/quality/scorecard"
# Returns, debit notes and the scorecard: HQ quality roles and suppliers (debit notes: finance too).
QUALITY_TAIL = ["/returns", "/debit-notes", SCORECARD]
# The same with the statements of the HQ buying roles (buyers also have their disputes to resolve).
HQ_STATEMENTS_TAIL = ["/returns", "/debit-notes", "/statements", SCORECARD]
BUYER_STATEMENTS_TAIL = [
    "/returns",
    "/debit-notes",
    "/statements",
    "/statement-disputes",
    "/price-adjustments",
    SCORECARD,
]
SUPPLIER_MAIN = [
    "/",
    "/supplier/purchase-orders",
    "/supplier/shipments",
    "/stock",
    "/supplier/stock-forecast",
    "/price-lists",
    "/supplier/certificates",
    "/supplier/inspections",
    "/returns",
    "/debit-notes",
    "/supplier/statements",
    "/price-adjustments",
    SCORECARD,
    "/payments",
]
STORE_MAIN = ["/", "/replenishment/new", "/replenishment", "/stock", "/stock/sales", "/transfers"]
WAREHOUSE_MAIN = [
    "/",
    "/warehouse/receipts",
    *HQ_STOCK,
    "/stock/sales",
    "/transfers",
    "/certificates",
    *QUALITY_TAIL,
]
INSPECTOR_MAIN = ["/", *HQ_STOCK, "/certificates", "/inspections", *QUALITY_TAIL]
QUALITY_APPROVER_MAIN = ["/", "/approvals", *HQ_STOCK, "/certificates", "/inspections", *QUALITY_TAIL]
APPROVER_MAIN = [
    "/",
    "/approvals",
    "/purchase-orders",
    *HQ_STOCK,
    "/transfers",
    "/planning/transfers",
    "/price-lists",
    "/certificates",
    "/inspections",
    *HQ_STATEMENTS_TAIL,
]
ADMIN_MAIN = [*HQ_BUYING_QUALITY, "/inspections", *HQ_STATEMENTS_TAIL]
ADMIN_SECTION = [
    "/admin/users",
    "/admin/organisations",
    "/admin/locations",
    "/admin/skus",
    "/admin/prices",
    "/admin/planning",
    "/settlement/working-days",
    "/health",
]

# role -> (main navigation, admin navigation), spelled out so a change to web/navigation.py shows here.
NAV_BY_ROLE: dict[Role, tuple[list[str], list[str]]] = {
    Role.SUPPLIER: (SUPPLIER_MAIN, []),
    Role.STORE: (STORE_MAIN, []),
    Role.BUYER: ([*BUYER_MAIN, *BUYER_STATEMENTS_TAIL], []),
    Role.APPROVER: (APPROVER_MAIN, []),
    Role.WAREHOUSE: (WAREHOUSE_MAIN, []),
    Role.INSPECTOR: (INSPECTOR_MAIN, []),
    Role.QUALITY_APPROVER: (QUALITY_APPROVER_MAIN, []),
    # Finance decides invoices that differ from their statement and payments above the limit (the
    # approval queue, match exceptions), and runs the payments.
    Role.FINANCE: (
        [
            "/",
            "/approvals",
            *HQ_BUYING[1:],
            "/debit-notes",
            "/statements",
            "/price-adjustments",
            "/match-exceptions",
            "/finance/payments",
            "/finance/payment-runs",
        ],
        [],
    ),
    Role.ADMIN: (ADMIN_MAIN, ADMIN_SECTION),
}

# role -> the work-queue cards on its home page: (title, empty state).
QUEUES_BY_ROLE: dict[Role, list[tuple[str, str]]] = {
    Role.SUPPLIER: [("Purchase orders to confirm", "No purchase orders are waiting for your confirmation.")],
    Role.STORE: [("My replenishment orders", "You have no open replenishment orders.")],
    Role.BUYER: [("Purchase orders to follow up", "No purchase orders need your attention.")],
    Role.APPROVER: [("Approvals waiting for you", "No approvals are waiting for you.")],
    Role.QUALITY_APPROVER: [("Approvals waiting for you", "No approvals are waiting for you.")],
    Role.WAREHOUSE: [("Shipments to receive", "No shipments are expected.")],
    Role.INSPECTOR: [("Lots to inspect", "No lots are waiting for inspection.")],
    Role.FINANCE: [
        ("Approvals waiting for you", "No approvals are waiting for you."),  # payments above the limit
        ("Payments due", "No payments are due."),
    ],
    Role.ADMIN: [("Users and master data", "Manage users, organisations, locations, SKUs and prices.")],
}


def user_with(session: Session, *roles: Role, locale: str = "en") -> User:
    kind = OrgKind.SUPPLIER if Role.SUPPLIER in roles else OrgKind.HQ
    org = make_organisation(session, kind=kind)
    location = (
        make_location(session, organisation=org, kind=LocationKind.STORE) if Role.STORE in roles else None
    )
    return make_user(session, organisation=org, roles=roles, locale=locale, location=location)


def nav_links(html: str) -> tuple[list[str], list[str]]:
    nav = re.search(r'<nav id="main-nav".*?</nav>', html, re.S)
    assert nav, "no main navigation"
    admin = re.search(r'<ul class="admin-nav".*?</ul>', nav.group(0), re.S)
    admin_html = admin.group(0) if admin else ""
    main_html = nav.group(0).replace(admin_html, "")
    return re.findall(r'<a href="([^"]+)"', main_html), re.findall(r'<a href="([^"]+)"', admin_html)


def queue_cards(html: str) -> list[tuple[str, str]]:
    cards = re.findall(
        r'<section class="card queue">\s*<h2>([^<]*)</h2>\s*<p class="empty">([^<]*)</p>\s*</section>', html
    )
    return [(title.strip(), empty.strip()) for title, empty in cards]


def unread_badge(html: str) -> int:
    found = re.search(r'data-testid="unread-count">(\d+)<', html)
    return int(found.group(1)) if found else 0


# -- navigation and home -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_navigation_shows_exactly_the_roles_entries(client: TestClient, session: Session, role: Role) -> None:
    login(client, user_with(session, role))
    assert nav_links(client.get("/").text) == NAV_BY_ROLE[role]


@pytest.mark.parametrize("role", list(Role))
def test_home_shows_the_roles_work_queues_with_empty_states(
    client: TestClient, session: Session, role: Role
) -> None:
    login(client, user_with(session, role))
    assert queue_cards(client.get("/").text) == QUEUES_BY_ROLE[role]


def test_user_with_two_roles_sees_both_roles_queues_and_entries(client: TestClient, session: Session) -> None:
    login(client, user_with(session, Role.APPROVER, Role.ADMIN))
    html = client.get("/").text
    assert queue_cards(html) == QUEUES_BY_ROLE[Role.APPROVER] + QUEUES_BY_ROLE[Role.ADMIN]
    assert nav_links(html) == (APPROVER_MAIN, ADMIN_SECTION)


def test_current_page_is_marked_in_the_navigation(client: TestClient, session: Session) -> None:
    login(client, user_with(session, Role.BUYER))
    assert '<a href="/stock" aria-current="page">' in client.get("/stock").text


def test_home_greets_the_user_and_shows_their_organisation(client: TestClient, session: Session) -> None:
    user = user_with(session, Role.BUYER)
    login(client, user)
    html = client.get("/").text
    assert f"Hello, {user.full_name}" in html
    assert re.search(rf'data-testid="current-user">{re.escape(user.full_name)} · [^<]+<', html)


# -- anonymous and htmx requests ---------------------------------------------------------------------------


def test_anonymous_home_redirects_to_login(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/"


def test_logged_out_htmx_request_gets_401_with_hx_redirect(client: TestClient) -> None:
    response = client.get("/stock", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/login?next=/stock"


def test_logged_out_json_request_gets_401_json(client: TestClient) -> None:
    response = client.get("/stock", headers={"Accept": "application/json"}, follow_redirects=False)
    assert response.status_code == 401
    assert response.json()["error"] == "login required"


@pytest.mark.parametrize("path", ["/price-lists", "/stock"])
def test_htmx_search_returns_only_the_results_fragment(
    client: TestClient, session: Session, path: str
) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    buyer = make_user(session, organisation=hq, roles=[Role.BUYER], locale="en")
    make_price(session, supplier=make_organisation(session, kind=OrgKind.SUPPLIER), sku=make_sku(session))
    login(client, buyer)
    response = client.get(path, params={"q": "SKU"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="results">')
    assert "<html" not in response.text


def test_stock_shows_quarantine_and_available_net_of_reserved_and_quarantine(
    client: TestClient, session: Session
) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    warehouse = make_location(session, organisation=hq, kind=LocationKind.CENTRAL_WAREHOUSE)
    buyer = make_user(session, organisation=hq, roles=[Role.BUYER], locale="en")
    sku = make_sku(session)
    assert warehouse.id and sku.id
    for key, movement, delta in [
        ("open", MovementType.OPENING, StockDelta(on_hand=1000)),
        ("reserve", MovementType.RESERVE, StockDelta(reserved=100)),
        ("lot", MovementType.QUARANTINE_RECEIPT, StockDelta(on_hand=250, quarantine=250)),
    ]:
        post_movement(
            session,
            idempotency_key=f"test:{sku.code}:{key}",
            location_id=warehouse.id,
            sku_id=sku.id,
            movement_type=movement,
            delta=delta,
            source_document_type="test",
            source_document_id="stock-page",
        )
    session.commit()
    login(client, buyer)

    page = client.get("/stock", params={"q": sku.code}).text

    assert '<th class="num">Quarantine</th>' in page
    row = re.search(r'<tr id="stock-\d+">.*?</tr>', page, re.S)
    assert row, "no stock row"
    numbers = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row.group(0))
    # on hand, reserved, quarantine, available, in transit
    assert numbers == ["1,250", "100", "250", "900", "0"]


def test_stock_filter_reads_all_locations_and_a_bad_location_without_a_422(
    client: TestClient, session: Session
) -> None:
    """The form's "All locations" sends `location=`; a hand-edited value is ignored, not a 422."""
    hq = make_organisation(session, kind=OrgKind.HQ)
    buyer = make_user(session, organisation=hq, roles=[Role.BUYER], locale="en")
    login(client, buyer)
    for value in ["", "abc", "99999999999999999999", "-1"]:
        response = client.get("/stock", params={"q": "x", "location": value})
        assert response.status_code == 200, value


# -- error pages ---------------------------------------------------------------------------------------------


def assert_styled_error_page(html: str, status: int, message: str) -> None:
    assert '<link rel="stylesheet" href="/static/app.css">' in html
    assert f'data-testid="error-status">{status}<' in html
    assert message in html
    assert '<a href="/">' in html


def test_unknown_page_gets_the_styled_404_page(client: TestClient) -> None:
    client.cookies.set("scp_lang", "en")
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert_styled_error_page(response.text, 404, "We could not find that page.")


def test_unknown_api_path_gets_a_json_404(client: TestClient) -> None:
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json()["status"] == 404 and response.json()["error"]


def test_404_page_keeps_the_logged_in_shell(client: TestClient, session: Session) -> None:
    login(client, user_with(session, Role.BUYER))
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert nav_links(response.text) == NAV_BY_ROLE[Role.BUYER]


def test_route_raising_an_exception_gets_the_styled_500_page(make_client: ClientFactory) -> None:
    app: FastAPI = create_app()

    @app.get("/test-only/boom")
    def boom() -> None:
        raise RuntimeError("secret internals must not leak")

    client = make_client(app=app, raise_server_exceptions=False)
    client.cookies.set("scp_lang", "en")
    response = client.get("/test-only/boom")
    assert response.status_code == 500
    assert_styled_error_page(response.text, 500, "Something went wrong on our side. Please try again.")
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text


def test_role_without_permission_gets_the_styled_403_page(
    make_client: ClientFactory, session: Session
) -> None:
    app: FastAPI = create_app()

    @app.get("/test-only/admin-only")
    def admin_only(user: AdminUser) -> dict[str, str]:
        return {"ok": user.email}

    client = make_client(app=app)
    login(client, user_with(session, Role.BUYER))
    response = client.get("/test-only/admin-only")
    assert response.status_code == 403
    assert_styled_error_page(response.text, 403, "You do not have permission to do this.")


# -- notifications ------------------------------------------------------------------------------


def notify_user(session: Session, user: User, key: str) -> Notification:
    assert user.id is not None
    [row] = notify(session, user_ids=[user.id], message="Stock is low", idempotency_key=key, link="/stock")
    session.commit()
    session.refresh(row)
    return row


def test_bell_counts_unread_notifications_and_mark_read_clears_it(
    client: TestClient, session: Session
) -> None:
    user = user_with(session, Role.BUYER)
    login(client, user)
    assert unread_badge(client.get("/").text) == 0
    notification = notify_user(session, user, "pages-bell-1")
    html = client.get("/").text
    assert unread_badge(html) == 1
    assert "Stock is low" in html
    response = form_post(client, f"/notifications/{notification.id}/read")
    assert response.status_code == 303
    assert response.headers["location"] == "/notifications"
    assert unread_badge(client.get("/").text) == 0
    session.refresh(notification)
    assert notification.read_at is not None


def test_mark_all_read_clears_the_bell(client: TestClient, session: Session) -> None:
    user = user_with(session, Role.BUYER)
    notify_user(session, user, "pages-all-1")
    notify_user(session, user, "pages-all-2")
    login(client, user)
    assert unread_badge(client.get("/").text) == 2
    assert form_post(client, "/notifications/read-all").status_code == 303
    assert unread_badge(client.get("/notifications").text) == 0


def test_marking_another_users_notification_answers_404_and_changes_nothing(
    make_client: ClientFactory, session: Session
) -> None:
    owner, intruder = user_with(session, Role.BUYER), user_with(session, Role.BUYER)
    notification = notify_user(session, owner, "pages-other-1")
    intruder_client = make_client()
    login(intruder_client, intruder)
    assert form_post(intruder_client, f"/notifications/{notification.id}/read").status_code == 404
    assert form_post(intruder_client, "/notifications/987654/read").status_code == 404
    session.refresh(notification)
    assert notification.read_at is None
    owner_client = make_client()
    login(owner_client, owner)
    assert unread_badge(owner_client.get("/").text) == 1


def test_notifications_page_lists_only_the_users_own(make_client: ClientFactory, session: Session) -> None:
    owner, other = user_with(session, Role.BUYER), user_with(session, Role.BUYER)
    notify_user(session, owner, "pages-list-1")
    client = make_client()
    login(client, other)
    html = client.get("/notifications").text
    assert "Stock is low" not in html
    assert "No notifications." in html


@pytest.mark.parametrize("wildcard", ["%", "_"])
def test_price_list_search_takes_like_wildcards_literally(
    client: TestClient, session: Session, wildcard: str
) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    buyer = make_user(session, organisation=hq, roles=[Role.BUYER], locale="en")
    sku = make_sku(session)
    make_price(session, supplier=make_organisation(session, kind=OrgKind.SUPPLIER), sku=sku)
    login(client, buyer)
    assert sku.code in client.get("/price-lists").text
    assert sku.code not in client.get("/price-lists", params={"q": wildcard}).text

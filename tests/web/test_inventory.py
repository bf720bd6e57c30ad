"""Stock pages (web/routes/inventory.py): stock by location and SKU with its filters, one balance's
ledger summing to the balance, the region x SKU heat map for HQ, and who sees what."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import pytest
from jinja2_fragments import render_block
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from supplychain import i18n
from supplychain.models import (
    Location,
    LocationKind,
    MovementType,
    Organisation,
    OrgKind,
    Region,
    Role,
    Sku,
    StockBalance,
    User,
)
from supplychain.rules.stock import StockDelta
from supplychain.stock import get_balance, ledger_totals, post_movement
from tests.factories import make_location, make_organisation, make_price, make_region, make_sku, make_user
from tests.fixtures.web import ClientFactory, login
from tests.web.test_queries_per_page import counted
from web import templating
from web.admin_entities import LOCATION_KIND_LABELS
from web.deps import Page

HX = {"HX-Request": "true"}
ZH = "zh_CN"
LOCALES = ["zh_CN", "en"]


@dataclass
class Stocked:
    hq: Organisation
    distributor: Organisation
    supplier_a: Organisation
    north: Region
    south: Region
    warehouse: Location  # HQ central warehouse, north
    hq_store: Location  # HQ store, south
    dist_store: Location  # the distributor's store, south
    sku_a: Sku  # supplied by A
    sku_b: Sku  # supplied by B
    buyer: User
    store_user: User
    dist_user: User
    supplier_a_user: User
    inspector: User


def post(
    session: Session,
    location: Location,
    sku: Sku,
    key: str,
    movement: MovementType,
    delta: StockDelta,
    doc_type: str = "test",
    doc_id: str = "T-1",
) -> None:
    assert location.id is not None and sku.id is not None
    post_movement(
        session,
        idempotency_key=f"{key}:{location.code}:{sku.code}",
        location_id=location.id,
        sku_id=sku.id,
        movement_type=movement,
        delta=delta,
        source_document_type=doc_type,
        source_document_id=doc_id,
    )
    session.commit()


@pytest.fixture
def stocked(session: Session) -> Stocked:
    hq = make_organisation(session, kind=OrgKind.HQ)
    distributor = make_organisation(session, kind=OrgKind.DISTRIBUTOR)
    supplier_a = make_organisation(session, kind=OrgKind.SUPPLIER)
    supplier_b = make_organisation(session, kind=OrgKind.SUPPLIER)
    north, south = (
        make_region(session, code="R-NORTH", name="North"),
        make_region(session, code="R-SOUTH", name="South"),
    )
    warehouse = make_location(
        session, organisation=hq, kind=LocationKind.CENTRAL_WAREHOUSE, region=north, code="L1-WH"
    )
    hq_store = make_location(session, organisation=hq, kind=LocationKind.STORE, region=south, code="L2-HQS")
    dist_store = make_location(
        session, organisation=distributor, kind=LocationKind.STORE, region=south, code="L3-DS"
    )
    sku_a = make_sku(session, code="TST-A1", name="苹果汁", name_en="Apple juice", category="drinks")
    sku_b = make_sku(session, code="TST-B1", name="洗发水", name_en="Shampoo", category="care")
    make_price(session, supplier=supplier_a, sku=sku_a)
    make_price(session, supplier=supplier_b, sku=sku_b)
    post(session, warehouse, sku_a, "open", MovementType.OPENING, StockDelta(on_hand=1000))
    post(
        session,
        warehouse,
        sku_a,
        "po",
        MovementType.RECEIPT,
        StockDelta(on_hand=250),
        "purchase_order",
        "PO-2026-000001",
    )
    post(session, warehouse, sku_a, "reserve", MovementType.RESERVE, StockDelta(reserved=100))
    post(
        session,
        warehouse,
        sku_a,
        "lot",
        MovementType.QUARANTINE_RECEIPT,
        StockDelta(on_hand=30, quarantine=30),
    )
    post(session, warehouse, sku_b, "open", MovementType.OPENING, StockDelta(on_hand=50))
    post(session, hq_store, sku_a, "open", MovementType.OPENING, StockDelta(on_hand=20))
    post(session, dist_store, sku_a, "open", MovementType.OPENING, StockDelta(on_hand=30))
    post(session, dist_store, sku_b, "open", MovementType.OPENING, StockDelta(on_hand=40))
    return Stocked(
        hq=hq,
        distributor=distributor,
        supplier_a=supplier_a,
        north=north,
        south=south,
        warehouse=warehouse,
        hq_store=hq_store,
        dist_store=dist_store,
        sku_a=sku_a,
        sku_b=sku_b,
        buyer=make_user(session, organisation=hq, roles=[Role.BUYER]),
        store_user=make_user(session, organisation=hq, roles=[Role.STORE], location=hq_store),
        dist_user=make_user(session, organisation=distributor, roles=[Role.STORE], location=dist_store),
        supplier_a_user=make_user(session, organisation=supplier_a, roles=[Role.SUPPLIER]),
        inspector=make_user(session, organisation=hq, roles=[Role.INSPECTOR]),
    )


def as_user(make_client: ClientFactory, user: User, locale: str = ZH) -> TestClient:
    client = make_client()
    client.cookies.set("scp_lang", locale)
    login(client, user)
    return client


def set_locale(session: Session, user: User, locale: str) -> None:
    user.locale = locale
    session.add(user)
    session.commit()


def t(locale: str, message: str) -> str:
    return i18n.translations(locale).gettext(message)


def rows(html: str) -> list[tuple[str, str]]:
    """(location name, SKU code) of each stock row, in order."""
    found = re.findall(r'<tr id="stock-\d+"[^>]*>\s*<td>([^<]*)</td><td>([^<]*)</td>', html)
    return [(loc, code) for loc, code in found]


def balance(session: Session, location: Location, sku: Sku) -> StockBalance:
    assert location.id is not None and sku.id is not None
    found = get_balance(session, location.id, sku.id)
    assert found is not None
    return found


# --- stock by location and SKU ----------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("who", ["buyer", "store_user", "dist_user", "supplier_a_user"])
def test_the_stock_page_renders_for_every_kind_of_user_in_both_languages(
    make_client: ClientFactory, session: Session, stocked: Stocked, who: str, locale: str
) -> None:
    user = getattr(stocked, who)
    set_locale(session, user, locale)
    page = as_user(make_client, user, locale).get("/stock")
    assert page.status_code == 200
    for header in ("On hand", "Reserved", "Quarantine", "Available", "In transit", "Kind of location"):
        assert f">{t(locale, header)}<" in page.text, header
    if locale == ZH:
        assert t(ZH, "Kind of location") != "Kind of location", "the Chinese catalogue lacks the stock page"


def test_each_user_sees_the_rows_of_the_locations_scoping_allows(
    make_client: ClientFactory, stocked: Stocked
) -> None:
    s = stocked
    wh, hs, ds = s.warehouse.name, s.hq_store.name, s.dist_store.name
    a, b = s.sku_a.code, s.sku_b.code
    assert rows(as_user(make_client, s.buyer).get("/stock").text) == [
        (wh, a),
        (wh, b),
        (hs, a),
        (ds, a),
        (ds, b),
    ]
    # An HQ store manager: HQ's own locations; a distributor: its own; a supplier: its SKUs at HQ's.
    assert rows(as_user(make_client, s.store_user).get("/stock").text) == [(wh, a), (wh, b), (hs, a)]
    assert rows(as_user(make_client, s.dist_user).get("/stock").text) == [(ds, a), (ds, b)]
    assert rows(as_user(make_client, s.supplier_a_user).get("/stock").text) == [(wh, a), (hs, a)]


def test_the_stock_row_shows_every_bucket_and_available_formatted_per_locale(
    make_client: ClientFactory, session: Session, stocked: Stocked
) -> None:
    set_locale(session, stocked.buyer, "en")
    page = as_user(make_client, stocked.buyer, "en").get(
        "/stock", params={"q": "TST-A1", "kind": "central_warehouse"}
    )
    [row] = re.findall(r'<tr id="stock-\d+">.*?</tr>', page.text, re.S)
    numbers = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row)
    # on hand, reserved, quarantine, available, in transit
    assert numbers == ["1,280", "100", "30", "1,150", "0"]


def test_filters_by_search_region_location_and_kind(make_client: ClientFactory, stocked: Stocked) -> None:
    s = stocked
    client = as_user(make_client, s.buyer)
    wh, hs, ds = s.warehouse.name, s.hq_store.name, s.dist_store.name
    a, b = s.sku_a.code, s.sku_b.code
    assert rows(client.get("/stock", params={"q": "shampoo"}).text) == [(wh, b), (ds, b)]
    assert rows(client.get("/stock", params={"q": "苹果"}).text) == [(wh, a), (hs, a), (ds, a)]
    assert rows(client.get("/stock", params={"region": s.north.id}).text) == [(wh, a), (wh, b)]
    assert rows(client.get("/stock", params={"location": s.dist_store.id}).text) == [(ds, a), (ds, b)]
    assert rows(client.get("/stock", params={"kind": "store", "region": s.south.id, "q": "TST-A"}).text) == [
        (hs, a),
        (ds, a),
    ]
    # LIKE wildcards are taken as typed; unknown filter values are ignored, not a 422.
    assert rows(client.get("/stock", params={"q": "%"}).text) == []
    assert rows(client.get("/stock", params={"q": "TST_A1"}).text) == []
    for params in ({"kind": "castle"}, {"region": "abc"}, {"location": "99999999999999999999"}):
        assert client.get("/stock", params=params).status_code == 200


def test_the_htmx_search_returns_the_results_fragment_with_ledger_links(
    make_client: ClientFactory, stocked: Stocked
) -> None:
    response = as_user(make_client, stocked.buyer).get("/stock", params={"q": "TST-B1"}, headers=HX)
    assert response.text.lstrip().startswith('<div id="results">')
    assert "<html" not in response.text
    assert f'href="/stock/{stocked.warehouse.id}/{stocked.sku_b.id}/ledger"' in response.text


def test_pagination_keeps_the_filters(
    make_client: ClientFactory, session: Session, stocked: Stocked, monkeypatch: pytest.MonkeyPatch
) -> None:
    from web.routes import inventory as routes

    monkeypatch.setattr(routes, "STOCK_PER_PAGE", 1)
    client = as_user(make_client, stocked.buyer)
    page = client.get("/stock", params={"q": "TST", "kind": "store", "region": stocked.south.id}).text
    assert f'href="/stock?page=2&amp;q=TST&amp;region={stocked.south.id}&amp;kind=store"' in page
    second = client.get("/stock", params={"q": "TST", "kind": "store", "region": stocked.south.id, "page": 2})
    assert rows(second.text) == [(stocked.dist_store.name, stocked.sku_a.code)]


def test_a_supplier_sees_quantities_of_its_own_skus_only_no_prices_no_ledger(
    make_client: ClientFactory, stocked: Stocked
) -> None:
    client = as_user(make_client, stocked.supplier_a_user)
    page = client.get("/stock").text
    assert stocked.sku_b.code not in page
    assert "12.5" not in page and "¥" not in page  # the price list's price
    assert "/ledger" not in page
    assert client.get("/stock", params={"q": stocked.sku_b.code}).text.count('<tr id="stock-') == 0
    assert client.get(f"/stock/{stocked.warehouse.id}/{stocked.sku_a.id}/ledger").status_code == 404


def test_the_low_stock_hook_marks_a_row_at_or_below_its_reorder_point(
    stocked: Stocked, session: Session
) -> None:
    """Reorder points are not stored yet: the page passes none and marks nothing; given some, the
    template marks each row whose available is at or below its point."""
    s = stocked
    wh_a, wh_b = balance(session, s.warehouse, s.sku_a), balance(session, s.warehouse, s.sku_b)
    from supplychain.inventory import StockFilters, StockRow

    items = [StockRow(wh_a, s.sku_a, s.warehouse), StockRow(wh_b, s.sku_b, s.warehouse)]
    context = {
        "rows": Page(items=items, page=1, per_page=50, total=2),  # type: ignore[type-var]
        "filters": StockFilters(),
        "q": "",
        "show_ledger": True,
        "csrf_token": "",
    }
    with i18n.use_locale("en"):
        plain = render_block(templating.env, "inventory/stock.html", "results", **context, reorder_points={})
        marked = render_block(
            templating.env,
            "inventory/stock.html",
            "results",
            **context,
            reorder_points={(wh_a.location_id, wh_a.sku_id): 1149, (wh_b.location_id, wh_b.sku_id): 50},
        )
    assert 'class="low"' not in plain and "low-stock" not in plain
    assert f'<tr id="stock-{wh_a.id}">' in marked  # 1,150 available > 1,149
    assert f'<tr id="stock-{wh_b.id}" class="low">' in marked  # 50 available <= 50
    assert marked.count('data-testid="low-stock"') == 1
    assert "Low: reorder point 50" in marked


# --- the ledger --------------------------------------------------------------------------------------------


def ledger_lines(html: str) -> list[dict[str, int]]:
    found = re.findall(
        r'<tr id="ledger-(\d+)" data-on-hand="(-?\d+)" data-reserved="(-?\d+)" data-quarantine="(-?\d+)" '
        r'data-in-transit="(-?\d+)"\s+data-delta="(-?\d+) (-?\d+) (-?\d+) (-?\d+)"',
        html,
    )
    keys = (
        "id",
        "on_hand",
        "reserved",
        "quarantine",
        "in_transit",
        "d_on_hand",
        "d_reserved",
        "d_quarantine",
        "d_in_transit",
    )
    return [dict(zip(keys, map(int, row), strict=True)) for row in found]


def check_sums_to_balance(lines: list[dict[str, int]], bal: StockBalance) -> None:
    """Newest first: the newest line's balance is the balance row; each older line's is the next
    newer one's less that one's change; before the oldest, nothing."""
    assert (lines[0]["on_hand"], lines[0]["reserved"], lines[0]["quarantine"], lines[0]["in_transit"]) == (
        bal.on_hand,
        bal.reserved,
        bal.quarantine,
        bal.in_transit,
    )
    for newer, older in itertools.pairwise(lines):
        for bucket in ("on_hand", "reserved", "quarantine", "in_transit"):
            assert older[bucket] == newer[bucket] - newer[f"d_{bucket}"]
    oldest = lines[-1]
    for bucket in ("on_hand", "reserved", "quarantine", "in_transit"):
        assert oldest[bucket] - oldest[f"d_{bucket}"] == 0


@pytest.mark.parametrize("locale", LOCALES)
def test_the_ledger_lists_every_movement_newest_first_and_sums_to_the_balance(
    make_client: ClientFactory, session: Session, stocked: Stocked, locale: str
) -> None:
    s = stocked
    set_locale(session, s.buyer, locale)
    client = as_user(make_client, s.buyer, locale)
    stock_page = client.get("/stock", params={"location": s.warehouse.id, "q": s.sku_a.code}).text
    url = f"/stock/{s.warehouse.id}/{s.sku_a.id}/ledger"
    assert f'href="{url}"' in stock_page
    page = client.get(url)
    assert page.status_code == 200
    lines = ledger_lines(page.text)
    assert len(lines) == 4 and [line["id"] for line in lines] == sorted(
        (line["id"] for line in lines), reverse=True
    )
    bal = balance(session, s.warehouse, s.sku_a)
    check_sums_to_balance(lines, bal)
    assert ledger_totals(session, bal.location_id, bal.sku_id) == StockDelta(
        on_hand=bal.on_hand, reserved=bal.reserved, in_transit=bal.in_transit, quarantine=bal.quarantine
    )
    # Movement types translated; the purchase order linked to its page; dates per locale.
    for label in ("Opening stock", "Receipt", "Reservation", "Receipt into quarantine"):
        assert f"<td>{t(locale, label)}</td>" in page.text
    assert '<a href="/purchase-orders/PO-2026-000001">PO-2026-000001</a>' in page.text
    with i18n.use_locale(locale):
        balance_shown = i18n.format_decimal(bal.available)
    assert f'data-testid="balance-available">{balance_shown}<' in page.text


def test_the_ledger_pages_carry_the_running_balance_across_pages(
    make_client: ClientFactory, session: Session, stocked: Stocked, monkeypatch: pytest.MonkeyPatch
) -> None:
    from web.routes import inventory as routes

    monkeypatch.setattr(routes, "LEDGER_PER_PAGE", 3)
    s = stocked
    for n in range(5):
        post(session, s.warehouse, s.sku_a, f"issue-{n}", MovementType.ISSUE, StockDelta(on_hand=-(n + 1)))
    client = as_user(make_client, s.buyer)
    url = f"/stock/{s.warehouse.id}/{s.sku_a.id}/ledger"
    lines = []
    for number in (1, 2, 3):
        page = client.get(url, params={"page": number}).text
        lines += ledger_lines(page)
    assert len(lines) == 9
    assert f'href="{url}?page=2"' in client.get(url).text
    check_sums_to_balance(lines, balance(session, s.warehouse, s.sku_a))


def test_another_organisations_ledger_is_a_404(make_client: ClientFactory, stocked: Stocked) -> None:
    s = stocked
    dist = as_user(make_client, s.dist_user)
    store = as_user(make_client, s.store_user)
    assert dist.get(f"/stock/{s.dist_store.id}/{s.sku_a.id}/ledger").status_code == 200
    assert dist.get(f"/stock/{s.warehouse.id}/{s.sku_a.id}/ledger").status_code == 404
    assert dist.get(f"/stock/{s.hq_store.id}/{s.sku_a.id}/ledger").status_code == 404
    assert store.get(f"/stock/{s.warehouse.id}/{s.sku_a.id}/ledger").status_code == 200
    assert store.get(f"/stock/{s.dist_store.id}/{s.sku_a.id}/ledger").status_code == 404
    # No balance there at all, or ids out of range: the same 404.
    assert store.get(f"/stock/{s.hq_store.id}/{s.sku_b.id}/ledger").status_code == 404
    assert store.get("/stock/99999999999999999999/1/ledger").status_code == 404
    # An HQ-wide role sees every location's ledger.
    buyer = as_user(make_client, s.buyer)
    assert buyer.get(f"/stock/{s.dist_store.id}/{s.sku_b.id}/ledger").status_code == 200


# --- the heat map ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_the_heat_map_shows_available_per_region_and_sku_shaded_against_the_skus_most(
    make_client: ClientFactory, session: Session, stocked: Stocked, locale: str
) -> None:
    s = stocked
    set_locale(session, s.buyer, locale)
    page = as_user(make_client, s.buyer, locale).get("/stock/heatmap")
    assert page.status_code == 200
    assert f"<h1>{t(locale, 'Stock heat map')}</h1>" in page.text

    def cell(region: Region, sku: Sku) -> tuple[str, str]:
        found = re.search(
            rf'class="num heat-(\d)" data-testid="cell-{region.id}-{sku.id}" data-level="\d">([^<]*)<',
            page.text,
        )
        assert found, (region.code, sku.code)
        return found.group(1), found.group(2)

    with i18n.use_locale(locale):
        fmt = i18n.format_decimal
        # A: north 1,150 (the warehouse); south 20 + 30 = 50. B: north 50; south 40.
        assert cell(s.north, s.sku_a) == ("4", fmt(1150))
        assert cell(s.south, s.sku_a) == ("1", fmt(50))
        assert cell(s.north, s.sku_b) == ("4", fmt(50))
        assert cell(s.south, s.sku_b) == ("4", fmt(40))  # 80 % of the most
    assert 'class="heat-legend"' in page.text


def test_the_heat_map_filters_by_category_and_search(make_client: ClientFactory, stocked: Stocked) -> None:
    client = as_user(make_client, stocked.buyer)
    drinks = client.get("/stock/heatmap", params={"category": "drinks"}, headers=HX).text
    assert drinks.lstrip().startswith('<div id="results">')
    assert stocked.sku_a.code in drinks and stocked.sku_b.code not in drinks
    care = client.get("/stock/heatmap", params={"q": "Shampoo"}).text
    assert stocked.sku_b.code in care and f">{stocked.sku_a.code}<" not in care
    assert '<option value="care"' in care


def test_the_heat_map_is_for_hq_only(make_client: ClientFactory, stocked: Stocked) -> None:
    for user in (stocked.store_user, stocked.dist_user, stocked.supplier_a_user):
        assert as_user(make_client, user).get("/stock/heatmap").status_code == 403
    assert as_user(make_client, stocked.inspector).get("/stock/heatmap").status_code == 200


# --- statements per page ---------------------------------------------------------------------------------


def statements_for(db: Engine, client: TestClient, url: str) -> int:
    client.get(url)
    with counted(db) as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def test_the_stock_pages_cost_a_fixed_number_of_statements_however_many_rows(
    make_client: ClientFactory, session: Session, db: Engine, stocked: Stocked
) -> None:
    s = stocked
    client = as_user(make_client, s.buyer)
    urls = [
        "/stock",
        "/stock/heatmap",
        f"/stock/{s.warehouse.id}/{s.sku_a.id}/ledger",
        f"/stock/{s.warehouse.id}/{s.sku_a.id}/ledger?page=2",
    ]
    few = {url: statements_for(db, client, url) for url in urls[:3]}
    for n in range(12):
        region = make_region(session)
        location = make_location(session, organisation=s.hq, kind=LocationKind.STORE, region=region)
        sku = make_sku(session, category=f"cat-{n % 3}")
        post(session, location, sku, "more", MovementType.OPENING, StockDelta(on_hand=n + 1))
        post(session, s.warehouse, s.sku_a, f"more-{n}", MovementType.RECEIPT, StockDelta(on_hand=1))
    for n in range(60):
        post(session, s.warehouse, s.sku_a, f"many-{n}", MovementType.RECEIPT, StockDelta(on_hand=1))
    many = {url: statements_for(db, client, url) for url in urls}
    assert {url: many[url] for url in urls[:3]} == few  # the ledger's page 2 has rows only now
    # /stock: two more for the low-stock marks (the offers, the page's demand: supplychain/planning.py).
    assert many["/stock"] <= 9 and many["/stock/heatmap"] <= 7 and many[urls[2]] <= 6 and many[urls[3]] <= 7


def test_location_kind_labels_cover_every_kind() -> None:
    assert set(LOCATION_KIND_LABELS) == set(LocationKind)

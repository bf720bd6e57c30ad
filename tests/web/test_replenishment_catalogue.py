"""The store's request page, catalogue listing: per SKU the store's on hand, reorder point and
suggested quantity (supplychain.planning.reorder_view), search by code or name (LIKE wildcards taken
literally), a category filter and pages, with the quantities typed so far kept across them; the
listing costs the same number of queries for 3 SKUs and 60."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session

from supplychain.rules.dates import business_date
from supplychain.settings import settings
from tests.factories import make_price, make_sku
from tests.fixtures.web import ClientFactory, form_post, login
from tests.planning_world import HISTORY_DAYS, PlanningWorld, build_planning_world


def today() -> dt.date:
    return business_date(dt.datetime.now(dt.UTC))


@pytest.fixture
def world(db: Engine, monkeypatch: pytest.MonkeyPatch) -> PlanningWorld:
    monkeypatch.setattr(settings, "PLANNING_HISTORY_DAYS", HISTORY_DAYS)
    monkeypatch.setattr(settings, "PLANNING_REVIEW_DAYS", 7)
    with Session(db, expire_on_commit=False) as session:
        return build_planning_world(session, today())


def _more_skus(db: Engine, world: PlanningWorld, n: int, category: str = "drinks") -> list[int]:
    ids = []
    with Session(db, expire_on_commit=False) as session:
        for i in range(n):
            sku = make_sku(session, code=f"ZZ-{i:03d}", category=category)
            make_price(session, supplier=world.supplier, sku=sku, unit_price=Decimal("2.0000"))
            assert sku.id is not None
            ids.append(sku.id)
    return ids


def _row(html: str, sku_id: int) -> str:
    found = re.search(rf'<tr id="sku-{sku_id}"[^>]*>.*?</tr>', html, re.S)
    assert found is not None, f"no row for SKU {sku_id}"
    return found.group(0)


def test_each_row_shows_on_hand_reorder_point_and_the_suggested_quantity(
    make_client: ClientFactory, world: PlanningWorld
) -> None:
    store = make_client()
    login(store, world.store_user)
    html = store.get("/replenishment/new").text
    x = _row(html, world.sku_x.id)
    assert re.search(r'data-testid="on-hand">5<', x)
    assert re.search(r'data-testid="reorder-point">6<', x)
    assert re.search(r'data-testid="suggested">18<', x)
    y = _row(html, world.sku_y.id)
    assert re.search(r'data-testid="suggested"><', y)  # nothing to order


def test_search_by_code_or_name_takes_wildcards_literally_and_filters_by_category(
    make_client: ClientFactory, world: PlanningWorld, db: Engine
) -> None:
    drinks = _more_skus(db, world, 3, category="drinks")
    store = make_client()
    login(store, world.store_user)
    by_code = store.get(f"/replenishment/new?q={world.sku_x.code}").text
    assert f'id="sku-{world.sku_x.id}"' in by_code and f'id="sku-{world.sku_y.id}"' not in by_code
    wildcard = store.get("/replenishment/new?q=%25").text  # "%" matches no code or name
    assert 'data-testid="no-match"' in wildcard
    underscore = store.get("/replenishment/new?q=ZZ_0").text  # "_" is not "any character"
    assert 'data-testid="no-match"' in underscore
    category = store.get("/replenishment/new?category=drinks").text
    assert all(f'id="sku-{i}"' in category for i in drinks)
    assert f'id="sku-{world.sku_x.id}"' not in category


def test_pages_keep_the_quantities_typed_on_other_pages(
    make_client: ClientFactory, world: PlanningWorld, db: Engine
) -> None:
    many = _more_skus(db, world, 60)
    store = make_client()
    login(store, world.store_user)
    first = store.get("/replenishment/new").text
    assert 'data-testid="catalogue-pages"' in first
    token = re.search(r'name="submission_token" value="([^"]+)"', first)
    assert token is not None
    # Type on page 1 (an SKU of the world), then go to page 2.
    page_two = form_post(
        store,
        "/replenishment/browse",
        {"submission_token": token.group(1), f"qty-{world.sku_x.id}": "12", "page": "1", "next": "Next"},
    )
    assert page_two.status_code == 200
    assert f'id="sku-{world.sku_x.id}"' not in page_two.text
    assert f'<input type="hidden" name="qty-{world.sku_x.id}" value="12">' in page_two.text
    assert any(f'id="sku-{i}"' in page_two.text for i in many[-10:])
    # Back on page 1 the value is in its row again.
    back = form_post(
        store,
        "/replenishment/browse",
        {"submission_token": token.group(1), f"qty-{world.sku_x.id}": "12", "page": "2", "prev": "Previous"},
    )
    assert 'value="12"' in _row(back.text, world.sku_x.id)
    assert 'data-testid="request-errors"' not in back.text  # browsing is not sending


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_listing_takes_the_same_number_of_queries_for_3_skus_and_60(
    make_client: ClientFactory, world: PlanningWorld, db: Engine
) -> None:
    store = make_client()
    login(store, world.store_user)
    store.get("/replenishment/new")
    with counted(db) as few:
        store.get("/replenishment/new")
    _more_skus(db, world, 45)
    with counted(db) as many:
        store.get("/replenishment/new")
    assert len(few) == len(many)

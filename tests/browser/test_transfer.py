"""A transfer in a real browser (zh_CN), with the demo logins: the store manager asks for stock,
looking up who has it (its regional warehouse, nearby, first); the warehouse dispatches it with a
carrier and an expected arrival; the store counts it in and its stock rises by what arrived. The app
behind the browser talks to a real Temporal dev server and the production worker
(`open_portal_page`); screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from supplychain import i18n
from supplychain.models import Location, Sku, StockBalance, TransferStatus
from supplychain.models.base import utcnow
from supplychain.stock import get_balance, ledger_totals
from tests.browser.conftest import DESKTOP, DemoAccount, OpenPage, Viewport
from tests.browser.test_replenishment import click_nav, log_in, log_out, reload_until_visible, translated
from web.routes.transfers import STATUS_LABELS
from workflows.common import business_date

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str, Viewport], Path]
LOCALE = "zh_CN"
QUANTITY = 3


def status_label(status: TransferStatus) -> str:
    with i18n.use_locale(LOCALE):
        return i18n.translate(STATUS_LABELS[status])


def _stocked_sku(engine: Engine, warehouse_code: str) -> tuple[str, int, int]:
    """An SKU the warehouse has available: its code, the warehouse's and the store's location ids."""
    with Session(engine) as session:
        warehouse = session.execute(select(Location).filter_by(code=warehouse_code)).scalar_one()
        store = session.execute(select(Location).filter_by(code="ST-SH01")).scalar_one()
        balances = session.execute(
            select(StockBalance)
            .where(col(StockBalance.location_id) == warehouse.id)
            .order_by(col(StockBalance.id))
        ).scalars()
        balance = next(b for b in balances if b.available >= 10 * QUANTITY)
        sku = session.get(Sku, balance.sku_id)
        assert sku is not None and warehouse.id is not None and store.id is not None
        return sku.code, warehouse.id, store.id


def _on_hand(engine: Engine, location_id: int, sku_code: str) -> int:
    with Session(engine) as session:
        sku_id = session.execute(select(col(Sku.id)).filter_by(code=sku_code)).scalar_one()
        balance = get_balance(session, location_id, sku_id)
        totals = ledger_totals(session, location_id, sku_id)
        on_hand = balance.on_hand if balance else 0
        assert totals.on_hand == on_hand, "the ledger sums to the balance"
        return on_hand


def test_the_store_asks_the_warehouse_dispatches_and_the_store_receives_into_its_stock(
    open_portal_page: OpenPage,
    demo_accounts: dict[str, DemoAccount],
    engine: Engine,
    screenshot: Screenshot,
) -> None:
    store, warehouse = demo_accounts["store"], demo_accounts["warehouse"]
    sku_code, warehouse_id, store_id = _stocked_sku(engine, "RW-HZ")
    before = _on_hand(engine, store_id, sku_code)

    # --- the store manager looks up who has the SKU and asks its regional warehouse -----------------
    page = open_portal_page(DESKTOP)
    log_in(page, store)
    click_nav(page, "/transfers")
    page.get_by_test_id("new-transfer").click()
    expect(page).to_have_url("/transfers/new")
    page.locator("#look-sku-1").fill(sku_code)
    page.get_by_test_id("availability-form").locator("button[type=submit]").click()
    first_row = page.get_by_test_id("availability-row").first
    expect(first_row).to_contain_text("华东区域仓（杭州）")  # nearby warehouses first
    screenshot(page, "1-store-availability", DESKTOP)
    form = page.get_by_test_id("transfer-form")
    form.locator("#source").select_option(str(warehouse_id))
    form.locator("input[name=sku_1]").fill(sku_code)
    form.locator("input[name=quantity_1]").fill(str(QUANTITY))
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/transfers/TR-\d{4}-\d{6}$"))
    number = page.url.rsplit("/", 1)[1]
    expect(page.locator(".flash").first).to_contain_text(number)
    reload_until_visible(
        page,
        page.locator(f"[data-testid=status]:text-is('{status_label(TransferStatus.RESERVED)}')"),
        "the reservation",
    )
    expect(page.get_by_test_id("cancel-form")).to_be_visible()  # the requester may still cancel
    log_out(page)

    # --- the warehouse dispatches it ----------------------------------------------------------------
    log_in(page, warehouse)
    click_nav(page, "/transfers")
    page.locator(f"a:text-is('{number}')").click()
    dispatch = page.get_by_test_id("dispatch-form")
    dispatch.locator("#carrier").fill("顺丰速运")
    dispatch.locator("#tracking").fill("SF1234567890")
    arrival = business_date(utcnow()) + timedelta(days=2)
    dispatch.locator("#arrival").fill(arrival.isoformat())
    dispatch.locator("button[type=submit]").click()
    expect(page.locator(".flash").first).to_contain_text(
        translated("Transfer %(number)s was dispatched.").split("%")[0]
    )
    expect(page.get_by_test_id("status")).to_have_text(status_label(TransferStatus.IN_TRANSIT))
    expect(page.get_by_test_id("carrier")).to_contain_text("SF1234567890")
    screenshot(page, "2-warehouse-dispatched", DESKTOP)
    log_out(page)

    # --- the store counts it in: its stock rises ----------------------------------------------------
    log_in(page, store)
    page.goto(f"/transfers/{number}")
    received = page.locator("input[name=received_1]")
    expect(received).to_have_value(str(QUANTITY))  # what is on its way, ready to confirm
    page.get_by_test_id("receive").click()
    expect(page.get_by_test_id("status")).to_have_text(status_label(TransferStatus.COMPLETED))
    expect(page.get_by_test_id("received").first).to_have_text(str(QUANTITY))
    received_entry = page.locator("#timeline li.timeline-entry[data-action='received']")
    expect(received_entry).to_have_count(1)
    screenshot(page, "3-store-received", DESKTOP)
    assert _on_hand(engine, store_id, sku_code) == before + QUANTITY


def test_the_store_orders_from_its_catalogue_and_gets_the_warehouses_stock_by_transfer(
    open_portal_page: OpenPage,
    demo_accounts: dict[str, DemoAccount],
    engine: Engine,
    screenshot: Screenshot,
) -> None:
    """The store's replenishment request of an SKU its regional warehouse holds: the preview says it
    comes from the warehouse's stock, the request becomes a transfer (no purchase order), the
    warehouse dispatches it and the store counts it into its stock."""
    store, warehouse = demo_accounts["store"], demo_accounts["warehouse"]
    page = open_portal_page(DESKTOP)
    log_in(page, store)
    click_nav(page, "/replenishment/new")
    offered = {
        int(value.removeprefix("qty-"))
        for value in page.locator("#request-form input.qty").evaluate_all("els => els.map(e => e.id)")
    }
    with Session(engine) as session:
        warehouse_id = session.execute(select(col(Location.id)).filter_by(code="RW-HZ")).scalar_one()
        store_id = session.execute(select(col(Location.id)).filter_by(code="ST-SH01")).scalar_one()
        held = session.execute(
            select(StockBalance).where(
                col(StockBalance.location_id) == warehouse_id, col(StockBalance.sku_id).in_(offered)
            )
        ).scalars()
        sku_id = next(b.sku_id for b in held if b.available >= 10 * QUANTITY)
        sku = session.get(Sku, sku_id)
        assert sku is not None
        sku_code = sku.code
    before = _on_hand(engine, store_id, sku_code)

    page.locator(f"#qty-{sku_id}").press_sequentially(str(QUANTITY))
    expect(page.locator("#preview")).to_contain_text(str(QUANTITY))
    expect(page.locator("#preview .po-plan")).to_have_count(0)  # nothing to buy: all from stock
    screenshot(page, "4-store-request-from-stock", DESKTOP)
    page.locator("#request-form button[type=submit]").click()
    flash = page.locator(".flash").first
    expect(flash).to_contain_text("TR-")
    number = re.findall(r"TR-\d{4}-\d{6}", flash.inner_text())[0]
    page.goto(f"/transfers/{number}")
    reload_until_visible(
        page,
        page.locator(f"[data-testid=status]:text-is('{status_label(TransferStatus.RESERVED)}')"),
        "the reservation at the warehouse",
    )
    log_out(page)

    log_in(page, warehouse)
    page.goto(f"/transfers/{number}")
    dispatch = page.get_by_test_id("dispatch-form")
    dispatch.locator("#carrier").fill("京东物流")
    dispatch.locator("#arrival").fill((business_date(utcnow()) + timedelta(days=1)).isoformat())
    dispatch.locator("button[type=submit]").click()
    expect(page.get_by_test_id("status")).to_have_text(status_label(TransferStatus.IN_TRANSIT))
    log_out(page)

    log_in(page, store)
    page.goto(f"/transfers/{number}")
    page.get_by_test_id("receive").click()
    expect(page.get_by_test_id("status")).to_have_text(status_label(TransferStatus.COMPLETED))
    screenshot(page, "5-store-received-from-stock", DESKTOP)
    assert _on_hand(engine, store_id, sku_code) == before + QUANTITY

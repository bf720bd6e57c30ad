"""The warehouse's receiving page in a real browser (desktop, the demo warehouse login in zh_CN): the
over/short of each line and the messages beside the fields follow what is typed, every time, and a
preview never takes away what the user typed meanwhile, nor the focus or the caret.

The form asks for the preview itself (htmx, `input` debounced). It used to listen with
`from:input`, resolved once when the page loaded, and swapped the lines, inputs included: after the
first preview typing updated nothing any more (the listeners were on the replaced inputs), a lot row
added later was never listened to, and an answer arriving while the user typed on put the older
value back into the field.

The receiving page and its preview only read the database, so the shipment is written as rows (as
the workflow's activities write them) over the seeded demo data, and removed afterwards; nothing
here records the receipt, so no Temporal is needed (`open_page`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, Route, expect
from sqlalchemy import Engine, delete, select
from sqlmodel import Session, col

from supplychain import i18n
from supplychain.models import (
    POLineStatus,
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    Shipment,
    ShipmentLine,
    Sku,
    User,
)
from tests.browser.conftest import DESKTOP, DemoAccount, OpenPage
from tests.browser.test_replenishment import log_in
from tests.factories import unique_code
from workflows.common import BUSINESS_TIMEZONE

pytestmark = pytest.mark.browser

LOCALE = "zh_CN"  # the demo warehouse login's language
SKU_CODE = "BEV-001"  # sold by SUP-HZLY (the "supplier" login), not batch-tracked: lot rows are quantities
SHIPPED = 24
PREVIEW = "**/preview"


def message(msgid: str, **params: object) -> str:
    with i18n.use_locale(LOCALE):
        return i18n.gettext(msgid, **params)


@pytest.fixture
def shipment_number(demo_accounts: dict[str, DemoAccount], engine: Engine) -> Iterator[str]:
    """An ASN in transit for SHIPPED of SKU_CODE from the demo store's order, to the demo warehouse
    login's warehouse, without batches (two empty lot rows on the form)."""

    with Session(engine) as session:
        store, supplier, warehouse = (
            session.execute(select(User).where(col(User.email) == demo_accounts[key].email)).scalar_one()
            for key in ("store", "supplier", "warehouse")
        )
        sku = session.execute(select(Sku).where(col(Sku.code) == SKU_CODE)).scalar_one()
        assert not sku.batch_tracked
        assert store.id and store.location_id and supplier.id and warehouse.location_id and sku.id
        number = unique_code("PO")
        po = PurchaseOrder(
            number=number,
            workflow_id=number.lower(),
            supplier_id=supplier.organisation_id,
            requester_user_id=store.id,
            requester_org_id=store.organisation_id,
            requested_for_location_id=store.location_id,
            ship_to_location_id=warehouse.location_id,
            status=POStatus.IN_DELIVERY,
            net_amount=Decimal("48.00"),
            tax_amount=Decimal("6.24"),
            total_amount=Decimal("54.24"),
            created_at=datetime.now(UTC),
            sent_at=datetime.now(UTC),
        )
        session.add(po)
        session.flush()
        assert po.id
        line = PurchaseOrderLine(
            purchase_order_id=po.id,
            line_no=1,
            sku_id=sku.id,
            quantity_requested=SHIPPED,
            quantity_ordered=SHIPPED,
            quantity_confirmed=SHIPPED,
            quantity_shipped=SHIPPED,
            unit_price=Decimal("2.0000"),
            tax_rate=Decimal("0.13"),
            line_amount=Decimal("48.00"),
            status=POLineStatus.OPEN,
        )
        shipment = Shipment(
            number=unique_code("SHP"),
            purchase_order_id=po.id,
            carrier="顺丰速运",
            tracking_number="SF7770001111",
            eta=datetime.now(BUSINESS_TIMEZONE).date() + timedelta(days=1),
            created_by_user_id=supplier.id,
        )
        session.add_all([line, shipment])
        session.flush()
        assert line.id and shipment.id
        session.add(ShipmentLine(shipment_id=shipment.id, po_line_id=line.id, quantity_shipped=SHIPPED))
        session.commit()
        po_id, shipment_id, shipment_number = po.id, shipment.id, shipment.number

    yield shipment_number

    # The demo data is shared by the package's tests: leave no extra shipment to receive behind.
    with Session(engine) as session:
        session.execute(delete(ShipmentLine).where(col(ShipmentLine.shipment_id) == shipment_id))
        session.execute(delete(Shipment).where(col(Shipment.id) == shipment_id))
        session.execute(delete(PurchaseOrderLine).where(col(PurchaseOrderLine.purchase_order_id) == po_id))
        session.execute(delete(PurchaseOrder).where(col(PurchaseOrder.id) == po_id))
        session.commit()


def open_receipt(open_page: OpenPage, warehouse: DemoAccount, number: str) -> Page:
    page = open_page(DESKTOP)
    log_in(page, warehouse)
    page.goto(f"/warehouse/receipts/{number}")
    expect(page.locator("#received-1")).to_have_value(str(SHIPPED))
    expect(page.get_by_test_id("diff-1")).to_have_text(message("as shipped"))
    return page


def test_every_edit_refreshes_the_preview_and_keeps_what_is_typed(
    open_page: OpenPage, demo_accounts: dict[str, DemoAccount], shipment_number: str
) -> None:
    page = open_receipt(open_page, demo_accounts["warehouse"], shipment_number)
    counted = page.locator("#received-1")
    diff = page.get_by_test_id("diff-1")

    # The first count, and another one: each shows its over/short.
    counted.fill("22")
    expect(diff).to_have_text(message("%(n)s short", n=2))
    counted.fill("27")
    expect(diff).to_have_text(message("%(n)s over", n=3))
    counted.fill("abc")
    expect(page.get_by_test_id("error-received-1")).to_have_text(
        message("Enter a whole number, for example 12.")
    )
    expect(diff).to_have_text("–")
    counted.fill("24")
    expect(diff).to_have_text(message("as shipped"))
    expect(page.get_by_test_id("error-received-1")).to_have_count(0)

    # A lot row that is on the page from the start, and one added afterwards.
    page.locator("#lot_qty-1-1").fill("0")
    expect(page.get_by_test_id("error-lot_qty-1-1")).to_have_text(message("Enter a quantity of at least 1."))
    page.locator("#lot_qty-1-1").fill("20")
    expect(page.get_by_test_id("error-lot_qty-1-1")).to_have_count(0)
    page.locator("#add-lot_qty-1").click()
    added = page.locator("#lot_qty-1-3")
    expect(added).to_be_visible()
    added.fill("-4")
    expect(page.get_by_test_id("error-lot_qty-1-3")).to_have_text(message("The quantity cannot be negative."))
    added.fill("4")
    expect(page.get_by_test_id("error-lot_qty-1-3")).to_have_count(0)
    expect(page.locator("#lot_qty-1-1")).to_have_value("20")

    # Typing on while a preview is on its way: its answer, computed from "1", must not put "1" back.
    held: list[Route] = []

    def hold_the_first(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route(PREVIEW, hold_the_first)
    counted.select_text()
    with page.expect_request(PREVIEW):
        counted.press_sequentially("1")
    counted.press_sequentially("234", delay=40)
    assert len(held) == 1, "the preview for 1 is held"
    with page.expect_response(PREVIEW):
        held[0].continue_()
    expect(counted).to_have_value("1234")
    expect(counted).to_be_focused()
    expect(diff).to_have_text(message("%(n)s over", n=1234 - SHIPPED))  # the queued preview, for 1234
    counted.press("5")  # the caret is still at the end
    expect(counted).to_have_value("12345")
    expect(diff).to_have_text(message("%(n)s over", n=12345 - SHIPPED))
    expect(counted).to_be_focused()
    expect(added).to_have_value("4")

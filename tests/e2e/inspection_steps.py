"""Receiving inspection through the pages, step by step as each person takes it: shared by the
end-to-end tests of tests/e2e (one lot per receipt line, several lots per line).

Each step logs in nowhere itself: it is given the person's client (`as_user`) and opens the page
that person uses, submits the page's own form (hidden fields and defaults included, with what the
person types on top) and checks what the page answers. Steps that wait for a workflow poll the
page with `eventually`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlmodel import Session
from starlette.testclient import TestClient

from supplychain import i18n
from supplychain.models import MovementType, Sku
from supplychain.models.catalog import InspectionMode
from supplychain.rules.stock import StockDelta
from supplychain.stock import post_movement
from tests.e2e.conftest import World, until
from tests.e2e.test_replenishment_http import flash_messages, form_values
from tests.factories import make_price, make_sku
from web.routes.approvals import choice_label
from workflows.common import BUSINESS_TIMEZONE

PO_NUMBER = re.compile(r"PO-\d{4}-\d{6}")
SHIPMENT_NUMBER = re.compile(r"SHP-\d{4}-\d{6}")
INSPECTION_NUMBER = re.compile(r"INS-\d{4}-\d{6}")
ASYNC_TIMEOUT = 45.0
STOCK_COLUMNS = ("on_hand", "reserved", "quarantine", "available", "in_transit")


# --- a browser ---------------------------------------------------------------------------------------


def submit(
    client: TestClient,
    page_url: str,
    action: str,
    typed: dict[str, str],
    *,
    post_to: str | None = None,
    also: frozenset[str] = frozenset(),
) -> httpx.Response:
    """Open `page_url`, type `typed` over the form's own values and submit it (no redirect followed).

    `also`: names the person fills in that the page parser does not list as inputs (a radio button
    left unchecked until clicked, a textarea, the pressed button's name).
    """
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    fields = form_values(page.text, action)
    missing = set(typed) - set(fields) - also
    assert not missing, f"the form posting to {action} has no fields {sorted(missing)}"
    response: httpx.Response = client.post(
        post_to or action, data={**fields, **typed}, follow_redirects=False
    )
    return response


def by_testid(page_html: str, name: str) -> str:
    """The text of the element marked data-testid=`name` (tags inside it dropped)."""
    found = re.search(rf'data-testid="{re.escape(name)}"[^>]*>(.*?)</(?:td|dd|span|div|p)>', page_html, re.S)
    assert found, f"no data-testid={name} on the page"
    return _text(found.group(1))


def stock_on_page(client: TestClient, world: World, sku: Sku) -> dict[str, int] | None:
    """The /stock row of `sku` at the warehouse: on hand, reserved, quarantine, available, in transit."""
    page = client.get("/stock", params={"q": sku.code, "location": world.warehouse.id})
    assert page.status_code == 200, page.text
    for row in re.findall(r'<tr id="stock-\d+">(.*?)</tr>', page.text, re.S):
        if f"<td>{world.warehouse.name}</td><td>{sku.code}</td>" in row:
            cells = [int(c.replace(",", "")) for c in re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row)]
            return dict(zip(STOCK_COLUMNS, cells, strict=True))
    return None


def stock(on_hand: int, quarantine: int, reserved: int) -> dict[str, int]:
    """A /stock row with nothing in transit: available is what is neither in quarantine nor reserved
    (the opening stock held for another order; what was accepted for the store that asked, by the
    transfer taking it on there)."""
    available = on_hand - quarantine - reserved
    return dict(zip(STOCK_COLUMNS, (on_hand, reserved, quarantine, available, 0), strict=True))


@dataclass(frozen=True)
class TimelineEntry:
    action: str  # as the page names it
    changes: list[str]  # "Field: value" or "Field: before → value", as the page writes them


def timeline_on_page(page_html: str) -> list[TimelineEntry]:
    """The document's timeline as a reader sees it, oldest first."""
    found = re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', page_html, re.S)
    assert found, "no timeline on the page"
    entries = []
    for entry in found.group(1).split('<li class="timeline-entry"')[1:]:
        action = re.search(r"<strong>(.*?)</strong>", entry, re.S)
        assert action, entry
        changes = re.findall(r"<li>(.*?)</li>", entry, re.S)
        entries.append(TimelineEntry(_text(action.group(1)), [_text(c) for c in changes]))
    return entries


def entries(page_html: str, action: str) -> list[TimelineEntry]:
    return [entry for entry in timeline_on_page(page_html) if entry.action == action]


def eventually(predicate: Callable[[], Any], what: str) -> Any:
    return until(predicate, what, timeout=ASYNC_TIMEOUT, interval=0.2)


def money(amount: Decimal) -> str:
    """An amount as an English page writes it."""
    with i18n.use_locale("en"):
        return i18n.format_money(amount)


def tomorrow() -> str:
    return (datetime.now(BUSINESS_TIMEZONE).date() + timedelta(days=1)).isoformat()


def in_a_year() -> str:
    return (datetime.now(BUSINESS_TIMEZONE).date() + timedelta(days=365)).isoformat()


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


# --- the SKU ------------------------------------------------------------------------------------------


def inspected_sku(
    session: Session,
    world: World,
    *,
    unit_price: Decimal,
    tax_rate: Decimal,
    opening: int,
    batch_tracked: bool = False,
) -> Sku:
    """A SKU always inspected (level II, AQL 0 / 2.5 / 4.0: the model's defaults), priced by the
    world's supplier, with `opening` units already at the warehouse, held for another order
    (reserved): a store's request is served from available stock first (DESIGN 4.2), so with none
    available the whole request is bought and counted in as one lot."""
    sku = make_sku(session)
    sku.inspection_mode = InspectionMode.ALWAYS
    sku.batch_tracked = batch_tracked
    session.add(sku)
    session.commit()
    make_price(session, supplier=world.supplier_org, sku=sku, unit_price=unit_price, tax_rate=tax_rate)
    assert sku.id and world.warehouse.id
    post_movement(
        session,
        idempotency_key=f"e2e-opening:{sku.id}",
        location_id=world.warehouse.id,
        sku_id=sku.id,
        movement_type=MovementType.OPENING,
        delta=StockDelta(on_hand=opening),
        source_document_type="opening",
        source_document_id="opening",
    )
    post_movement(
        session,
        idempotency_key=f"e2e-held:{sku.id}",
        location_id=world.warehouse.id,
        sku_id=sku.id,
        movement_type=MovementType.RESERVE,
        delta=StockDelta(reserved=opening),
        source_document_type="opening",
        source_document_id="opening",
    )
    session.commit()
    return sku


# --- ordering, shipping, receiving --------------------------------------------------------------------


def place_order(store: TestClient, sku: Sku, quantity: int) -> str:
    """The store orders `quantity` of `sku` from the catalogue (within its own limit): the PO number."""
    response = submit(store, "/replenishment/new", "/replenishment/new", {f"qty-{sku.id}": str(quantity)})
    assert response.status_code == 303, response.text
    numbers: list[str] = PO_NUMBER.findall(" ".join(flash_messages(store.get("/replenishment").text)))
    assert len(numbers) == 1, numbers
    return numbers[0]


def confirm_and_ship(supplier: TestClient, po: str, asn: dict[str, str] | None = None) -> str:
    """The supplier confirms every line for tomorrow and ships all of it: the shipment number.

    `asn`: what the supplier types on the ASN form beyond carrier, tracking number and ETA (batches).
    """
    page = f"/purchase-orders/{po}"
    eventually(lambda: po in supplier.get("/supplier/purchase-orders").text, f"{po} sent to the supplier")
    confirm = form_values(supplier.get(page).text, f"{page}/confirm")
    dates = {name: tomorrow() for name in confirm if name.startswith("promised_date-")}
    assert len(dates) == 1, confirm
    response = submit(supplier, page, f"{page}/confirm", dates)
    assert response.status_code == 303, response.text
    typed = {"carrier": "SF Express", "tracking_number": "SF9876543210", "eta": tomorrow(), **(asn or {})}
    response = submit(supplier, f"{page}/shipments/new", f"{page}/shipments/new", typed)
    assert response.status_code == 303, response.text
    shipments: list[str] = SHIPMENT_NUMBER.findall(" ".join(flash_messages(supplier.get(page).text)))
    assert len(shipments) == 1, shipments
    return shipments[0]


def receipt_form(warehouse: TestClient, shipment: str) -> dict[str, str]:
    """The receipt form's fields as the page offers them (counted quantity, lot rows)."""
    receipt = f"/warehouse/receipts/{shipment}"
    return form_values(warehouse.get(receipt).text, receipt)


def record_receipt(warehouse: TestClient, shipment: str, typed: dict[str, str] | None = None) -> None:
    """The warehouse counts the shipment in: the form as offered, with `typed` on top."""
    receipt = f"/warehouse/receipts/{shipment}"
    response = submit(warehouse, receipt, receipt, typed or {})
    assert response.status_code == 303, response.text


# --- inspecting and deciding --------------------------------------------------------------------------


def queued_inspections(inspector: TestClient, po: str, count: int) -> list[str]:
    """The INS numbers of `po`'s lots in the inspector's queue, once there are `count` of them."""

    def queued() -> list[str] | None:
        rows = re.findall(
            rf'<tr id="inspection-\d+"(?:(?!</tr>).)*?{po}(?:(?!</tr>).)*?</tr>',
            inspector.get("/inspections").text,
            re.S,
        )
        numbers = sorted({n for row in rows for n in INSPECTION_NUMBER.findall(row)})
        return numbers if len(numbers) == count else None

    found: list[str] = eventually(queued, f"{count} lot(s) of {po} in /inspections")
    return found


def queue_row(inspector: TestClient, number: str) -> str:
    row = re.search(
        rf'<tr id="inspection-\d+"(?:(?!</tr>).)*?{number}.*?</tr>', inspector.get("/inspections").text, re.S
    )
    assert row, f"{number} not in /inspections"
    return row.group(0)


def record_defects(
    inspector: TestClient, number: str, found: tuple[int, int, int], notes: str = ""
) -> httpx.Response:
    """The inspector records (critical, major, minor) defects and notes on the lot's page."""
    page = f"/inspections/{number}"
    critical, major, minor = found
    typed = {"critical": str(critical), "major": str(major), "minor": str(minor), "notes": notes}
    return submit(inspector, page, page, typed, also=frozenset({"notes"}))


def decide(approver: TestClient, number: str, choice: str, *, deduction: str = "") -> None:
    """HQ's quality approver finds the rejected lot in /approvals and chooses what happens to it."""

    def queued() -> str | None:
        row = re.search(
            rf'<tr id="approval-(\d+)"(?:(?!<tr ).)*?>{number}</a>', approver.get("/approvals").text, re.S
        )
        return row.group(1) if row else None

    approval_id = eventually(queued, f"the decision on {number} in /approvals")
    row = re.search(rf'<tr id="approval-{approval_id}".*?</tr>', approver.get("/approvals").text, re.S)
    assert row
    for option in ("concession", "sorting", "return_to_vendor"):
        assert f'data-testid="choice-{option}"' in row.group(0), option
    assert 'name="ids"' not in row.group(0)  # a step with choices is never approved in bulk
    response = submit(
        approver,
        "/approvals",
        "/approvals/bulk-approve",
        {"decision": "choose", f"choice-{approval_id}": choice, f"deduction-{approval_id}": deduction},
        post_to=f"/approvals/{approval_id}/decide",
        also=frozenset({"decision", f"choice-{approval_id}"}),
    )
    assert response.status_code == 303, response.text
    with i18n.use_locale("en"):
        label = choice_label(choice)
    assert flash_messages(approver.get("/approvals").text) == [f"{number} decided: {label}."]
    assert queued() is None


def return_of(supplier: TestClient, po: str) -> str:
    """The number of the return to vendor of `po` in the supplier's /returns, once it is open."""

    def returned() -> str | None:
        text = supplier.get("/returns").text
        row = re.search(rf'<tr id="rtv-\d+"(?:(?!</tr>).)*?{po}.*?</tr>', text, re.S)
        found = re.search(r'href="/returns/([^"]+)"', row.group(0)) if row else None
        return found.group(1) if found else None

    rtv: str = eventually(returned, f"the return of {po} in the supplier's /returns")
    return rtv


def acknowledge_return(supplier: TestClient, rtv: str, note: str) -> str:
    """The supplier acknowledges the return on its page: the debit note number raised."""
    page = f"/returns/{rtv}"
    response = submit(supplier, page, f"{page}/acknowledge", {"note": note}, also=frozenset({"note"}))
    assert response.status_code == 303, response.text
    text = supplier.get(page).text
    messages = flash_messages(text)
    assert len(messages) == 1 and messages[0].startswith(f"Return {rtv} acknowledged; debit note "), messages
    assert by_testid(text, "status") == "Acknowledged"
    assert 'data-testid="acknowledge-form"' not in text
    return messages[0].removeprefix(f"Return {rtv} acknowledged; debit note ").removesuffix(" raised.")


def debit_note_row(page_html: str, number: str) -> str:
    """The row of debit note `number` on /debit-notes (or a return's page)."""
    row = re.search(rf'<tr id="debit-note-\d+"[^>]*>\s*<td>{re.escape(number)}<.*?</tr>', page_html, re.S)
    assert row, f"{number} not on the page"
    return row.group(0)


def debit_note_amounts(row: str) -> list[str]:
    """Quantity, net, tax and total of a debit note row, as the page writes them."""
    return [html.unescape(c) for c in re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row)]


def closed(store: TestClient, po: str) -> None:
    page = f"/purchase-orders/{po}"
    eventually(lambda: 'data-testid="po-status">Closed<' in store.get(page).text, f"{po} closed")

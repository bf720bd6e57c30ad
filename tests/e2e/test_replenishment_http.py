"""Replenishment end to end through HTTP only, as each role, against a real dev server and worker process.

The store orders more than its own limit from the catalogue, an HQ approver approves it in the
approval queue, the supplier confirms the lines with a promised date and sends an ASN, the warehouse
counts the goods in, and the store finds its order closed. Every step is a person logging in through
the login form and submitting the page's own form as a browser would (its hidden fields and default
values included, with what the person types on top); nothing is driven through Temporal directly.
The database is only read, to check that stock moved by exactly what was counted.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from supplychain import i18n
from supplychain.models import MovementType, Organisation, Sku, User
from supplychain.purchasing import get_po, po_lines
from supplychain.rules.stock import StockDelta
from supplychain.stock import post_movement
from tests.e2e.conftest import WorkerProcesses, World, on_hand, po_actions, until
from tests.factories import make_price, make_sku
from tests.fixtures.web import ClientFactory, login
from web.timeline import action_label
from workflows.common import BUSINESS_TIMEZONE

PO_NUMBER = re.compile(r"PO-\d{4}-\d{6}")
SHIPMENT_NUMBER = re.compile(r"SHP-\d{4}-\d{6}")
OPENING_STOCK_A = 5  # already at the warehouse: the receipt must add to it, not replace it


# --- a browser's view of a page ---------------------------------------------------------------------


class _Page(HTMLParser):
    """The forms of a page with the values a browser would submit, and the timeline's entries."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, str] = {}  # form id or action -> action
        self.fields: list[tuple[str | None, str, str]] = []  # (form id or action, name, value)
        self.timeline: list[tuple[str, str]] = []  # (action label, actor)
        self._form: str | None = None
        self._capture: str | None = None
        self._entry: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = a.get("id") or a.get("action", "")
            self.forms[self._form] = a.get("action", "")
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            self.fields.append((a.get("form") or self._form, a["name"], a.get("value", "")))
        elif tag == "li" and a.get("class") == "timeline-entry":
            self._entry = {"action": "", "actor": ""}
        elif self._entry is not None and tag == "strong":
            self._capture = "action"
        elif self._entry is not None and tag == "span" and a.get("class") == "actor":
            self._capture = "actor"

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag in {"strong", "span"}:
            self._capture = None
        elif tag == "li" and self._entry is not None and self._capture is None and self._entry["action"]:
            self.timeline.append((self._entry["action"].strip(), " ".join(self._entry["actor"].split())))
            self._entry = None

    def handle_data(self, data: str) -> None:
        if self._entry is not None and self._capture is not None:
            self._entry[self._capture] += data


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def form_values(page_html: str, action: str) -> dict[str, str]:
    """What the browser submits for the form posting to `action`: its fields with their current values."""
    page = _parse(page_html)
    keys = [key for key, form_action in page.forms.items() if form_action == action]
    assert keys, f"no form posting to {action} on the page"
    return {name: value for form, name, value in page.fields if form == keys[0]}


def submit(
    client: TestClient, page_url: str, action: str, typed: dict[str, str], *, post_to: str | None = None
) -> httpx.Response:
    """Open `page_url`, fill in `typed` over the form's own values, and submit it (no redirect followed)."""
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    fields = form_values(page.text, action)
    missing = set(typed) - set(fields) - {"decision"}
    assert not missing, f"the form posting to {action} has no fields {sorted(missing)}"
    response: httpx.Response = client.post(
        post_to or action, data={**fields, **typed}, follow_redirects=False
    )
    return response


def flash_messages(page_html: str) -> list[str]:
    return [
        html.unescape(m)
        for m in re.findall(r'<div class="flash flash-\w+" role="status">([^<]*)</div>', page_html)
    ]


def timeline(page_html: str) -> list[tuple[str, str]]:
    return _parse(page_html).timeline


def as_user(factory: ClientFactory, user: User) -> TestClient:
    client = factory()
    login(client, user)
    return client


def _tomorrow() -> str:
    return (datetime.now(BUSINESS_TIMEZONE).date() + timedelta(days=1)).isoformat()


def _label(action: str) -> str:
    """A timeline step as an English page names it."""
    with i18n.use_locale("en"):
        return action_label(action)


# --- the test ---------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_store_order_over_its_limit_goes_through_every_role_and_stock_grows_by_what_was_counted(
    e2e_client: ClientFactory,
    workers: WorkerProcesses,
    world: World,
    session: Session,
    db: Engine,
    fresh_numbers: None,
) -> None:
    supplier_org: Organisation = world.supplier_org
    sku_a: Sku = make_sku(session)  # packs of 6: 10 asked, 12 ordered
    sku_b: Sku = make_sku(session)
    make_price(session, supplier=supplier_org, sku=sku_a, unit_price=Decimal("10.0000"), pack_size=6)
    make_price(session, supplier=supplier_org, sku=sku_b, unit_price=Decimal("4.0000"))
    assert sku_a.id and sku_b.id and world.warehouse.id
    post_movement(
        session,
        idempotency_key=f"e2e-opening:{sku_a.id}",
        location_id=world.warehouse.id,
        sku_id=sku_a.id,
        movement_type=MovementType.OPENING,
        delta=StockDelta(on_hand=OPENING_STOCK_A),
        source_document_type="opening",
        source_document_id="opening",
    )
    # Held for another order: on hand but not available, so sourcing (DESIGN 4.2: a store is served
    # from the warehouse's available stock first) buys the whole request.
    post_movement(
        session,
        idempotency_key=f"e2e-held:{sku_a.id}",
        location_id=world.warehouse.id,
        sku_id=sku_a.id,
        movement_type=MovementType.RESERVE,
        delta=StockDelta(reserved=OPENING_STOCK_A),
        source_document_type="opening",
        source_document_id="opening",
    )
    session.commit()
    before = {sku: on_hand(db, world.warehouse.id, sku) for sku in (sku_a.id, sku_b.id)}
    assert before == {sku_a.id: OPENING_STOCK_A, sku_b.id: 0}

    worker = workers.start()
    worker.wait_ready()

    # The store: 12 x 10.00 + 20 x 4.00 = 200.00 net, 226.00 with VAT: over its limit of 100.00.
    store = as_user(e2e_client, world.store_user)
    response = submit(
        store, "/replenishment/new", "/replenishment/new", {f"qty-{sku_a.id}": "10", f"qty-{sku_b.id}": "20"}
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/replenishment"
    my_orders = store.get("/replenishment").text
    numbers = PO_NUMBER.findall(" ".join(flash_messages(my_orders)))
    assert len(numbers) == 1, flash_messages(my_orders)  # one supplier, one purchase order
    number = numbers[0]
    assert "Waiting for approval" in store.get(f"/purchase-orders/{number}").text
    with Session(db) as s:
        po = get_po(s, number)
        assert po is not None
        ordered = {line.sku_id: (n, line.quantity_ordered) for n, line in po_lines(s, po).items()}
    line_a, line_b = ordered[sku_a.id][0], ordered[sku_b.id][0]
    assert (ordered[sku_a.id][1], ordered[sku_b.id][1]) == (12, 20)  # A rounded up to whole packs

    # The approver: the order shows up in the queue (the approval step opens it), and is approved.
    approver = as_user(e2e_client, world.approver)

    def queued() -> str | None:
        row = re.search(
            rf'<tr id="approval-(\d+)"(?:(?!<tr ).)*?>{number}</a>', approver.get("/approvals").text, re.S
        )
        return row.group(1) if row else None

    approval_id = until(queued, f"{number} in the approval queue")
    response = submit(
        approver,
        "/approvals",
        "/approvals/bulk-approve",
        {"decision": "approve"},
        post_to=f"/approvals/{approval_id}/decide",
    )
    assert response.status_code == 303, response.text
    assert flash_messages(approver.get("/approvals").text) == [f"{number} approved."]
    assert queued() is None  # decided: no longer waiting in the queue

    # The supplier: the approved order arrives among those awaiting confirmation. The form offers the
    # ordered quantities; the supplier keeps them and types the promised dates.
    supplier = as_user(e2e_client, world.supplier)
    until(lambda: number in supplier.get("/supplier/purchase-orders").text, f"{number} sent to the supplier")
    page = f"/purchase-orders/{number}"
    offered = form_values(supplier.get(page).text, f"{page}/confirm")
    assert (offered[f"quantity-{line_a}"], offered[f"quantity-{line_b}"]) == ("12", "20")
    response = submit(
        supplier,
        page,
        f"{page}/confirm",
        {f"promised_date-{line_a}": _tomorrow(), f"promised_date-{line_b}": _tomorrow()},
    )
    assert response.status_code == 303, response.text
    assert "Confirmed by supplier" in supplier.get(page).text

    # The supplier's ASN: everything confirmed ships (the form offers what is still to ship).
    response = submit(
        supplier,
        f"{page}/shipments/new",
        f"{page}/shipments/new",
        {"carrier": "SF Express", "tracking_number": "SF1234567890", "eta": _tomorrow()},
    )
    assert response.status_code == 303, response.text
    shipments = SHIPMENT_NUMBER.findall(" ".join(flash_messages(supplier.get(page).text)))
    assert len(shipments) == 1
    shipment = shipments[0]

    # The warehouse: the shipment is expected; one more of A is counted than was shipped.
    warehouse = as_user(e2e_client, world.warehouse_clerk)
    assert shipment in warehouse.get("/warehouse/receipts").text
    receipt = f"/warehouse/receipts/{shipment}"
    counts = form_values(warehouse.get(receipt).text, receipt)
    # As shipped, until the clerk types the count.
    assert (counts[f"received-{line_a}"], counts[f"received-{line_b}"]) == ("12", "20")
    response = submit(warehouse, receipt, receipt, {f"received-{line_a}": "13"})
    assert response.status_code == 303, response.text

    # Stock at the ship-to warehouse grew by exactly what was counted (and the ledger agrees).
    after = {sku: on_hand(db, world.warehouse.id, sku) for sku in (sku_a.id, sku_b.id)}
    assert after == {sku_a.id: before[sku_a.id] + 13, sku_b.id: before[sku_b.id] + 20}

    # The store sees its order closed, with every step on the timeline: who did what, in order.
    closed = re.search(
        rf'<tr id="po-\d+">(?:(?!</tr>).)*?>{number}</a>.*?</tr>',
        store.get("/replenishment?status=closed").text,
        re.S,
    )
    assert closed and ">Closed</span>" in closed.group(0)
    detail = store.get(page).text
    assert 'data-testid="po-status">Closed<' in detail
    expected = [
        ("created", world.store_user),
        ("approval.requested", world.store_user),
        ("approval.approved", world.approver),
        ("sent", None),
        ("confirmed", world.supplier),
        ("shipment_created", world.supplier),
        ("shipment_received", world.warehouse_clerk),
        ("closed", world.warehouse_clerk),
        # Bought for the store, delivered to the warehouse: on to the store by transfer (DESIGN 4.2).
        ("transferred_on", None),
    ]
    until(lambda: "transferred_on" in po_actions(db, number), "the transfer on to the store")
    assert po_actions(db, number) == [action for action, _ in expected]
    entries = timeline(detail)
    assert [label for label, _ in entries] == [_label(action) for action, _ in expected]
    for (label, actor), (_action, user) in zip(entries, expected, strict=True):
        assert actor.startswith(user.full_name if user else "System"), (label, actor)

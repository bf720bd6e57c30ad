"""Sourcing a store's request through the pages, on the real dev server and worker (DESIGN 4.2):
what the regional warehouse holds comes by transfer (dispatched by the warehouse, counted in by the
store), the rest is bought; a SKU its supplier delivers direct is bought for the store itself and
received by the store. Bad input starts nothing."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from starlette.testclient import TestClient

from supplychain.models import (
    Notification,
    Organisation,
    OrgKind,
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    Role,
    Shipment,
    Sku,
    Transfer,
    TransferOrigin,
    TransferStatus,
    User,
)
from tests.factories import make_organisation, make_price, make_sku, make_user
from tests.fixtures.numbers import fresh_document_numbers
from tests.fixtures.portal import WorkerThread
from tests.fixtures.web import ClientFactory, csrf, form_id_in, form_post, login
from tests.transfer_world import TransferWorld, build_transfer_world, stock

HX = {"HX-Request": "true"}


@dataclass
class SourcingWorld:
    chain: TransferWorld
    store_user: User  # works at the north store, orders within its approval limit
    direct_supplier: Organisation
    direct_supplier_user: User
    sku_direct: Sku  # its supplier delivers it straight to the store, packs of 4


@pytest.fixture
def world(db: Engine) -> SourcingWorld:
    fresh_document_numbers(db, ("PO", "SHP", "TR"))
    chain = build_transfer_world(db)
    with Session(db, expire_on_commit=False) as session:
        supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
        sku = make_sku(session)
        entry = make_price(session, supplier=supplier, sku=sku, unit_price=Decimal("3.0000"), pack_size=4)
        entry.direct_delivery = True
        session.add(entry)
        session.commit()
        return SourcingWorld(
            chain=chain,
            store_user=make_user(
                session,
                organisation=chain.hq,
                roles=[Role.STORE],
                location=chain.north_store,
                approval_limit=Decimal("1000000"),
                locale="en",
            ),
            direct_supplier=supplier,
            direct_supplier_user=make_user(session, organisation=supplier, roles=[Role.SUPPLIER]),
            sku_direct=sku,
        )


def _until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _as(portal_client: ClientFactory, user: User) -> TestClient:
    client = portal_client()
    client.cookies.set("scp_lang", "en")
    login(client, user)
    return client


def _request_form(*pairs: tuple[Sku, object], token: str | None = None) -> dict[str, str]:
    return {"submission_token": token or secrets.token_urlsafe(24)} | {
        f"qty-{sku.id}": str(quantity) for sku, quantity in pairs
    }


def _flashes(page: str) -> str:
    return " ".join(re.findall(r'<div class="flash flash-\w+" role="status">([^<]*)</div>', page))


def _transfers(db: Engine) -> list[Transfer]:
    with Session(db) as session:
        return list(session.execute(select(Transfer).order_by(col(Transfer.id))).scalars())


def _orders(db: Engine) -> list[tuple[PurchaseOrder, list[PurchaseOrderLine]]]:
    with Session(db) as session:
        pos = list(session.execute(select(PurchaseOrder).order_by(col(PurchaseOrder.id))).scalars())
        return [
            (
                po,
                list(
                    session.execute(
                        select(PurchaseOrderLine).where(col(PurchaseOrderLine.purchase_order_id) == po.id)
                    ).scalars()
                ),
            )
            for po in pos
        ]


def _transfer_status(db: Engine, number: str) -> TransferStatus:
    with Session(db) as session:
        return TransferStatus(
            session.execute(select(col(Transfer.status)).where(col(Transfer.number) == number)).scalar_one()
        )


def _po_status(db: Engine, number: str) -> POStatus:
    with Session(db) as session:
        return POStatus(
            session.execute(
                select(col(PurchaseOrder.status)).where(col(PurchaseOrder.number) == number)
            ).scalar_one()
        )


def test_what_the_warehouse_holds_comes_by_transfer_and_the_rest_is_bought(
    portal_client: ClientFactory, portal_worker: WorkerThread, world: SourcingWorld, db: Engine
) -> None:
    chain = world.chain
    store = _as(portal_client, world.store_user)
    # Before sending: the preview says where each part comes from (the warehouse has 100 of A).
    preview = store.post(
        "/replenishment/preview",
        data=_request_form((chain.sku_a, 120)),
        headers={**HX, "X-CSRF-Token": csrf(store)},
    )
    assert preview.status_code == 200
    row = re.search(rf'data-testid="sourcing-sku-{chain.sku_a.id}">(.*?)</tr>', preview.text, re.S)
    assert row is not None, preview.text[:3000]
    cells = dict(re.findall(r'data-testid="([a-z-]+)">(\d+)<', row.group(1)))
    assert cells == {"from-stock": "100", "via-warehouse": "20", "direct": "0"}
    assert 'data-testid="plan-transfer"' in preview.text
    assert "Delivered to the regional warehouse, then transferred on to your store." in preview.text

    form = _request_form((chain.sku_a, 120))
    sent = form_post(store, "/replenishment/new", form)
    assert sent.status_code == 303, sent.text
    flashes = _flashes(store.get("/replenishment").text)
    (transfer,) = _transfers(db)
    ((po, po_lines),) = _orders(db)
    assert transfer.number in flashes and po.number in flashes, flashes
    assert transfer.origin is TransferOrigin.SOURCING
    assert (transfer.source_location_id, transfer.destination_location_id) == (
        chain.north_warehouse.id,
        chain.north_store.id,
    )
    assert (po.ship_to_location_id, po.requested_for_location_id) == (
        chain.north_warehouse.id,
        chain.north_store.id,
    )
    assert [(line.sku_id, line.quantity_requested, line.quantity_ordered) for line in po_lines] == [
        (chain.sku_a.id, 20, 20)
    ]
    # The same form again (a double click): nothing more starts.
    again = form_post(store, "/replenishment/new", form)
    assert again.status_code == 303
    assert len(_transfers(db)) == 1 and len(_orders(db)) == 1

    number = transfer.number
    _until(lambda: _transfer_status(db, number) is TransferStatus.RESERVED, "the reservation")
    assert stock(db, chain.north_warehouse, chain.sku_a) == {"on_hand": 100, "reserved": 100, "in_transit": 0}

    warehouse = _as(portal_client, chain.north_warehouse_user)
    page = warehouse.get(f"/transfers/{number}")
    dispatched = form_post(
        warehouse,
        f"/transfers/{number}/dispatch",
        {
            "form_id": form_id_in(page.text, f"/transfers/{number}/dispatch"),
            "carrier": "SF",
            "expected_arrival": (date.today() + timedelta(days=1)).isoformat(),
        },
    )
    assert dispatched.status_code == 303, dispatched.text
    assert stock(db, chain.north_store, chain.sku_a) == {"on_hand": 0, "reserved": 0, "in_transit": 100}

    page = store.get(f"/transfers/{number}")
    received = form_post(
        store,
        f"/transfers/{number}/receive",
        {
            "form_id": form_id_in(page.text, f"/transfers/{number}/receive"),
            "received_1": "100",
            "damaged_1": "0",
        },
    )
    assert received.status_code == 303, received.text
    assert _transfer_status(db, number) is TransferStatus.COMPLETED
    # `stock` also checks that the ledger sums to each balance.
    assert stock(db, chain.north_store, chain.sku_a) == {"on_hand": 100, "reserved": 0, "in_transit": 0}
    assert stock(db, chain.north_warehouse, chain.sku_a) == {"on_hand": 0, "reserved": 0, "in_transit": 0}


def test_a_direct_delivery_sku_is_bought_for_the_store_and_the_store_receives_it(
    portal_client: ClientFactory, portal_worker: WorkerThread, world: SourcingWorld, db: Engine
) -> None:
    chain = world.chain
    store = _as(portal_client, world.store_user)
    preview = store.post(
        "/replenishment/preview",
        data=_request_form((world.sku_direct, 7)),
        headers={**HX, "X-CSRF-Token": csrf(store)},
    ).text
    assert f'data-testid="plan-supplier-{world.direct_supplier.id}-direct"' in preview
    assert "Delivered straight to your store." in preview
    assert 'data-testid="plan-transfer"' not in preview

    sent = form_post(store, "/replenishment/new", _request_form((world.sku_direct, 7)))
    assert sent.status_code == 303, sent.text
    assert _transfers(db) == []
    ((po, lines),) = _orders(db)
    assert po.number in _flashes(store.get("/replenishment").text)
    assert po.ship_to_location_id == po.requested_for_location_id == chain.north_store.id
    assert [(line.quantity_requested, line.quantity_ordered) for line in lines] == [(7, 8)]  # packs of 4
    _until(lambda: _po_status(db, po.number) is POStatus.SENT, "the order sent to the supplier")

    supplier = _as(portal_client, world.direct_supplier_user)
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    confirmed = form_post(
        supplier, f"/purchase-orders/{po.number}/confirm", {"quantity-1": "8", "promised_date-1": tomorrow}
    )
    assert confirmed.status_code == 303, confirmed.text
    shipped = form_post(
        supplier,
        f"/purchase-orders/{po.number}/shipments/new",
        {"carrier": "SF", "tracking_number": "SF1", "eta": tomorrow, "quantity-1": "8"},
    )
    assert shipped.status_code == 303, shipped.text
    with Session(db) as session:
        shipment = session.execute(
            select(Shipment).where(col(Shipment.purchase_order_id) == po.id)
        ).scalar_one()

    # The store's staff are told it is on its way (not HQ's warehouse staff), see it among their
    # expected receipts and on the order's page, and count it in.
    with Session(db) as session:
        told = set(
            session.execute(
                select(col(Notification.user_id)).where(
                    col(Notification.document_id) == po.number,
                    col(Notification.message).contains("is on its way"),
                )
            ).scalars()
        )
    assert told == {world.store_user.id, chain.north_store_user.id}
    assert shipment.number in store.get("/warehouse/receipts").text
    assert f'href="/warehouse/receipts/{shipment.number}"' in store.get(f"/purchase-orders/{po.number}").text
    # Staff of another store cannot receive it.
    other = _as(portal_client, chain.distributor_user)
    assert other.get(f"/warehouse/receipts/{shipment.number}").status_code == 404
    assert form_post(other, f"/warehouse/receipts/{shipment.number}", {"received-1": "8"}).status_code == 404
    assert shipment.number not in other.get("/warehouse/receipts").text

    received = form_post(store, f"/warehouse/receipts/{shipment.number}", {"received-1": "8"})
    assert received.status_code == 303, received.text
    assert _po_status(db, po.number) is POStatus.CLOSED
    assert stock(db, chain.north_store, world.sku_direct) == {"on_hand": 8, "reserved": 0, "in_transit": 0}
    assert stock(db, chain.north_warehouse, world.sku_direct) == {
        "on_hand": 0,
        "reserved": 0,
        "in_transit": 0,
    }


def test_bad_requests_are_refused_and_start_neither_transfer_nor_order(
    portal_client: ClientFactory, portal_worker: WorkerThread, world: SourcingWorld, db: Engine
) -> None:
    chain = world.chain
    store = _as(portal_client, world.store_user)
    for data, message in [
        (_request_form((chain.sku_a, "abc")), "whole number"),
        (_request_form((chain.sku_a, "-3")), ""),
        (_request_form((chain.sku_a, 5)) | {"qty-987654321": "5"}, "not a known SKU"),
        (_request_form(), "Enter a quantity for at least one item."),
        ({f"qty-{chain.sku_a.id}": "5"}, "This form has expired"),
    ]:
        response = form_post(store, "/replenishment/new", data)
        assert response.status_code == 400, data
        assert message in response.text, (data, message)
    with Session(db) as session:
        assert session.execute(select(func.count()).select_from(Transfer)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(PurchaseOrder)).scalar_one() == 0
    assert stock(db, chain.north_warehouse, chain.sku_a)["reserved"] == 0


def test_the_bought_part_arrives_at_the_warehouse_and_goes_on_to_the_store(
    portal_client: ClientFactory, portal_worker: WorkerThread, world: SourcingWorld, db: Engine
) -> None:
    chain = world.chain
    store = _as(portal_client, world.store_user)
    sent = form_post(store, "/replenishment/new", _request_form((chain.sku_b, 70)))  # 50 held, 20 bought
    assert sent.status_code == 303, sent.text
    ((po, _lines),) = _orders(db)
    _until(lambda: _po_status(db, po.number) is POStatus.SENT, "the order sent to the supplier")
    with Session(db) as session:
        supplier_org = session.get(Organisation, po.supplier_id)
        assert supplier_org is not None
        supplier_user = make_user(session, organisation=supplier_org, roles=[Role.SUPPLIER])
    supplier = _as(portal_client, supplier_user)
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert (
        form_post(
            supplier,
            f"/purchase-orders/{po.number}/confirm",
            {"quantity-1": "20", "promised_date-1": tomorrow},
        ).status_code
        == 303
    )
    shipped = form_post(
        supplier,
        f"/purchase-orders/{po.number}/shipments/new",
        {"carrier": "SF", "tracking_number": "SF2", "eta": tomorrow, "quantity-1": "20"},
    )
    assert shipped.status_code == 303, shipped.text
    with Session(db) as session:
        shipment = session.execute(
            select(Shipment).where(col(Shipment.purchase_order_id) == po.id)
        ).scalar_one()
    # The store cannot receive what is delivered to the warehouse; the warehouse does.
    assert store.get(f"/warehouse/receipts/{shipment.number}").status_code == 404
    warehouse = _as(portal_client, chain.north_warehouse_user)
    received = form_post(warehouse, f"/warehouse/receipts/{shipment.number}", {"received-1": "20"})
    assert received.status_code == 303, received.text
    assert _po_status(db, po.number) is POStatus.CLOSED

    _until(lambda: len(_transfers(db)) == 2, "the onward transfer")
    onward = next(t for t in _transfers(db) if t.purchase_order_number == po.number)
    assert onward.origin is TransferOrigin.SOURCING
    assert (onward.source_location_id, onward.destination_location_id) == (
        chain.north_warehouse.id,
        chain.north_store.id,
    )
    _until(lambda: _transfer_status(db, onward.number) is TransferStatus.RESERVED, "its reservation")
    # 50 held + 20 received, all 70 reserved for the store by the two transfers.
    assert stock(db, chain.north_warehouse, chain.sku_b) == {"on_hand": 70, "reserved": 70, "in_transit": 0}
    assert onward.number in store.get("/transfers").text

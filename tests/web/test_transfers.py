"""Transfers through the pages on the real dev server and worker: a store asks its regional warehouse
for stock (seeing who has it), the warehouse dispatches, the store counts it in and its stock rises;
bad input and the wrong people refused with nothing changed; another organisation's transfer is
404 by page and by form."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from starlette.testclient import TestClient

from supplychain.models import OrgKind, Role, Transfer, TransferStatus, User
from tests.factories import make_organisation, make_user
from tests.fixtures.numbers import fresh_document_numbers
from tests.fixtures.portal import WorkerThread
from tests.fixtures.web import ClientFactory, form_id_in, form_post, login
from tests.transfer_world import TransferWorld, build_transfer_world, stock


@pytest.fixture
def world(db: Engine) -> TransferWorld:
    fresh_document_numbers(db, ("TR",))
    return build_transfer_world(db)


def _until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _status(db: Engine, number: str) -> TransferStatus:
    with Session(db) as session:
        return TransferStatus(
            session.execute(select(col(Transfer.status)).where(col(Transfer.number) == number)).scalar_one()
        )


def _count(db: Engine) -> int:
    with Session(db) as session:
        return int(session.execute(select(func.count()).select_from(Transfer)).scalar_one())


def _ask(portal_client: ClientFactory, world: TransferWorld, quantity: int = 10) -> tuple[str, TestClient]:
    store = portal_client()
    login(store, world.north_store_user)
    page = store.get(f"/transfers/new?sku_1={world.sku_a.code}")
    assert page.status_code == 200
    response = form_post(
        store,
        "/transfers",
        {
            "form_id": form_id_in(page.text, "/transfers"),
            "source": str(world.north_warehouse.id),
            "sku_1": world.sku_a.code,
            "quantity_1": str(quantity),
        },
    )
    assert response.status_code == 303, response.text
    number = response.headers["location"].rsplit("/", 1)[1]
    return number, store


def test_a_store_asks_the_warehouse_dispatches_and_the_store_counts_it_into_its_stock(
    portal_client: ClientFactory, portal_worker: WorkerThread, world: TransferWorld, db: Engine
) -> None:
    store = portal_client()
    login(store, world.north_store_user)
    form = store.get(f"/transfers/new?sku_1={world.sku_a.code}")
    availability = re.search(r'data-testid="availability".*?</table>', form.text, re.S)
    assert availability is not None and world.north_warehouse.name in availability.group(0)
    assert "100" in availability.group(0), "the warehouse's available stock is shown"

    number, store = _ask(portal_client, world)
    _until(lambda: _status(db, number) is TransferStatus.RESERVED, "the reservation")
    assert stock(db, world.north_warehouse, world.sku_a)["reserved"] == 10

    warehouse = portal_client()
    login(warehouse, world.north_warehouse_user)
    page = warehouse.get(f"/transfers/{number}")
    assert 'data-testid="dispatch-form"' in page.text
    arrival = (date.today() + timedelta(days=2)).isoformat()
    dispatched = form_post(
        warehouse,
        f"/transfers/{number}/dispatch",
        {
            "form_id": form_id_in(page.text, f"/transfers/{number}/dispatch"),
            "carrier": "SF",
            "expected_arrival": arrival,
        },
    )
    assert dispatched.status_code == 303, dispatched.text
    assert _status(db, number) is TransferStatus.IN_TRANSIT
    assert stock(db, world.north_store, world.sku_a)["in_transit"] == 10

    page = store.get(f"/transfers/{number}")
    received = form_post(
        store,
        f"/transfers/{number}/receive",
        {
            "form_id": form_id_in(page.text, f"/transfers/{number}/receive"),
            "received_1": "10",
            "damaged_1": "0",
        },
    )
    assert received.status_code == 303, received.text
    assert _status(db, number) is TransferStatus.COMPLETED
    assert stock(db, world.north_store, world.sku_a) == {"on_hand": 10, "reserved": 0, "in_transit": 0}
    assert stock(db, world.north_warehouse, world.sku_a) == {"on_hand": 90, "reserved": 0, "in_transit": 0}
    listed = store.get("/transfers")
    assert number in listed.text


def test_bad_requests_are_refused_with_a_message_and_start_nothing(
    portal_client: ClientFactory, portal_worker: WorkerThread, world: TransferWorld, db: Engine
) -> None:
    with Session(db) as session:  # the messages are checked in English
        user = session.get(User, world.north_store_user.id)
        assert user is not None
        user.locale = "en"
        session.add(user)
        session.commit()
    store = portal_client()
    login(store, world.north_store_user)
    source = str(world.north_warehouse.id)
    for data, message in [
        ({"source": source, "sku_1": world.sku_a.code, "quantity_1": "0"}, "whole quantity"),
        ({"source": source, "sku_1": "NO-SUCH-SKU", "quantity_1": "3"}, "NO-SUCH-SKU"),
        ({"source": "", "sku_1": world.sku_a.code, "quantity_1": "3"}, "Choose the location"),
        (
            {"source": str(world.north_store.id), "sku_1": world.sku_a.code, "quantity_1": "3"},
            "Choose the location",
        ),
        ({"source": source}, "at least one SKU"),
    ]:
        response = form_post(store, "/transfers", data)
        assert response.status_code == 400, data
        assert message in response.text, (data, response.text[:2000])
    assert _count(db) == 0


def test_only_the_right_people_act_and_another_organisation_gets_404(
    portal_client: ClientFactory, portal_worker: WorkerThread, world: TransferWorld, db: Engine
) -> None:
    number, store = _ask(portal_client, world)
    _until(lambda: _status(db, number) is TransferStatus.RESERVED, "the reservation")
    arrival = (date.today() + timedelta(days=2)).isoformat()
    # The store cannot dispatch its own request: that is the source's step.
    refused = form_post(
        store, f"/transfers/{number}/dispatch", {"carrier": "SF", "expected_arrival": arrival}
    )
    assert refused.status_code == 403
    outsider = portal_client()
    login(outsider, world.distributor_user)
    assert outsider.get(f"/transfers/{number}").status_code == 404
    for action in ("dispatch", "receive", "cancel"):
        response = form_post(
            outsider,
            f"/transfers/{number}/{action}",
            {"carrier": "x", "expected_arrival": arrival, "reason": "x"},
        )
        assert response.status_code == 404, action
    assert number not in outsider.get("/transfers").text
    with Session(db) as session:
        supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
        supplier_user = make_user(session, organisation=supplier, roles=[Role.SUPPLIER])
    vendor = portal_client()
    login(vendor, supplier_user)
    assert vendor.get(f"/transfers/{number}").status_code == 403
    assert _status(db, number) is TransferStatus.RESERVED
    assert stock(db, world.north_warehouse, world.sku_a)["reserved"] == 10

    # The requester cancels: the reservation is released.
    page = store.get(f"/transfers/{number}")
    cancelled = form_post(
        store,
        f"/transfers/{number}/cancel",
        {"form_id": form_id_in(page.text, f"/transfers/{number}/cancel"), "reason": "not needed"},
    )
    assert cancelled.status_code == 303
    assert _status(db, number) is TransferStatus.CANCELLED
    assert stock(db, world.north_warehouse, world.sku_a)["reserved"] == 0

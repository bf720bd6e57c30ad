"""Organisation scoping (DESIGN 7): a supplier never sees another supplier's rows, by list or by URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import Session, SQLModel
from starlette.testclient import TestClient

from supplychain.models import (
    LocationKind,
    MovementType,
    Organisation,
    OrgKind,
    PriceListEntry,
    Role,
    Sku,
    StockBalance,
    User,
)
from supplychain.principal import Principal
from supplychain.rules.stock import StockDelta
from supplychain.scoping import visible
from supplychain.stock import get_balance, post_movement
from tests.factories import make_location, make_organisation, make_price, make_sku, make_user
from tests.fixtures.web import ClientFactory, login


@dataclass
class Chain:
    hq: Organisation
    supplier_a: Organisation
    supplier_b: Organisation
    distributor: Organisation
    sku_a: Sku  # supplied by A
    sku_b: Sku  # supplied by B
    price_a: PriceListEntry
    price_b: PriceListEntry
    hq_stock_a: StockBalance
    hq_stock_b: StockBalance
    dist_stock_a: StockBalance
    dist_stock_b: StockBalance
    supplier_a_user: User
    buyer: User
    store_user: User
    distributor_user: User


def _balance(session: Session, location_id: int, sku_id: int, on_hand: int) -> StockBalance:
    """Opening stock posted through the stock service, so each balance has its ledger."""
    post_movement(
        session,
        idempotency_key=f"scoping:{location_id}:{sku_id}",
        location_id=location_id,
        sku_id=sku_id,
        movement_type=MovementType.OPENING,
        delta=StockDelta(on_hand=on_hand),
        source_document_type="test",
        source_document_id="scoping",
    )
    session.commit()
    row = get_balance(session, location_id, sku_id)
    assert row is not None
    return row


@pytest.fixture
def chain(session: Session) -> Chain:
    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier_a = make_organisation(session, kind=OrgKind.SUPPLIER)
    supplier_b = make_organisation(session, kind=OrgKind.SUPPLIER)
    distributor = make_organisation(session, kind=OrgKind.DISTRIBUTOR)
    hq_warehouse = make_location(session, organisation=hq, kind=LocationKind.CENTRAL_WAREHOUSE)
    hq_store = make_location(session, organisation=hq, kind=LocationKind.STORE)
    dist_warehouse = make_location(session, organisation=distributor, kind=LocationKind.REGIONAL_WAREHOUSE)
    sku_a, sku_b = make_sku(session), make_sku(session)
    assert hq_warehouse.id and dist_warehouse.id and sku_a.id and sku_b.id
    return Chain(
        hq=hq,
        supplier_a=supplier_a,
        supplier_b=supplier_b,
        distributor=distributor,
        sku_a=sku_a,
        sku_b=sku_b,
        price_a=make_price(session, supplier=supplier_a, sku=sku_a),
        price_b=make_price(session, supplier=supplier_b, sku=sku_b),
        hq_stock_a=_balance(session, hq_warehouse.id, sku_a.id, 10),
        hq_stock_b=_balance(session, hq_warehouse.id, sku_b.id, 20),
        dist_stock_a=_balance(session, dist_warehouse.id, sku_a.id, 30),
        dist_stock_b=_balance(session, dist_warehouse.id, sku_b.id, 40),
        supplier_a_user=make_user(session, organisation=supplier_a, roles=[Role.SUPPLIER]),
        buyer=make_user(session, organisation=hq, roles=[Role.BUYER]),
        store_user=make_user(session, organisation=hq, roles=[Role.STORE], location=hq_store),
        distributor_user=make_user(
            session, organisation=distributor, roles=[Role.STORE], location=dist_warehouse
        ),
    )


def as_user(make_client: ClientFactory, user: User) -> TestClient:
    client = make_client()
    login(client, user)
    return client


def price_rows(client: TestClient) -> set[int]:
    response = client.get("/price-lists")
    assert response.status_code == 200
    return {int(i) for i in re.findall(r'<tr id="price-(\d+)"', response.text)}


def stock_rows(client: TestClient) -> set[int]:
    response = client.get("/stock")
    assert response.status_code == 200
    return {int(i) for i in re.findall(r'<tr id="stock-(\d+)"', response.text)}


# -- price lists ------------------------------------------------------------------------------------


def test_supplier_cannot_open_another_suppliers_price_by_url(
    make_client: ClientFactory, chain: Chain
) -> None:
    client = as_user(make_client, chain.supplier_a_user)
    assert client.get(f"/price-lists/{chain.price_a.id}").status_code == 200
    foreign = client.get(f"/price-lists/{chain.price_b.id}")
    missing = client.get("/price-lists/987654")
    assert foreign.status_code == missing.status_code == 404
    # Not even the page tells the two apart (apart from the URL it echoes in the language switch,
    # and the request id it shows).
    assert foreign.text.replace(f"/price-lists/{chain.price_b.id}", "/price-lists/ID").replace(
        foreign.headers["x-request-id"], "REQUEST-ID"
    ) == missing.text.replace("/price-lists/987654", "/price-lists/ID").replace(
        missing.headers["x-request-id"], "REQUEST-ID"
    )
    assert chain.sku_b.code not in foreign.text


def test_opening_another_suppliers_price_writes_an_access_denied_event(
    make_client: ClientFactory, chain: Chain, security_events: list[dict[str, Any]]
) -> None:
    client = as_user(make_client, chain.supplier_a_user)
    security_events.clear()  # the login's own event
    response = client.get(f"/price-lists/{chain.price_b.id}")
    assert response.status_code == 404
    [event] = security_events
    assert (event["event"], event["outcome"], event["status"], event["reason"]) == (
        "access_denied",
        "refused",
        404,
        "not_found",
    )
    assert event["user_id"] == chain.supplier_a_user.id
    assert event["route"] == "/price-lists/{entry_id}"
    assert event["path"] == f"/price-lists/{chain.price_b.id}"
    assert event["request_id"] == response.headers["x-request-id"]


def test_a_403_writes_an_access_denied_event_and_an_unknown_url_none(
    make_client: ClientFactory, chain: Chain, security_events: list[dict[str, Any]]
) -> None:
    client = as_user(make_client, chain.buyer)
    security_events.clear()
    assert client.get("/no-such-page").status_code == 404  # no document named: not logged
    assert client.get("/price-lists").status_code == 200
    assert security_events == []
    assert client.get("/admin/users").status_code == 403
    [event] = security_events
    assert (event["event"], event["status"], event["reason"]) == ("access_denied", 403, "forbidden")
    assert event["user_id"] == chain.buyer.id and event["path"] == "/admin/users"


def test_supplier_lists_only_its_own_prices(make_client: ClientFactory, chain: Chain) -> None:
    client = as_user(make_client, chain.supplier_a_user)
    assert price_rows(client) == {chain.price_a.id}
    assert chain.sku_b.code not in client.get("/price-lists").text


def test_supplier_search_does_not_reveal_another_suppliers_sku(
    make_client: ClientFactory, chain: Chain
) -> None:
    client = as_user(make_client, chain.supplier_a_user)
    response = client.get("/price-lists", params={"q": chain.sku_b.code})
    assert re.findall(r'<tr id="price-(\d+)"', response.text) == []


def test_hq_buyer_sees_every_suppliers_prices(make_client: ClientFactory, chain: Chain) -> None:
    client = as_user(make_client, chain.buyer)
    assert price_rows(client) == {chain.price_a.id, chain.price_b.id}
    assert client.get(f"/price-lists/{chain.price_b.id}").status_code == 200


def test_distributor_sees_only_the_prices_it_orders_at(
    make_client: ClientFactory, chain: Chain, session: Session
) -> None:
    supplier_b = session.get(Organisation, chain.price_b.supplier_id)
    sku_a = session.get(Sku, chain.price_a.sku_id)
    dearer_a = make_price(session, supplier=supplier_b, sku=sku_a, unit_price=chain.price_a.unit_price + 1)
    client = as_user(make_client, chain.distributor_user)
    assert price_rows(client) == {chain.price_a.id, chain.price_b.id}
    assert client.get(f"/price-lists/{chain.price_a.id}").status_code == 200
    assert client.get(f"/price-lists/{dearer_a.id}").status_code == 404


# -- stock ---------------------------------------------------------------------------------------------


def test_supplier_sees_only_stock_of_its_skus_at_hq_locations(
    make_client: ClientFactory, chain: Chain
) -> None:
    client = as_user(make_client, chain.supplier_a_user)
    assert stock_rows(client) == {chain.hq_stock_a.id}


def test_supplier_cannot_filter_its_way_to_a_distributor_location(
    make_client: ClientFactory, chain: Chain
) -> None:
    client = as_user(make_client, chain.supplier_a_user)
    response = client.get("/stock", params={"location": chain.dist_stock_a.location_id})
    assert re.findall(r'<tr id="stock-(\d+)"', response.text) == []
    assert f'<option value="{chain.dist_stock_a.location_id}"' not in response.text


def test_distributor_sees_only_its_own_locations_stock(make_client: ClientFactory, chain: Chain) -> None:
    client = as_user(make_client, chain.distributor_user)
    assert stock_rows(client) == {chain.dist_stock_a.id, chain.dist_stock_b.id}


def test_hq_store_user_sees_its_own_organisations_stock_only(
    make_client: ClientFactory, chain: Chain
) -> None:
    client = as_user(make_client, chain.store_user)
    assert stock_rows(client) == {chain.hq_stock_a.id, chain.hq_stock_b.id}


def test_hq_buyer_sees_stock_at_every_location(make_client: ClientFactory, chain: Chain) -> None:
    client = as_user(make_client, chain.buyer)
    assert stock_rows(client) == {
        chain.hq_stock_a.id,
        chain.hq_stock_b.id,
        chain.dist_stock_a.id,
        chain.dist_stock_b.id,
    }


def ledger_status(client: TestClient, balance: StockBalance) -> int:
    status: int = client.get(f"/stock/{balance.location_id}/{balance.sku_id}/ledger").status_code
    return status


def test_a_ledger_is_open_exactly_where_its_balance_is_listed_and_never_to_a_supplier(
    make_client: ClientFactory, chain: Chain
) -> None:
    balances = {
        "hq_a": chain.hq_stock_a,
        "hq_b": chain.hq_stock_b,
        "dist_a": chain.dist_stock_a,
        "dist_b": chain.dist_stock_b,
    }
    for user, allowed in [
        (chain.buyer, set(balances)),
        (chain.store_user, {"hq_a", "hq_b"}),  # HQ's own locations
        (chain.distributor_user, {"dist_a", "dist_b"}),
        (chain.supplier_a_user, set()),  # quantities on /stock only: a ledger names others' documents
    ]:
        client = as_user(make_client, user)
        statuses = {name: ledger_status(client, b) for name, b in balances.items()}
        assert {name for name, status in statuses.items() if status == 200} == allowed, user.email
        assert {status for name, status in statuses.items() if name not in allowed} <= {404}


def test_another_organisations_ledger_looks_like_no_ledger_at_all(
    make_client: ClientFactory, chain: Chain
) -> None:
    client = as_user(make_client, chain.distributor_user)
    foreign = client.get(f"/stock/{chain.hq_stock_a.location_id}/{chain.hq_stock_a.sku_id}/ledger")
    missing = client.get("/stock/987654/987654/ledger")
    assert foreign.status_code == missing.status_code == 404
    assert chain.sku_a.code not in foreign.text


# -- the rule table itself ------------------------------------------------------------------------------


class Unscoped(SQLModel):
    id: int | None = None


def test_visible_refuses_a_model_without_a_rule() -> None:
    principal = Principal(
        user_id=1,
        email="a@example.test",
        full_name="A",
        organisation_id=1,
        organisation_name="HQ",
        org_kind=OrgKind.HQ,
        roles=frozenset({Role.ADMIN}),
        location_id=None,
        locale="en",
        approval_limit=None,
    )
    with pytest.raises(LookupError, match="Unscoped has no scoping rule"):
        visible(principal, Unscoped)


# -- every table is scoped, or says why it needs no rule of its own ----------------------------------

# Tables without a rule in supplychain/scoping.RULES, and why none is needed. A new table must get a
# rule or an entry here, so nobody adds an organisation's rows that a page could list unscoped.
NOT_SCOPED_ON_THEIR_OWN: dict[str, str] = {
    "document_event": "a timeline is read only for a document already fetched through its own rule",
    "receipt_lot": "read only for the shipment lines of a shipment fetched through its rule",
    "shipment_line_batch": "read only for the shipment lines of a shipment fetched through its rule",
    "user_role": "read through supplychain.accounts for a user already fetched or logged in",
    "document_sequence": "the counters behind document numbers, never shown",
    "request_submission": "a store form's one-time token, claimed by its own user only",
    "login_attempt": "login throttling bookkeeping, never shown",
    "web_session": "server-side sessions, looked up by the digest of the cookie only",
}


def test_every_table_has_a_scoping_rule_or_a_reason_not_to() -> None:
    from sqlmodel import SQLModel

    from supplychain.scoping import RULES

    scoped = {model.__table__.name for model in RULES}  # type: ignore[attr-defined]
    tables = set(SQLModel.metadata.tables)
    assert tables - scoped == set(NOT_SCOPED_ON_THEIR_OWN), (
        "give each new table a rule in supplychain/scoping.py (or a reason here)"
    )
    assert not scoped & set(NOT_SCOPED_ON_THEIR_OWN)

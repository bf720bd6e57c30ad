"""A small chain for transfer tests: two regions; in the north HQ's regional warehouse (with stock)
and an HQ store, in the south another regional warehouse; a distributor's store in the north; the
people who work there, an approver and a buyer."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import Session

from supplychain.models import Location, LocationKind, MovementType, Organisation, OrgKind, Role, Sku, User
from supplychain.rules.stock import StockDelta
from supplychain.stock import get_balance, ledger_totals, post_movement
from tests.factories import make_location, make_organisation, make_price, make_region, make_sku, make_user
from tests.fixtures.numbers import next_number_block

OPENING = {"A": 100, "B": 50}
UNIT_PRICE = Decimal("12.5000")


@dataclass
class TransferWorld:
    hq: Organisation
    distributor: Organisation
    north_warehouse: Location
    north_store: Location
    south_warehouse: Location
    distributor_store: Location
    sku_a: Sku
    sku_b: Sku
    north_warehouse_user: User
    north_store_user: User
    south_warehouse_user: User
    distributor_user: User
    approver: User
    buyer: User
    numbers: int  # the last number before this world's block of transfer numbers

    def next_number(self) -> str:
        self.numbers += 1
        return f"TR-2026-{self.numbers:06d}"


def build_transfer_world(engine: Engine) -> TransferWorld:
    with Session(engine, expire_on_commit=False) as session:
        hq = make_organisation(session, kind=OrgKind.HQ)
        supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
        distributor = make_organisation(session, kind=OrgKind.DISTRIBUTOR)
        north, south = make_region(session), make_region(session)
        north_warehouse = make_location(
            session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE, region=north
        )
        north_store = make_location(session, organisation=hq, kind=LocationKind.STORE, region=north)
        south_warehouse = make_location(
            session, organisation=hq, kind=LocationKind.REGIONAL_WAREHOUSE, region=south
        )
        distributor_store = make_location(
            session, organisation=distributor, kind=LocationKind.STORE, region=north
        )
        sku_a, sku_b = make_sku(session), make_sku(session)
        for sku in (sku_a, sku_b):
            make_price(session, supplier=supplier, sku=sku, unit_price=UNIT_PRICE)
        world = TransferWorld(
            hq=hq,
            distributor=distributor,
            north_warehouse=north_warehouse,
            north_store=north_store,
            south_warehouse=south_warehouse,
            distributor_store=distributor_store,
            sku_a=sku_a,
            sku_b=sku_b,
            north_warehouse_user=make_user(
                session, organisation=hq, roles=[Role.WAREHOUSE], location=north_warehouse
            ),
            north_store_user=make_user(session, organisation=hq, roles=[Role.STORE], location=north_store),
            south_warehouse_user=make_user(
                session, organisation=hq, roles=[Role.WAREHOUSE], location=south_warehouse
            ),
            distributor_user=make_user(
                session, organisation=distributor, roles=[Role.STORE], location=distributor_store
            ),
            approver=make_user(
                session, organisation=hq, roles=[Role.APPROVER], approval_limit=Decimal("1000000")
            ),
            buyer=make_user(session, organisation=hq, roles=[Role.BUYER]),
            numbers=next_number_block(),
        )
    # A session of its own: posting expires every row its session holds, and the world's rows must
    # stay readable after it.
    with Session(engine) as session:
        for code, sku in (("A", world.sku_a), ("B", world.sku_b)):
            assert sku.id is not None and north_warehouse.id is not None
            post_movement(
                session,
                idempotency_key=f"opening:{north_warehouse.id}:{sku.id}",
                location_id=north_warehouse.id,
                sku_id=sku.id,
                movement_type=MovementType.OPENING,
                delta=StockDelta(on_hand=OPENING[code]),
                source_document_type="opening",
                source_document_id="opening",
            )
        session.commit()
    return world


def stock(engine: Engine, location: Location, sku: Sku) -> dict[str, int]:
    """The balance's buckets, checked against the ledger (the ledger always sums to the balance)."""
    assert location.id is not None and sku.id is not None
    with Session(engine) as session:
        balance = get_balance(session, location.id, sku.id)
        totals = ledger_totals(session, location.id, sku.id)
        buckets = {
            "on_hand": balance.on_hand if balance else 0,
            "reserved": balance.reserved if balance else 0,
            "in_transit": balance.in_transit if balance else 0,
        }
        assert (totals.on_hand, totals.reserved, totals.in_transit) == (
            buckets["on_hand"],
            buckets["reserved"],
            buckets["in_transit"],
        ), "the ledger sums to the balance"
        return buckets

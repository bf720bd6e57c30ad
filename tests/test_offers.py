"""The SQL choice of the offer a request orders from (supplychain/offers.py) agrees with the pure
rule (supplychain.rules.ordering.preferred_offer), and stores see only those entries."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from supplychain import offers
from supplychain.models import Organisation, OrgKind, PriceListEntry, Role
from supplychain.principal import principal_for
from supplychain.rules.ordering import SupplierOffer, preferred_offer
from supplychain.scoping import visible
from tests.factories import make_organisation, make_price, make_sku, make_user

TODAY = date(2026, 12, 6)


def _offer(entry: PriceListEntry) -> SupplierOffer:
    assert entry.sku_id is not None
    return SupplierOffer(
        supplier_id=entry.supplier_id,
        sku_id=entry.sku_id,
        unit_price=entry.unit_price,
        tax_rate=entry.tax_rate,
        moq=entry.moq,
        pack_size=entry.pack_size,
        lead_time_days=entry.lead_time_days,
    )


def test_the_sql_choice_is_the_pure_rules_choice_for_random_price_lists(session: Session) -> None:
    rng = random.Random(2859)
    suppliers = [make_organisation(session, kind=OrgKind.SUPPLIER) for _ in range(4)]
    suppliers[3].is_active = False  # an inactive supplier's prices are never ordered from
    session.commit()
    skus = [make_sku(session) for _ in range(12)]
    for sku in skus:
        for supplier in rng.sample(suppliers, rng.randint(1, 4)):
            starts = sorted(rng.sample(range(-20, 20), rng.randint(1, 2)))
            for start in starts:
                valid_from = TODAY + timedelta(days=start) if rng.random() < 0.7 else None
                end = (valid_from or TODAY) + timedelta(days=rng.randint(0, 30))
                make_price(
                    session,
                    supplier=supplier,
                    sku=sku,
                    # Few distinct prices and lead times, so ties are common.
                    unit_price=Decimal(rng.choice(["9.9000", "10.0000", "10.0000", "10.5000"])),
                    lead_time_days=rng.choice([3, 7, 7]),
                    valid_from=valid_from,
                    valid_to=end if rng.random() < 0.4 else None,
                    is_active=rng.random() < 0.85,
                )
    entries = list(session.execute(select(PriceListEntry)).scalars())
    active_suppliers = {s.id for s in suppliers if s.is_active}

    def orderable(e: PriceListEntry) -> bool:
        return (
            e.is_active
            and e.supplier_id in active_suppliers
            and (e.valid_from is None or e.valid_from <= TODAY)
            and (e.valid_to is None or e.valid_to >= TODAY)
        )

    by_sku: dict[int, list[PriceListEntry]] = defaultdict(list)
    for e in entries:
        if orderable(e):
            by_sku[e.sku_id].append(e)
    expected = {sku_id: preferred_offer(_offer(e) for e in found) for sku_id, found in by_sku.items()}

    chosen = list(session.execute(select(PriceListEntry).where(offers.preferred(TODAY))).scalars())
    assert sorted(e.sku_id for e in chosen) == sorted(expected), "exactly one entry per orderable SKU"
    for entry in chosen:
        assert _offer(entry) == expected[entry.sku_id]
    assert {
        e.id for e in session.execute(select(PriceListEntry).where(offers.orderable(TODAY))).scalars()
    } == {e.id for e in entries if orderable(e)}


def test_a_store_sees_the_entry_it_orders_from_and_no_other_supplier_prices(session: Session) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    distributor = make_organisation(session, kind=OrgKind.DISTRIBUTOR)
    cheap, dear = (make_organisation(session, kind=OrgKind.SUPPLIER) for _ in range(2))
    sku = make_sku(session)
    ordered_from = make_price(session, supplier=cheap, sku=sku, unit_price=Decimal("8.0000"))
    make_price(session, supplier=dear, sku=sku, unit_price=Decimal("9.0000"))

    def seen_by(org: Organisation, *roles: Role) -> set[int | None]:
        principal = principal_for(session, make_user(session, organisation=org, roles=roles))
        rows = session.execute(select(col(PriceListEntry.id)).where(visible(principal, PriceListEntry)))
        return set(rows.scalars())

    everything = set(session.execute(select(col(PriceListEntry.id))).scalars())
    assert seen_by(distributor, Role.STORE) == {ordered_from.id}
    assert seen_by(hq, Role.STORE) == {ordered_from.id}
    assert seen_by(hq, Role.BUYER) == everything
    assert seen_by(hq, Role.WAREHOUSE) == set()
    assert seen_by(dear, Role.SUPPLIER) == everything - {ordered_from.id}

"""Sourcing a store's request: warehouse stock first, the rest bought (direct or via the warehouse)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from supplychain.rules.ordering import SupplierOffer
from supplychain.rules.sourcing import Delivery, source_request


def offer(
    supplier_id: int, sku_id: int, *, moq: int = 1, pack: int = 1, direct: bool = False
) -> SupplierOffer:
    return SupplierOffer(
        supplier_id=supplier_id,
        sku_id=sku_id,
        unit_price=Decimal("10.0000"),
        tax_rate=Decimal("0.13"),
        moq=moq,
        pack_size=pack,
        lead_time_days=5,
        direct_delivery=direct,
    )


def test_all_from_stock_makes_one_transfer_and_buys_nothing() -> None:
    plan = source_request([(offer(1, 7, moq=10, pack=6), 8)], {7: 30})
    assert plan.transfer == [(7, 8)]
    assert plan.via_warehouse == [] and plan.direct == []
    (line,) = plan.lines
    assert (line.from_stock, line.bought, line.to_buy) == (8, None, 0)


def test_part_from_stock_and_the_rest_bought_rounded_to_moq_and_packs() -> None:
    plan = source_request([(offer(1, 7, moq=10, pack=6), 25)], {7: 20})
    assert plan.transfer == [(7, 20)]
    (order,) = plan.via_warehouse
    (po_line,) = order.lines
    assert (po_line.quantity.requested, po_line.quantity.ordered) == (5, 12)  # MOQ 10, packs of 6
    (line,) = plan.lines
    assert (line.from_stock, line.bought_via_warehouse, line.bought_direct) == (20, 5, 0)
    assert line.delivery is Delivery.WAREHOUSE


def test_direct_delivery_buys_the_rest_for_the_store_after_stock() -> None:
    plan = source_request([(offer(1, 7, pack=4, direct=True), 10)], {7: 3})
    assert plan.transfer == [(7, 3)]
    assert plan.via_warehouse == []
    (order,) = plan.direct
    assert [(pl.sku_id, pl.quantity.requested, pl.quantity.ordered) for pl in order.lines] == [(7, 7, 8)]
    (line,) = plan.lines
    assert (line.bought_direct, line.bought_via_warehouse, line.delivery) == (7, 0, Delivery.STORE)


def test_nothing_in_stock_buys_everything_as_before() -> None:
    for available in ({}, {7: 0}, {7: -4}):
        plan = source_request([(offer(1, 7, moq=10, pack=6), 25)], available)
        assert plan.transfer == []
        (order,) = plan.via_warehouse
        assert [(pl.quantity.requested, pl.quantity.ordered) for pl in order.lines] == [(25, 30)]


def test_several_skus_and_suppliers_one_po_per_supplier_and_delivery() -> None:
    requests = [
        (offer(1, 10), 5),  # all in stock
        (offer(1, 11, pack=10), 12),  # 2 in stock, 10 bought via the warehouse
        (offer(2, 12, direct=True), 4),  # nothing in stock, bought direct
        (offer(1, 13, direct=True), 6),  # supplier 1 also delivers this one direct
        (offer(2, 14), 3),  # supplier 2, via the warehouse
    ]
    plan = source_request(requests, {10: 50, 11: 2})
    assert plan.transfer == [(10, 5), (11, 2)]
    assert [
        (o.supplier_id, [(pl.line_no, pl.sku_id, pl.quantity.ordered) for pl in o.lines])
        for o in plan.via_warehouse
    ] == [
        (1, [(1, 11, 10)]),
        (2, [(1, 14, 3)]),
    ]
    assert [(o.supplier_id, [(pl.sku_id, pl.quantity.ordered) for pl in o.lines]) for o in plan.direct] == [
        (1, [(13, 6)]),
        (2, [(12, 4)]),
    ]
    assert [(o.supplier_id, d) for o, d in plan.orders] == [
        (1, Delivery.WAREHOUSE),
        (2, Delivery.WAREHOUSE),
        (1, Delivery.STORE),
        (2, Delivery.STORE),
    ]
    assert sum(line.from_stock + line.to_buy for line in plan.lines) == 5 + 12 + 4 + 6 + 3


def test_a_sku_asked_twice_shares_the_stock() -> None:
    plan = source_request([(offer(1, 7), 4), (offer(1, 7), 4)], {7: 6})
    assert plan.transfer == [(7, 6)]
    assert [(line.from_stock, line.to_buy) for line in plan.lines] == [(4, 0), (2, 2)]


def test_a_quantity_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        source_request([(offer(1, 7), 0)], {7: 5})

"""Pack sizes, MOQ, supplier choice, per-supplier split and totals for a store's request."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supplychain.rules.money import line_net, line_tax, round_money
from supplychain.rules.ordering import (
    SupplierOffer,
    needs_approval,
    order_quantity,
    preferred_offer,
    split_by_supplier,
)


def offer(supplier_id: int, sku_id: int, price: str, **kw: int) -> SupplierOffer:
    return SupplierOffer(
        supplier_id=supplier_id,
        sku_id=sku_id,
        unit_price=Decimal(price),
        tax_rate=Decimal("0.13"),
        moq=kw.get("moq", 1),
        pack_size=kw.get("pack_size", 1),
        lead_time_days=kw.get("lead_time_days", 7),
    )


def test_quantity_rounds_up_to_whole_packs() -> None:
    q = order_quantity(25, moq=1, pack_size=12)
    assert (q.ordered, q.rounded_for_pack, q.raised_to_moq) == (36, True, False)


def test_quantity_is_raised_to_the_moq_then_rounded_to_packs() -> None:
    q = order_quantity(5, moq=30, pack_size=12)
    assert (q.ordered, q.raised_to_moq, q.rounded_for_pack) == (36, True, True)


def test_exact_pack_multiple_is_unchanged() -> None:
    q = order_quantity(24, moq=12, pack_size=12)
    assert q.ordered == 24 and not q.changed


@pytest.mark.parametrize("requested", [0, -1])
def test_non_positive_quantity_is_refused(requested: int) -> None:
    with pytest.raises(ValueError):
        order_quantity(requested, moq=1, pack_size=1)


@given(st.integers(1, 10_000), st.integers(1, 500), st.integers(1, 100))
def test_ordered_quantity_is_the_smallest_pack_multiple_covering_request_and_moq(
    requested: int, moq: int, pack: int
) -> None:
    ordered = order_quantity(requested, moq=moq, pack_size=pack).ordered
    assert ordered % pack == 0
    assert ordered >= max(requested, moq)
    assert ordered - pack < max(requested, moq)


def test_preferred_offer_is_cheapest_then_fastest() -> None:
    a = offer(1, 9, "10.00", lead_time_days=5)
    b = offer(2, 9, "9.50", lead_time_days=9)
    c = offer(3, 9, "9.50", lead_time_days=3)
    assert preferred_offer([a, b, c]) == c
    assert preferred_offer([]) is None


def test_request_is_split_into_one_order_per_supplier_with_half_up_totals() -> None:
    orders = split_by_supplier(
        [
            (offer(2, 10, "3.335", pack_size=6), 5),  # 6 x 3.335 = 20.01
            (offer(1, 11, "0.125"), 1),  # 0.125 -> 0.13 (half-up)
            (offer(2, 12, "1.00"), 3),
        ]
    )
    assert [o.supplier_id for o in orders] == [1, 2]
    first, second = orders
    assert [line.line_no for line in second.lines] == [1, 2]
    assert second.lines[0].quantity.ordered == 6
    assert first.net_amount == Decimal("0.13")
    assert second.net_amount == Decimal("23.01")
    assert second.tax_amount == line_tax(Decimal("20.01"), Decimal("0.13")) + line_tax(
        Decimal("3.00"), Decimal("0.13")
    )
    assert second.total_amount == second.net_amount + second.tax_amount


def test_money_rounds_half_up_to_cents() -> None:
    assert round_money(Decimal("2.345")) == Decimal("2.35")
    assert round_money(Decimal("2.344")) == Decimal("2.34")
    assert line_net(Decimal("0.005"), 1) == Decimal("0.01")


@pytest.mark.parametrize(
    ("total", "limit", "expected"),
    [("100.00", None, True), ("100.00", "100.00", False), ("100.01", "100.00", True), ("0.00", "0", False)],
)
def test_approval_is_needed_above_the_requesters_limit(total: str, limit: str | None, expected: bool) -> None:
    assert needs_approval(Decimal(total), Decimal(limit) if limit is not None else None) is expected

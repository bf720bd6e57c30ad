"""Building purchase orders from a store's request: pack sizes, MOQ, supplier choice, totals.

Pure functions, shared by the catalogue page (to show the rounding before submit), the web route
(to validate) and the tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from supplychain.rules.money import line_net, line_tax


@dataclass(frozen=True)
class SupplierOffer:
    """One supplier's price list entry for a SKU."""

    supplier_id: int
    sku_id: int
    unit_price: Decimal
    tax_rate: Decimal
    moq: int
    pack_size: int
    lead_time_days: int
    direct_delivery: bool = False  # the supplier delivers this SKU straight to the store


@dataclass(frozen=True)
class OrderQuantity:
    requested: int
    ordered: int
    rounded_for_pack: bool
    raised_to_moq: bool

    @property
    def changed(self) -> bool:
        return self.ordered != self.requested


def order_quantity(requested: int, *, moq: int, pack_size: int) -> OrderQuantity:
    """Raise to the MOQ, then round up to whole packs. `requested` must be positive."""
    if requested <= 0:
        raise ValueError("requested quantity must be positive")
    quantity = max(requested, moq)
    packs = -(-quantity // pack_size)
    ordered = packs * pack_size
    return OrderQuantity(
        requested=requested,
        ordered=ordered,
        rounded_for_pack=ordered != quantity,
        raised_to_moq=quantity != requested,
    )


def preferred_offer(offers: Iterable[SupplierOffer]) -> SupplierOffer | None:
    """The offer a request uses: lowest unit price, then shortest lead time, then lowest supplier id."""
    return min(offers, key=lambda o: (o.unit_price, o.lead_time_days, o.supplier_id), default=None)


@dataclass(frozen=True)
class PlannedLine:
    line_no: int
    sku_id: int
    quantity: OrderQuantity
    unit_price: Decimal
    tax_rate: Decimal

    @property
    def net(self) -> Decimal:
        return line_net(self.unit_price, self.quantity.ordered)

    @property
    def tax(self) -> Decimal:
        return line_tax(self.net, self.tax_rate)


@dataclass(frozen=True)
class PlannedOrder:
    supplier_id: int
    lines: list[PlannedLine] = field(default_factory=list)

    @property
    def net_amount(self) -> Decimal:
        return sum((line.net for line in self.lines), Decimal("0.00"))

    @property
    def tax_amount(self) -> Decimal:
        return sum((line.tax for line in self.lines), Decimal("0.00"))

    @property
    def total_amount(self) -> Decimal:
        return self.net_amount + self.tax_amount


def split_by_supplier(requests: Sequence[tuple[SupplierOffer, int]]) -> list[PlannedOrder]:
    """One planned PO per supplier, lines numbered from 1 in request order."""
    orders: dict[int, PlannedOrder] = {}
    for offer, requested in requests:
        order = orders.setdefault(offer.supplier_id, PlannedOrder(supplier_id=offer.supplier_id))
        order.lines.append(
            PlannedLine(
                line_no=len(order.lines) + 1,
                sku_id=offer.sku_id,
                quantity=order_quantity(requested, moq=offer.moq, pack_size=offer.pack_size),
                unit_price=offer.unit_price,
                tax_rate=offer.tax_rate,
            )
        )
    return sorted(orders.values(), key=lambda o: o.supplier_id)


def needs_approval(total_amount: Decimal, requester_limit: Decimal | None) -> bool:
    """An order over the requester's own approval limit (no limit = every order) needs HQ approval."""
    return requester_limit is None or total_amount > requester_limit

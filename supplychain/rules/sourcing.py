"""Sourcing a store's request (DESIGN 4.2): where each requested line comes from.

A store is served from its regional warehouse's available stock first (one transfer warehouse ->
store); only the rest is bought. What is bought goes straight to the store when the supplier
delivers that SKU direct (`SupplierOffer.direct_delivery`), otherwise to the warehouse, which then
transfers it on to the store. Purchase quantities are rounded as every purchase is
(`ordering.order_quantity`: MOQ, then whole packs), so one planned purchase order per supplier and
delivery address (warehouse or store).

Pure: the caller reads the offers and the warehouse's available stock (on hand − reserved −
quarantine) and passes them in.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from supplychain.rules.ordering import (
    OrderQuantity,
    PlannedOrder,
    SupplierOffer,
    order_quantity,
    split_by_supplier,
)


class Delivery(enum.StrEnum):
    """Where bought goods are delivered."""

    WAREHOUSE = "warehouse"  # to the regional warehouse, then transferred on to the store
    STORE = "store"  # straight to the store


@dataclass(frozen=True)
class SourcedLine:
    """One requested line and where its units come from."""

    sku_id: int
    requested: int
    from_stock: int  # transferred from the warehouse's stock
    bought: OrderQuantity | None  # what is bought for the rest (None: nothing to buy)
    delivery: Delivery  # where what is bought is delivered

    @property
    def to_buy(self) -> int:
        """The units of the request the purchase covers (before MOQ and pack rounding)."""
        return self.requested - self.from_stock

    @property
    def bought_via_warehouse(self) -> int:
        return self.to_buy if self.bought is not None and self.delivery is Delivery.WAREHOUSE else 0

    @property
    def bought_direct(self) -> int:
        return self.to_buy if self.bought is not None and self.delivery is Delivery.STORE else 0


@dataclass(frozen=True)
class SourcingPlan:
    lines: list[SourcedLine] = field(default_factory=list)
    transfer: list[tuple[int, int]] = field(default_factory=list)  # (sku id, quantity), request order
    via_warehouse: list[PlannedOrder] = field(default_factory=list)  # POs shipped to the warehouse
    direct: list[PlannedOrder] = field(default_factory=list)  # POs shipped to the store

    @property
    def orders(self) -> list[tuple[PlannedOrder, Delivery]]:
        return [(o, Delivery.WAREHOUSE) for o in self.via_warehouse] + [
            (o, Delivery.STORE) for o in self.direct
        ]

    @property
    def is_empty(self) -> bool:
        return not self.transfer and not self.via_warehouse and not self.direct


def source_request(
    requests: Sequence[tuple[SupplierOffer, int]], available: Mapping[int, int]
) -> SourcingPlan:
    """Split each (preferred offer, requested quantity) into warehouse stock and purchases.

    `available` is the regional warehouse's available stock per SKU id (missing: none). Each SKU
    takes from stock up to what is available (a SKU asked for twice shares it, first line first);
    the rest is bought, rounded to MOQ and packs, and delivered direct or via the warehouse.
    """
    left = {sku_id: max(quantity, 0) for sku_id, quantity in available.items()}
    lines: list[SourcedLine] = []
    transfer: dict[int, int] = {}
    via: list[tuple[SupplierOffer, int]] = []
    direct: list[tuple[SupplierOffer, int]] = []
    for offer, requested in requests:
        if requested <= 0:
            raise ValueError("requested quantity must be positive")
        from_stock = min(requested, left.get(offer.sku_id, 0))
        left[offer.sku_id] = left.get(offer.sku_id, 0) - from_stock
        if from_stock:
            transfer[offer.sku_id] = transfer.get(offer.sku_id, 0) + from_stock
        rest = requested - from_stock
        delivery = Delivery.STORE if offer.direct_delivery else Delivery.WAREHOUSE
        bought = order_quantity(rest, moq=offer.moq, pack_size=offer.pack_size) if rest else None
        if rest:
            (direct if offer.direct_delivery else via).append((offer, rest))
        lines.append(SourcedLine(offer.sku_id, requested, from_stock, bought, delivery))
    return SourcingPlan(
        lines=lines,
        transfer=list(transfer.items()),
        via_warehouse=split_by_supplier(via),
        direct=split_by_supplier(direct),
    )

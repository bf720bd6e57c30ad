"""Which balance buckets each kind of stock movement may change, and in which direction.

Pure rules: the stock service applies them, workflows and tests may import them freely.
"""

from __future__ import annotations

from dataclasses import dataclass

from supplychain.models.stock import MovementType

POSITIVE, NEGATIVE, EITHER = 1, -1, 0


@dataclass(frozen=True)
class StockDelta:
    on_hand: int = 0
    reserved: int = 0
    in_transit: int = 0
    quarantine: int = 0  # part of on hand held by receiving inspection

    def is_zero(self) -> bool:
        return self.on_hand == 0 and self.reserved == 0 and self.in_transit == 0 and self.quarantine == 0


# For each movement type: the sign each bucket's delta must have; a bucket not listed must stay 0.
MOVEMENT_RULES: dict[MovementType, dict[str, int]] = {
    MovementType.OPENING: {"on_hand": POSITIVE},
    MovementType.RECEIPT: {"on_hand": POSITIVE},
    MovementType.ISSUE: {"on_hand": NEGATIVE},
    MovementType.ADJUSTMENT: {"on_hand": EITHER},
    MovementType.RESERVE: {"reserved": POSITIVE},
    MovementType.RELEASE: {"reserved": NEGATIVE},
    MovementType.DISPATCH: {"on_hand": NEGATIVE, "reserved": NEGATIVE},
    MovementType.TRANSIT_IN: {"in_transit": POSITIVE},
    MovementType.TRANSIT_RECEIPT: {"in_transit": NEGATIVE, "on_hand": POSITIVE},
    MovementType.TRANSIT_LOSS: {"in_transit": NEGATIVE},
    MovementType.QUARANTINE_RECEIPT: {"on_hand": POSITIVE, "quarantine": POSITIVE},
    MovementType.QUARANTINE_RELEASE: {"quarantine": NEGATIVE},
    MovementType.RETURN_TO_VENDOR: {"on_hand": NEGATIVE, "quarantine": NEGATIVE},
}
# Movements that must move on hand and quarantine by the same amount (the lot enters or leaves
# on hand while it is held).
SAME_AMOUNT_ON_HAND_AND_QUARANTINE = frozenset(
    {MovementType.QUARANTINE_RECEIPT, MovementType.RETURN_TO_VENDOR}
)


BUCKETS = ("on_hand", "reserved", "in_transit", "quarantine")


class InvalidMovement(ValueError):
    """The movement does not fit its type (wrong bucket, wrong sign, nothing moved)."""


def check_movement(movement_type: MovementType, delta: StockDelta) -> None:
    if delta.is_zero():
        raise InvalidMovement("a stock movement must change at least one quantity")
    allowed = MOVEMENT_RULES[movement_type]
    for bucket in BUCKETS:
        value = getattr(delta, bucket)
        if value == 0:
            continue
        if bucket not in allowed:
            raise InvalidMovement(f"a {movement_type.value} movement cannot change {bucket}")
        sign = allowed[bucket]
        if sign * value < 0:
            direction = "increase" if sign > 0 else "decrease"
            raise InvalidMovement(f"a {movement_type.value} movement must {direction} {bucket}")
    if movement_type in SAME_AMOUNT_ON_HAND_AND_QUARANTINE and delta.on_hand != delta.quarantine:
        raise InvalidMovement(f"a {movement_type.value} movement moves on_hand and quarantine together")

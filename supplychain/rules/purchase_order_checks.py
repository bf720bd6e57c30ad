"""What each step of a purchase order may do: the checks behind every Update of ReplenishmentWorkflow.

Pure functions of the order's state, the step's input and the business date: each returns nothing
or raises `Refused` with a message a person can act on (a message id from the translation catalogue
and its parameters), so the web layer shows it in the reader's language. The workflow runs each
check in the Update's validator and again under its lock (two clicks at once: the second finds the
new state), and turns `Refused` into the Update's refusal in one place.

- Nothing can be done before the order is recorded, nor after it is closed, cancelled or rejected.
- `confirm_lines` (the supplier): the first confirmation covers every line, once each. Afterwards
  (CONFIRMED or IN_DELIVERY) only lines with a backorder may be confirmed again, never below what
  was shipped already. A quantity is 0..ordered; above 0 it needs a promised date, not in the past.
- `reject_po` (the supplier): only while the order waits for confirmation, with a reason.
- `create_shipment` (the supplier's ASN): after confirmation; a new shipment number, a carrier, a
  tracking number, an arrival date not in the past, and per open line a quantity above 0 and up to
  what is confirmed and not yet shipped. A batch-tracked SKU's batches carry a number and an expiry
  date not past, each number once, and add up to the line's quantity.
- `record_receipt` (the warehouse): for a shipment of this order not received yet, a counted
  quantity (0 or more) for every line it carries and no other; lots, when the line is split, above
  0 each and adding up to what was counted (a batch-tracked SKU: numbers and expiry dates).
- `cancel_po` (the buyer): before anything has shipped, with a reason.
- `short_close_line` (the buyer): after confirmation, an open line with nothing of it in transit.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Final

from supplychain.i18n import lazy
from supplychain.models.purchasing import POLineStatus, POStatus
from supplychain.rules.purchase_order import (
    Batch,
    CancelPOInput,
    ConfirmLinesInput,
    CreateShipmentInput,
    PurchaseOrderState,
    RecordReceiptInput,
    RejectPOInput,
    ShortCloseLineInput,
    has_backorder,
    in_transit,
)
from supplychain.rules.refusal import Refused

CONFIRMABLE: Final = frozenset({POStatus.SENT, POStatus.CONFIRMED, POStatus.IN_DELIVERY})
SHIPPABLE: Final = frozenset({POStatus.CONFIRMED, POStatus.IN_DELIVERY})
CANCELLABLE: Final = frozenset({POStatus.PENDING_APPROVAL, POStatus.SENT, POStatus.CONFIRMED})

__all__ = ["Refused"]  # and the checks below; Refused is raised (and imported by callers) from here too

ALREADY_SHIPPED = lazy("The order cannot be cancelled: goods have already been shipped.")


def require_status(po: PurchaseOrderState, allowed: Collection[POStatus], otherwise: str) -> None:
    """The order is recorded, still open, and in one of the `allowed` statuses (else `otherwise`)."""
    if not po.recorded:
        raise Refused(lazy("This purchase order is still being created. Please try again in a moment."))
    if po.status is POStatus.CLOSED:
        raise Refused(lazy("This purchase order is closed; nothing can be changed."))
    if po.status is POStatus.CANCELLED:
        raise Refused(lazy("This purchase order has been cancelled; nothing can be changed."))
    if po.status in (POStatus.SUPPLIER_REJECTED, POStatus.APPROVAL_REJECTED):
        raise Refused(lazy("This purchase order was rejected; nothing can be changed."))
    if po.status not in allowed:
        raise Refused(otherwise)


def check_line_numbers(po: PurchaseOrderState, line_nos: Sequence[int]) -> None:
    """Every line number is one of the order's, and none appears twice."""
    known = {line.line_no for line in po.lines}
    seen: set[int] = set()
    for line_no in line_nos:
        if line_no not in known:
            raise Refused(lazy("Line %(line)s does not exist on this order."), line=line_no)
        if line_no in seen:
            raise Refused(lazy("Line %(line)s appears more than once."), line=line_no)
        seen.add(line_no)


def check_confirm_lines(po: PurchaseOrderState, input: ConfirmLinesInput, *, today: date) -> None:
    require_status(po, CONFIRMABLE, lazy("This purchase order is waiting for HQ approval."))
    first = po.status is POStatus.SENT
    if not input.lines:
        raise Refused(lazy("Confirm at least one line."))
    check_line_numbers(po, [c.line_no for c in input.lines])
    if first:
        listed = {c.line_no for c in input.lines}
        for line in po.lines:
            if line.line_no not in listed:
                raise Refused(
                    lazy("Confirm every line of the order: line %(line)s is missing."), line=line.line_no
                )
    for confirmation in input.lines:
        line = po.line(confirmation.line_no)
        n = line.line_no
        if not first and not has_backorder(line):
            raise Refused(lazy("Line %(line)s has no backorder left to confirm."), line=n)
        if confirmation.quantity < 0:
            raise Refused(lazy("Quantity for line %(line)s cannot be negative."), line=n)
        if confirmation.quantity > line.quantity_ordered:
            raise Refused(
                lazy("Quantity for line %(line)s cannot exceed %(ordered)s."),
                line=n,
                ordered=line.quantity_ordered,
            )
        if confirmation.quantity < line.quantity_shipped:
            raise Refused(
                lazy("Quantity for line %(line)s cannot be less than the %(shipped)s already shipped."),
                line=n,
                shipped=line.quantity_shipped,
            )
        if confirmation.quantity > 0:
            if confirmation.promised_date is None:
                raise Refused(lazy("Enter a promised date for line %(line)s."), line=n)
            if confirmation.promised_date < today:
                raise Refused(lazy("The promised date for line %(line)s cannot be in the past."), line=n)


def check_reject_po(po: PurchaseOrderState, input: RejectPOInput) -> None:
    require_status(po, {POStatus.SENT}, lazy("Only an order waiting for confirmation can be rejected."))
    if not input.reason.strip():
        raise Refused(lazy("Enter a reason for the rejection."))


def check_create_shipment(
    po: PurchaseOrderState, input: CreateShipmentInput, *, today: date, batch_tracked: Collection[int]
) -> None:
    """`batch_tracked`: the numbers of the lines whose SKU needs batch numbers and expiry dates."""
    require_status(po, SHIPPABLE, lazy("Nothing can be shipped before the supplier confirms the order."))
    if not input.shipment_number.strip():
        raise Refused(lazy("The shipment has no number."))
    if po.shipment(input.shipment_number) is not None:
        raise Refused(lazy("Shipment number %(shipment)s is already used."), shipment=input.shipment_number)
    if not input.carrier.strip():
        raise Refused(lazy("Enter the carrier."))
    if not input.tracking_number.strip():
        raise Refused(lazy("Enter the tracking number."))
    if input.eta < today:
        raise Refused(lazy("The expected arrival date cannot be in the past."))
    if not input.lines:
        raise Refused(lazy("Add at least one line to the shipment."))
    check_line_numbers(po, [line.line_no for line in input.lines])
    for shipped in input.lines:
        line = po.line(shipped.line_no)
        n = line.line_no
        if line.status is not POLineStatus.OPEN:
            raise Refused(lazy("Line %(line)s is closed."), line=n)
        if shipped.quantity <= 0:
            raise Refused(lazy("Quantity for line %(line)s must be greater than zero."), line=n)
        open_quantity = (line.quantity_confirmed or 0) - line.quantity_shipped
        if shipped.quantity > open_quantity:
            raise Refused(
                lazy("Quantity for line %(line)s cannot exceed the %(open)s confirmed and not yet shipped."),
                line=n,
                open=open_quantity,
            )
        check_batches(
            n, shipped.quantity, shipped.batches, tracked=n in batch_tracked, today=today, unique=True
        )


def check_record_receipt(
    po: PurchaseOrderState, input: RecordReceiptInput, *, today: date, batch_tracked: Collection[int]
) -> None:
    """`batch_tracked`: the numbers of the lines whose SKU needs batch numbers and expiry dates."""
    require_status(po, {POStatus.IN_DELIVERY}, lazy("Nothing has been shipped on this purchase order yet."))
    shipment = po.shipment(input.shipment_number)
    if shipment is None:
        raise Refused(
            lazy("Shipment %(shipment)s does not belong to this purchase order."),
            shipment=input.shipment_number,
        )
    if shipment.received is not None:
        raise Refused(lazy("Shipment %(shipment)s has already been received."), shipment=shipment.number)
    check_line_numbers(po, [line.line_no for line in input.lines])
    counted = {line.line_no: line.quantity_received for line in input.lines}
    for line_no in counted:
        if line_no not in shipment.lines:
            raise Refused(
                lazy("Line %(line)s is not on shipment %(shipment)s."), line=line_no, shipment=shipment.number
            )
    for line_no in shipment.lines:
        if line_no not in counted:
            raise Refused(lazy("Enter the counted quantity for line %(line)s."), line=line_no)
        if counted[line_no] < 0:
            raise Refused(lazy("Counted quantity for line %(line)s cannot be negative."), line=line_no)
    for received in input.lines:
        n = received.line_no
        check_batches(
            n,
            received.quantity_received,
            received.lots,
            tracked=n in batch_tracked,
            today=today,
            unique=False,
        )


def check_batches(
    line_no: int, quantity: int, batches: Sequence[Batch], *, tracked: bool, today: date, unique: bool
) -> None:
    """Batches of an ASN line or lots of a receipt line: they add up to the line's quantity; a
    batch-tracked SKU (`tracked`) needs a batch number and an expiry date (not past) on each.
    `unique`: a batch number may appear once (an ASN line; a receipt may count one batch in lots)."""
    if not batches:
        if tracked and quantity > 0:
            raise Refused(lazy("Line %(line)s needs its batch numbers and expiry dates."), line=line_no)
        return
    for batch in batches:
        if batch.quantity <= 0:
            raise Refused(
                lazy("Every batch or lot of line %(line)s needs a quantity above zero."), line=line_no
            )
        if tracked and (not batch.batch_no.strip() or batch.expiry_date is None):
            raise Refused(
                lazy("Every batch of line %(line)s needs a batch number and an expiry date."), line=line_no
            )
        if batch.expiry_date is not None and batch.expiry_date < today:
            raise Refused(
                lazy("Batch %(batch)s of line %(line)s has already expired."),
                batch=batch.batch_no,
                line=line_no,
            )
    numbers = [b.batch_no.strip() for b in batches if b.batch_no.strip()]
    if unique and len(numbers) != len(set(numbers)):
        raise Refused(lazy("A batch number appears twice on line %(line)s."), line=line_no)
    if sum(b.quantity for b in batches) != quantity:
        raise Refused(
            lazy("The batches of line %(line)s must add up to its quantity of %(quantity)s."),
            line=line_no,
            quantity=quantity,
        )


def check_cancel_po(po: PurchaseOrderState, input: CancelPOInput) -> None:
    require_status(po, CANCELLABLE, ALREADY_SHIPPED)
    if po.shipments:
        raise Refused(ALREADY_SHIPPED)
    if not input.reason.strip():
        raise Refused(lazy("Enter a reason for the cancellation."))


def check_short_close_line(po: PurchaseOrderState, input: ShortCloseLineInput) -> None:
    require_status(
        po, SHIPPABLE, lazy("Lines can be short-closed only after the supplier has confirmed the order.")
    )
    check_line_numbers(po, [input.line_no])
    line = po.line(input.line_no)
    if line.status is not POLineStatus.OPEN:
        raise Refused(lazy("Line %(line)s is already closed."), line=line.line_no)
    if in_transit(po, line.line_no) > 0:
        raise Refused(
            lazy("Line %(line)s cannot be short-closed while goods of it are in transit."), line=line.line_no
        )

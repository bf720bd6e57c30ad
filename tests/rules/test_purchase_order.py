"""The purchase order's rules: when a line and the order are done, and what each step may do.

The checks are called as the workflow's validators call them: the state, the step's input, the
business date. Each refusal is asserted with its message id and parameters (what the web layer
translates and shows); each boundary on both sides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from supplychain.models import POLineStatus, POStatus
from supplychain.rules.purchase_order import (
    Batch,
    CancelPOInput,
    ConfirmLinesInput,
    CreateShipmentInput,
    LineConfirmation,
    LineState,
    PendingInspection,
    PurchaseOrderState,
    ReceiptLineInput,
    RecordReceiptInput,
    RejectPOInput,
    ShipmentLineInput,
    ShipmentState,
    ShortCloseLineInput,
    finish_after,
    finished_status,
    has_backorder,
    in_transit,
    overdue_from,
    settle_line,
    settled,
)
from supplychain.rules.purchase_order_checks import (
    Refused,
    check_batches,
    check_cancel_po,
    check_confirm_lines,
    check_create_shipment,
    check_line_numbers,
    check_record_receipt,
    check_reject_po,
    check_short_close_line,
    require_status,
)

OPEN, RECEIVED, CANCELLED, SHORT = (
    POLineStatus.OPEN,
    POLineStatus.RECEIVED,
    POLineStatus.CANCELLED,
    POLineStatus.SHORT_CLOSED,
)
TODAY = date(2026, 3, 10)
YESTERDAY, TOMORROW = TODAY - timedelta(days=1), TODAY + timedelta(days=1)
SHP = "SHP-2026-000001"


# --- settling lines and the order -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("confirmed", "received", "in_transit", "expected"),
    [
        (None, 0, 0, OPEN),  # not confirmed yet
        (100, 100, 0, RECEIVED),
        (100, 103, 0, RECEIVED),  # over-receipt settles it
        (100, 99, 0, OPEN),  # received one short: waits for the buyer
        (60, 60, 0, OPEN),  # confirmed short: the backorder stays open
        (0, 0, 0, CANCELLED),  # the supplier cannot supply it
        (0, 5, 0, OPEN),  # confirmed 0 after something arrived: not cancelled
        (100, 100, 5, OPEN),  # something still in transit
    ],
)
def test_settle_line(confirmed: int | None, received: int, in_transit: int, expected: POLineStatus) -> None:
    assert (
        settle_line(OPEN, ordered=100, confirmed=confirmed, received=received, in_transit=in_transit)
        is expected
    )


def test_a_settled_line_stays_settled() -> None:
    assert settle_line(SHORT, ordered=100, confirmed=60, received=60, in_transit=0) is SHORT


def test_finished_status() -> None:
    assert finished_status([RECEIVED, OPEN], received_any=True) is None
    assert finished_status([RECEIVED, SHORT, CANCELLED], received_any=True) is POStatus.CLOSED
    assert finished_status([CANCELLED, SHORT], received_any=False) is POStatus.CANCELLED


def test_overdue_from_the_end_of_the_promised_day_in_china() -> None:
    assert overdue_from(date(2026, 3, 1)) == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)


# --- a purchase order to check against ------------------------------------------------------------


def _po(status: POStatus = POStatus.SENT, **changes: Any) -> PurchaseOrderState:
    """Two lines: 100 of SKU 11, 50 of SKU 12; recorded and sent, nothing confirmed."""
    po = PurchaseOrderState(
        number="PO-2026-000001",
        status=status,
        lines=[LineState(1, 11, 100), LineState(2, 12, 50)],
        recorded=True,
    )
    return replace(po, **changes)


def _confirmed(**line_1: Any) -> PurchaseOrderState:
    """Confirmed in full (line 1 as given), for tomorrow."""
    return _po(
        POStatus.CONFIRMED,
        lines=[
            replace(LineState(1, 11, 100, 100, TOMORROW), **line_1),
            LineState(2, 12, 50, 50, TOMORROW),
        ],
    )


def _in_delivery(
    shipped_1: int = 100, shipped_2: int = 50, received: dict[int, int] | None = None, **line_1: Any
) -> PurchaseOrderState:
    """Confirmed in full (line 1 as given) and shipped (line 1: `shipped_1`, line 2: `shipped_2`) in
    one shipment, SHP (`received`: as counted)."""
    po = _confirmed(quantity_shipped=shipped_1, **line_1)
    po.lines[1].quantity_shipped = shipped_2
    lines = {n: q for n, q in ((1, shipped_1), (2, shipped_2)) if q}
    return replace(po, status=POStatus.IN_DELIVERY, shipments=[ShipmentState(SHP, TOMORROW, lines, received)])


def _refusal(check: Callable[..., None], *args: Any, **kwargs: Any) -> tuple[str, dict[str, object]]:
    with pytest.raises(Refused) as refused:
        check(*args, **kwargs)
    return refused.value.message_id, refused.value.params


def _confirm(*lines: tuple[int, int, date | None]) -> ConfirmLinesInput:
    return ConfirmLinesInput(actor_user_id=7, lines=[LineConfirmation(n, q, d) for n, q, d in lines])


def _shipment(*lines: ShipmentLineInput, **changes: Any) -> CreateShipmentInput:
    input = CreateShipmentInput(7, "SHP-2026-000002", "SF Express", "SF1234", TOMORROW, list(lines))
    return replace(input, **changes)


def _receipt(*lines: ReceiptLineInput, shipment: str = SHP) -> RecordReceiptInput:
    return RecordReceiptInput(actor_user_id=8, shipment_number=shipment, lines=list(lines))


# --- every step: the order's status ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("po", "expected"),
    [
        (_po(recorded=False), "This purchase order is still being created. Please try again in a moment."),
        (_po(POStatus.CLOSED), "This purchase order is closed; nothing can be changed."),
        (_po(POStatus.CANCELLED), "This purchase order has been cancelled; nothing can be changed."),
        (_po(POStatus.SUPPLIER_REJECTED), "This purchase order was rejected; nothing can be changed."),
        (_po(POStatus.APPROVAL_REJECTED), "This purchase order was rejected; nothing can be changed."),
        (_po(POStatus.PENDING_APPROVAL), "otherwise"),
    ],
)
def test_require_status_refuses_an_order_not_open_for_the_step(po: PurchaseOrderState, expected: str) -> None:
    assert _refusal(require_status, po, {POStatus.SENT}, "otherwise") == (expected, {})
    require_status(_po(), {POStatus.SENT}, "otherwise")  # open and allowed: passes


@pytest.mark.parametrize(
    ("check", "po", "input", "expected"),
    [
        (
            check_confirm_lines,
            _po(POStatus.PENDING_APPROVAL),
            _confirm((1, 100, TODAY), (2, 50, TODAY)),
            "This purchase order is waiting for HQ approval.",
        ),
        (
            check_reject_po,
            _confirmed(),
            RejectPOInput(7, "No stock"),
            "Only an order waiting for confirmation can be rejected.",
        ),
        (
            check_create_shipment,
            _po(),
            _shipment(ShipmentLineInput(1, 10)),
            "Nothing can be shipped before the supplier confirms the order.",
        ),
        (
            check_record_receipt,
            _confirmed(),
            _receipt(ReceiptLineInput(1, 10)),
            "Nothing has been shipped on this purchase order yet.",
        ),
        (
            check_cancel_po,
            _in_delivery(),
            CancelPOInput(9, "Too late"),
            "The order cannot be cancelled: goods have already been shipped.",
        ),
        (
            check_short_close_line,
            _po(),
            ShortCloseLineInput(9, 1),
            "Lines can be short-closed only after the supplier has confirmed the order.",
        ),
    ],
)
def test_each_step_names_the_status_it_waits_for(
    check: Callable[..., None], po: PurchaseOrderState, input: Any, expected: str
) -> None:
    context: dict[str, Any] = {"today": TODAY} if check is check_confirm_lines else {}
    if check in (check_create_shipment, check_record_receipt):
        context = {"today": TODAY, "batch_tracked": ()}
    assert _refusal(check, po, input, **context) == (expected, {})


def test_line_numbers_must_exist_and_appear_once() -> None:
    check_line_numbers(_po(), [2, 1])
    assert _refusal(check_line_numbers, _po(), [1, 3]) == (
        "Line %(line)s does not exist on this order.",
        {"line": 3},
    )
    assert _refusal(check_line_numbers, _po(), [0]) == (
        "Line %(line)s does not exist on this order.",
        {"line": 0},
    )
    assert _refusal(check_line_numbers, _po(), [2, 1, 2]) == (
        "Line %(line)s appears more than once.",
        {"line": 2},
    )


# --- confirm_lines --------------------------------------------------------------------------------


def test_a_first_confirmation_of_every_line_up_to_what_was_ordered_for_today_passes() -> None:
    check_confirm_lines(_po(), _confirm((1, 100, TODAY), (2, 0, None)), today=TODAY)


@pytest.mark.parametrize(
    ("lines", "message", "params"),
    [
        ((), "Confirm at least one line.", {}),
        (((1, 100, TODAY),), "Confirm every line of the order: line %(line)s is missing.", {"line": 2}),
        (
            ((1, 100, TODAY), (2, 50, TODAY), (3, 1, TODAY)),
            "Line %(line)s does not exist on this order.",
            {"line": 3},
        ),
        (((1, 100, TODAY), (1, 50, TODAY)), "Line %(line)s appears more than once.", {"line": 1}),
        (((1, -1, TODAY), (2, 50, TODAY)), "Quantity for line %(line)s cannot be negative.", {"line": 1}),
        (
            ((1, 101, TODAY), (2, 50, TODAY)),
            "Quantity for line %(line)s cannot exceed %(ordered)s.",
            {"line": 1, "ordered": 100},
        ),
        (((1, 100, None), (2, 50, TODAY)), "Enter a promised date for line %(line)s.", {"line": 1}),
        (
            ((1, 100, TODAY), (2, 1, YESTERDAY)),
            "The promised date for line %(line)s cannot be in the past.",
            {"line": 2},
        ),
    ],
)
def test_a_first_confirmation_is_refused(
    lines: tuple[tuple[int, int, date | None], ...], message: str, params: dict[str, object]
) -> None:
    assert _refusal(check_confirm_lines, _po(), _confirm(*lines), today=TODAY) == (message, params)


def test_a_later_confirmation_covers_only_backorders_and_never_below_what_was_shipped() -> None:
    po = _in_delivery(shipped_1=60, quantity_confirmed=60)  # line 1: 60 of 100 confirmed and shipped
    check_confirm_lines(po, _confirm((1, 60, TODAY)), today=TODAY)  # exactly what was shipped
    check_confirm_lines(po, _confirm((1, 100, TOMORROW)), today=TODAY)  # the whole backorder
    assert _refusal(check_confirm_lines, po, _confirm((1, 59, TODAY)), today=TODAY) == (
        "Quantity for line %(line)s cannot be less than the %(shipped)s already shipped.",
        {"line": 1, "shipped": 60},
    )
    assert _refusal(check_confirm_lines, po, _confirm((2, 50, TODAY)), today=TODAY) == (
        "Line %(line)s has no backorder left to confirm.",
        {"line": 2},
    )
    po.lines[0].status = SHORT  # short-closed: no backorder any more
    assert _refusal(check_confirm_lines, po, _confirm((1, 100, TODAY)), today=TODAY) == (
        "Line %(line)s has no backorder left to confirm.",
        {"line": 1},
    )


# --- reject_po ------------------------------------------------------------------------------------


def test_a_rejection_needs_a_reason() -> None:
    check_reject_po(_po(), RejectPOInput(7, "Discontinued"))
    assert _refusal(check_reject_po, _po(), RejectPOInput(7, " \t")) == (
        "Enter a reason for the rejection.",
        {},
    )


# --- create_shipment ------------------------------------------------------------------------------


def _check_shipment(
    po: PurchaseOrderState, input: CreateShipmentInput, tracked: tuple[int, ...] = ()
) -> None:
    check_create_shipment(po, input, today=TODAY, batch_tracked=tracked)


def test_a_shipment_of_what_is_confirmed_and_not_yet_shipped_arriving_today_passes() -> None:
    po = _confirmed(quantity_shipped=40)
    _check_shipment(po, _shipment(ShipmentLineInput(1, 60), ShipmentLineInput(2, 1), eta=TODAY))


@pytest.mark.parametrize(
    ("input", "message", "params"),
    [
        (_shipment(ShipmentLineInput(1, 1), shipment_number=" "), "The shipment has no number.", {}),
        (
            _shipment(ShipmentLineInput(1, 1), shipment_number=SHP),
            "Shipment number %(shipment)s is already used.",
            {"shipment": SHP},
        ),
        (_shipment(ShipmentLineInput(1, 1), carrier=""), "Enter the carrier.", {}),
        (_shipment(ShipmentLineInput(1, 1), tracking_number=" "), "Enter the tracking number.", {}),
        (
            _shipment(ShipmentLineInput(1, 1), eta=YESTERDAY),
            "The expected arrival date cannot be in the past.",
            {},
        ),
        (_shipment(), "Add at least one line to the shipment.", {}),
        (_shipment(ShipmentLineInput(3, 1)), "Line %(line)s does not exist on this order.", {"line": 3}),
        (
            _shipment(ShipmentLineInput(1, 1), ShipmentLineInput(1, 1)),
            "Line %(line)s appears more than once.",
            {"line": 1},
        ),
        (_shipment(ShipmentLineInput(2, 1)), "Line %(line)s is closed.", {"line": 2}),
        (
            _shipment(ShipmentLineInput(1, 0)),
            "Quantity for line %(line)s must be greater than zero.",
            {"line": 1},
        ),
        (
            _shipment(ShipmentLineInput(1, -5)),
            "Quantity for line %(line)s must be greater than zero.",
            {"line": 1},
        ),
        (
            _shipment(ShipmentLineInput(1, 61)),
            "Quantity for line %(line)s cannot exceed the %(open)s confirmed and not yet shipped.",
            {"line": 1, "open": 60},
        ),
    ],
)
def test_a_shipment_is_refused(input: CreateShipmentInput, message: str, params: dict[str, object]) -> None:
    po = _in_delivery(shipped_1=40, shipped_2=0)  # SHP carries 40 of line 1
    po.lines[1].status = RECEIVED
    assert _refusal(_check_shipment, po, input) == (message, params)


def test_a_batch_tracked_line_ships_with_numbered_unexpired_batches_adding_up() -> None:
    batches = [Batch("B-1", TODAY, 60), Batch("B-2", date(2027, 1, 1), 40)]  # expiring today is fine
    _check_shipment(_confirmed(), _shipment(ShipmentLineInput(1, 100, batches)), tracked=(1,))
    assert _refusal(_check_shipment, _confirmed(), _shipment(ShipmentLineInput(1, 100)), tracked=(1,)) == (
        "Line %(line)s needs its batch numbers and expiry dates.",
        {"line": 1},
    )
    _check_shipment(_confirmed(), _shipment(ShipmentLineInput(1, 100)), tracked=(2,))  # line 1 untracked


# --- batches and lots -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("batches", "tracked", "unique", "message", "params"),
    [
        ([], True, True, "Line %(line)s needs its batch numbers and expiry dates.", {"line": 1}),
        (
            [Batch("B-1", TOMORROW, 10), Batch("B-2", TOMORROW, 0)],
            False,
            True,
            "Every batch or lot of line %(line)s needs a quantity above zero.",
            {"line": 1},
        ),
        (
            [Batch("B-1", TOMORROW, 11), Batch("B-2", TOMORROW, -1)],
            False,
            True,
            "Every batch or lot of line %(line)s needs a quantity above zero.",
            {"line": 1},
        ),
        (
            [Batch(" ", TOMORROW, 10)],
            True,
            True,
            "Every batch of line %(line)s needs a batch number and an expiry date.",
            {"line": 1},
        ),
        (
            [Batch("B-1", None, 10)],
            True,
            True,
            "Every batch of line %(line)s needs a batch number and an expiry date.",
            {"line": 1},
        ),
        (
            [Batch("B-1", YESTERDAY, 10)],
            False,  # an expiry date given for an untracked SKU is checked too
            True,
            "Batch %(batch)s of line %(line)s has already expired.",
            {"batch": "B-1", "line": 1},
        ),
        (
            [Batch("B-1", TOMORROW, 5), Batch(" B-1 ", TOMORROW, 5)],
            True,
            True,
            "A batch number appears twice on line %(line)s.",
            {"line": 1},
        ),
        (
            [Batch("B-1", TOMORROW, 5), Batch("B-2", TOMORROW, 4)],
            True,
            True,
            "The batches of line %(line)s must add up to its quantity of %(quantity)s.",
            {"line": 1, "quantity": 10},
        ),
        (
            [Batch("B-1", TOMORROW, 6), Batch("B-2", TOMORROW, 5)],
            True,
            False,
            "The batches of line %(line)s must add up to its quantity of %(quantity)s.",
            {"line": 1, "quantity": 10},
        ),
    ],
)
def test_batches_are_refused(
    batches: list[Batch], tracked: bool, unique: bool, message: str, params: dict[str, object]
) -> None:
    refusal = _refusal(check_batches, 1, 10, batches, tracked=tracked, today=TODAY, unique=unique)
    assert refusal == (message, params)


def test_batches_that_pass() -> None:
    check_batches(1, 0, [], tracked=True, today=TODAY, unique=True)  # nothing of a tracked line
    check_batches(1, 10, [], tracked=False, today=TODAY, unique=True)  # an untracked line, one lot
    tranches = [Batch("", None, 4), Batch("", None, 6)]  # lots of an untracked SKU: no numbers
    check_batches(1, 10, tranches, tracked=False, today=TODAY, unique=True)
    one_batch_in_two_lots = [Batch("B-1", TOMORROW, 4), Batch("B-1", TOMORROW, 6)]
    check_batches(1, 10, one_batch_in_two_lots, tracked=True, today=TODAY, unique=False)


# --- record_receipt -------------------------------------------------------------------------------


def _check_receipt(po: PurchaseOrderState, input: RecordReceiptInput, tracked: tuple[int, ...] = ()) -> None:
    check_record_receipt(po, input, today=TODAY, batch_tracked=tracked)


def test_a_receipt_counting_every_line_of_the_shipment_passes_over_short_or_zero() -> None:
    _check_receipt(_in_delivery(), _receipt(ReceiptLineInput(1, 103), ReceiptLineInput(2, 0)))
    lots = [Batch("", None, 60), Batch("", None, 40)]
    _check_receipt(_in_delivery(), _receipt(ReceiptLineInput(1, 100, lots), ReceiptLineInput(2, 50)))


@pytest.mark.parametrize(
    ("po", "input", "message", "params"),
    [
        (
            _in_delivery(),
            _receipt(ReceiptLineInput(1, 100), shipment="SHP-2026-999999"),
            "Shipment %(shipment)s does not belong to this purchase order.",
            {"shipment": "SHP-2026-999999"},
        ),
        (
            _in_delivery(received={1: 100, 2: 50}),
            _receipt(ReceiptLineInput(1, 100), ReceiptLineInput(2, 50)),
            "Shipment %(shipment)s has already been received.",
            {"shipment": SHP},
        ),
        (
            _in_delivery(),
            _receipt(ReceiptLineInput(1, 100), ReceiptLineInput(3, 1)),
            "Line %(line)s does not exist on this order.",
            {"line": 3},
        ),
        (
            _in_delivery(),
            _receipt(ReceiptLineInput(1, 100), ReceiptLineInput(1, 1)),
            "Line %(line)s appears more than once.",
            {"line": 1},
        ),
        (
            _in_delivery(shipped_2=0),
            _receipt(ReceiptLineInput(1, 100), ReceiptLineInput(2, 1)),
            "Line %(line)s is not on shipment %(shipment)s.",
            {"line": 2, "shipment": SHP},
        ),
        (
            _in_delivery(),
            _receipt(ReceiptLineInput(1, 100)),
            "Enter the counted quantity for line %(line)s.",
            {"line": 2},
        ),
        (
            _in_delivery(),
            _receipt(ReceiptLineInput(1, -1), ReceiptLineInput(2, 50)),
            "Counted quantity for line %(line)s cannot be negative.",
            {"line": 1},
        ),
        (
            _in_delivery(),
            _receipt(ReceiptLineInput(1, 100, [Batch("", None, 99)]), ReceiptLineInput(2, 50)),
            "The batches of line %(line)s must add up to its quantity of %(quantity)s.",
            {"line": 1, "quantity": 100},
        ),
    ],
)
def test_a_receipt_is_refused(
    po: PurchaseOrderState, input: RecordReceiptInput, message: str, params: dict[str, object]
) -> None:
    assert _refusal(_check_receipt, po, input) == (message, params)


def test_a_receipt_of_a_batch_tracked_line_needs_its_batches_unless_nothing_was_counted() -> None:
    _check_receipt(_in_delivery(), _receipt(ReceiptLineInput(1, 0), ReceiptLineInput(2, 50)), tracked=(1,))
    refusal = _refusal(
        _check_receipt,
        _in_delivery(),
        _receipt(ReceiptLineInput(1, 100), ReceiptLineInput(2, 50)),
        tracked=(1,),
    )
    assert refusal == ("Line %(line)s needs its batch numbers and expiry dates.", {"line": 1})


# --- cancel_po and short_close_line ---------------------------------------------------------------


def test_a_cancellation_needs_a_reason_and_nothing_shipped() -> None:
    check_cancel_po(_po(POStatus.PENDING_APPROVAL), CancelPOInput(9, "Ordered twice"))
    check_cancel_po(_confirmed(), CancelPOInput(9, "Store closed"))
    assert _refusal(check_cancel_po, _confirmed(), CancelPOInput(9, "")) == (
        "Enter a reason for the cancellation.",
        {},
    )
    shipped = replace(_confirmed(), shipments=[ShipmentState(SHP, TOMORROW, {1: 1})])
    assert _refusal(check_cancel_po, shipped, CancelPOInput(9, "Too late")) == (
        "The order cannot be cancelled: goods have already been shipped.",
        {},
    )


def test_only_an_open_line_with_nothing_in_transit_can_be_short_closed() -> None:
    received_short = _in_delivery(shipped_1=60, quantity_confirmed=60, quantity_received=60)
    received_short.shipments[0].received = {1: 60, 2: 50}
    check_short_close_line(received_short, ShortCloseLineInput(9, 1))
    assert _refusal(check_short_close_line, _in_delivery(), ShortCloseLineInput(9, 1)) == (
        "Line %(line)s cannot be short-closed while goods of it are in transit.",
        {"line": 1},
    )
    received_short.lines[1].status = RECEIVED
    assert _refusal(check_short_close_line, received_short, ShortCloseLineInput(9, 2)) == (
        "Line %(line)s is already closed.",
        {"line": 2},
    )
    assert _refusal(check_short_close_line, received_short, ShortCloseLineInput(9, 4)) == (
        "Line %(line)s does not exist on this order.",
        {"line": 4},
    )


# --- the state's rules ----------------------------------------------------------------------------


def test_in_transit_counts_shipments_not_received_leaving_out_the_one_being_received() -> None:
    po = _in_delivery(shipped_1=60)
    po.shipments.append(ShipmentState("SHP-2", TOMORROW, {1: 40}))
    po.shipments.append(ShipmentState("SHP-3", TOMORROW, {1: 7}, received={1: 7}))
    assert in_transit(po, 1) == 100
    assert in_transit(po, 1, except_shipment="SHP-2") == 60
    assert in_transit(po, 2) == 50


def test_a_line_settles_on_receipt_only_when_nothing_else_of_it_is_in_transit() -> None:
    po = _in_delivery(shipped_1=60)
    po.shipments.append(ShipmentState("SHP-2", TOMORROW, {1: 40}))
    received_all = replace(po.lines[0], quantity_received=100)
    assert settled(po, received_all, receiving=SHP).status is OPEN  # SHP-2's 40 still on the way
    po.shipments[1].received = {1: 40}
    assert settled(po, received_all, receiving=SHP).status is RECEIVED


def test_a_backorder_is_an_open_line_confirmed_short() -> None:
    assert has_backorder(LineState(1, 11, 100, quantity_confirmed=60))
    assert has_backorder(LineState(1, 11, 100))  # not confirmed yet
    assert not has_backorder(LineState(1, 11, 100, quantity_confirmed=100))
    assert not has_backorder(LineState(1, 11, 100, quantity_confirmed=60, status=SHORT))


def test_the_order_finishes_with_its_last_open_line_unless_an_inspection_is_pending() -> None:
    po = _in_delivery()
    po.lines[1].status = RECEIVED
    po.lines[1].quantity_received = 50
    line_1 = replace(po.lines[0], quantity_received=100, status=RECEIVED)
    assert finish_after(po, []) is None  # line 1 still open
    assert finish_after(po, [line_1]) is POStatus.CLOSED
    nothing = _confirmed()
    cancelled = [replace(line, status=CANCELLED) for line in nothing.lines]
    assert finish_after(nothing, cancelled) is POStatus.CANCELLED  # nothing ever arrived
    po.inspections.append(PendingInspection("po:inspection:shp:2", SHP, 2, 50, 8))
    assert finish_after(po, [line_1]) is None

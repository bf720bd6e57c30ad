"""How the timeline names what happened: readable, translated labels for event actions, fields and
values. The events store stable identifiers (`shipment_created`, `line_2.quantity_confirmed`,
`pending_approval`); the page shows "Shipment notified (ASN)", "Line 2 · Confirmed quantity",
"Waiting for approval" in the reader's language. Each process adds its words here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from supplychain import i18n
from supplychain.approvals import NO_APPROVER_COMMENT
from supplychain.i18n import lazy
from supplychain.inspection import NO_QUALITY_APPROVER
from supplychain.invoices import NO_FINANCE_DECIDER
from web.purchasing import LINE_STATUS_LABELS, PO_STATUS_LABELS

DISPOSITION_LABELS: Mapping[str, str] = {
    "concession": lazy("Concession (accepted with a price deduction)"),
    "sorting": lazy("Sorting (every unit inspected)"),
    "return_to_vendor": lazy("Return to vendor"),
}

ACTION_LABELS: dict[str, str] = {
    # master data (admin pages)
    "created": lazy("Record created"),
    "updated": lazy("Updated"),
    "deactivated": lazy("Deactivated"),
    "reactivated": lazy("Reactivated"),
    # the approval step
    "approval.requested": lazy("Approval requested"),
    "approval.reminded": lazy("Approver reminded"),
    "approval.escalated": lazy("Approval escalated to the next level"),
    "approval.approved": lazy("Approved"),
    "approval.rejected": lazy("Approval rejected"),
    "approval.cancelled": lazy("Approval cancelled"),
    # settlement: a payment (workflows/settlement.py, workflows/payment_run.py)
    "payment.scheduled": lazy("Payment scheduled"),
    "payment.approval_requested": lazy("Finance approval requested"),
    "payment.approved": lazy("Payment approved by finance"),
    "payment.rejected": lazy("Payment rejected by finance"),
    "payment.early_payment_requested": lazy("Early payment requested"),
    "payment.early_payment_approved": lazy("Early payment agreed"),
    "payment.early_payment_refused": lazy("Early payment refused"),
    "payment.ready": lazy("Due: ready for the payment run"),
    "payment.instructed": lazy("Handed to the bank"),
    "payment.paid": lazy("Paid"),
    "payment.failed": lazy("Payment failed at the bank"),
    "payment.retried": lazy("Payment retried"),
    "payment.cancelled": lazy("Payment cancelled"),
    # replenishment
    "sent": lazy("Sent to the supplier"),
    "approval_rejected": lazy("Not approved"),
    "confirmation_reminder_sent": lazy("Supplier reminded to confirm"),
    "confirmation_escalated": lazy("Unconfirmed order escalated to the buyers"),
    "confirmed": lazy("Confirmed by the supplier"),
    "rejected_by_supplier": lazy("Rejected by the supplier"),
    "shipment_created": lazy("Shipment notified (ASN)"),
    "shipment_received": lazy("Shipment received"),
    "line_overdue": lazy("Line overdue"),
    "line_short_closed": lazy("Line short-closed"),
    "closed": lazy("Closed"),
    "inspection_finished": lazy("Inspection finished"),
    "transferred_on": lazy("Sent on to the store by transfer"),
    "cancelled": lazy("Cancelled"),
    # inspection of a received lot ("created" above: the lot is waiting for inspection)
    "accepted": lazy("Lot accepted"),
    "rejected": lazy("Lot rejected"),
    "skipped": lazy("Lot accepted without inspection (skip-lot)"),
    "severity_changed": lazy("Inspection severity changed"),
    "disposition": lazy("HQ quality decided on the lot"),
    "acceptance_discontinued": lazy("Acceptance by sampling discontinued: HQ decides the lot"),
    "sorted": lazy("Lot sorted (every unit inspected)"),
    "return_opened": lazy("Return to vendor opened"),
    "return_acknowledged": lazy("Return acknowledged by the supplier"),
    # supplier statements ("created": collected; "confirmed": above)
    "line_disputed": lazy("Line disputed by the supplier"),
    "dispute_resolved": lazy("Dispute resolved by the buyer"),
    "reminder_sent": lazy("Reminder sent"),
    "escalated": lazy("Escalated"),
    "schedule_paused": lazy("Statement schedule paused"),
    "schedule_resumed": lazy("Statement schedule resumed"),
    "invoice_received": lazy("Invoice uploaded by the supplier"),
    "invoice_accepted": lazy("Invoice accepted by finance despite the difference"),
    "invoice_rejected": lazy("Invoice rejected by finance"),
    "settlement_handover": lazy("Handed over to settlement"),
    # transfers ("created", "approval_rejected", "cancelled": above)
    "reserved": lazy("Stock reserved at the source"),
    "not_available": lazy("Not enough stock at the source"),
    "dispatch_reminder_sent": lazy("Source reminded to dispatch"),
    "dispatch_escalated": lazy("Undispatched transfer escalated to HQ"),
    "dispatched": lazy("Dispatched"),
    "received": lazy("Received at the destination"),
    "loss_written_off": lazy("Loss written off by HQ"),
    "loss_refused": lazy("Loss not accepted: to be counted again"),
    # supplier quality standing (scorecard)
    "reduced_approved": lazy("Reduced inspection approved"),
    "resumed_after_corrective_action": lazy("Inspection resumed after corrective action"),
}

FIELD_LABELS: dict[str, str] = {
    "status": lazy("Status"),
    "status_reason": lazy("Reason"),
    "lines": lazy("Lines"),
    "total_amount": lazy("Total"),
    "amount": lazy("Amount"),
    "approval": lazy("Approval"),
    "assignee_user_id": lazy("Approver"),
    "level": lazy("Level"),
    "quantity_confirmed": lazy("Confirmed quantity"),
    "promised_date": lazy("Promised date"),
    "quantity_shipped": lazy("Shipped"),
    "quantity_received": lazy("Received"),
    "shipment_quantity": lazy("Shipped"),
    "shipped": lazy("Shipped"),
    "received": lazy("Received"),
    "over_short": lazy("Over (+) / short (−)"),
    "shipment": lazy("Shipment"),
    "carrier": lazy("Carrier"),
    "tracking_number": lazy("Tracking number"),
    "eta": lazy("ETA"),
    "hours": lazy("Hours"),
    "line": lazy("Line"),
    "is_active": lazy("Active"),
    # a receipt line's lots (batches or tranches), each inspected on its own
    "lot_no": lazy("Lot"),
    "batch_no": lazy("Batch number"),
    # inspection
    "verdict": lazy("Verdict"),
    "quantity_accepted": lazy("Accepted quantity"),
    "quantity_rejected": lazy("Rejected quantity"),
    "po_number": lazy("Purchase order"),
    "shipment_number": lazy("Shipment"),
    "line_no": lazy("Line"),
    "lot_size": lazy("Lot size"),
    "sample_size": lazy("Sample size"),
    "critical_defects": lazy("Critical defects"),
    "major_defects": lazy("Major defects"),
    "minor_defects": lazy("Minor defects"),
    "accepted_quantity": lazy("Accepted quantity"),
    "rejected_quantity": lazy("Rejected quantity"),
    "severity": lazy("Inspection severity"),
    "disposition": lazy("Decision"),
    "deduction_percent": lazy("Price deduction in percent"),
    "debit_note": lazy("Debit note"),
    "return": lazy("Return to vendor"),
    "quantity": lazy("Quantity"),
    "choice": lazy("Decision"),
    # supplier statements
    "period_start": lazy("Period from"),
    "period_end": lazy("Period to"),
    "round": lazy("Round"),
    "supplier_net_amount": lazy("Supplier's figure"),
    "net_amount": lazy("Net"),
    "resolution": lazy("Resolution"),
    "statement_cycle": lazy("Statement cycle"),
    "payment_days": lazy("Payment days (T+N)"),
    "due_date_mode": lazy("Due date counted in"),
    "prices_include_tax": lazy("Statement prices include VAT"),
    "tolerance_amount": lazy("Match tolerance (CNY)"),
    "tolerance_percent": lazy("Match tolerance (percent)"),
    "early_payment_percent_per_day": lazy("Early-payment discount (percent per day)"),
    # supplier invoices
    "invoice_number": lazy("Invoice number"),
    "invoice_date": lazy("Invoice date"),
    "match": lazy("Match"),
    "amount_difference": lazy("Difference excluding tax"),
    "tax_difference": lazy("Difference in tax"),
    "total_difference": lazy("Difference including tax"),
    "matched_on": lazy("Matched on (T)"),
    # transfers
    "origin": lazy("Origin"),
    "expected_arrival": lazy("Expected arrival"),
    "missing": lazy("Short or damaged, per line"),
    "receipt": lazy("Receipt"),
}

VALUE_LABELS: dict[str, Mapping[str, str]] = {
    "status": {
        **{str(k): v for k, v in [*PO_STATUS_LABELS.items(), *LINE_STATUS_LABELS.items()]},
        "awaiting_confirmation": lazy("Waiting for the supplier's confirmation"),
        "disputed": lazy("Disputed"),
        "match_exception": lazy("Invoice mismatch"),
        "matched": lazy("Matched"),
        # transfers (pending approval, approval rejected, cancelled: as a purchase order's)
        "requested": lazy("Reserving stock"),
        "not_available": lazy("Not enough stock"),
        "reserved": lazy("Waiting for dispatch"),
        "in_transit": lazy("On its way"),
        "loss_pending": lazy("Loss waiting for HQ approval"),
        "completed": lazy("Completed"),
    },
    "origin": {
        "requested": lazy("Requested"),
        "sourcing": lazy("Served from warehouse stock"),
        "planner": lazy("Proposed by the planner"),
    },
    "match": {
        "matched": lazy("Matched"),
        "mismatch": lazy("Differs: waiting for finance"),
        "accepted": lazy("Accepted by finance"),
        "rejected": lazy("Rejected by finance"),
    },
    "approval": {
        "pending": lazy("Pending"),
        "approved": lazy("Approved"),
        "rejected": lazy("Rejected"),
        "cancelled": lazy("Cancelled"),
    },
    "verdict": {
        "pending": lazy("Waiting for inspection"),
        "accepted": lazy("Accepted"),
        "rejected": lazy("Rejected"),
        "skipped": lazy("Skipped (skip-lot)"),
    },
    "severity": {
        "normal": lazy("Normal"),
        "tightened": lazy("Tightened"),
        "reduced": lazy("Reduced"),
        "discontinued": lazy("Discontinued"),
    },
    "disposition": DISPOSITION_LABELS,
    "choice": DISPOSITION_LABELS,
    "resolution": {
        "accepted_supplier": lazy("Supplier's figure accepted"),
        "kept_ours": lazy("Our figure kept"),
        "adjusted": lazy("Adjusted"),
    },
}

# `line_2.quantity_confirmed`; a line's lot: `line_1.lot_2.batch_no`.
LINE_FIELD = re.compile(r"line_(\d+)\.(.+)")
LOT_FIELD = re.compile(r"lot_(\d+)\.(.+)")
# Fields that hold what a person typed (a batch number may look like a date): shown as typed.
VERBATIM_FIELDS = frozenset({"batch_no", "tracking_number", "carrier", "shipment"})
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# Notes a workflow writes itself rather than a person (a timeline note, an RTV reason): stored as
# the English message id, shown in the reader's language. Anything else is a person's words, as typed.
SYSTEM_NOTES = frozenset({NO_APPROVER_COMMENT, NO_QUALITY_APPROVER, NO_FINANCE_DECIDER})


def note_label(note: str) -> str:
    return i18n.translate(note) if note in SYSTEM_NOTES else note


def action_label(action: str) -> str:
    return i18n.translate(ACTION_LABELS.get(action, action))


def field_label(key: str) -> str:
    line = LINE_FIELD.fullmatch(key)
    if line:
        return i18n.gettext("Line %(line)s · %(field)s", line=line.group(1), field=field_label(line.group(2)))
    lot = LOT_FIELD.fullmatch(key)
    if lot:
        return i18n.gettext("Lot %(lot)s · %(field)s", lot=lot.group(1), field=field_label(lot.group(2)))
    return i18n.translate(FIELD_LABELS.get(key, key))


def value_label(key: str, value: Any) -> str:
    """A value as a person reads it: status names translated, dates and amounts per locale."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return i18n.gettext("Yes") if value else i18n.gettext("No")
    name = key.rsplit(".", 1)[-1]  # `line_1.lot_2.batch_no` -> `batch_no`
    if name in VERBATIM_FIELDS:
        return str(value)
    labels = VALUE_LABELS.get(name)
    if labels is not None and str(value) in labels:
        return i18n.translate(labels[str(value)])
    if isinstance(value, datetime | date):
        return i18n.format_date(value)
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        return i18n.format_date(date.fromisoformat(value))
    if isinstance(value, Decimal) or name in {"total_amount", "amount"}:
        try:
            return i18n.format_money(Decimal(str(value)))
        except ArithmeticError:
            return str(value)
    return str(value)

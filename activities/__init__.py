"""Activities: the only code with side effects. `ACTIVITIES` is the one list the worker registers.

Each business process adds its module's activities here (`activities/<process>.py`); the shared
ones (events, notifications) are used by every process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities import (
    approval,
    events,
    inspection,
    notifications,
    replenishment,
    settlement,
    statement,
    statement_invoice,
)

ACTIVITIES: list[Callable[..., Any]] = [
    events.record_event,
    notifications.notify,
    notifications.notify_role,
    approval.resolve_approval_chain,
    approval.open_approval_request,
    approval.remind_approver,
    approval.escalate_approval,
    approval.record_approval_decision,
    approval.cancel_approval_request,
    replenishment.record_purchase_order,
    replenishment.record_po_sent,
    replenishment.record_approval_rejected,
    replenishment.record_confirmation_reminder,
    replenishment.record_confirmation_escalated,
    replenishment.record_lines_confirmed,
    replenishment.record_supplier_rejection,
    replenishment.record_po_cancelled,
    replenishment.record_line_short_closed,
    replenishment.record_line_overdue,
    replenishment.record_shipment_created,
    replenishment.record_shipment_received,
    replenishment.record_inspection_finished,
    # POs started before ReplenishmentWorkflow's NAMED_STEPS_PATCH call these until they end.
    replenishment.update_purchase_order,
    replenishment.notify_purchase_order,
    replenishment.record_shipment,
    replenishment.record_shipment_receipt,
    replenishment.post_receipt_to_stock,
    inspection.record_inspection,
    inspection.record_inspection_verdict,
    inspection.notify_inspection,
    inspection.apply_inspection_switching,
    inspection.hold_lot_for_decision,
    inspection.record_inspection_disposition,
    inspection.record_inspection_sorting,
    inspection.check_lot_certificates,
    inspection.release_inspected_lot,
    inspection.open_return_to_vendor,
    inspection.acknowledge_return_to_vendor,
    statement.plan_statement_run,
    statement.collect_statement,
    statement.record_statement_confirmed,
    statement.record_statement_line_disputed,
    statement.record_statement_dispute_resolved,
    statement.record_statement_reminder,
    statement.record_statement_escalated,
    statement_invoice.record_supplier_invoice,
    statement_invoice.record_invoice_decision,
    statement_invoice.hand_over_to_settlement,
    settlement.schedule_payment,
    settlement.record_payment_approval_requested,
    settlement.record_payment_approval_decided,
    settlement.record_early_payment_requested,
    settlement.record_early_payment_decided,
    settlement.record_payment_ready,
    settlement.record_payment_paid,
    settlement.record_payment_failed,
    settlement.record_payment_retried,
    settlement.record_payment_cancelled,
    settlement.write_payment_instructions,
    settlement.record_payment_run,
]

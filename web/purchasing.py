"""Pieces shared by the purchase-order and shipment pages: labels, lookups, parsing, Update calls.

The routes in `web.routes.purchase_orders` and `web.routes.shipments` stay thin: they find the
document through the user's scope (404 for anyone else's), parse the form with the helpers here,
call the workflow Update through `run_update` and show its refusal, if any, on the page.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy import select
from sqlmodel import Session, col
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from supplychain import i18n
from supplychain.document_header import company_party
from supplychain.i18n import lazy
from supplychain.models import (
    POLineStatus,
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    ReceiptLot,
    Shipment,
    ShipmentLine,
    ShipmentLineBatch,
    ShipmentStatus,
    Sku,
)
from supplychain.pdf_documents import Party, PurchaseOrderDocument, PurchaseOrderLineView, totals_by_vat_rate
from supplychain.principal import Principal
from supplychain.purchasing import receipt_lots, shipment_batches
from supplychain.rules.dates import business_date
from supplychain.rules.money import line_tax
from web.deps import Scope, names_for
from web.form_ids import Outcome, earlier_result, submitted_form_id, update_id
from web.workflow_calls import await_on_loop
from web.workflow_errors import rejection_message
from workflows.replenishment import BatchInput

log = logging.getLogger(__name__)

# The document page shows the DB state at once when the workflow does not answer in time.
QUERY_TIMEOUT_SECONDS = 3.0
# A quantity nobody means: refuses typos like 10000000 before anything starts.
MAX_QUANTITY = 1_000_000
_WHOLE_NUMBER = re.compile(r"^[+-]?\d+$", re.ASCII)
# Batch rows per line a form accepts: far more than any delivery has, few enough to refuse junk.
MAX_BATCH_ROWS = 50
BATCH_NO_MAX_LENGTH = 64  # ShipmentLineBatch.batch_no / ReceiptLot.batch_no

PO_STATUS_LABELS: dict[POStatus, str] = {
    POStatus.PENDING_APPROVAL: lazy("Waiting for approval"),
    POStatus.APPROVAL_REJECTED: lazy("Approval rejected"),
    POStatus.SENT: lazy("Waiting for supplier confirmation"),
    POStatus.CONFIRMED: lazy("Confirmed by supplier"),
    POStatus.SUPPLIER_REJECTED: lazy("Rejected by supplier"),
    POStatus.IN_DELIVERY: lazy("In delivery"),
    POStatus.CLOSED: lazy("Closed"),
    POStatus.CANCELLED: lazy("Cancelled"),
}
LINE_STATUS_LABELS: dict[POLineStatus, str] = {
    POLineStatus.OPEN: lazy("Open"),
    POLineStatus.SHORT_CLOSED: lazy("Short-closed"),
    POLineStatus.CANCELLED: lazy("Cancelled"),
    POLineStatus.RECEIVED: lazy("Received"),
}
SHIPMENT_STATUS_LABELS: dict[ShipmentStatus, str] = {
    ShipmentStatus.IN_TRANSIT: lazy("In transit"),
    ShipmentStatus.RECEIVED: lazy("Received"),
}
OPEN_PO_STATUSES = frozenset(s for s in POStatus if not s.is_final)


def labels() -> dict[str, Any]:
    """Status labels for the templates (message ids; templates translate them)."""
    return {
        "po_status_labels": PO_STATUS_LABELS,
        "line_status_labels": LINE_STATUS_LABELS,
        "shipment_status_labels": SHIPMENT_STATUS_LABELS,
    }


# --- finding documents ---------------------------------------------------------------------------


def po_or_404(scope: Scope, number: str) -> PurchaseOrder:
    """The purchase order if this user may see it; 404 otherwise (whether or not it exists)."""
    po: PurchaseOrder | None = scope.session.execute(
        scope.select(PurchaseOrder).where(col(PurchaseOrder.number) == number)
    ).scalar_one_or_none()
    if po is None:
        raise HTTPException(status_code=404)
    return po


def shipment_or_404(scope: Scope, number: str) -> tuple[Shipment, PurchaseOrder]:
    shipment: Shipment | None = scope.session.execute(
        scope.select(Shipment).where(col(Shipment.number) == number)
    ).scalar_one_or_none()
    if shipment is None:
        raise HTTPException(status_code=404)
    return shipment, scope.get(PurchaseOrder, shipment.purchase_order_id)


def po_lines(session: Session, po: PurchaseOrder) -> list[PurchaseOrderLine]:
    return list(
        session.execute(
            select(PurchaseOrderLine)
            .where(col(PurchaseOrderLine.purchase_order_id) == po.id)
            .order_by(col(PurchaseOrderLine.line_no))
        ).scalars()
    )


@dataclass(frozen=True)
class ShipmentView:
    shipment: Shipment
    lines: list[tuple[ShipmentLine, PurchaseOrderLine]]
    # By shipment line id: the batches the ASN announced, and the lots the line was received in.
    batches: dict[int, list[ShipmentLineBatch]] = field(default_factory=dict)
    lots: dict[int, list[ReceiptLot]] = field(default_factory=dict)

    @property
    def total_shipped(self) -> int:
        return sum(sl.quantity_shipped for sl, _ in self.lines)


def po_shipments(session: Session, po: PurchaseOrder) -> list[ShipmentView]:
    shipments = list(
        session.execute(
            select(Shipment)
            .where(col(Shipment.purchase_order_id) == po.id)
            .order_by(col(Shipment.created_at), col(Shipment.id))
        ).scalars()
    )
    return [shipment_view(session, s) for s in shipments]


def shipment_view(session: Session, shipment: Shipment) -> ShipmentView:
    rows = session.execute(
        select(ShipmentLine, PurchaseOrderLine)
        .join(PurchaseOrderLine, col(ShipmentLine.po_line_id) == col(PurchaseOrderLine.id))
        .where(col(ShipmentLine.shipment_id) == shipment.id)
        .order_by(col(PurchaseOrderLine.line_no))
    ).all()
    ids = [sl.id for sl, _ in rows if sl.id is not None]
    return ShipmentView(
        shipment=shipment,
        lines=[(sl, pl) for sl, pl in rows],
        batches=shipment_batches(session, ids),
        lots=receipt_lots(session, ids),
    )


def sku_label(sku: Sku | None) -> str:
    if sku is None:
        return ""
    name = sku.name if i18n.get_locale() == "zh_CN" or not sku.name_en else sku.name_en
    return f"{sku.code} {name}"


# --- the purchase order as a PDF ------------------------------------------------------------------


def purchase_order_document(session: Session, po: PurchaseOrder) -> PurchaseOrderDocument:
    """The PDF's view of a purchase order already found through the user's scope (`po_or_404`)."""
    lines = po_lines(session, po)
    names = names_for(
        session,
        org_ids={po.supplier_id, po.requester_org_id},
        location_ids={po.requested_for_location_id, po.ship_to_location_id},
        sku_ids={line.sku_id for line in lines},
    )
    orgs, locs, skus = names["orgs"], names["locs"], names["skus"]
    views = tuple(
        PurchaseOrderLineView(
            line_no=line.line_no,
            sku_code=skus[line.sku_id].code,
            description=skus[line.sku_id].name,
            description_en=skus[line.sku_id].name_en,
            quantity_ordered=line.quantity_ordered,
            quantity_confirmed=line.quantity_confirmed,
            promised_date=line.promised_date,
            unit_price=line.unit_price,
            vat_rate=line.tax_rate,
            amount=line.line_amount,
            tax=line_tax(line.line_amount, line.tax_rate),  # as the order's tax_amount was summed
            status_label="" if line.status == POLineStatus.OPEN else LINE_STATUS_LABELS[line.status],
        )
        for line in lines
    )
    ship_to = locs[po.ship_to_location_id]
    return PurchaseOrderDocument(
        number=po.number,
        order_date=business_date(po.created_at),
        sent_date=business_date(po.sent_at) if po.sent_at else None,
        company=company_party(session),
        supplier=Party(name=orgs[po.supplier_id].name),
        requester=f"{orgs[po.requester_org_id].name} · {locs[po.requested_for_location_id].name}",
        ship_to=Party(name=ship_to.name, address=ship_to.address),
        status_label=PO_STATUS_LABELS[po.status],
        lines=views,
        vat_totals=totals_by_vat_rate((v.vat_rate, v.amount, v.tax) for v in views),
        net_total=po.net_amount,
        tax_total=po.tax_amount,
        grand_total=po.total_amount,
        currency=po.currency,
        note=po.note,
    )


# --- parsing form input --------------------------------------------------------------------------


def parse_quantity(text: str, *, allow_zero: bool = True) -> tuple[int | None, str]:
    """A whole number typed by a person: (value, "") or (None, a message to show beside the field)."""
    text = text.strip().replace(",", "")
    if not _WHOLE_NUMBER.match(text):
        return None, i18n.gettext("Enter a whole number, for example 12.")
    value = int(text)
    if value < 0:
        return None, i18n.gettext("The quantity cannot be negative.")
    if value == 0 and not allow_zero:
        return None, i18n.gettext("Enter a quantity of at least 1.")
    if value > MAX_QUANTITY:
        return None, i18n.gettext("Enter at most %(max)s.", max=i18n.format_decimal(MAX_QUANTITY, places=0))
    return value, ""


def parse_date(text: str) -> tuple[date | None, str]:
    text = text.strip()
    try:
        return date.fromisoformat(text), ""
    except ValueError:
        return None, i18n.gettext("Enter a date as YYYY-MM-DD, for example 2026-03-31.")


def form_text(form: Any, name: str, max_length: int = 1000) -> str:
    value = form.get(name, "")
    return (value if isinstance(value, str) else "").strip()[:max_length]


@dataclass(frozen=True)
class BatchFields:
    """The field names of one kind of batch row: `<batch>-<line no>-<row>`, and so on."""

    batch: str
    expiry: str
    quantity: str

    def names(self, line_no: int, index: int) -> tuple[str, str, str]:
        return (
            f"{self.batch}-{line_no}-{index}",
            f"{self.expiry}-{line_no}-{index}",
            f"{self.quantity}-{line_no}-{index}",
        )


ASN_BATCH = BatchFields("batch_no", "batch_expiry", "batch_qty")  # the supplier's ASN
RECEIPT_LOT = BatchFields("lot_batch", "lot_expiry", "lot_qty")  # the warehouse's receipt


@dataclass
class BatchRow:
    """One batch row of a form as typed (shown back as typed when the form is refused)."""

    index: int
    batch_no: str = ""
    expiry: str = ""
    quantity: str = ""

    @property
    def blank(self) -> bool:
        return not (self.batch_no.strip() or self.expiry.strip() or self.quantity.strip())


def batch_row_of(index: int, batch: ShipmentLineBatch) -> BatchRow:
    """An ASN batch as a row of the receipt form (pre-filled for the warehouse)."""
    expiry = batch.expiry_date.isoformat() if batch.expiry_date else ""
    return BatchRow(index, batch.batch_no, expiry, str(batch.quantity))


def form_batch_rows(form: Mapping[str, str], fields: BatchFields, line_no: int) -> list[BatchRow] | None:
    """The rows of one line as posted, by row number; None when the form has none for this line."""
    pattern = re.compile(
        rf"^(?:{re.escape(fields.batch)}|{re.escape(fields.expiry)}|{re.escape(fields.quantity)})"
        rf"-{line_no}-(\d{{1,4}})$",
        re.ASCII,
    )
    indexes = sorted({int(found.group(1)) for name in form if (found := pattern.match(name))})
    if not indexes:
        return None
    rows = []
    for index in indexes:
        batch, expiry, quantity = fields.names(line_no, index)
        rows.append(BatchRow(index, form.get(batch, ""), form.get(expiry, ""), form.get(quantity, "")))
    return rows


def padded(rows: list[BatchRow], minimum: int) -> list[BatchRow]:
    """The rows plus empty ones up to `minimum`: without JavaScript nobody can add a row."""
    next_index = max((row.index for row in rows), default=0) + 1
    extra = [BatchRow(next_index + i) for i in range(max(0, minimum - len(rows)))]
    return rows + extra


def parse_batch_rows(
    rows: list[BatchRow], fields: BatchFields, line_no: int
) -> tuple[list[BatchInput], dict[str, str]]:
    """The non-empty rows as batches, or messages beside the fields that cannot be read.

    Only what cannot be read is refused here; whether the batches fit the line (a batch number
    where the SKU needs one, quantities adding up, no past expiry) is the workflow's to decide.
    """
    batches: list[BatchInput] = []
    errors: dict[str, str] = {}
    filled = [row for row in rows if not row.blank]
    if len(filled) > MAX_BATCH_ROWS or any(row.index > MAX_BATCH_ROWS for row in filled):
        errors[fields.names(line_no, filled[-1].index)[2]] = i18n.gettext(
            "Enter at most %(max)s batches per line.", max=MAX_BATCH_ROWS
        )
        return [], errors
    for row in filled:
        batch_name, expiry_name, quantity_name = fields.names(line_no, row.index)
        batch_no = row.batch_no.strip()
        if len(batch_no) > BATCH_NO_MAX_LENGTH:
            errors[batch_name] = i18n.gettext("Enter at most %(max)s characters.", max=BATCH_NO_MAX_LENGTH)
        expiry: date | None = None
        if row.expiry.strip():
            expiry, error = parse_date(row.expiry)
            if error:
                errors[expiry_name] = error
        quantity, error = (
            parse_quantity(row.quantity, allow_zero=False)
            if row.quantity.strip()
            else (None, i18n.gettext("This field is required."))
        )
        if error:
            errors[quantity_name] = error
        if quantity is not None:
            batches.append(BatchInput(batch_no=batch_no, expiry_date=expiry, quantity=quantity))
    return ([], errors) if errors else (batches, {})


# --- talking to the workflow ---------------------------------------------------------------------


async def temporal_client(request: Request) -> Client | None:
    """The app's Temporal client, or None when the server cannot be reached."""
    client: Client | None = await request.app.state.temporal.get()
    return client


@dataclass(frozen=True)
class UpdateOutcome:
    """What a workflow Update answered: its result, or the message to show the user instead."""

    refusal: str | None = None
    result: Any = None


async def run_update(
    request: Request, workflow_id: str, update: Any, arg: Any, update_id: str | None = None
) -> UpdateOutcome:
    """Run a workflow Update (as the form's Update id when it has one: `web.form_ids`)."""
    client = await temporal_client(request)
    if client is None:
        return UpdateOutcome(
            i18n.gettext(
                "The order process cannot be reached right now. Nothing was changed; please try again."
            )
        )
    try:
        result = await client.get_workflow_handle(workflow_id).execute_update(update, arg, id=update_id)
    except WorkflowUpdateFailedError as err:
        return UpdateOutcome(rejection_message(err))
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:  # the process has finished: nothing can change
            return UpdateOutcome(
                i18n.gettext("This purchase order is finished; nothing can be changed any more.")
            )
        log.error("Update %s on %s failed: %s", getattr(update, "__name__", update), workflow_id, err)
        return UpdateOutcome(i18n.gettext("This could not be done right now. Please try again."))
    return UpdateOutcome(result=result)


def form_update_refusal(
    request: Request,
    session: Session,
    user: Principal,
    workflow_id: str,
    update: Any,
    arg: Any,
    form: Mapping[str, str],
    *,
    is_final: bool,
    final_message: str,
) -> str | None:
    """From a sync route: run a form's Update as the form's one-time id; the refusal to show, or
    None when it was done. A finished document is refused from the database, unless the form has its
    id: then the workflow is asked, because this very form may be what finished it (a double submit
    gets the first one's answer)."""
    form_id = submitted_form_id(form)
    if is_final and form_id is None:
        return final_message
    refusal = await_on_loop(
        session, run_update, request, workflow_id, update, arg, update_id(form_id, update, user)
    ).refusal
    return final_message if refusal and is_final else refusal


def repeated_form_result(
    request: Request, session: Session, workflow_id: str, update: Any, update_id: str | None
) -> Outcome | None:
    """From a sync route: the result of the `update` this form already sent
    (`web.form_ids.earlier_result`)."""
    if update_id is None:
        return None
    return await_on_loop(session, _earlier_result, request, workflow_id, update, update_id)


async def _earlier_result(request: Request, workflow_id: str, update: Any, update_id: str) -> Outcome | None:
    return await earlier_result(await temporal_client(request), workflow_id, update, update_id)


async def query_state(request: Request, workflow_id: str, query: Any) -> Any | None:
    """The workflow's live state, best effort: None when Temporal is unreachable or slow."""
    client = await temporal_client(request)
    if client is None:
        return None
    try:
        return await asyncio.wait_for(
            client.get_workflow_handle(workflow_id).query(query), timeout=QUERY_TIMEOUT_SECONDS
        )
    except Exception as exc:  # the page falls back to the recorded state
        log.warning("Query of %s failed: %r", workflow_id, exc)
        return None

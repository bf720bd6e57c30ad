"""Transfer pages (DESIGN 4.2): ask for goods from another location, dispatch them, receive them.

- `/transfers`: the transfers leaving or reaching the user's locations (HQ: every one).
- `/transfers/new`: a store or warehouse asks another location for stock; the form shows what each
  location of the chain has available of the chosen SKUs (nearby first: same region).
- `/transfers/{number}`: lines, quantities, the timeline; the source dispatches (carrier, tracking,
  expected arrival), the destination counts what arrived (good and damaged per line), the requester
  or HQ cancels before dispatch.

Routes only authenticate, authorize (role: 403; organisation: 404 through `OrgScope`), parse and
call TransferWorkflow's Updates; its validators decide what the current state allows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlmodel import Session, col
from starlette.responses import Response
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from supplychain import i18n, transfers
from supplychain.events import timeline
from supplychain.i18n import lazy
from supplychain.models import (
    Location,
    LocationKind,
    Role,
    Sku,
    StockBalance,
    Transfer,
    TransferOrigin,
    TransferStatus,
)
from supplychain.numbering import reserve_number
from supplychain.principal import Principal
from supplychain.settings import settings
from web.deps import FieldsDep, OrgScope, PageNumber, Scope, names_for, require_roles
from web.flash import flash
from web.purchasing import form_text, form_update_refusal, sku_label, temporal_client
from web.templating import render
from web.workflow_calls import await_on_loop
from workflows.common import BUSINESS_TIMEZONE, business_date
from workflows.transfer import (
    CancelTransferInput,
    DispatchTransferInput,
    ReceivedLine,
    ReceiveTransferInput,
    TransferInput,
    TransferLineInput,
    TransferWorkflow,
    WaitRecordedInput,
    transfer_workflow_id,
)

log = logging.getLogger(__name__)
router = APIRouter()

TRANSFER_ROLES = (Role.STORE, Role.WAREHOUSE, Role.BUYER, Role.APPROVER, Role.ADMIN)
TransferUser = Annotated[Principal, Depends(require_roles(*TRANSFER_ROLES))]
RequestingUser = Annotated[Principal, Depends(require_roles(Role.STORE, Role.WAREHOUSE))]
PER_PAGE = 25
MAX_LINES = 10
MAX_QUANTITY = 1_000_000
STATUS_LABELS: dict[TransferStatus, str] = {
    TransferStatus.REQUESTED: lazy("Reserving stock"),
    TransferStatus.PENDING_APPROVAL: lazy("Waiting for HQ approval"),
    TransferStatus.APPROVAL_REJECTED: lazy("Rejected by HQ"),
    TransferStatus.NOT_AVAILABLE: lazy("Not enough stock"),
    TransferStatus.RESERVED: lazy("Waiting for dispatch"),
    TransferStatus.IN_TRANSIT: lazy("On its way"),
    TransferStatus.LOSS_PENDING: lazy("Loss waiting for HQ approval"),
    TransferStatus.COMPLETED: lazy("Completed"),
    TransferStatus.CANCELLED: lazy("Cancelled"),
}
ORIGIN_LABELS: dict[TransferOrigin, str] = {
    TransferOrigin.REQUESTED: lazy("Requested"),
    TransferOrigin.SOURCING: lazy("Served from warehouse stock"),
    TransferOrigin.PLANNER: lazy("Proposed by the planner"),
}


def transfer_or_404(scope: Scope, number: str) -> Transfer:
    transfer: Transfer | None = scope.session.execute(
        scope.select(Transfer).where(col(Transfer.number) == number)
    ).scalar_one_or_none()
    if transfer is None:
        raise HTTPException(status_code=404)
    return transfer


def labels() -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "origin_labels": ORIGIN_LABELS}


# --- list -----------------------------------------------------------------------------------------


@router.get("/transfers")
def transfer_list(
    request: Request, user: TransferUser, scope: OrgScope, status: str = "", page: PageNumber = 1
) -> Response:
    stmt = scope.select(Transfer).order_by(col(Transfer.id).desc())
    chosen = TransferStatus(status) if status in set(TransferStatus) else None
    if chosen is not None:
        stmt = stmt.where(col(Transfer.status) == chosen)
    rows = scope.page(stmt, page, PER_PAGE)
    names = names_for(
        scope.session,
        location_ids={t.source_location_id for t in rows} | {t.destination_location_id for t in rows},
    )
    ctx = {"user": user, "transfers": rows, "status": chosen.value if chosen else "", **labels(), **names}
    return render(request, "transfer/list.html", ctx)


# --- asking for a transfer ------------------------------------------------------------------------


@dataclass
class TransferRequest:
    source_id: int | None = None
    lines: list[tuple[Sku, int]] = field(default_factory=list)
    note: str = ""
    errors: list[str] = field(default_factory=list)


def _destination(scope: Scope, user: Principal) -> Location | None:
    """Where the user asks goods to go: the store or warehouse they work at."""
    if user.location_id is None:
        return None
    return scope.session.execute(
        scope.select(Location).where(col(Location.id) == user.location_id, col(Location.is_active).is_(True))
    ).scalar_one_or_none()


def _sources(session: Session, destination: Location) -> list[Location]:
    """Every other active location of the chain (stock can come from any of them), nearest first:
    same region first, there the regional warehouse (the one that serves the region's stores), other
    warehouses, then stores."""
    rows = session.execute(
        select(Location).where(col(Location.id) != destination.id, col(Location.is_active).is_(True))
    ).scalars()
    return sorted(
        rows,
        key=lambda loc: (
            loc.region_id != destination.region_id,
            loc.kind is not LocationKind.REGIONAL_WAREHOUSE,
            not loc.kind.is_warehouse,
            loc.name,
        ),
    )


def _availability(
    session: Session, locations: list[Location], sku_ids: set[int]
) -> dict[tuple[int, int], int]:
    """Available stock (on hand − reserved − quarantine) per (location, SKU), for the form."""
    if not sku_ids or not locations:
        return {}
    balances = session.execute(
        select(StockBalance).where(
            col(StockBalance.location_id).in_([loc.id for loc in locations]),
            col(StockBalance.sku_id).in_(sku_ids),
        )
    ).scalars()
    return {(b.location_id, b.sku_id): b.available for b in balances}


def _parse(session: Session, form: dict[str, str], sources: list[Location]) -> TransferRequest:
    parsed = TransferRequest(note=form_text(form, "note", 500))
    source_ids = {loc.id for loc in sources}
    raw_source = form.get("source", "")
    if raw_source.isdigit() and int(raw_source) in source_ids:
        parsed.source_id = int(raw_source)
    else:
        parsed.errors.append(i18n.gettext("Choose the location the goods come from."))
    codes: dict[int, tuple[str, int]] = {}
    for n in range(1, MAX_LINES + 1):
        code = form_text(form, f"sku_{n}", 64)
        raw_quantity = form_text(form, f"quantity_{n}", 12)
        if not code and not raw_quantity:
            continue
        if not raw_quantity.isdigit() or not 0 < int(raw_quantity) <= MAX_QUANTITY:
            parsed.errors.append(
                i18n.gettext(
                    "Line %(line)s: enter a whole quantity from 1 to %(max)s.", line=n, max=MAX_QUANTITY
                )
            )
            continue
        codes[n] = (code, int(raw_quantity))
    skus = {
        sku.code: sku
        for sku in session.execute(
            select(Sku).where(col(Sku.code).in_([c for c, _ in codes.values()]), col(Sku.is_active).is_(True))
        ).scalars()
    }
    seen: set[str] = set()
    for n, (code, quantity) in codes.items():
        if code not in skus:
            parsed.errors.append(i18n.gettext("Line %(line)s: there is no SKU %(code)s.", line=n, code=code))
        elif code in seen:
            parsed.errors.append(
                i18n.gettext("Line %(line)s: %(code)s is asked for twice.", line=n, code=code)
            )
        else:
            seen.add(code)
            parsed.lines.append((skus[code], quantity))
    if not parsed.lines and not parsed.errors:
        parsed.errors.append(i18n.gettext("Enter at least one SKU and quantity."))
    return parsed


def _form(
    request: Request,
    scope: Scope,
    user: Principal,
    destination: Location | None,
    form: dict[str, str],
    errors: list[str],
    *,
    status_code: int = 200,
) -> Response:
    session = scope.session
    sources = _sources(session, destination) if destination is not None else []
    codes = [form_text(form, f"sku_{n}", 64) for n in range(1, MAX_LINES + 1)]
    chosen = {
        sku.code: sku
        for sku in session.execute(select(Sku).where(col(Sku.code).in_([c for c in codes if c]))).scalars()
    }
    ctx = {
        "destination": destination,
        "sources": sources,
        "chosen_skus": chosen,
        "available": _availability(session, sources, {s.id for s in chosen.values() if s.id is not None}),
        "form": form,
        "errors": errors,
        "line_numbers": range(1, 6),
        "sku_labels": {code: sku_label(sku) for code, sku in chosen.items()},
    }
    return render(request, "transfer/new.html", ctx, status_code=status_code)


@router.get("/transfers/new")
def new_transfer(request: Request, user: RequestingUser, scope: OrgScope) -> Response:
    destination = _destination(scope, user)
    errors = [] if destination else [i18n.gettext("Your account has no store or warehouse to ask for.")]
    return _form(request, scope, user, destination, dict(request.query_params), errors)


@router.post("/transfers")
def submit_transfer(request: Request, user: RequestingUser, scope: OrgScope, form: FieldsDep) -> Response:
    session = scope.session
    destination = _destination(scope, user)
    if destination is None:
        errors = [i18n.gettext("Your account has no store or warehouse to ask for.")]
        return _form(request, scope, user, None, form, errors, status_code=400)
    parsed = _parse(session, form, _sources(session, destination))
    if parsed.errors or parsed.source_id is None:
        return _form(request, scope, user, destination, form, parsed.errors, status_code=400)
    assert destination.id is not None
    number = reserve_number(session, transfers.NUMBER_PREFIX, datetime.now(BUSINESS_TIMEZONE).year)
    start = TransferInput(
        number=number,
        origin=TransferOrigin.REQUESTED,
        source_location_id=parsed.source_id,
        destination_location_id=destination.id,
        requested_by_user_id=user.user_id,
        needs_approval=transfers.needs_approval(session, parsed.source_id, destination.id),
        lines=[TransferLineInput(n, sku.id, qty) for n, (sku, qty) in enumerate(parsed.lines, 1) if sku.id],
        note=parsed.note,
        **transfer_slas(),
    )
    client = await_on_loop(session, temporal_client, request)
    started = False
    try:
        if client is not None:
            await_on_loop(session, start_transfer, client, start)
            started = True
    except (RPCError, WorkflowAlreadyStartedError, WorkflowUpdateFailedError) as exc:
        log.error("Starting transfer %s failed: %r", number, exc)
    if not started:
        errors = [
            i18n.gettext(
                "The transfer process cannot be reached right now. Nothing was asked; please try again."
            )
        ]
        return _form(request, scope, user, destination, form, errors, status_code=503)
    flash(session, request, i18n.gettext("Transfer %(number)s was requested.", number=number))
    return RedirectResponse(f"/transfers/{number}", status_code=303)


def transfer_slas() -> dict[str, Any]:
    return {
        "dispatch_reminder_after": timedelta(hours=settings.TRANSFER_DISPATCH_REMINDER_HOURS),
        "dispatch_escalation_after": timedelta(hours=settings.TRANSFER_DISPATCH_ESCALATION_HOURS),
        "approval_reminder_after": timedelta(hours=settings.APPROVAL_REMINDER_HOURS),
        "approval_escalation_after": timedelta(hours=settings.APPROVAL_ESCALATION_HOURS),
    }


async def start_transfer(client: Client, start: TransferInput) -> None:
    """Start the transfer's workflow and wait until its rows exist, in one round trip."""
    operation = WithStartWorkflowOperation(
        TransferWorkflow.run,
        start,
        id=transfer_workflow_id(start.number),
        task_queue=settings.TEMPORAL_TASK_QUEUE,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    await client.execute_update_with_start_workflow(
        TransferWorkflow.wait_recorded, WaitRecordedInput(), start_workflow_operation=operation
    )


# --- one transfer ---------------------------------------------------------------------------------


def _works_at(user: Principal, transfer: Transfer, location_id: int, org_id: int) -> bool:
    """Staff of that side: working at the location, or its organisation's warehouse or store role
    without a location of their own."""
    if user.location_id is not None:
        return user.location_id == location_id
    return user.organisation_id == org_id and bool(user.roles & {Role.WAREHOUSE, Role.STORE})


def _may(user: Principal, transfer: Transfer) -> dict[str, bool]:
    """Who may take each step, whatever the state: the source dispatches, the destination receives;
    a transfer someone asked for is theirs to cancel, one HQ's planning or sourcing made is HQ's
    buyers' and admins'. (The workflow decides whether the state allows it, so a repeated form
    still gets the first one's answer.)"""
    hq_logistics = user.is_hq and bool(user.roles & {Role.BUYER, Role.ADMIN})
    asked = transfer.origin is TransferOrigin.REQUESTED
    return {
        "dispatch": _works_at(user, transfer, transfer.source_location_id, transfer.source_org_id),
        "receive": _works_at(user, transfer, transfer.destination_location_id, transfer.destination_org_id),
        "cancel": user.user_id == transfer.requested_by_user_id if asked else hq_logistics,
    }


def _actions(user: Principal, transfer: Transfer) -> dict[str, bool]:
    """The forms the page shows: what the user may do that the state allows now."""
    may = _may(user, transfer)
    return {
        "dispatch": may["dispatch"] and transfer.status is TransferStatus.RESERVED,
        "receive": may["receive"] and transfer.status is TransferStatus.IN_TRANSIT,
        "cancel": may["cancel"]
        and transfer.status
        in (TransferStatus.REQUESTED, TransferStatus.PENDING_APPROVAL, TransferStatus.RESERVED),
    }


def _detail(
    request: Request,
    user: Principal,
    scope: Scope,
    transfer: Transfer,
    *,
    error: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    session = scope.session
    assert transfer.id is not None
    lines = transfers.transfer_lines(session, transfer.id)
    names = names_for(
        session,
        location_ids={transfer.source_location_id, transfer.destination_location_id},
        user_ids={transfer.requested_by_user_id},
        sku_ids={line.sku_id for line in lines},
    )
    ctx = {
        "user": user,
        "transfer": transfer,
        "lines": lines,
        "sku_labels": {sku_id: sku_label(sku) for sku_id, sku in names["skus"].items()},
        "timeline": timeline(session, transfers.DOCUMENT_TYPE, transfer.number),
        "actions": _actions(user, transfer),
        "today": business_date(datetime.now(BUSINESS_TIMEZONE)),
        "error": error,
        "form": form or {},
        **labels(),
        **names,
    }
    return render(request, "transfer/detail.html", ctx, status_code=status_code)


@router.get("/transfers/{number}")
def transfer_detail(request: Request, number: str, user: TransferUser, scope: OrgScope) -> Response:
    return _detail(request, user, scope, transfer_or_404(scope, number))


def _act(
    request: Request,
    user: Principal,
    scope: Scope,
    transfer: Transfer,
    allowed: str,
    update: Any,
    arg: Any,
    *,
    done: str,
    form: dict[str, str],
) -> Response:
    if not _may(user, transfer)[allowed]:
        raise HTTPException(status_code=403)
    error = form_update_refusal(
        request,
        scope.session,
        user,
        transfer.workflow_id,
        update,
        arg,
        form,
        is_final=transfer.status.is_final,
        final_message=i18n.gettext("This transfer is finished; nothing can be changed any more."),
    )
    if error:
        transfer = transfer_or_404(scope, transfer.number)
        return _detail(request, user, scope, transfer, error=error, form=form, status_code=400)
    flash(scope.session, request, done)
    return RedirectResponse(f"/transfers/{transfer.number}", status_code=303)


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


@router.post("/transfers/{number}/dispatch")
def dispatch_transfer(
    request: Request, number: str, user: TransferUser, scope: OrgScope, form: FieldsDep
) -> Response:
    transfer = transfer_or_404(scope, number)
    arrival = _date(form.get("expected_arrival", ""))
    if arrival is None:
        error = i18n.gettext("Enter the expected arrival as a date.")
        return _detail(request, user, scope, transfer, error=error, form=form, status_code=400)
    arg = DispatchTransferInput(
        actor_user_id=user.user_id,
        carrier=form_text(form, "carrier", 200),
        tracking_number=form_text(form, "tracking_number", 200),
        expected_arrival=arrival,
    )
    done = i18n.gettext("Transfer %(number)s was dispatched.", number=number)
    return _act(
        request,
        user,
        scope,
        transfer,
        "dispatch",
        TransferWorkflow.dispatch_transfer,
        arg,
        done=done,
        form=form,
    )


@router.post("/transfers/{number}/receive")
def receive_transfer(
    request: Request, number: str, user: TransferUser, scope: OrgScope, form: FieldsDep
) -> Response:
    transfer = transfer_or_404(scope, number)
    assert transfer.id is not None
    lines: list[ReceivedLine] = []
    for line in transfers.transfer_lines(scope.session, transfer.id):
        good = form_text(form, f"received_{line.line_no}", 12)
        damaged = form_text(form, f"damaged_{line.line_no}", 12) or "0"
        if not good and f"received_{line.line_no}" not in form:
            continue
        if not good.isdigit() or not damaged.isdigit():
            error = i18n.gettext("Line %(line)s: enter whole numbers (0 or more).", line=line.line_no)
            return _detail(request, user, scope, transfer, error=error, form=form, status_code=400)
        lines.append(
            ReceivedLine(line.line_no, min(int(good), MAX_QUANTITY + 1), min(int(damaged), MAX_QUANTITY + 1))
        )
    arg = ReceiveTransferInput(actor_user_id=user.user_id, lines=lines, note=form_text(form, "note", 600))
    done = i18n.gettext("Transfer %(number)s was received.", number=number)
    return _act(
        request,
        user,
        scope,
        transfer,
        "receive",
        TransferWorkflow.receive_transfer,
        arg,
        done=done,
        form=form,
    )


@router.post("/transfers/{number}/cancel")
def cancel_transfer(
    request: Request, number: str, user: TransferUser, scope: OrgScope, form: FieldsDep
) -> Response:
    transfer = transfer_or_404(scope, number)
    arg = CancelTransferInput(actor_user_id=user.user_id, reason=form_text(form, "reason", 600))
    done = i18n.gettext("Transfer %(number)s was cancelled.", number=number)
    return _act(
        request, user, scope, transfer, "cancel", TransferWorkflow.cancel_transfer, arg, done=done, form=form
    )

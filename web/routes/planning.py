"""Planning pages (DESIGN 4.6): what the reorder review and the transfer planner propose, and the
schedules that run them.

- `/planning/proposals` (buyers): the open replenishment proposals, one draft purchase order per
  supplier and location; `/planning/proposals/{id}` its lines (on hand, position, reorder point,
  order-up-to, quantity), released as proposed (a ReplenishmentWorkflow with the buyer as requester,
  for the location, shipped to its regional warehouse or to the warehouse itself) or dismissed with
  a reason.
- `/planning/transfers` (HQ): the open transfer proposal lines with their cost and reason; the lines
  ticked are released (one TransferWorkflow each, origin PLANNER, no approval: HQ releases it) or
  dismissed.
- `/planning/run/{kind}` (buyers and admins): start a run by hand.

The schedules' admin page is `web/routes/planning_admin.py`; demand and forecasts (a SKU at a
location, the supplier's network view) are `web/routes/forecasts.py`.

A proposal is claimed by one conditional UPDATE (proposed -> released) before its workflow starts,
so a double submit releases it once; when the start fails, the claim is given back.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select, update
from sqlmodel import Session, col
from starlette.responses import Response
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from supplychain import i18n, offers, planning, transfers
from supplychain import planning_schedules as schedules
from supplychain.events import record_event, timeline
from supplychain.i18n import lazy
from supplychain.models import (
    Location,
    PlanningKind,
    PriceListEntry,
    ProposalStatus,
    ReplenishmentProposal,
    ReplenishmentProposalLine,
    Role,
    TransferOrigin,
    TransferProposalKind,
    TransferProposalLine,
)
from supplychain.models.base import utcnow
from supplychain.numbering import reserve_number
from supplychain.principal import Principal
from supplychain.replenishment import business_today, serving_warehouse, with_batch_tracking
from supplychain.rules.money import round_money
from supplychain.rules.ordering import needs_approval
from supplychain.rules.reorder_point import (
    REASON_ABOVE_REORDER_POINT,
    REASON_BELOW_REORDER_POINT,
    REASON_NO_DEMAND,
)
from supplychain.rules.transfer_planner import REASON_SHORTAGE, REASON_SLOW_MOVING
from supplychain.settings import settings
from web.deps import (
    FieldsDep,
    FormDep,
    OrgScope,
    PageNumber,
    RowId,
    Scope,
    names_for,
    require_roles,
)
from web.flash import flash
from web.purchasing import form_text, temporal_client
from web.routes.replenishment import _start_order
from web.routes.transfers import start_transfer, transfer_slas
from web.templating import render
from web.workflow_calls import await_on_loop
from workflows.common import BUSINESS_TIMEZONE
from workflows.replenishment import POLineInput, ReplenishmentInput
from workflows.transfer import TransferInput, TransferLineInput

log = logging.getLogger(__name__)
router = APIRouter()

BuyerUser = Annotated[Principal, Depends(require_roles(Role.BUYER, Role.ADMIN))]
HqPlanner = Annotated[Principal, Depends(require_roles(Role.BUYER, Role.APPROVER, Role.ADMIN))]
PER_PAGE = 25
MAX_REASON = 500
DOCUMENT_TYPE = "replenishment_proposal"

STATUS_LABELS = {
    ProposalStatus.PROPOSED: lazy("Proposed"),
    ProposalStatus.RELEASED: lazy("Released"),
    ProposalStatus.DISMISSED: lazy("Dismissed"),
    ProposalStatus.SUPERSEDED: lazy("Superseded"),
}
REASON_LABELS = {
    REASON_BELOW_REORDER_POINT: lazy("At or below the reorder point"),
    REASON_ABOVE_REORDER_POINT: lazy("Above the reorder point"),
    REASON_NO_DEMAND: lazy("No demand"),
    REASON_SHORTAGE: lazy("Covers a shortage below the reorder point"),
    REASON_SLOW_MOVING: lazy("Moves slow-moving stock to where it sells"),
}
KIND_LABELS = {
    PlanningKind.REORDER_REVIEW: lazy("Reorder review"),
    PlanningKind.TRANSFER_PLAN: lazy("Transfer planner"),
    TransferProposalKind.SHORTAGE: lazy("Shortage"),
    TransferProposalKind.SLOW_MOVING: lazy("Slow-moving"),
}
UNREACHABLE = lazy("The planning process cannot be reached right now. Nothing was changed; please try again.")


def labels() -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "reason_labels": REASON_LABELS, "kind_labels": KIND_LABELS}


def kind_from_path(raw: str) -> PlanningKind:
    try:
        return PlanningKind(raw.replace("-", "_"))
    except ValueError:
        raise HTTPException(status_code=404) from None


# --- replenishment proposals ---------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalRow:
    proposal: ReplenishmentProposal
    lines: int
    amount: Decimal


@router.get("/planning/proposals")
def proposal_list(
    request: Request, user: BuyerUser, scope: OrgScope, status: str = "proposed", page: PageNumber = 1
) -> Response:
    chosen = ProposalStatus(status) if status in set(ProposalStatus) else None
    stmt = scope.select(ReplenishmentProposal).order_by(col(ReplenishmentProposal.id).desc())
    if chosen is not None:
        stmt = stmt.where(col(ReplenishmentProposal.status) == chosen)
    rows = scope.page(stmt, page, PER_PAGE)
    ids = [p.id for p in rows]
    # Amounts in Python from the lines (one query): money is exact there, on SQLite too.
    totals: dict[int, tuple[int, Decimal]] = {}
    for line in scope.session.execute(
        select(ReplenishmentProposalLine).where(col(ReplenishmentProposalLine.proposal_id).in_(ids))
    ).scalars():
        count, amount = totals.get(line.proposal_id, (0, Decimal("0.00")))
        totals[line.proposal_id] = (count + 1, amount + round_money(line.unit_price * line.quantity))
    proposals = [ProposalRow(p, *totals.get(p.id or 0, (0, Decimal("0.00")))) for p in rows]
    names = names_for(
        scope.session, org_ids={p.supplier_id for p in rows}, location_ids={p.location_id for p in rows}
    )
    ctx = {
        "user": user,
        "page_rows": rows,
        "proposals": proposals,
        "status": chosen.value if chosen else "",
        "runs": planning.recent_runs(scope.session, PlanningKind.REORDER_REVIEW),
        **labels(),
        **names,
    }
    return render(request, "planning/proposals.html", ctx)


def _proposal_page(
    request: Request,
    scope: Scope,
    user: Principal,
    proposal: ReplenishmentProposal,
    *,
    error: str = "",
    status_code: int = 200,
) -> Response:
    session = scope.session
    lines = list(
        session.execute(
            scope.select(ReplenishmentProposalLine)
            .where(col(ReplenishmentProposalLine.proposal_id) == proposal.id)
            .order_by(col(ReplenishmentProposalLine.sku_id))
        ).scalars()
    )
    amounts = {line.id: round_money(line.unit_price * line.quantity) for line in lines}
    names = names_for(
        session,
        org_ids=[proposal.supplier_id],
        location_ids=[proposal.location_id],
        sku_ids=[ln.sku_id for ln in lines],
    )
    ctx = {
        "user": user,
        "proposal": proposal,
        "lines": lines,
        "amounts": amounts,
        "total": sum(amounts.values(), Decimal("0.00")),
        "error": error,
        "timeline": timeline(session, DOCUMENT_TYPE, str(proposal.id)),
        **labels(),
        **names,
    }
    return render(request, "planning/proposal.html", ctx, status_code=status_code)


@router.get("/planning/proposals/{proposal_id}")
def proposal_detail(request: Request, proposal_id: RowId, user: BuyerUser, scope: OrgScope) -> Response:
    return _proposal_page(request, scope, user, scope.get(ReplenishmentProposal, proposal_id))


def ship_to_for(session: Session, location: Location) -> Location | None:
    """Where a proposal's goods go: a warehouse orders for itself; a store's goods arrive at the
    regional warehouse of its region, else the central one."""
    return serving_warehouse(session, location)


def _claim(session: Session, model: Any, row_id: int, user: Principal, status: ProposalStatus) -> bool:
    """Move a proposed row to `status` once: False when someone (or this very click) did first."""
    result = session.execute(
        update(model)
        .where(col(model.id) == row_id, col(model.status) == ProposalStatus.PROPOSED)
        .values(status=status, decided_by_user_id=user.user_id, decided_at=utcnow())
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _give_back(session: Session, model: Any, row_id: int) -> None:
    session.execute(
        update(model)
        .where(col(model.id) == row_id)
        .values(status=ProposalStatus.PROPOSED, decided_by_user_id=None, decided_at=None)
    )
    session.commit()


def _release_input(
    session: Session, proposal: ReplenishmentProposal, user: Principal, number: str
) -> ReplenishmentInput | str:
    """The purchase order's start input, or the message why the proposal cannot become one."""
    location = session.get(Location, proposal.location_id)
    ship_to = ship_to_for(session, location) if location is not None else None
    if location is None or ship_to is None or ship_to.id is None:
        return i18n.gettext("There is no warehouse to deliver this proposal to.")
    lines = list(
        session.execute(
            select(ReplenishmentProposalLine)
            .where(col(ReplenishmentProposalLine.proposal_id) == proposal.id)
            .order_by(col(ReplenishmentProposalLine.sku_id))
        ).scalars()
    )
    entries = {
        entry.sku_id: entry
        for entry in session.execute(
            select(PriceListEntry)
            .where(
                offers.orderable(business_today()),
                col(PriceListEntry.supplier_id) == proposal.supplier_id,
                col(PriceListEntry.sku_id).in_([line.sku_id for line in lines]),
            )
            .order_by(col(PriceListEntry.id).desc())
        ).scalars()
    }
    if not lines or any(line.sku_id not in entries for line in lines):
        return i18n.gettext(
            "The supplier no longer offers every item of this proposal. Dismiss it and run the review again."
        )
    total = sum(
        (
            round_money(line.unit_price * line.quantity * (1 + entries[line.sku_id].tax_rate))
            for line in lines
        ),
        Decimal("0.00"),
    )
    start = ReplenishmentInput(
        number=number,
        supplier_id=proposal.supplier_id,
        requester_user_id=user.user_id,
        requester_org_id=user.organisation_id,
        requested_for_location_id=proposal.location_id,
        ship_to_location_id=ship_to.id,
        lines=[
            POLineInput(
                line_no=n,
                sku_id=line.sku_id,
                quantity_requested=line.needed or line.quantity,
                quantity_ordered=line.quantity,
                unit_price=line.unit_price,
                tax_rate=entries[line.sku_id].tax_rate,
            )
            for n, line in enumerate(lines, 1)
        ],
        needs_approval=needs_approval(total, user.approval_limit),
        confirm_reminder_after=timedelta(hours=settings.PO_CONFIRM_REMINDER_HOURS),
        confirm_escalation_after=timedelta(hours=settings.PO_CONFIRM_ESCALATION_HOURS),
        approval_reminder_after=timedelta(hours=settings.APPROVAL_REMINDER_HOURS),
        approval_escalation_after=timedelta(hours=settings.APPROVAL_ESCALATION_HOURS),
        quality_decision_reminder_after=timedelta(hours=settings.QUALITY_DECISION_REMINDER_HOURS),
        quality_decision_escalation_after=timedelta(hours=settings.QUALITY_DECISION_ESCALATION_HOURS),
    )
    return with_batch_tracking(session, start)


def _already_decided(request: Request, session: Session, proposal: ReplenishmentProposal) -> Response:
    if proposal.status is ProposalStatus.RELEASED and proposal.purchase_order_number:
        flash(
            session,
            request,
            i18n.gettext(
                "This proposal was already released as purchase order %(number)s.",
                number=proposal.purchase_order_number,
            ),
            "info",
        )
    else:
        flash(session, request, i18n.gettext("This proposal was already decided."), "info")
    return RedirectResponse(f"/planning/proposals/{proposal.id}", status_code=303)


@router.post("/planning/proposals/{proposal_id}/release")
def release_proposal(
    request: Request, proposal_id: RowId, user: BuyerUser, scope: OrgScope, form: FieldsDep
) -> Response:
    session = scope.session
    proposal = scope.get(ReplenishmentProposal, proposal_id)
    if not _claim(session, ReplenishmentProposal, proposal_id, user, ProposalStatus.RELEASED):
        session.refresh(proposal)
        return _already_decided(request, session, proposal)
    number = reserve_number(session, "PO", datetime.now(BUSINESS_TIMEZONE).year)
    start = _release_input(session, proposal, user, number)
    if isinstance(start, str):
        _give_back(session, ReplenishmentProposal, proposal_id)
        session.refresh(proposal)
        return _proposal_page(request, scope, user, proposal, error=start, status_code=400)
    proposal.purchase_order_number = number
    session.add(proposal)
    session.commit()
    if not await_on_loop(session, _start_po, request, start):
        proposal.purchase_order_number = None
        session.add(proposal)
        session.commit()
        _give_back(session, ReplenishmentProposal, proposal_id)
        session.refresh(proposal)
        return _proposal_page(
            request, scope, user, proposal, error=i18n.translate(UNREACHABLE), status_code=503
        )
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=str(proposal_id),
        action="released",
        idempotency_key=f"{DOCUMENT_TYPE}:{proposal_id}:released",
        actor_user_id=user.user_id,
        after={"purchase_order_number": number},
    )
    session.commit()
    flash(session, request, i18n.gettext("Purchase order %(number)s was created.", number=number))
    return RedirectResponse(f"/purchase-orders/{number}", status_code=303)


async def _start_po(request: Request, start: ReplenishmentInput) -> bool:
    client = await temporal_client(request)
    if client is None:
        return False
    try:
        await _start_order(client, start)
    except (RPCError, WorkflowAlreadyStartedError, WorkflowUpdateFailedError) as exc:
        log.error("Releasing purchase order %s failed: %r", start.number, exc)
        return False
    return True


@router.post("/planning/proposals/{proposal_id}/dismiss")
def dismiss_proposal(
    request: Request, proposal_id: RowId, user: BuyerUser, scope: OrgScope, form: FieldsDep
) -> Response:
    session = scope.session
    proposal = scope.get(ReplenishmentProposal, proposal_id)
    reason = form_text(form, "reason", MAX_REASON + 1)
    if not reason:
        return _proposal_page(
            request,
            scope,
            user,
            proposal,
            error=i18n.gettext("Give a reason for dismissing."),
            status_code=400,
        )
    if len(reason) > MAX_REASON:
        return _proposal_page(
            request,
            scope,
            user,
            proposal,
            error=i18n.gettext("Keep the reason to %(max)s characters.", max=MAX_REASON),
            status_code=400,
        )
    if not _claim(session, ReplenishmentProposal, proposal_id, user, ProposalStatus.DISMISSED):
        session.refresh(proposal)
        return _already_decided(request, session, proposal)
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=str(proposal_id),
        action="dismissed",
        idempotency_key=f"{DOCUMENT_TYPE}:{proposal_id}:dismissed",
        actor_user_id=user.user_id,
        note=reason,
    )
    session.commit()
    flash(session, request, i18n.gettext("The proposal was dismissed."))
    return RedirectResponse("/planning/proposals", status_code=303)


# --- transfer proposals --------------------------------------------------------------------------


def _transfer_page(
    request: Request,
    scope: Scope,
    user: Principal,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
    page: int = 1,
) -> Response:
    session = scope.session
    stmt = (
        scope.select(TransferProposalLine)
        .where(col(TransferProposalLine.status) == ProposalStatus.PROPOSED)
        .order_by(col(TransferProposalLine.sku_id), col(TransferProposalLine.id))
    )
    rows = scope.page(stmt, page, 100)
    decided = list(
        session.execute(
            scope.select(TransferProposalLine)
            .where(col(TransferProposalLine.status).in_([ProposalStatus.RELEASED, ProposalStatus.DISMISSED]))
            .order_by(col(TransferProposalLine.decided_at).desc(), col(TransferProposalLine.id).desc())
            .limit(20)
        ).scalars()
    )
    every = [*rows, *decided]
    names = names_for(
        session,
        location_ids={r.source_location_id for r in every} | {r.destination_location_id for r in every},
        sku_ids={r.sku_id for r in every},
    )
    ctx = {
        "user": user,
        "lines": rows,
        "decided": decided,
        "errors": errors or [],
        "total": sum((r.line_cost for r in rows), Decimal("0.00")),
        "runs": planning.recent_runs(session, PlanningKind.TRANSFER_PLAN),
        **labels(),
        **names,
    }
    return render(request, "planning/transfers.html", ctx, status_code=status_code)


@router.get("/planning/transfers")
def transfer_proposals(request: Request, user: HqPlanner, scope: OrgScope, page: PageNumber = 1) -> Response:
    return _transfer_page(request, scope, user, page=page)


def _selected(scope: Scope, form: Any) -> list[TransferProposalLine]:
    raw = form.getlist("line") if hasattr(form, "getlist") else []
    ids = sorted({int(v) for v in raw if isinstance(v, str) and v.isascii() and v.isdigit() and len(v) <= 9})
    if not ids:
        return []
    return list(
        scope.session.execute(
            scope.select(TransferProposalLine)
            .where(col(TransferProposalLine.id).in_(ids))
            .order_by(col(TransferProposalLine.id))
        ).scalars()
    )


@router.post("/planning/transfers")
def decide_transfer_proposals(request: Request, user: HqPlanner, scope: OrgScope, form: FormDep) -> Response:
    """Release or dismiss the ticked lines (`action`: release | dismiss)."""
    return _decide_transfers(request, user, scope, form, form.get("action"))


def _decide_transfers(request: Request, user: Principal, scope: Scope, form: Any, action: Any) -> Response:
    session = scope.session
    lines = _selected(scope, form)
    if action not in ("release", "dismiss"):
        raise HTTPException(status_code=400)
    if not lines:
        return _transfer_page(
            request, scope, user, errors=[i18n.gettext("Tick at least one line.")], status_code=400
        )
    done: list[str] = []
    failed = False
    for line in lines:
        assert line.id is not None
        if action == "dismiss":
            if _claim(session, TransferProposalLine, line.id, user, ProposalStatus.DISMISSED):
                done.append(str(line.id))
            continue
        if not _claim(session, TransferProposalLine, line.id, user, ProposalStatus.RELEASED):
            continue  # released or dismissed already: a second submit releases nothing again
        number = reserve_number(session, transfers.NUMBER_PREFIX, datetime.now(BUSINESS_TIMEZONE).year)
        start = TransferInput(
            number=number,
            origin=TransferOrigin.PLANNER,
            source_location_id=line.source_location_id,
            destination_location_id=line.destination_location_id,
            requested_by_user_id=user.user_id,
            needs_approval=False,  # HQ releases it: this is the approval
            lines=[TransferLineInput(1, line.sku_id, line.quantity)],
            note=i18n.translate(REASON_LABELS.get(line.reason, line.reason)),
            **transfer_slas(),
        )
        session.execute(
            update(TransferProposalLine)
            .where(col(TransferProposalLine.id) == line.id)
            .values(transfer_number=number)
        )
        session.commit()
        if await_on_loop(session, _start_transfer, request, start):
            done.append(number)
        else:
            session.execute(
                update(TransferProposalLine)
                .where(col(TransferProposalLine.id) == line.id)
                .values(transfer_number=None)
            )
            _give_back(session, TransferProposalLine, line.id)
            failed = True
            break
    if failed:
        errors = [i18n.translate(UNREACHABLE)]
        if done:
            errors.insert(0, i18n.gettext("Transfers %(numbers)s were started.", numbers=", ".join(done)))
        return _transfer_page(request, scope, user, errors=errors, status_code=503)
    if action == "release" and done:
        flash(session, request, i18n.gettext("Transfers %(numbers)s were started.", numbers=", ".join(done)))
    elif action == "dismiss" and done:
        flash(
            session,
            request,
            i18n.ngettext("%(num)s line was dismissed.", "%(num)s lines were dismissed.", len(done)),
        )
    else:
        flash(session, request, i18n.gettext("These lines were already decided."), "info")
    return RedirectResponse("/planning/transfers", status_code=303)


async def _start_transfer(request: Request, start: TransferInput) -> bool:
    client = await temporal_client(request)
    if client is None:
        return False
    try:
        await start_transfer(client, start)
    except (RPCError, WorkflowAlreadyStartedError, WorkflowUpdateFailedError) as exc:
        log.error("Releasing transfer %s failed: %r", start.number, exc)
        return False
    return True


# --- running by hand -----------------------------------------------------------------------------

RunUser = Annotated[Principal, Depends(require_roles(Role.BUYER, Role.ADMIN))]
BACK = {
    "proposals": "/planning/proposals",
    "transfers": "/planning/transfers",
    "admin": "/admin/planning",
}


@router.post("/planning/run/{kind}")
def run_now(request: Request, kind: str, user: RunUser, scope: OrgScope, form: FieldsDep) -> Response:
    planning_kind = kind_from_path(kind)
    if planning_kind is PlanningKind.TRANSFER_PLAN and not user.is_hq:
        raise HTTPException(status_code=403)
    session = scope.session
    back = BACK.get(form.get("back", ""), "/planning/proposals")
    token = form.get("form_id", "")
    if not (len(token) == 32 and all(c in "0123456789abcdef" for c in token)):
        token = uuid.uuid4().hex
    if await_on_loop(session, _start_run, request, planning_kind, user.user_id, token):
        flash(
            session,
            request,
            i18n.gettext("A planning run was started; its proposals appear here when it ends."),
        )
    else:
        flash(session, request, i18n.translate(UNREACHABLE), "error")
    return RedirectResponse(back, status_code=303)


async def _start_run(request: Request, kind: PlanningKind, user_id: int, token: str) -> bool:
    client = await temporal_client(request)
    if client is None:
        return False
    try:
        await schedules.start_run(
            client, kind, user_id=user_id, token=token, task_queue=settings.TEMPORAL_TASK_QUEUE
        )
    except WorkflowAlreadyStartedError:
        return True  # this form started it already
    except RPCError as exc:
        log.error("Starting a %s run failed: %r", kind, exc)
        return False
    return True

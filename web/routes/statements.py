"""Supplier statement pages (reconciliation, DESIGN 4.4).

- Supplier: `/supplier/statements` (open, disputed, confirmed); on the statement page it confirms
  the statement or disputes single lines with a reason and its own figure.
- HQ: all statements `/statements`; the buyer's disputes to resolve `/statement-disputes`, each
  resolved on the statement page (accept the supplier's figure, keep ours with a comment, adjust).
- Everyone involved: the statement page `/statements/{number}` with its lines (each linked to its
  source document), totals per VAT rate, the disputes per line with their outcome, and the timeline.

Routes only authenticate, authorize (role: 403; organisation: 404 through `OrgScope`), parse and
call StatementWorkflow's Updates; its validators decide what the current state allows.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlmodel import col
from starlette.responses import Response

from supplychain import i18n
from supplychain.events import timeline
from supplychain.i18n import lazy
from supplychain.models import (
    DebitNote,
    Inspection,
    ReturnToVendor,
    Role,
    Statement,
    StatementDispute,
    StatementLine,
)
from supplychain.models.settlement import DisputeResolution, StatementLineSource, StatementStatus
from supplychain.principal import Principal
from supplychain.rules.statement import totals_by_rate
from supplychain.statements import statement_lines
from web.deps import FieldsDep, OrgScope, PageNumber, RowId, Scope, names_for, require_roles
from web.flash import flash
from web.purchasing import form_text, form_update_refusal, sku_label
from web.statement_invoices import invoice_context
from web.templating import render
from workflows.statement import (
    ConfirmStatementInput,
    DisputeLineInput,
    ResolveDisputeInput,
    StatementWorkflow,
)

router = APIRouter()

SupplierUser = Annotated[Principal, Depends(require_roles(Role.SUPPLIER))]
BuyerUser = Annotated[Principal, Depends(require_roles(Role.BUYER))]
HQ_STATEMENT_ROLES = (Role.BUYER, Role.APPROVER, Role.FINANCE, Role.ADMIN)
HqUser = Annotated[Principal, Depends(require_roles(*HQ_STATEMENT_ROLES))]
StatementReader = Annotated[Principal, Depends(require_roles(Role.SUPPLIER, *HQ_STATEMENT_ROLES))]

PER_PAGE = 25
OPEN_STATUSES = (StatementStatus.AWAITING_CONFIRMATION, StatementStatus.DISPUTED)
STATUS_LABELS: dict[StatementStatus, str] = {
    StatementStatus.AWAITING_CONFIRMATION: lazy("Waiting for the supplier's confirmation"),
    StatementStatus.DISPUTED: lazy("Disputed"),
    StatementStatus.CONFIRMED: lazy("Confirmed"),
    StatementStatus.MATCH_EXCEPTION: lazy("Invoice mismatch"),
    StatementStatus.MATCHED: lazy("Matched"),
    StatementStatus.PAID: lazy("Paid"),
    StatementStatus.CANCELLED: lazy("Cancelled"),
}
RESOLUTION_LABELS: dict[DisputeResolution, str] = {
    DisputeResolution.ACCEPTED_SUPPLIER: lazy("Your figure accepted"),
    DisputeResolution.KEPT_OURS: lazy("Our figure kept"),
    DisputeResolution.ADJUSTED: lazy("Adjusted"),
}
SOURCE_LABELS: dict[StatementLineSource, str] = {
    StatementLineSource.RECEIPT: lazy("Goods received"),
    StatementLineSource.DEBIT_NOTE: lazy("Debit note"),
    StatementLineSource.PRICE_ADJUSTMENT: lazy("Price adjustment"),
}
# The supplier's list: which statuses each tab shows.
SUPPLIER_TABS: dict[str, tuple[StatementStatus, ...]] = {
    "open": (StatementStatus.AWAITING_CONFIRMATION,),
    "disputed": (StatementStatus.DISPUTED,),
    "confirmed": tuple(s for s in StatementStatus if s not in OPEN_STATUSES),
    "all": tuple(StatementStatus),
}
_AMOUNT_TEXT = re.compile(r"^[+-]?\d{1,13}(\.\d+)?$", re.ASCII)


def labels() -> dict[str, Any]:
    return {
        "statement_status_labels": STATUS_LABELS,
        "resolution_labels": RESOLUTION_LABELS,
        "source_labels": SOURCE_LABELS,
    }


def parse_amount(text: str) -> tuple[Decimal | None, str]:
    """An amount typed by a person (its size, excluding VAT): (value, "") or (None, a message)."""
    text = text.strip().replace(",", "")
    if not _AMOUNT_TEXT.match(text):
        return None, i18n.gettext("Enter an amount, for example 12.50.")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None, i18n.gettext("Enter an amount, for example 12.50.")
    if value < 0:
        return None, i18n.gettext("Enter the amount as a positive number; a deduction stays a deduction.")
    return value, ""


def statement_or_404(scope: Scope, number: str) -> Statement:
    statement: Statement | None = scope.session.execute(
        scope.select(Statement).where(col(Statement.number) == number)
    ).scalar_one_or_none()
    if statement is None:
        raise HTTPException(status_code=404)
    return statement


# --- lists ----------------------------------------------------------------------------------------


def _list(request: Request, user: Principal, scope: Scope, *, base_url: str, tab: str, page: int) -> Response:
    tab = tab if tab in SUPPLIER_TABS else "open"
    stmt = (
        scope.select(Statement)
        .where(col(Statement.status).in_(SUPPLIER_TABS[tab]))
        .order_by(col(Statement.period_end).desc(), col(Statement.id).desc())
    )
    rows = scope.page(stmt, page, per_page=PER_PAGE)
    ctx = {
        "user": user,
        "rows": rows,
        "tab": tab,
        "tabs": list(SUPPLIER_TABS),
        "base_url": base_url,
        **labels(),
        **names_for(scope.session, org_ids={s.supplier_id for s in rows}),
    }
    return render(request, "statements/list.html", ctx, block="results")


@router.get("/supplier/statements")
def supplier_statements(
    request: Request, user: SupplierUser, scope: OrgScope, status: str = "open", page: PageNumber = 1
) -> Response:
    return _list(request, user, scope, base_url="/supplier/statements", tab=status, page=page)


@router.get("/statements")
def all_statements(
    request: Request, user: HqUser, scope: OrgScope, status: str = "all", page: PageNumber = 1
) -> Response:
    return _list(request, user, scope, base_url="/statements", tab=status, page=page)


@router.get("/statement-disputes")
def open_disputes(request: Request, user: BuyerUser, scope: OrgScope, page: PageNumber = 1) -> Response:
    """The buyer's work list: every dispute waiting for an answer, oldest first."""
    stmt = (
        scope.select(StatementDispute)
        .where(col(StatementDispute.resolution).is_(None))
        .order_by(col(StatementDispute.raised_at), col(StatementDispute.id))
    )
    disputes = scope.page(stmt, page, per_page=PER_PAGE)
    session = scope.session
    statements = {
        s.id: s
        for s in session.execute(
            select(Statement).where(col(Statement.id).in_({d.statement_id for d in disputes}))
        ).scalars()
    }
    lines = {
        line.id: line
        for line in session.execute(
            select(StatementLine).where(col(StatementLine.id).in_({d.statement_line_id for d in disputes}))
        ).scalars()
    }
    ctx = {
        "user": user,
        "disputes": disputes,
        "statements": statements,
        "lines": lines,
        **labels(),
        **names_for(session, org_ids={s.supplier_id for s in statements.values()}),
    }
    return render(request, "statements/disputes.html", ctx)


# --- the statement page ---------------------------------------------------------------------------


def _source_links(scope: Scope, lines: list[StatementLine]) -> dict[int, str]:
    """Each line's source document page, by line id (a debit note: its return, or its inspection)."""
    notes = [line.source_id for line in lines if line.source_type is StatementLineSource.DEBIT_NOTE]
    rows = (
        scope.session.execute(
            select(col(DebitNote.id), col(ReturnToVendor.number), col(Inspection.number))
            .join(Inspection, col(Inspection.id) == col(DebitNote.inspection_id))
            .outerjoin(ReturnToVendor, col(ReturnToVendor.id) == col(DebitNote.return_id))
            .where(col(DebitNote.id).in_(notes))
        ).all()
        if notes
        else []
    )
    note_links = {
        note_id: f"/returns/{rtv}" if rtv else f"/inspections/{inspection}"
        for note_id, rtv, inspection in rows
    }
    links: dict[int, str] = {}
    for line in lines:
        assert line.id is not None
        if line.source_type is StatementLineSource.DEBIT_NOTE:
            links[line.id] = note_links.get(line.source_id, "")
        elif line.po_number:
            links[line.id] = f"/purchase-orders/{line.po_number}"
    return links


def _actions(user: Principal, statement: Statement) -> dict[str, bool]:
    is_supplier = user.has_role(Role.SUPPLIER) and user.organisation_id == statement.supplier_id
    is_open = statement.status in OPEN_STATUSES
    return {
        "confirm": is_supplier and statement.status is StatementStatus.AWAITING_CONFIRMATION,
        "dispute": is_supplier and is_open,
        "resolve": user.has_role(Role.BUYER) and user.is_hq and statement.status is StatementStatus.DISPUTED,
    }


def _detail(
    request: Request,
    user: Principal,
    scope: Scope,
    statement: Statement,
    *,
    error: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    session = scope.session
    assert statement.id is not None
    lines = statement_lines(session, statement.id)
    disputes: dict[int, list[StatementDispute]] = defaultdict(list)
    for dispute in session.execute(
        select(StatementDispute)
        .where(col(StatementDispute.statement_id) == statement.id)
        .order_by(col(StatementDispute.statement_line_id), col(StatementDispute.round))
    ).scalars():
        disputes[dispute.statement_line_id].append(dispute)
    names = names_for(
        session,
        org_ids={statement.supplier_id},
        user_ids={statement.confirmed_by_user_id}
        | {d.raised_by_user_id for ds in disputes.values() for d in ds}
        | {d.resolved_by_user_id for ds in disputes.values() for d in ds},
        sku_ids={line.sku_id for line in lines},
    )
    ctx = {
        "user": user,
        "statement": statement,
        "lines": lines,
        "disputes": disputes,
        "open_dispute": {
            line_id: rounds[-1] for line_id, rounds in disputes.items() if rounds[-1].resolution is None
        },
        "rate_totals": totals_by_rate((line.tax_rate, line.net_amount, line.tax_amount) for line in lines),
        "source_links": _source_links(scope, lines),
        "sku_labels": {sku_id: sku_label(sku) for sku_id, sku in names["skus"].items()},
        "timeline": timeline(session, "statement", statement.number),
        "actions": _actions(user, statement),
        "resolutions": list(DisputeResolution),
        "error": error,
        "form": form or {},
        **invoice_context(session, user, statement, lines, form or {}),
        **labels(),
        **names,
    }
    return render(request, "statements/detail.html", ctx, status_code=status_code)


@router.get("/statements/{number}")
def statement_detail(request: Request, number: str, user: StatementReader, scope: OrgScope) -> Response:
    return _detail(request, user, scope, statement_or_404(scope, number))


def _act(
    request: Request,
    user: Principal,
    scope: Scope,
    statement: Statement,
    update: Any,
    arg: Any,
    *,
    done: str,
    form: dict[str, str],
) -> Response:
    """Call one Update (`form_update_refusal`); success: flash and redirect to the statement;
    refused: the reason, 400. A statement past confirmation is final."""
    error = form_update_refusal(
        request,
        scope.session,
        user,
        statement.workflow_id,
        update,
        arg,
        form,
        is_final=statement.status not in OPEN_STATUSES,
        final_message=i18n.gettext("This statement is already confirmed; nothing can be changed any more."),
    )
    if error:
        return _detail(request, user, scope, statement, error=error, form=form, status_code=400)
    flash(scope.session, request, done)
    return RedirectResponse(f"/statements/{statement.number}", status_code=303)


def _refuse(
    request: Request, user: Principal, scope: Scope, statement: Statement, error: str, form: dict[str, str]
) -> Response:
    return _detail(request, user, scope, statement, error=error, form=form, status_code=400)


@router.post("/statements/{number}/confirm")
def confirm_statement(
    request: Request, number: str, user: SupplierUser, scope: OrgScope, form: FieldsDep
) -> Response:
    statement = statement_or_404(scope, number)
    return _act(
        request,
        user,
        scope,
        statement,
        StatementWorkflow.confirm,
        ConfirmStatementInput(actor_user_id=user.user_id),
        done=i18n.gettext("The statement was confirmed."),
        form=form,
    )


@router.post("/statements/{number}/lines/{line_no}/dispute")
def dispute_line(
    request: Request, number: str, line_no: RowId, user: SupplierUser, scope: OrgScope, form: FieldsDep
) -> Response:
    statement = statement_or_404(scope, number)
    reason = form_text(form, "reason", max_length=2000)
    if not reason:
        return _refuse(request, user, scope, statement, i18n.gettext("Give a reason for the dispute."), form)
    amount, error = parse_amount(form.get("amount", ""))
    if error:
        return _refuse(
            request,
            user,
            scope,
            statement,
            i18n.gettext("Line %(line)s: %(error)s", line=line_no, error=error),
            form,
        )
    assert amount is not None
    return _act(
        request,
        user,
        scope,
        statement,
        StatementWorkflow.dispute_line,
        DisputeLineInput(
            actor_user_id=user.user_id, line_no=line_no, reason=reason, supplier_net_amount=amount
        ),
        done=i18n.gettext("Line %(line)s was disputed; the buyer will answer.", line=line_no),
        form=form,
    )


@router.post("/statements/{number}/lines/{line_no}/resolve")
def resolve_dispute(
    request: Request, number: str, line_no: RowId, user: BuyerUser, scope: OrgScope, form: FieldsDep
) -> Response:
    statement = statement_or_404(scope, number)
    try:
        resolution = DisputeResolution(form.get("resolution", ""))
    except ValueError:
        return _refuse(
            request, user, scope, statement, i18n.gettext("Choose how to resolve the dispute."), form
        )
    amount: Decimal | None = None
    if resolution is DisputeResolution.ADJUSTED:
        amount, error = parse_amount(form.get("amount", ""))
        if error:
            return _refuse(
                request,
                user,
                scope,
                statement,
                i18n.gettext("Line %(line)s: %(error)s", line=line_no, error=error),
                form,
            )
    return _act(
        request,
        user,
        scope,
        statement,
        StatementWorkflow.resolve_dispute,
        ResolveDisputeInput(
            actor_user_id=user.user_id,
            line_no=line_no,
            resolution=resolution,
            comment=form_text(form, "comment", max_length=2000),
            adjusted_net_amount=amount,
        ),
        done=i18n.gettext("The dispute on line %(line)s was resolved.", line=line_no),
        form=form,
    )

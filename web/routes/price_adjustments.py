"""Price adjustments (issue 12): HQ buyers enter them, finance reads them, a supplier reads its own.

- `/price-adjustments`: newest first, optionally one supplier's (HQ), each with the statement it
  landed on once collected; `/price-adjustments/new` (buyer): the form; `/price-adjustments/{number}`:
  one adjustment with its statement and timeline.
- Posting (buyer only, 403 otherwise) goes through `supplychain.price_adjustments`: bad input is
  refused beside its field and nothing is written. There is no edit or delete.

A supplier reads through `OrgScope`: another supplier's adjustment is a 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlmodel import col
from starlette.responses import Response

from supplychain import i18n
from supplychain import price_adjustments as adjustments
from supplychain.events import timeline
from supplychain.i18n import lazy
from supplychain.models import Organisation, OrgKind, Role
from supplychain.models.settlement import PriceAdjustment
from supplychain.principal import Principal
from web.deps import FieldsDep, OrgScope, PageNumber, Scope, names_for, require_roles
from web.flash import flash
from web.form_ids import submitted_form_id
from web.templating import render

router = APIRouter()

BuyerUser = Annotated[Principal, Depends(require_roles(Role.BUYER))]
AdjustmentReader = Annotated[Principal, Depends(require_roles(Role.BUYER, Role.FINANCE, Role.SUPPLIER))]

PER_PAGE = 25
RECORDED = lazy("Price adjustment %(number)s recorded; it will be on the supplier's next statement.")


def _buyer(user: Principal) -> None:
    if not user.is_hq:  # a buyer role outside HQ enters nothing for HQ
        raise HTTPException(status_code=403)


def _suppliers(scope: Scope) -> list[Organisation]:
    return list(
        scope.session.execute(
            select(Organisation)
            .where(col(Organisation.kind) == OrgKind.SUPPLIER, col(Organisation.is_active).is_(True))
            .order_by(col(Organisation.name), col(Organisation.id))
        ).scalars()
    )


def _vat_labels() -> dict[str, str]:
    return {key: f"{key} %" for key in adjustments.VAT_RATES}


@router.get("/price-adjustments")
def list_adjustments(
    request: Request, user: AdjustmentReader, scope: OrgScope, supplier: str = "", page: PageNumber = 1
) -> Response:
    stmt = scope.select(PriceAdjustment).order_by(
        col(PriceAdjustment.created_at).desc(), col(PriceAdjustment.id).desc()
    )
    chosen = int(supplier) if supplier.isascii() and supplier.isdigit() and len(supplier) <= 9 else None
    if chosen is not None:
        stmt = stmt.where(col(PriceAdjustment.supplier_id) == chosen)
    rows = scope.page(stmt, page, per_page=PER_PAGE)
    ctx: dict[str, Any] = {
        "user": user,
        "rows": rows,
        "landed": adjustments.statements_of(scope.session, (r.id for r in rows)),
        "suppliers": _suppliers(scope) if user.is_hq else [],
        "chosen": chosen,
        "may_add": user.has_role(Role.BUYER) and user.is_hq,
        **names_for(scope.session, org_ids={r.supplier_id for r in rows}),
    }
    return render(request, "price_adjustments/list.html", ctx)


def _form_page(
    request: Request,
    user: Principal,
    scope: Scope,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ctx = {
        "user": user,
        "form": form or {"vat_rate": "13"},
        "errors": errors or {},
        "suppliers": _suppliers(scope),
        "vat_rates": _vat_labels(),
        "reason_max": adjustments.REASON_MAX_LENGTH,
    }
    return render(request, "price_adjustments/new.html", ctx, status_code=status_code)


@router.get("/price-adjustments/new")
def new_adjustment(request: Request, user: BuyerUser, scope: OrgScope) -> Response:
    _buyer(user)
    return _form_page(request, user, scope)


@router.post("/price-adjustments")
def add_adjustment(request: Request, user: BuyerUser, scope: OrgScope, form: FieldsDep) -> Response:
    _buyer(user)
    entry = adjustments.AdjustmentEntry(
        supplier_id=form.get("supplier_id", ""),
        po_number=form.get("po_number", "")[:100],
        reason=form.get("reason", ""),
        vat_rate=form.get("vat_rate", ""),
        net_amount=form.get("net_amount", "")[:100],
    )
    try:
        adjustment = adjustments.create_price_adjustment(
            scope.session, entry, user_id=user.user_id, request_key=submitted_form_id(form)
        )
    except adjustments.AdjustmentRefused as refused:
        errors = {name: i18n.gettext(error.message, **error.params) for name, error in refused.errors.items()}
        return _form_page(request, user, scope, form=form, errors=errors, status_code=400)
    flash(scope.session, request, i18n.gettext(RECORDED, number=adjustment.number))
    return RedirectResponse(adjustments.adjustment_link(adjustment.number), status_code=303)


@router.get("/price-adjustments/{number}")
def adjustment_detail(request: Request, number: str, user: AdjustmentReader, scope: OrgScope) -> Response:
    adjustment: PriceAdjustment | None = scope.session.execute(
        scope.select(PriceAdjustment).where(col(PriceAdjustment.number) == number)
    ).scalar_one_or_none()
    if adjustment is None:
        raise HTTPException(status_code=404)
    ctx = {
        "user": user,
        "a": adjustment,
        "landed": adjustments.statements_of(scope.session, [adjustment.id]).get(adjustment.id or 0),
        "timeline": timeline(scope.session, adjustments.DOCUMENT_TYPE, adjustment.number),
        **names_for(
            scope.session, org_ids=[adjustment.supplier_id], user_ids=[adjustment.created_by_user_id]
        ),
    }
    return render(request, "price_adjustments/detail.html", ctx)

"""Supplier quality scorecard pages (issue 5).

- `/quality/scorecard`: HQ quality roles see every supplier (lots, acceptance rate, defect rates,
  dispositions, open returns, debit notes), each linking to its page; a supplier user sees its own.
- `/quality/scorecard/{supplier_id}`: one supplier with a row per SKU and the SKU's switching state.
  A supplier user may open only its own id; any other answers 404 (scoping, `supplychain.scorecard`).
- `POST /quality/scorecard/{supplier_id}/skus/{sku_id}/approve-reduced` and `.../resume`: HQ quality
  approvers and admins approve reduced inspection, or resume a discontinued inspection after the
  supplier's corrective action. Master-data actions, not workflow steps: the route writes the row
  and its document event in one transaction, then redirects with a flash message; a refusal comes
  back on the page with 400 and changes nothing. The approval form carries the row's version: if a
  lot result came in after the page was drawn, the page comes back with 409, the new figures and a
  message to decide again (`supplychain.scorecard.approve_reduced`).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from supplychain import i18n
from supplychain.i18n import lazy
from supplychain.models import OrgKind, Role, SwitchingSeverity
from supplychain.principal import Principal
from supplychain.scoping import HQ_QUALITY_ROLES
from supplychain.scorecard import (
    CATEGORIES,
    SEVERITY_LABELS,
    SWITCHING_DOCUMENT_TYPE,
    SkuScorecard,
    StandingChanged,
    SupplierScorecard,
    SwitchingRefused,
    approve_reduced,
    resume_after_corrective_action,
    supplier_scorecard,
    supplier_scorecards,
    switching_document_id,
)
from supplychain.security import new_token
from web.deps import FormDep, OrgScope, RowId, Scope, parse_row_id, require_roles
from web.flash import flash
from web.purchasing import sku_label
from web.templating import render

router = APIRouter(prefix="/quality")

ViewerUser = Annotated[Principal, Depends(require_roles(*HQ_QUALITY_ROLES, Role.SUPPLIER))]
# Who may change a supplier+SKU's switching state: HQ quality approvers and admins.
DECIDER_ROLES = (Role.QUALITY_APPROVER, Role.ADMIN)
DeciderUser = Annotated[Principal, Depends(require_roles(*DECIDER_ROLES))]

NOTE_MAX_LENGTH = 500
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

CATEGORY_LABELS: dict[str, str] = {
    "critical": lazy("Critical"),
    "major": lazy("Major"),
    "minor": lazy("Minor"),
}
REDUCED_APPROVED = lazy("Reduced inspection approved for %(sku)s.")
RESUMED = lazy("Inspection of %(sku)s resumed on tightened inspection.")
DESCRIBE_ACTION = lazy("Describe the supplier's corrective action.")
NOTE_TOO_LONG = lazy("Use at most %(n)s characters.")


def _is_supplier(user: Principal) -> bool:
    return user.org_kind is OrgKind.SUPPLIER


def _common(user: Principal) -> dict[str, object]:
    return {
        "user": user,
        "categories": CATEGORIES,
        "category_labels": CATEGORY_LABELS,
        "severity_labels": SEVERITY_LABELS,
        "sku_label": sku_label,
        "is_supplier": _is_supplier(user),
    }


def _card_or_404(scope: Scope, supplier_id: int) -> SupplierScorecard:
    card = supplier_scorecard(scope.session, scope.principal, supplier_id)
    if card is None:
        raise HTTPException(status_code=404)
    return card


@router.get("/scorecard")
def scorecards(request: Request, user: ViewerUser, scope: OrgScope) -> Response:
    if _is_supplier(user):
        return _supplier_page(request, user, scope, _card_or_404(scope, user.organisation_id))
    if not user.is_hq:
        raise HTTPException(status_code=403)
    cards = supplier_scorecards(scope.session, user)
    return render(request, "quality/scorecards.html", {"cards": cards, **_common(user)})


@router.get("/scorecard/{supplier_id:int}")
def supplier_page(request: Request, supplier_id: RowId, user: ViewerUser, scope: OrgScope) -> Response:
    if not user.is_hq and not _is_supplier(user):
        raise HTTPException(status_code=403)
    return _supplier_page(request, user, scope, _card_or_404(scope, supplier_id))


def _supplier_page(
    request: Request,
    user: Principal,
    scope: Scope,
    card: SupplierScorecard,
    *,
    error: str = "",
    error_sku_id: int | None = None,
    errors: dict[str, str] | None = None,
    note: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "quality/supplier.html",
        {
            "card": card,
            "can_decide": user.is_hq and user.has_role(*DECIDER_ROLES),
            "error": error,
            "error_sku_id": error_sku_id,
            "errors": errors or {},
            "note": note,
            "note_max": NOTE_MAX_LENGTH,
            "form_key": new_token(),
            "discontinued": SwitchingSeverity.DISCONTINUED,
            "normal": SwitchingSeverity.NORMAL,
            **_common(user),
        },
        status_code=status_code,
    )


def _switched_sku_or_404(card: SupplierScorecard, sku_id: int) -> SkuScorecard:
    sku_card = card.sku(sku_id)
    if sku_card is None or sku_card.switching is None:
        raise HTTPException(status_code=404)
    return sku_card


def _version(raw: object) -> int | None:
    return parse_row_id(raw)  # a version counts from 1, as a row id does


def _refused(
    request: Request, user: Principal, scope: Scope, supplier_id: int, sku_id: int, refused: SwitchingRefused
) -> Response:
    scope.session.rollback()
    # Drawn afresh: after a StandingChanged the page must show the figures that changed.
    card = _card_or_404(scope, supplier_id)
    status_code = 409 if isinstance(refused, StandingChanged) else 400
    return _supplier_page(
        request, user, scope, card, error=str(refused), error_sku_id=sku_id, status_code=status_code
    )


def _idempotency_key(action: str, supplier_id: int, sku_id: int, raw: object) -> str:
    # The form carries a key minted when the page was drawn: a double submit records one event.
    token = raw if isinstance(raw, str) and _KEY.match(raw) else new_token()
    return f"{SWITCHING_DOCUMENT_TYPE}:{switching_document_id(supplier_id, sku_id)}:{action}:{token}"[:200]


@router.post("/scorecard/{supplier_id:int}/skus/{sku_id:int}/approve-reduced")
def approve_reduced_inspection(
    request: Request, supplier_id: RowId, sku_id: RowId, user: DeciderUser, scope: OrgScope, form: FormDep
) -> Response:
    if not user.is_hq:
        raise HTTPException(status_code=403)
    sku_card = _switched_sku_or_404(_card_or_404(scope, supplier_id), sku_id)
    try:
        approve_reduced(
            scope.session,
            supplier_id=supplier_id,
            sku_id=sku_id,
            seen_version=_version(form.get("version")),
            actor_user_id=user.user_id,
            idempotency_key=_idempotency_key("reduced_approved", supplier_id, sku_id, form.get("form_key")),
        )
    except SwitchingRefused as refused:
        return _refused(request, user, scope, supplier_id, sku_id, refused)
    scope.session.commit()
    flash(scope.session, request, i18n.gettext(REDUCED_APPROVED, sku=sku_label(sku_card.sku)))
    return RedirectResponse(f"/quality/scorecard/{supplier_id}", status_code=303)


@router.post("/scorecard/{supplier_id:int}/skus/{sku_id:int}/resume")
def resume_inspection(
    request: Request, supplier_id: RowId, sku_id: RowId, user: DeciderUser, scope: OrgScope, form: FormDep
) -> Response:
    if not user.is_hq:
        raise HTTPException(status_code=403)
    card = _card_or_404(scope, supplier_id)
    sku_card = _switched_sku_or_404(card, sku_id)
    raw_note = form.get("note")
    note = raw_note.strip() if isinstance(raw_note, str) else ""
    error = ""
    if not note:
        error = i18n.gettext(DESCRIBE_ACTION)
    elif len(note) > NOTE_MAX_LENGTH:
        error = i18n.gettext(NOTE_TOO_LONG, n=NOTE_MAX_LENGTH)
    if error:
        scope.session.rollback()
        return _supplier_page(
            request,
            user,
            scope,
            card,
            errors={"note": error},
            error_sku_id=sku_id,
            note=note,
            status_code=400,
        )
    try:
        resume_after_corrective_action(
            scope.session,
            supplier_id=supplier_id,
            sku_id=sku_id,
            actor_user_id=user.user_id,
            idempotency_key=_idempotency_key("resumed", supplier_id, sku_id, form.get("form_key")),
            note=note,
        )
    except SwitchingRefused as refused:
        return _refused(request, user, scope, supplier_id, sku_id, refused)
    scope.session.commit()
    flash(scope.session, request, i18n.gettext(RESUMED, sku=sku_label(sku_card.sku)))
    return RedirectResponse(f"/quality/scorecard/{supplier_id}", status_code=303)

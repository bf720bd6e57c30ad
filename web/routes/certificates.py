"""Supplier quality certificates: the supplier uploads them, HQ lists them, both download them.

Every certificate row is read through `OrgScope` (a supplier sees its own; HQ quality roles see
all; anyone else gets a 404, by page and by file link). Upload checks live in
`supplychain.certificates`; this module only parses the form and renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy import or_, select
from sqlmodel import col
from starlette.background import BackgroundTask
from starlette.responses import Response

from supplychain import certificates
from supplychain.i18n import DISPLAY_TIMEZONE, gettext
from supplychain.models import (
    CertificateType,
    Organisation,
    OrgKind,
    PurchaseOrderLine,
    QualityCertificate,
    Role,
    Shipment,
    ShipmentLine,
    Sku,
)
from supplychain.principal import Principal
from supplychain.scoping import HQ_QUALITY_ROLES
from supplychain.settings import settings
from web.deps import CurrentUser, FileId, OrgScope, PageNumber, RowId, Scope, parse_row_id, require_roles
from web.downloads import stored_file_response
from web.flash import flash
from web.routes import inspections
from web.security_events import log_security_event
from web.templating import render

router = APIRouter()

EXPIRING_SOON_DAYS = 30
SupplierUser = Annotated[Principal, Depends(require_roles(Role.SUPPLIER))]


def _today() -> date:
    return datetime.now(DISPLAY_TIMEZONE).date()


def _require_supplier_org(user: Principal) -> int:
    if user.org_kind is not OrgKind.SUPPLIER:
        raise HTTPException(status_code=403)
    return user.organisation_id


# -- supplier: list and upload -------------------------------------------------------------------------


@dataclass
class UploadForm:
    certificate_type: str = ""
    sku_id: str = ""
    shipment_id: str = ""
    number: str = ""
    issued_on: str = ""
    expires_on: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@router.get("/supplier/certificates")
def supplier_certificates(
    request: Request, user: SupplierUser, scope: OrgScope, page: PageNumber = 1
) -> Response:
    _require_supplier_org(user)
    return _supplier_page(request, user, scope, UploadForm(), page=page)


@router.post("/supplier/certificates")
def upload_certificate(
    request: Request,
    user: SupplierUser,
    scope: OrgScope,
    certificate_type: Annotated[str, Form()] = "",
    sku_id: Annotated[str, Form()] = "",
    shipment_id: Annotated[str, Form()] = "",
    number: Annotated[str, Form()] = "",
    issued_on: Annotated[str, Form()] = "",
    expires_on: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    supplier_id = _require_supplier_org(user)
    form = UploadForm(
        certificate_type, sku_id.strip(), shipment_id.strip(), number.strip(), issued_on, expires_on
    )
    parsed = _parse(scope, form)
    received = None
    if file is None or not file.filename:
        form.errors["file"] = gettext(certificates.NO_FILE)
    else:
        try:
            received = certificates.receive_certificate(file.file, max_bytes=settings.CERTIFICATE_MAX_BYTES)
        except certificates.UploadRefused as refused:
            form.errors["file"] = gettext(refused.message, **refused.params)
            log_security_event(
                request, "upload_refused", "refused", upload="certificate", reason=refused.reason
            )
    if form.errors or received is None or file is None:
        if received is not None:
            received.discard()
        return _supplier_page(request, user, scope, form, status_code=400)
    certificates.add_certificate(
        scope.session,
        received=received,
        supplier_id=supplier_id,
        original_filename=file.filename or "",
        uploaded_by_user_id=user.user_id,
        **parsed,
    )
    flash(scope.session, request, gettext("Certificate %(number)s uploaded.", number=form.number))
    # Lots of this supplier held for a missing or expired certificate look again (after the answer).
    held = inspections.held_workflow_ids(scope, supplier_id)
    return RedirectResponse(
        "/supplier/certificates",
        status_code=303,
        background=BackgroundTask(inspections.recheck_held_lots, request, held),
    )


def _parse(scope: Scope, form: UploadForm) -> dict[str, Any]:
    """The form's fields as `add_certificate` arguments; problems go to `form.errors`."""
    errors = form.errors
    values: dict[str, Any] = {}
    try:
        values["certificate_type"] = CertificateType(form.certificate_type)
    except ValueError:
        errors["certificate_type"] = gettext("Choose the kind of certificate.")
    values["sku_id"] = values["shipment_id"] = None
    if form.sku_id and form.shipment_id:
        errors["sku_id"] = gettext("Choose a SKU or a shipment, not both.")
    elif not form.sku_id and not form.shipment_id:
        errors["sku_id"] = gettext("Choose the SKU or the shipment the certificate covers.")
    elif form.sku_id:
        sku = _visible_id(scope, Sku, form.sku_id)
        if sku is None:
            errors["sku_id"] = gettext("Choose one of the SKUs you supply.")
        values["sku_id"] = sku
    else:
        shipment = _visible_id(scope, Shipment, form.shipment_id)
        if shipment is None:
            errors["shipment_id"] = gettext("Choose one of your shipments.")
        values["shipment_id"] = shipment
    if not form.number:
        errors["number"] = gettext("Enter the certificate number.")
    elif len(form.number) > 64:
        errors["number"] = gettext("The certificate number is too long (64 characters at most).")
    values["number"] = form.number
    values["issued_on"] = _date(form.issued_on)
    if values["issued_on"] is None:
        errors["issued_on"] = gettext("Enter the issue date.")
    values["expires_on"] = _date(form.expires_on) if form.expires_on else None
    if form.expires_on and values["expires_on"] is None:
        errors["expires_on"] = gettext("Enter a valid expiry date.")
    elif values["expires_on"] and values["issued_on"] and values["expires_on"] < values["issued_on"]:
        errors["expires_on"] = gettext("The expiry date cannot be before the issue date.")
    return values


def _visible_id(scope: Scope, model: type[Sku] | type[Shipment], raw: str) -> int | None:
    """The id if it names a row this user may see (a SKU it supplies, a shipment of its own)."""
    row_id = parse_row_id(raw)
    if row_id is None:
        return None
    pk = col(model.id)
    found = scope.session.execute(scope.select(model).where(pk == row_id)).scalar_one_or_none()
    return row_id if found is not None else None


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


def _supplier_page(
    request: Request,
    user: Principal,
    scope: Scope,
    form: UploadForm,
    *,
    page: PageNumber = 1,
    status_code: int = 200,
) -> Response:
    stmt = scope.select(QualityCertificate).order_by(
        col(QualityCertificate.created_at).desc(), col(QualityCertificate.id).desc()
    )
    rows = scope.page(stmt, page)
    skus = scope.session.execute(scope.select(Sku).order_by(col(Sku.code))).scalars().all()
    shipments = (
        scope.session.execute(scope.select(Shipment).order_by(col(Shipment.id).desc()).limit(200))
        .scalars()
        .all()
    )
    return render(
        request,
        "certificates/supplier.html",
        {
            "user": user,
            "certificates": rows,
            "form": form,
            "sku_options": skus,
            "shipment_options": shipments,
            "certificate_types": list(CertificateType),
            "max_bytes": certificates.format_limit(settings.CERTIFICATE_MAX_BYTES),
            **_context(scope, rows),
        },
        status_code=status_code,
        block="results",
    )


# -- HQ list, detail and file --------------------------------------------------------------------------


@router.get("/certificates")
def certificate_list(
    request: Request,
    user: CurrentUser,
    scope: OrgScope,
    supplier: str = "",
    q: str = "",
    expiring: str = "",
    page: PageNumber = 1,
) -> Response:
    if not (user.is_hq and user.roles & HQ_QUALITY_ROLES):
        raise HTTPException(status_code=403)
    supplier_id = parse_row_id(supplier)
    stmt = scope.select(QualityCertificate).order_by(
        col(QualityCertificate.created_at).desc(), col(QualityCertificate.id).desc()
    )
    if supplier_id:
        stmt = stmt.where(col(QualityCertificate.supplier_id) == supplier_id)
    if q:
        sku_ids = select(col(Sku.id)).where(
            or_(*(col(c).icontains(q, autoescape=True) for c in (Sku.code, Sku.name, Sku.name_en)))
        )
        shipment_ids = (
            select(col(ShipmentLine.shipment_id))
            .join(PurchaseOrderLine, col(ShipmentLine.po_line_id) == col(PurchaseOrderLine.id))
            .where(col(PurchaseOrderLine.sku_id).in_(sku_ids))
        )
        stmt = stmt.where(
            or_(
                col(QualityCertificate.sku_id).in_(sku_ids),
                col(QualityCertificate.shipment_id).in_(shipment_ids),
            )
        )
    if expiring:
        soon = _today() + timedelta(days=EXPIRING_SOON_DAYS)
        stmt = stmt.where(
            col(QualityCertificate.expires_on).is_not(None), col(QualityCertificate.expires_on) <= soon
        )
    rows = scope.page(stmt, page)
    suppliers = (
        scope.session.execute(
            scope.select(Organisation)
            .where(col(Organisation.kind) == OrgKind.SUPPLIER)
            .order_by(col(Organisation.name))
        )
        .scalars()
        .all()
    )
    return render(
        request,
        "certificates/list.html",
        {
            "user": user,
            "certificates": rows,
            "suppliers": suppliers,
            "supplier": supplier_id,
            "q": q,
            "expiring": bool(expiring),
            "expiring_days": EXPIRING_SOON_DAYS,
            **_context(scope, rows),
        },
        block="results",
    )


@router.get("/certificates/{certificate_id}")
def certificate_detail(
    request: Request, certificate_id: RowId, user: CurrentUser, scope: OrgScope
) -> Response:
    certificate = scope.get(QualityCertificate, certificate_id)
    return render(
        request,
        "certificates/detail.html",
        {"user": user, "c": certificate, **_context(scope, [certificate])},
    )


@router.get("/certificates/files/{file_id}")
def certificate_file(file_id: FileId, user: CurrentUser, scope: OrgScope) -> Response:
    """The file, by its random public id, to whoever may see the certificate (404 otherwise)."""
    certificate = scope.session.execute(
        scope.select(QualityCertificate).where(col(QualityCertificate.public_id) == file_id)
    ).scalar_one_or_none()
    if certificate is None:
        raise HTTPException(status_code=404)
    path = certificates.stored_path(certificate.stored_name)
    return stored_file_response(path, certificate.content_type, certificate.original_filename)


def _context(scope: Scope, rows: list[QualityCertificate]) -> dict[str, Any]:
    """Names for the ids on rows already scoped, the type labels, and the dates statuses use."""
    session = scope.session
    sku_ids = {r.sku_id for r in rows if r.sku_id is not None}
    shipment_ids = {r.shipment_id for r in rows if r.shipment_id is not None}
    org_ids = {r.supplier_id for r in rows}
    skus = session.execute(select(Sku).where(col(Sku.id).in_(sku_ids))).scalars()
    shipments = session.execute(select(Shipment).where(col(Shipment.id).in_(shipment_ids))).scalars()
    orgs = session.execute(select(Organisation).where(col(Organisation.id).in_(org_ids))).scalars()
    today = _today()
    return {
        "skus": {s.id: s for s in skus},
        "shipments": {s.id: s for s in shipments},
        "orgs": {o.id: o for o in orgs},
        "type_labels": certificates.CERTIFICATE_TYPE_LABELS,
        "today": today,
        "soon": today + timedelta(days=EXPIRING_SOON_DAYS),
    }

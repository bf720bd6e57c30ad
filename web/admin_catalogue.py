"""Admin pages for the catalogue: SKUs (with their inspection settings) and supplier prices.

The same `Entity` machinery as the organisation and user pages (web/admin_entities.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select

from supplychain import i18n
from supplychain.i18n import lazy
from supplychain.models import (
    CertificateType,
    Organisation,
    OrgKind,
    PriceListEntry,
    Sku,
)
from supplychain.models.catalog import InspectionMode
from supplychain.rules.sampling import INSPECTION_LEVELS, normalize_aql
from web.admin_entities import (
    Change,
    Column,
    Entity,
    Lookups,
    _active_or_current,
    _contains,
    _enum_choices,
    _name,
    _org_choices,
    _rows_by_id,
    _status,
    _unique_code,
)
from web.admin_forms import Choice, FormField
from web.deps import Scope

# --- SKUs -------------------------------------------------------------------------------------------

INSPECTION_MODE_LABELS: dict[InspectionMode, str] = {
    InspectionMode.NEVER: lazy("Not inspected"),
    InspectionMode.ALWAYS: lazy("Every lot inspected"),
    InspectionMode.SKIP_LOT: lazy("Skip-lot (every lot until the supplier qualifies)"),
}
CERTIFICATE_LABELS: dict[CertificateType, str] = {
    CertificateType.INSPECTION_REPORT: lazy("Inspection report"),
    CertificateType.COA: lazy("Certificate of analysis (COA)"),
    CertificateType.HEALTH: lazy("Health certificate"),
    CertificateType.ORIGIN: lazy("Certificate of origin"),
}
AQL_FIELDS = ("aql_critical", "aql_major", "aql_minor")
ZERO_TOLERANCE = "0"
BAD_AQL = lazy("Enter an AQL of ISO 2859-1, for example 0.65, 1.0, 2.5 or 4.0, or 0 for zero tolerance.")
ALL_ZERO = lazy("At least one defect category needs an AQL from the tables, not 0.")


def _sku_options(scope: Scope, row: Sku | None) -> dict[str, list[Choice]]:
    return {
        "inspection_mode": _enum_choices(INSPECTION_MODE_LABELS),
        "inspection_level": [Choice(level, level) for level in INSPECTION_LEVELS],
        "required_certificates": _enum_choices(CERTIFICATE_LABELS),
    }


def _aql(text: str) -> str | None:
    """The AQL as stored: "0" (zero tolerance) or as the standard prints it; None when unknown."""
    try:
        if Decimal(text) == 0:
            return ZERO_TOLERANCE
    except ArithmeticError:
        return None
    try:
        return normalize_aql(text)
    except ValueError:
        return None


def _sku_check(change: Change) -> None:
    _unique_code(lazy("Another SKU already uses the code %(code)s."))(change, Sku.code)
    values, errors = change.values, change.errors
    for name in AQL_FIELDS:
        if name in errors or values[name] is None:
            continue
        aql = _aql(values[name])
        if aql is None:
            errors[name] = i18n.gettext(BAD_AQL)
        else:
            values[name] = aql
    if not errors.keys() & set(AQL_FIELDS) and all(values[n] == ZERO_TOLERANCE for n in AQL_FIELDS):
        errors["aql_major"] = i18n.gettext(ALL_ZERO)


def _sku_inspection(row: Sku, lookups: Lookups) -> str:
    label = i18n.gettext(INSPECTION_MODE_LABELS[row.inspection_mode])
    if row.inspection_mode is InspectionMode.NEVER:
        return label
    return f"{label} · {row.inspection_level} · AQL {row.aql_critical}/{row.aql_major}/{row.aql_minor}"


SKUS = Entity(
    slug="skus",
    model=Sku,
    title=lazy("SKUs"),
    new_title=lazy("New SKU"),
    edit_title=lazy("Edit SKU"),
    search_placeholder=lazy("Code or name"),
    fields=(
        FormField("code", lazy("Code"), required=True, max_length=32),
        FormField("name", lazy("Name (Chinese)"), required=True, max_length=200),
        FormField("name_en", lazy("Name (English)"), max_length=200),
        FormField("unit", lazy("Unit"), required=True, max_length=16, hint=lazy("For example pcs, kg, box.")),
        FormField("category", lazy("Category"), max_length=64),
        FormField(
            "inspection_mode",
            lazy("Receiving inspection"),
            "select",
            required=True,
            coerce=InspectionMode,
            hint=lazy("Whether a received lot is inspected before it is available."),
        ),
        FormField(
            "inspection_level",
            lazy("Inspection level"),
            "select",
            required=True,
            hint=lazy("ISO 2859-1 inspection level; II is the usual one."),
        ),
        FormField(
            "aql_critical",
            lazy("AQL critical defects"),
            required=True,
            max_length=8,
            hint=lazy("0 means zero tolerance."),
        ),
        FormField("aql_major", lazy("AQL major defects"), required=True, max_length=8),
        FormField("aql_minor", lazy("AQL minor defects"), required=True, max_length=8),
        FormField(
            "batch_tracked",
            lazy("Batch tracked"),
            "checkbox",
            hint=lazy("Batch number and expiry date required on shipments and receipts."),
        ),
        FormField(
            "required_certificates",
            lazy("Required certificates"),
            "checkboxes",
            separator=",",
            invalid_choice=lazy("Choose certificate types from the list."),
            hint=lazy("A lot is held until the supplier has a valid certificate of each type."),
        ),
    ),
    columns=(
        Column(lazy("Code"), lambda r, lk: r.code),
        Column(lazy("Name (Chinese)"), lambda r, lk: r.name),
        Column(lazy("Name (English)"), lambda r, lk: r.name_en),
        Column(lazy("Unit"), lambda r, lk: r.unit),
        Column(lazy("Category"), lambda r, lk: r.category),
        Column(lazy("Receiving inspection"), _sku_inspection),
        Column(lazy("Status"), _status),
    ),
    order_by=lambda: (Sku.code,),
    search=_contains(Sku.code, Sku.name, Sku.name_en, Sku.category),
    name_of=lambda r: r.code,
    options=_sku_options,
    check=_sku_check,
    initial={
        "unit": "pcs",
        "inspection_mode": InspectionMode.NEVER.value,
        "inspection_level": "II",
        "aql_critical": "0",
        "aql_major": "2.5",
        "aql_minor": "4.0",
        "batch_tracked": False,
        "required_certificates": [],
    },
)


# --- supplier prices --------------------------------------------------------------------------------


def _price_options(scope: Scope, row: PriceListEntry | None) -> dict[str, list[Choice]]:
    skus = _active_or_current(scope, Sku, row.sku_id if row else None)
    return {
        "supplier_id": _org_choices(
            scope,
            row.supplier_id if row else None,
            Organisation.kind == OrgKind.SUPPLIER,  # type: ignore[arg-type]
        ),
        "sku_id": [Choice(str(s.id), f"{s.code} · {s.name}") for s in skus],
    }


def _price_check(change: Change) -> None:
    values, errors = change.values, change.errors
    start, end = values.get("valid_from"), values.get("valid_to")
    if start and end and end < start and "valid_to" not in errors:
        errors["valid_to"] = i18n.gettext("The end date must be on or after the start date.")
    if (
        {"supplier_id", "sku_id", "valid_from"} & errors.keys()
        or not values["supplier_id"]
        or not values["sku_id"]
    ):
        return
    stmt = (
        select(func.count())
        .select_from(PriceListEntry)
        .where(
            PriceListEntry.supplier_id == values["supplier_id"],
            PriceListEntry.sku_id == values["sku_id"],
            # Two open-ended prices from the same start are as ambiguous as two with the same date.
            PriceListEntry.valid_from.is_(None) if start is None else PriceListEntry.valid_from == start,  # type: ignore[union-attr]
        )
    )
    if change.row is not None:
        stmt = stmt.where(PriceListEntry.id != change.row.id)
    if change.session.execute(stmt).scalar_one():
        errors["valid_from"] = i18n.gettext(
            "This supplier already has a price for this SKU starting on this date. Edit that price instead."
        )


def _price_search(stmt: Select[Any], q: str) -> Select[Any]:
    return (
        stmt.join(Sku, Sku.id == PriceListEntry.sku_id)  # type: ignore[arg-type]
        .join(Organisation, Organisation.id == PriceListEntry.supplier_id)  # type: ignore[arg-type]
        .where(
            or_(
                Sku.code.icontains(q, autoescape=True),  # type: ignore[attr-defined]
                Sku.name.icontains(q, autoescape=True),  # type: ignore[attr-defined]
                Organisation.code.icontains(q, autoescape=True),  # type: ignore[attr-defined]
                Organisation.name.icontains(q, autoescape=True),  # type: ignore[attr-defined]
            )
        )
    )


def _validity(row: PriceListEntry, lookups: Lookups) -> str:
    if row.valid_from is None and row.valid_to is None:
        return "—"
    return f"{i18n.format_date(row.valid_from) or '…'} – {i18n.format_date(row.valid_to) or '…'}"


PRICES = Entity(
    slug="prices",
    model=PriceListEntry,
    title=lazy("Supplier prices"),
    new_title=lazy("New supplier price"),
    edit_title=lazy("Edit supplier price"),
    search_placeholder=lazy("SKU or supplier"),
    fields=(
        FormField(
            "supplier_id",
            lazy("Supplier"),
            "select",
            required=True,
            int_choices=True,
            invalid_choice=lazy("Choose a supplier organisation."),
        ),
        FormField(
            "sku_id",
            lazy("SKU"),
            "select",
            required=True,
            int_choices=True,
            invalid_choice=lazy("Choose an existing SKU."),
        ),
        FormField(
            "unit_price",
            lazy("Unit price (CNY, net of VAT)"),
            "decimal",
            required=True,
            minimum=Decimal(0),
            maximum=Decimal(10) ** 14,
            places=4,
        ),
        FormField(
            "tax_rate",
            lazy("VAT rate (percent)"),
            "percent",
            required=True,
            minimum=Decimal(0),
            maximum=Decimal(100),
            places=2,
            hint=lazy("Enter 13 for a rate of 13 percent."),
        ),
        FormField("lead_time_days", lazy("Lead time (days)"), "int", required=True, minimum=Decimal(0)),
        FormField("moq", lazy("Minimum order quantity"), "int", required=True, minimum=Decimal(1)),
        FormField("pack_size", lazy("Pack size"), "int", required=True, minimum=Decimal(1)),
        FormField("valid_from", lazy("Valid from"), "date"),
        FormField("valid_to", lazy("Valid to"), "date"),
    ),
    columns=(
        Column(lazy("Supplier"), lambda r, lk: _name(r, lk, "orgs", "supplier_id")),
        Column(lazy("SKU"), lambda r, lk: _name(r, lk, "skus", "sku_id")),
        Column(lazy("Unit price"), lambda r, lk: i18n.format_money(r.unit_price), num=True),
        Column(lazy("VAT"), lambda r, lk: i18n.format_percent(r.tax_rate), num=True),
        Column(lazy("Lead time (days)"), lambda r, lk: str(r.lead_time_days), num=True),
        Column(lazy("MOQ"), lambda r, lk: str(r.moq), num=True),
        Column(lazy("Pack size"), lambda r, lk: str(r.pack_size), num=True),
        Column(lazy("Valid"), _validity),
        Column(lazy("Status"), _status),
    ),
    order_by=lambda: (PriceListEntry.supplier_id, PriceListEntry.sku_id, PriceListEntry.valid_from),
    search=_price_search,
    name_of=lambda r: f"#{r.id}",
    options=_price_options,
    lookups=lambda scope, rows: {
        "orgs": _rows_by_id(scope, Organisation, {r.supplier_id for r in rows}),
        "skus": _rows_by_id(scope, Sku, {r.sku_id for r in rows}),
    },
    check=_price_check,
    initial={"lead_time_days": "7", "moq": "1", "pack_size": "1", "tax_rate": "13"},
)

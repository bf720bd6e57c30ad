"""Price adjustments (issue 12): an amount agreed with a supplier outside any receipt, entered by an
HQ buyer, collected as a source line of the supplier's next statement (`supplychain.statements`).

- `create_price_adjustment` checks what the buyer typed and refuses it whole, per field
  (`AdjustmentRefused`), before anything is written, not even a number. The net amount is signed (a
  rebate is negative, a surcharge positive), never zero, at most 2 places and at most
  `MAX_NET_AMOUNT` either way; VAT is one of `VAT_RATES` and is computed by the statement rule
  (`amounts_from_net`), so the adjustment's figures are those its statement line carries. A PO
  number, when given, must be one of that supplier's purchase orders.
- Each adjustment gets `ADJ-<year>-<n>`, a "created" event (its timeline) and a notification to the
  supplier's users. There is no edit or delete: an agreed amount is corrected by another adjustment,
  and one already on a statement stays as its statement shows it.
- Reading: HQ sees all, a supplier its own (`supplychain.scoping`); `statements_of` says which
  statement each adjustment landed on.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlmodel import Session, col

from supplychain import notifications
from supplychain.events import record_event, recorded
from supplychain.i18n import lazy
from supplychain.models import Organisation, OrgKind, PurchaseOrder, Role, Statement, StatementLine
from supplychain.models.base import utcnow
from supplychain.models.events import DocumentEvent
from supplychain.models.settlement import PriceAdjustment, StatementLineSource
from supplychain.numbering import reserve_number
from supplychain.rules.dates import BUSINESS_TIMEZONE
from supplychain.rules.money import MONEY_PLACES, has_places
from supplychain.rules.statement import amounts_from_net

DOCUMENT_TYPE = "price_adjustment"
PREFIX = "ADJ"
# The VAT rates of China's goods and services, as the form offers them (percent -> rate).
VAT_RATES: dict[str, Decimal] = {
    "13": Decimal("0.13"),
    "9": Decimal("0.09"),
    "6": Decimal("0.06"),
    "0": Decimal("0"),
}
MAX_NET_AMOUNT = Decimal("10000000.00")  # ten million either way: beyond that is a typing error
REASON_MAX_LENGTH = 1000
_AMOUNT_TEXT = re.compile(r"^[+-]?\d{1,13}(\.\d+)?$", re.ASCII)

CHOOSE_SUPPLIER = lazy("Choose a supplier.")
NOT_THE_SUPPLIERS_PO = lazy("%(po)s is not a purchase order of this supplier.")
ENTER_REASON = lazy("Enter the reason for the adjustment.")
REASON_TOO_LONG = lazy("Keep the reason to %(max)s characters.")
CHOOSE_VAT_RATE = lazy("Choose a VAT rate.")
ENTER_SIGNED_AMOUNT = lazy("Enter an amount excluding VAT, for example -120.50 for a rebate or 80.00.")
AMOUNT_NOT_ZERO = lazy("An adjustment cannot be zero.")
AMOUNT_PLACES = lazy("Enter the amount with at most 2 decimals.")
AMOUNT_TOO_LARGE = lazy("Enter an amount of at most %(max)s either way.")
ADJUSTMENT_RECORDED = lazy(
    "Price adjustment %(number)s (%(amount)s including VAT) will be on your next statement."
)


def adjustment_link(number: str) -> str:
    return f"/price-adjustments/{number}"


@dataclass(frozen=True)
class AdjustmentEntry:
    """What the buyer typed, as text."""

    supplier_id: str
    po_number: str
    reason: str
    vat_rate: str  # a key of VAT_RATES
    net_amount: str


@dataclass(frozen=True)
class FieldError:
    message: str  # an English message id (lazy), translated by the page
    params: Mapping[str, object]


class AdjustmentRefused(Exception):
    """The entry refused: a message per field; nothing was written."""

    def __init__(self, errors: dict[str, FieldError]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class _Checked:
    supplier: Organisation
    po_number: str
    reason: str
    tax_rate: Decimal
    net_amount: Decimal


def parse_net_amount(text: str) -> Decimal | FieldError:
    text = text.strip().replace(",", "")
    if not _AMOUNT_TEXT.match(text):
        return FieldError(ENTER_SIGNED_AMOUNT, {})
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return FieldError(ENTER_SIGNED_AMOUNT, {})
    if not has_places(value, MONEY_PLACES):
        return FieldError(AMOUNT_PLACES, {})
    if value == 0:
        return FieldError(AMOUNT_NOT_ZERO, {})
    if abs(value) > MAX_NET_AMOUNT:
        return FieldError(AMOUNT_TOO_LARGE, {"max": f"{MAX_NET_AMOUNT:,}"})
    return value.quantize(Decimal("0.01"))


def _check(session: Session, entry: AdjustmentEntry) -> _Checked:
    errors: dict[str, FieldError] = {}
    supplier: Organisation | None = None
    text = entry.supplier_id.strip()
    if text.isascii() and text.isdigit() and len(text) <= 9:
        supplier = session.get(Organisation, int(text))
    if supplier is None or supplier.kind is not OrgKind.SUPPLIER or not supplier.is_active:
        supplier = None
        errors["supplier_id"] = FieldError(CHOOSE_SUPPLIER, {})
    po_number = entry.po_number.strip().upper()
    if po_number and supplier is not None:
        found = session.execute(
            select(col(PurchaseOrder.id)).where(
                col(PurchaseOrder.number) == po_number, col(PurchaseOrder.supplier_id) == supplier.id
            )
        ).first()
        if found is None:
            errors["po_number"] = FieldError(NOT_THE_SUPPLIERS_PO, {"po": po_number[:32]})
    reason = entry.reason.strip()
    if not reason:
        errors["reason"] = FieldError(ENTER_REASON, {})
    elif len(reason) > REASON_MAX_LENGTH:
        errors["reason"] = FieldError(REASON_TOO_LONG, {"max": REASON_MAX_LENGTH})
    tax_rate = VAT_RATES.get(entry.vat_rate.strip())
    if tax_rate is None:
        errors["vat_rate"] = FieldError(CHOOSE_VAT_RATE, {})
    net = parse_net_amount(entry.net_amount)
    if isinstance(net, FieldError):
        errors["net_amount"] = net
    if errors:
        raise AdjustmentRefused(errors)
    assert supplier is not None and tax_rate is not None and isinstance(net, Decimal)
    return _Checked(supplier, po_number, reason, tax_rate, net)


def create_price_adjustment(
    session: Session, entry: AdjustmentEntry, *, user_id: int, request_key: str | None = None
) -> PriceAdjustment:
    """Check and record one adjustment; commits. `request_key` (the form's one-time id) makes a
    repeat of the same submit return the first adjustment instead of a second one."""
    checked = _check(session, entry)
    key = f"{DOCUMENT_TYPE}:created:{user_id}:{request_key or uuid.uuid4().hex}"
    if recorded(session, key):
        earlier = _adjustment_of_event(session, key)
        if earlier is not None:
            return earlier
    now = utcnow()
    number = reserve_number(session, PREFIX, now.astimezone(BUSINESS_TIMEZONE).year)  # commits
    amounts = amounts_from_net(checked.net_amount, checked.tax_rate)
    assert checked.supplier.id is not None
    adjustment = PriceAdjustment(
        number=number,
        supplier_id=checked.supplier.id,
        po_number=checked.po_number,
        reason=checked.reason,
        tax_rate=checked.tax_rate,
        net_amount=amounts.net,
        tax_amount=amounts.tax,
        total_amount=amounts.total,
        created_by_user_id=user_id,
        created_at=now,
    )
    session.add(adjustment)
    session.flush()
    record_event(
        session,
        document_type=DOCUMENT_TYPE,
        document_id=number,
        action="created",
        idempotency_key=key,
        actor_user_id=user_id,
        after={"po_number": checked.po_number, "total_amount": amounts.total},
        occurred_at=now,
    )
    notifications.notify(
        session,
        user_ids=notifications.users_with_role(session, Role.SUPPLIER, checked.supplier.id),
        message=ADJUSTMENT_RECORDED,
        params={"number": number, "amount": str(amounts.total)},
        idempotency_key=f"{DOCUMENT_TYPE}:{number}:supplier",
        link=adjustment_link(number),
        document_type=DOCUMENT_TYPE,
        document_id=number,
    )
    session.commit()
    session.refresh(adjustment)
    return adjustment


def _adjustment_of_event(session: Session, key: str) -> PriceAdjustment | None:
    number = session.execute(
        select(col(DocumentEvent.document_id)).where(col(DocumentEvent.idempotency_key) == key)
    ).scalar_one_or_none()
    if number is None:
        return None
    return session.execute(
        select(PriceAdjustment).where(col(PriceAdjustment.number) == number)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class LandedOn:
    statement_number: str
    line_no: int


def statements_of(session: Session, adjustment_ids: Iterable[int | None]) -> dict[int, LandedOn]:
    """The statement (and line) each adjustment was collected on, by adjustment id; one query."""
    ids = {i for i in adjustment_ids if i is not None}
    if not ids:
        return {}
    rows = session.execute(
        select(col(StatementLine.source_id), col(Statement.number), col(StatementLine.line_no))
        .join(Statement, col(Statement.id) == col(StatementLine.statement_id))
        .where(
            col(StatementLine.source_type) == StatementLineSource.PRICE_ADJUSTMENT,
            col(StatementLine.source_id).in_(ids),
        )
    ).all()
    return {source_id: LandedOn(number, line_no) for source_id, number, line_no in rows}

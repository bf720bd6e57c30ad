"""Money is exact in the database (supplychain.models.base.ExactDecimal), on SQLite and PostgreSQL:
stored as whole units, read back as Decimal at the column's scale, summed exactly by the query the
scorecard page uses."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, col

from supplychain.models import (
    DebitNote,
    DebitNoteKind,
    Inspection,
    InspectionSeverity,
    InspectionVerdict,
    LocationKind,
    OrgKind,
    PriceListEntry,
    PurchaseOrderLine,
    Role,
    User,
)
from supplychain.models.base import ExactDecimal
from supplychain.principal import principal_for
from supplychain.scorecard import supplier_scorecard
from tests.factories import make_location, make_organisation, make_price, make_sku, make_user

LINES = 10_000
# Awkward for floating point; 0.10 + 0.20 = 0.30 is one debit note (its CHECK: total = net + tax).
AWKWARD = [("0.01", "0.00"), ("0.10", "0.20"), ("0.10", "0.00"), ("0.30", "0.00"), ("99999.99", "0.00")]


def amounts() -> list[tuple[Decimal, Decimal]]:
    """(net, tax) of 10,000 debit notes, totals from 0.01 to 99,999.99: the awkward ones, then
    seeded-random fen with 13 % VAT split off."""
    rng = random.Random(20261202)
    lines = [(Decimal(net), Decimal(tax)) for net, tax in AWKWARD]
    while len(lines) < LINES:
        total = rng.randint(1, 9_999_999)  # fen
        tax = total * 13 // 113
        lines.append((Decimal(total - tax).scaleb(-2), Decimal(tax).scaleb(-2)))
    return lines


def test_ten_thousand_debit_notes_sum_exactly_on_the_scorecard(session: Session) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    sku = make_sku(session)
    location = make_location(session, organisation=hq, kind=LocationKind.CENTRAL_WAREHOUSE)
    user = make_user(session, organisation=hq, roles=[Role.QUALITY_APPROVER])
    lines = amounts()
    assert min(net + tax for net, tax in lines) == Decimal("0.01")
    assert max(net + tax for net, tax in lines) == Decimal("99999.99")

    # Two notes per inspection (one of each kind: unique per inspection and kind).
    session.execute(
        insert(Inspection), [_inspection_row(n, supplier.id, sku.id, location.id) for n in range(LINES // 2)]
    )
    inspection_ids = (
        session.execute(
            select(col(Inspection.id))
            .where(col(Inspection.supplier_id) == supplier.id)
            .order_by(col(Inspection.id))
        )
        .scalars()
        .all()
    )
    kinds = list(DebitNoteKind)
    session.execute(
        insert(DebitNote),
        [
            {
                "number": f"DN-X-{n:06d}",
                "kind": kinds[n % 2],
                "supplier_id": supplier.id,
                "inspection_id": inspection_ids[n // 2],
                "po_number": "PO-X",
                "sku_id": sku.id,
                "quantity": 1,
                "net_amount": net,
                "tax_amount": tax,
                "total_amount": net + tax,
            }
            for n, (net, tax) in enumerate(lines)
        ],
    )
    session.commit()

    card = supplier_scorecard(session, principal_for(session, user), supplier.id)

    assert card is not None
    expected = sum((net + tax for net, tax in lines), Decimal("0.00"))
    total = card.figures.debit_note_total
    assert (card.figures.debit_notes, total, str(total)) == (LINES, expected, str(expected))
    assert type(total) is Decimal


def _inspection_row(n: int, supplier_id: Any, sku_id: Any, location_id: Any) -> dict[str, Any]:
    return {
        "number": f"INS-X-{n:06d}",
        "workflow_id": f"test-money-inspection-{n}",
        "po_number": "PO-X",
        "shipment_number": "SHP-X",
        "line_no": 1,
        "sku_id": sku_id,
        "supplier_id": supplier_id,
        "location_id": location_id,
        "lot_size": 1,
        "inspection_level": "II",
        "severity": InspectionSeverity.NORMAL,
        "aql_critical": "0",
        "aql_major": "2.5",
        "aql_minor": "4.0",
        "code_letter": "A",
        "sample_size": 1,
        "critical_sample_size": 1,
        "critical_accept": 0,
        "critical_reject": 1,
        "major_sample_size": 1,
        "major_accept": 0,
        "major_reject": 1,
        "minor_sample_size": 1,
        "minor_accept": 0,
        "minor_reject": 1,
        "verdict": InspectionVerdict.PENDING,
        "created_at": datetime.now(UTC),
    }


# --- the column type ---------------------------------------------------------------------------------


def _supplier_and_sku(session: Session) -> dict[str, Any]:
    return {"supplier": make_organisation(session, kind=OrgKind.SUPPLIER), "sku": make_sku(session)}


@pytest.mark.parametrize(
    ("unit_price", "tax_rate"),
    [("0.0001", "0"), ("12.3456", "0.13"), ("0.1", "0.09"), ("99999999999999.9999", "0.9999")],
)
def test_prices_and_rates_round_trip_exactly_at_four_places(
    session: Session, unit_price: str, tax_rate: str
) -> None:
    price = make_price(
        session, **_supplier_and_sku(session), unit_price=Decimal(unit_price), tax_rate=Decimal(tax_rate)
    )
    session.expire_all()

    row = session.get(PriceListEntry, price.id)

    assert (str(row.unit_price), str(row.tax_rate)) == (
        str(Decimal(unit_price).quantize(Decimal("0.0001"))),
        str(Decimal(tax_rate).quantize(Decimal("0.0001"))),
    )


@pytest.mark.parametrize("limit", ["0.01", "0.1", "50000", "99999999999999.99", None])
def test_amounts_round_trip_exactly_at_two_places_and_none_stays_none(
    session: Session, limit: str | None
) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    user = make_user(
        session,
        organisation=hq,
        roles=[Role.APPROVER],
        approval_limit=None if limit is None else Decimal(limit),
    )
    session.expire_all()

    stored = session.get(User, user.id).approval_limit

    if limit is None:
        assert stored is None
    else:
        assert str(stored) == str(Decimal(limit).quantize(Decimal("0.01")))
    raw = session.execute(
        select(func.count()).where(col(User.id) == user.id, col(User.approval_limit).is_(None))
    )
    assert raw.scalar_one() == (1 if limit is None else 0)


def test_a_value_with_more_places_than_the_column_keeps_is_refused_not_rounded(session: Session) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)

    with pytest.raises(StatementError) as refused:
        make_user(session, organisation=hq, roles=[Role.APPROVER], approval_limit=Decimal("100.005"))

    assert isinstance(refused.value.orig, ValueError)
    assert "more than 2 decimal places" in str(refused.value.orig)
    session.rollback()
    with pytest.raises(ValueError, match="more than 4 decimal places"):
        ExactDecimal(4).process_bind_param(Decimal("0.12345"), session.get_bind().dialect)


def test_a_float_is_refused(session: Session) -> None:
    dialect = session.get_bind().dialect
    with pytest.raises(TypeError, match="never float"):
        ExactDecimal(2).process_bind_param(0.1, dialect)
    assert ExactDecimal(2).process_bind_param(None, dialect) is None
    assert ExactDecimal(2).process_bind_param(7, dialect) == 700


def test_comparisons_with_plain_values_and_check_constraints_work_in_units(session: Session) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    for limit in ("99.99", "100.00", "100.01"):
        make_user(session, organisation=hq, roles=[Role.APPROVER], approval_limit=Decimal(limit))
    limit_col = col(User.approval_limit)

    def limits(*where: Any) -> list[str]:
        return [
            str(v) for v in session.execute(select(limit_col).where(*where).order_by(limit_col)).scalars()
        ]

    assert limits(limit_col > Decimal("100")) == ["100.01"]
    assert limits(limit_col >= 100) == ["100.00", "100.01"]
    assert limits(limit_col.between(Decimal("99.99"), Decimal("100.00"))) == ["99.99", "100.00"]
    assert limits(limit_col == Decimal("100.0")) == ["100.00"]
    assert limits(limit_col + Decimal("0.01") == Decimal("100.01")) == ["100.00"]

    with pytest.raises(IntegrityError):  # ck_user_limit_nonneg: approval_limit >= 0, in fen
        make_user(session, organisation=hq, roles=[Role.APPROVER], approval_limit=Decimal("-0.01"))
    session.rollback()


def test_the_percent_checks_mean_what_they_did_in_units(session: Session) -> None:
    where = _supplier_and_sku(session)
    for rate in ("1", "1.5"):  # 100 % and more: ck_price_tax_rate (tax_rate < 10000 units)
        with pytest.raises(IntegrityError):
            make_price(session, **where, unit_price=Decimal("1"), tax_rate=Decimal(rate))
        session.rollback()
    price = make_price(session, **where, unit_price=Decimal("1"), tax_rate=Decimal("0.9999"))
    assert price.tax_rate == Decimal("0.9999")


def test_sql_arithmetic_keeps_units_or_is_refused(session: Session) -> None:
    net, tax, total = col(DebitNote.net_amount), col(DebitNote.tax_amount), col(DebitNote.total_amount)
    assert isinstance((net + tax).type, ExactDecimal)
    assert isinstance(func.sum(total).type, ExactDecimal)
    assert isinstance(func.coalesce(func.sum(total), 0).type, ExactDecimal)
    assert isinstance((total * 2).type, ExactDecimal)
    with pytest.raises(TypeError, match="not exact"):
        col(PurchaseOrderLine.unit_price) * col(PurchaseOrderLine.tax_rate)
    with pytest.raises(TypeError, match="not exact"):
        col(PurchaseOrderLine.unit_price) + col(PurchaseOrderLine.line_amount)


def test_sums_and_doubling_in_sql_read_back_as_exact_decimals(session: Session) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    for limit in ("0.10", "0.20", "0.30"):
        make_user(session, organisation=hq, roles=[Role.APPROVER], approval_limit=Decimal(limit))
    limit_col = col(User.approval_limit)

    total, doubled, empty = session.execute(
        select(
            func.sum(limit_col),
            func.max(limit_col * 2),
            select(func.coalesce(func.sum(limit_col), 0)).where(limit_col > 1).scalar_subquery(),
        )
    ).one()

    assert (str(total), str(doubled), str(empty)) == ("0.60", "0.60", "0.00")

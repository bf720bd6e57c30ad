"""Database constraints the models declare, checked against the migrated schema (not `create_all`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from supplychain.models import LocationKind, OrgKind, PriceListEntry, Role, UserRole
from tests.factories import make_location, make_organisation, make_price, make_sku, make_user


def refused(session: Session, action: Callable[[], object]) -> None:
    with pytest.raises(IntegrityError):
        action()
        session.flush()
    session.rollback()


def test_codes_and_emails_are_unique(session: Session) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ, code="DUP")
    refused(session, lambda: make_organisation(session, kind=OrgKind.SUPPLIER, code="DUP"))
    make_sku(session, code="SKU-DUP")
    refused(session, lambda: make_sku(session, code="SKU-DUP"))
    make_location(session, organisation=hq, kind=LocationKind.STORE, code="LOC-DUP")
    refused(session, lambda: make_location(session, organisation=hq, kind=LocationKind.STORE, code="LOC-DUP"))
    make_user(session, organisation=hq, roles=[Role.BUYER], email="same@example.test")
    refused(
        session, lambda: make_user(session, organisation=hq, roles=[Role.ADMIN], email="same@example.test")
    )


def test_a_user_holds_each_role_once(session: Session) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    user = make_user(session, organisation=hq, roles=[Role.BUYER, Role.APPROVER])
    user_id = user.id
    assert user_id is not None

    refused(session, lambda: session.add(UserRole(user_id=user_id, role=Role.BUYER)))


def test_a_negative_approval_limit_is_refused(session: Session) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    refused(
        session,
        lambda: make_user(session, organisation=hq, roles=[Role.APPROVER], approval_limit=Decimal(-1)),
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"unit_price": Decimal("-0.01")},
        {"tax_rate": Decimal("1")},
        {"tax_rate": Decimal("-0.01")},
        {"lead_time_days": -1},
        {"moq": 0},
        {"pack_size": 0},
    ],
    ids=lambda bad: next(iter(bad)),
)
def test_price_list_checks_refuse_nonsense(session: Session, bad: dict[str, object]) -> None:
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    sku = make_sku(session)
    price = make_price(session, supplier=supplier, sku=sku)

    def spoil() -> None:
        for name, value in bad.items():
            setattr(price, name, value)
        session.add(price)

    refused(session, spoil)


def test_a_price_valid_to_before_valid_from_is_refused(session: Session) -> None:
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    sku = make_sku(session)
    refused(
        session,
        lambda: make_price(
            session, supplier=supplier, sku=sku, valid_from=date(2026, 12, 1), valid_to=date(2026, 11, 1)
        ),
    )


def test_price_amounts_come_back_as_exact_decimals(session: Session) -> None:
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    sku = make_sku(session)
    price = make_price(
        session, supplier=supplier, sku=sku, unit_price=Decimal("0.1234"), tax_rate=Decimal("0.09")
    )
    session.expire_all()

    loaded = session.get(PriceListEntry, price.id)
    assert loaded is not None
    assert loaded.unit_price == Decimal("0.1234") and isinstance(loaded.unit_price, Decimal)
    assert loaded.tax_rate == Decimal("0.09")


@pytest.mark.parametrize("table", ["organisation", "location", "user_role", "stock_ledger"])
def test_enum_columns_refuse_unknown_values(session: Session, table: str) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    location = make_location(session, organisation=hq, kind=LocationKind.STORE)
    user = make_user(session, organisation=hq, roles=[Role.STORE])
    sku = make_sku(session)
    rows = {
        "organisation": f"UPDATE organisation SET kind = 'bogus' WHERE id = {hq.id}",
        "location": f"UPDATE location SET kind = 'bogus' WHERE id = {location.id}",
        "user_role": f"UPDATE user_role SET role = 'bogus' WHERE user_id = {user.id}",
        "stock_ledger": (
            "INSERT INTO stock_ledger (location_id, sku_id, movement_type, delta_on_hand, delta_reserved, "
            "delta_in_transit, source_document_type, source_document_id, idempotency_key, note, created_at) "
            f"VALUES ({location.id}, {sku.id}, 'bogus', 1, 0, 0, 't', 't', 'bogus', '', CURRENT_TIMESTAMP)"
        ),
    }

    refused(session, lambda: session.execute(text(rows[table])))


def test_foreign_keys_are_enforced(session: Session) -> None:
    # SQLite needs PRAGMA foreign_keys=ON on every connection; the engine sets it.
    refused(
        session,
        lambda: session.execute(
            text(
                "INSERT INTO location (code, name, kind, organisation_id, address, is_active, created_at) "
                "VALUES ('ORPHAN', 'x', 'store', 999999, '', true, CURRENT_TIMESTAMP)"
            )
        ),
    )

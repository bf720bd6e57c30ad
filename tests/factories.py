"""Factories for test rows: keyword-only, unique codes, committed (so a web server or worker in another
process sees them) and refreshed (so the returned object stays readable after the session closes)."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import TypeVar

from sqlmodel import Session, SQLModel

from supplychain.models import (
    Location,
    LocationKind,
    Organisation,
    OrgKind,
    PriceListEntry,
    Region,
    Role,
    Sku,
    User,
    UserRole,
)
from supplychain.security import hash_password

DEFAULT_PASSWORD = "correct horse battery"

# A per-process token keeps codes unique even when several test processes share one database.
_RUN = secrets.token_hex(3).upper()
_counter = itertools.count(1)

T = TypeVar("T", bound=SQLModel)


def unique_code(prefix: str) -> str:
    return f"{prefix}-{_RUN}-{next(_counter):05d}"


@lru_cache(maxsize=16)
def _password_hash(password: str) -> str:
    # argon2 is deliberately slow; tests create many users with the same few passwords.
    return hash_password(password)


def _save(session: Session, *rows: SQLModel) -> None:
    session.add_all(rows)
    session.commit()
    for row in rows:
        session.refresh(row)


def _one(session: Session, row: T) -> T:
    _save(session, row)
    return row


def make_organisation(
    session: Session, *, kind: OrgKind, code: str | None = None, name: str | None = None
) -> Organisation:
    code = code or unique_code(kind.value.upper()[:4])
    return _one(session, Organisation(code=code, name=name or f"{kind.value} {code}", kind=kind))


def make_region(session: Session, *, code: str | None = None, name: str | None = None) -> Region:
    code = code or unique_code("REG")
    return _one(session, Region(code=code, name=name or f"Region {code}"))


def make_location(
    session: Session,
    *,
    organisation: Organisation,
    kind: LocationKind,
    region: Region | None = None,
    code: str | None = None,
    name: str | None = None,
) -> Location:
    assert organisation.id is not None
    code = code or unique_code("LOC")
    return _one(
        session,
        Location(
            code=code,
            name=name or f"{kind.value} {code}",
            kind=kind,
            organisation_id=organisation.id,
            region_id=region.id if region is not None else None,
        ),
    )


def make_user(
    session: Session,
    *,
    organisation: Organisation,
    roles: Iterable[Role],
    password: str = DEFAULT_PASSWORD,
    email: str | None = None,
    location: Location | None = None,
    approval_limit: Decimal | None = None,
    locale: str = "zh_CN",
    full_name: str | None = None,
    is_active: bool = True,
) -> User:
    assert organisation.id is not None
    email = email or f"{unique_code('user').lower()}@example.test"
    user = User(
        email=email,
        full_name=full_name or email.split("@")[0],
        organisation_id=organisation.id,
        location_id=location.id if location is not None else None,
        approval_limit=approval_limit,
        locale=locale,
        is_active=is_active,
        password_hash=_password_hash(password),
    )
    session.add(user)
    session.flush()
    assert user.id is not None
    session.add_all(UserRole(user_id=user.id, role=role) for role in dict.fromkeys(roles))
    session.commit()
    session.refresh(user)
    return user


def make_sku(
    session: Session,
    *,
    code: str | None = None,
    name: str | None = None,
    name_en: str | None = None,
    unit: str = "pcs",
    category: str = "general",
) -> Sku:
    code = code or unique_code("SKU")
    return _one(
        session,
        Sku(
            code=code,
            name=name or f"商品 {code}",
            name_en=name_en or f"Item {code}",
            unit=unit,
            category=category,
        ),
    )


def make_price(
    session: Session,
    *,
    supplier: Organisation,
    sku: Sku,
    unit_price: Decimal = Decimal("12.5000"),
    tax_rate: Decimal = Decimal("0.13"),
    lead_time_days: int = 7,
    moq: int = 1,
    pack_size: int = 1,
    valid_from: date | None = None,
    valid_to: date | None = None,
    is_active: bool = True,
) -> PriceListEntry:
    assert supplier.id is not None and sku.id is not None
    return _one(
        session,
        PriceListEntry(
            supplier_id=supplier.id,
            sku_id=sku.id,
            unit_price=unit_price,
            tax_rate=tax_rate,
            lead_time_days=lead_time_days,
            moq=moq,
            pack_size=pack_size,
            valid_from=valid_from,
            valid_to=valid_to,
            is_active=is_active,
        ),
    )

"""The demo data: what it contains, that every demo login works, and that seeding twice changes nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, func, select
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
    StockBalance,
    StockLedgerEntry,
    User,
    UserRole,
)
from supplychain.models.catalog import InspectionMode
from supplychain.security import verify_password
from supplychain.seed import DemoLogin, seed_demo
from supplychain.stock import ledger_totals
from tests.fixtures.database import wipe_database


def row_counts(session: Session) -> dict[str, int]:
    return {
        name: session.execute(select(func.count()).select_from(table)).scalar_one()
        for name, table in SQLModel.metadata.tables.items()
    }


def one(session: Session, model: type, **where: object):  # type: ignore[no-untyped-def]
    return session.execute(select(model).filter_by(**where)).scalars().one()


@dataclass(frozen=True)
class Seeded:
    logins: list[DemoLogin]
    counts: dict[str, int]


# Argon2 with production parameters costs ~0.5 s a hash on a small machine; the seed's logic does
# not depend on the cost, and `verify_password` reads the parameters from each hash.
_cheap_hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(scope="module")
def seeded(engine: Engine) -> Iterator[Seeded]:
    """The demo data, seeded once for this module's read-only tests into a wiped database."""
    wipe_database(engine)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("supplychain.seed.hash_password", _cheap_hasher.hash)
        with Session(engine) as s:
            logins = seed_demo(s)
        with Session(engine) as s:
            counts = row_counts(s)
        yield Seeded(logins, counts)


@pytest.fixture
def session(seeded: Seeded, engine: Engine) -> Iterator[Session]:
    with Session(engine) as s:
        yield s


def test_seeding_again_changes_nothing_and_returns_the_same_logins(seeded: Seeded, session: Session) -> None:
    assert seeded.counts["stock_ledger"] > 0 and seeded.counts["app_user"] == len(seeded.logins)

    again = seed_demo(session)

    assert again == seeded.logins
    with Session(session.get_bind()) as fresh:
        assert row_counts(fresh) == seeded.counts


def test_a_second_run_hashes_no_passwords(
    seeded: Seeded, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(password: str) -> str:
        raise AssertionError("seed_demo hashed a password for a user that already exists")

    monkeypatch.setattr("supplychain.seed.hash_password", refuse)
    assert seed_demo(session) == seeded.logins


def test_the_demo_chain_has_the_promised_shape(session: Session) -> None:
    orgs = session.execute(select(Organisation)).scalars().all()
    assert Counter(o.kind for o in orgs) == {OrgKind.HQ: 1, OrgKind.DISTRIBUTOR: 2, OrgKind.SUPPLIER: 3}
    hq = one(session, Organisation, kind=OrgKind.HQ)
    assert hq.name == "总部"

    regions = {r.id: r.name for r in session.execute(select(Region)).scalars()}
    assert sorted(regions.values()) == sorted(["华东", "华南"])

    locations = session.execute(select(Location)).scalars().all()
    hq_locations = [loc for loc in locations if loc.organisation_id == hq.id]
    assert Counter(loc.kind for loc in hq_locations) == {
        LocationKind.CENTRAL_WAREHOUSE: 1,
        LocationKind.REGIONAL_WAREHOUSE: 2,
        LocationKind.STORE: 6,
    }
    regional = [loc for loc in hq_locations if loc.kind == LocationKind.REGIONAL_WAREHOUSE]
    assert {loc.region_id for loc in regional} == set(regions)
    stores = [loc for loc in hq_locations if loc.kind == LocationKind.STORE]
    assert Counter(loc.region_id for loc in stores) == dict.fromkeys(regions, 3)

    for distributor in (o for o in orgs if o.kind == OrgKind.DISTRIBUTOR):
        own = [loc for loc in locations if loc.organisation_id == distributor.id]
        assert [loc.kind for loc in own] == [LocationKind.STORE]
        assert own[0].region_id in regions

    skus = session.execute(select(Sku)).scalars().all()
    assert len(skus) >= 40
    assert all(sku.name and sku.name_en and sku.unit and sku.category for sku in skus)
    prices = session.execute(select(PriceListEntry)).scalars().all()
    suppliers = {o.id for o in orgs if o.kind == OrgKind.SUPPLIER}
    assert {p.sku_id for p in prices} == {sku.id for sku in skus}
    assert {p.supplier_id for p in prices} == suppliers
    assert any(n > 1 for n in Counter(p.sku_id for p in prices).values())  # some SKUs have 2 suppliers
    for price in prices:
        assert isinstance(price.unit_price, Decimal) and price.unit_price > 0
        assert price.tax_rate in {Decimal("0.13"), Decimal("0.09")}
        assert price.lead_time_days > 0 and price.moq >= 1 and price.pack_size >= 1

    stocked = {b.location_id for b in session.execute(select(StockBalance)).scalars() if b.on_hand > 0}
    assert stocked == {loc.id for loc in locations}


def test_every_role_has_a_demo_login_that_works(seeded: Seeded, session: Session) -> None:
    logins = seeded.logins
    assert {login.role for login in logins} == set(Role)
    assert len({login.email for login in logins}) == len(logins)
    for login in logins:
        assert len(login.password) >= 10
        user = one(session, User, email=login.email)
        assert user.is_active
        assert verify_password(user.password_hash, login.password), login.email
        assert not verify_password(user.password_hash, login.password + "x")
        roles = {r.role for r in session.execute(select(UserRole).filter_by(user_id=user.id)).scalars()}
        assert login.role in roles
        assert session.get(Organisation, user.organisation_id).name == login.organisation


def test_demo_users_sit_where_their_role_needs_them(seeded: Seeded, session: Session) -> None:
    logins = {login.email.split("@")[0]: login for login in seeded.logins}

    def user(name: str) -> User:
        return one(session, User, email=logins[name].email)  # type: ignore[no-any-return]

    def location(u: User) -> Location:
        return session.get(Location, u.location_id)  # type: ignore[return-value]

    def organisation(u: User) -> Organisation:
        return session.get(Organisation, u.organisation_id)  # type: ignore[return-value]

    approvers = [user(n) for n, login in logins.items() if login.role == Role.APPROVER]
    limits = sorted(u.approval_limit for u in approvers if u.approval_limit is not None)
    assert len(limits) == 2 and limits[0] < limits[1]
    # Store orders ship to the regional warehouse of the store's region, where the warehouse user works.
    assert location(user("warehouse")).code == "RW-HZ"
    assert location(user("store")).region_id == location(user("warehouse")).region_id
    assert location(user("store")).kind == LocationKind.STORE
    assert organisation(user("store")).kind == OrgKind.HQ
    distributor = user("distributor")
    assert organisation(distributor).kind == OrgKind.DISTRIBUTOR
    assert location(distributor).organisation_id == distributor.organisation_id
    assert logins["distributor"].role == Role.STORE
    assert {organisation(user(n)).kind for n, lg in logins.items() if lg.role == Role.SUPPLIER} == {
        OrgKind.SUPPLIER
    }
    locales = Counter(u.locale for u in session.execute(select(User)).scalars())
    assert locales["en"] <= 1 and locales["zh_CN"] == len(logins) - locales["en"]


def test_opening_stock_is_posted_through_the_ledger(session: Session) -> None:
    balances = session.execute(select(StockBalance)).scalars().all()
    assert balances
    for balance in balances:
        totals = ledger_totals(session, balance.location_id, balance.sku_id)
        assert (totals.on_hand, totals.reserved, totals.in_transit) == (
            balance.on_hand,
            balance.reserved,
            balance.in_transit,
        )
    keys = session.execute(select(StockLedgerEntry.idempotency_key)).scalars().all()
    assert all(key.startswith("seed:opening:") for key in keys)
    assert len(keys) == len(set(keys)) == len(balances)


def test_two_demo_skus_are_inspected_on_receipt_and_the_rest_never(session: Session) -> None:
    skus = {sku.code: sku for sku in session.execute(select(Sku)).scalars()}
    inspected = {code for code, sku in skus.items() if sku.inspection_mode is not InspectionMode.NEVER}
    assert inspected == {"DAI-004", "PER-006"}

    formula = skus["DAI-004"]
    assert formula.inspection_mode is InspectionMode.ALWAYS
    assert (formula.batch_tracked, formula.required_certificates) == (True, "coa")
    assert (formula.aql_critical, formula.aql_major, formula.aql_minor) == ("0", "1.0", "2.5")
    sunscreen = skus["PER-006"]
    assert sunscreen.inspection_mode is InspectionMode.ALWAYS
    assert (sunscreen.batch_tracked, sunscreen.required_certificates) == (False, "")
    # The demo supplier login supplies the batch-tracked SKU, so its COA upload can be tried.
    supplier = one(session, User, email="supplier@demo.example")
    assert one(session, PriceListEntry, sku_id=formula.id).supplier_id == supplier.organisation_id


def test_the_quality_approver_login_works_at_hq(seeded: Seeded, session: Session) -> None:
    [login] = [lg for lg in seeded.logins if lg.role == Role.QUALITY_APPROVER]
    user = one(session, User, email=login.email)
    assert session.get(Organisation, user.organisation_id).kind == OrgKind.HQ
    assert user.location_id is None


def test_a_second_seed_keeps_inspection_settings_changed_since(session: Session) -> None:
    sku = one(session, Sku, code="PER-006")
    sku.aql_major, sku.inspection_mode = "1.5", InspectionMode.SKIP_LOT
    session.commit()
    try:
        seed_demo(session)
        session.expire_all()
        again = one(session, Sku, code="PER-006")
        assert (again.aql_major, again.inspection_mode) == ("1.5", InspectionMode.SKIP_LOT)
    finally:
        sku = one(session, Sku, code="PER-006")
        sku.aql_major, sku.inspection_mode = "2.5", InspectionMode.ALWAYS
        session.commit()


def test_production_seeds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from supplychain.seed import DemoDataRefused
    from supplychain.settings import settings

    monkeypatch.setattr(settings, "ENVIRONMENT", "production")
    with pytest.raises(DemoDataRefused, match="portal create-admin"):
        seed_demo(None)  # refused before the session is used


async def test_production_creates_no_demo_orders(monkeypatch: pytest.MonkeyPatch) -> None:
    from supplychain.demo_orders import seed_demo_orders
    from supplychain.seed import DemoDataRefused
    from supplychain.settings import settings

    monkeypatch.setattr(settings, "ENVIRONMENT", "production")
    with pytest.raises(DemoDataRefused):
        await seed_demo_orders(None, "no-queue")  # refused before any use


def test_every_demo_user_is_recognised_as_a_demo_account(seeded: Seeded) -> None:
    from supplychain.accounts import is_demo_account

    assert all(is_demo_account(login.email) for login in seeded.logins)
    assert not is_demo_account("buyer@example.com")
    assert not is_demo_account("someone@demo.example.com")

"""Admin pages: users, organisations, locations, SKUs and supplier prices."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session, SQLModel
from starlette.testclient import TestClient

from supplychain import accounts
from supplychain.events import timeline
from supplychain.models import (
    Location,
    LocationKind,
    LoginAttempt,
    Organisation,
    OrgKind,
    PriceListEntry,
    Role,
    Sku,
    User,
    UserRole,
    WebSession,
)
from supplychain.models.base import utcnow
from supplychain.security import verify_password
from supplychain.settings import settings
from tests.factories import make_location, make_organisation, make_price, make_sku, make_user
from tests.fixtures.web import ClientFactory, csrf, form_post, login

ADMIN_PASSWORD = "correct horse battery"


# --- helpers ----------------------------------------------------------------------------------------


class World:
    """An HQ with an admin (logged in on `client`), a supplier, a store, a SKU and a price."""

    def __init__(self, session: Session, client: TestClient) -> None:
        self.session = session
        self.client = client
        self.hq = make_organisation(session, kind=OrgKind.HQ)
        self.supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
        self.store = make_location(session, organisation=self.hq, kind=LocationKind.STORE)
        self.admin = make_user(session, organisation=self.hq, roles=[Role.ADMIN], locale="en")
        self.sku = make_sku(session)
        self.price = make_price(session, supplier=self.supplier, sku=self.sku)
        login(client, self.admin)

    def count(self, model: type[SQLModel]) -> int:
        self.session.expire_all()
        return int(self.session.execute(select(func.count()).select_from(model)).scalar_one())

    def post(self, url: str, data: dict[str, Any]) -> Any:
        return form_post(self.client, url, data)


@pytest.fixture
def world(session: Session, client: TestClient) -> World:
    return World(session, client)


def error_of(response: Any, field: str) -> str:
    found = re.search(rf'data-testid="error-{field}">(.*?)</p>', response.text, re.S)
    assert found, f"no error shown beside {field}: {response.text[:3000]}"
    return html.unescape(found.group(1))


def user_form(w: World, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "email": "new.buyer@example.com",
        "full_name": "New Buyer",
        "organisation_id": str(w.hq.id),
        "location_id": "",
        "roles": ["buyer"],
        "approval_limit": "5000",
        "locale": "en",
        "password": "a long enough password",
    }
    return data | overrides


def org_form(w: World, **overrides: Any) -> dict[str, Any]:
    return {"code": "SUP-NEW", "name": "New Supplier Ltd", "kind": "supplier"} | overrides


def location_form(w: World, **overrides: Any) -> dict[str, Any]:
    data = {
        "code": "ST-NEW",
        "name": "New Store",
        "kind": "store",
        "organisation_id": str(w.hq.id),
        "region_id": "",
        "address": "1 Main Street",
    }
    return data | overrides


def sku_form(w: World, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": "SKU-NEW",
        "name": "新商品",
        "name_en": "New item",
        "unit": "pcs",
        "category": "snacks",
        "inspection_mode": "never",
        "inspection_level": "II",
        "aql_critical": "0",
        "aql_major": "2.5",
        "aql_minor": "4.0",
    }
    return data | overrides


def price_form(w: World, **overrides: Any) -> dict[str, Any]:
    other_sku = make_sku(w.session)
    data = {
        "supplier_id": str(w.supplier.id),
        "sku_id": str(other_sku.id),
        "unit_price": "12.3456",
        "tax_rate": "13",
        "lead_time_days": "5",
        "moq": "10",
        "pack_size": "6",
        "valid_from": "2026-01-01",
        "valid_to": "2026-12-31",
    }
    return data | overrides


FORMS: dict[str, tuple[type[SQLModel], Callable[..., dict[str, Any]]]] = {
    "users": (User, user_form),
    "organisations": (Organisation, org_form),
    "locations": (Location, location_form),
    "skus": (Sku, sku_form),
    "prices": (PriceListEntry, price_form),
}


# --- access -----------------------------------------------------------------------------------------

ADMIN_URLS = [
    ("GET", "/admin"),
    *[("GET", f"/admin/{slug}") for slug in FORMS],
    *[("GET", f"/admin/{slug}/new") for slug in FORMS],
    *[("POST", f"/admin/{slug}/new") for slug in FORMS],
    *[("GET", f"/admin/{slug}/1") for slug in FORMS],
    *[("POST", f"/admin/{slug}/1") for slug in FORMS],
    *[("POST", f"/admin/{slug}/1/deactivate") for slug in FORMS],
    *[("POST", f"/admin/{slug}/1/reactivate") for slug in FORMS],
    ("GET", "/admin/nonsense"),
]


@pytest.mark.parametrize("role", [Role.BUYER, Role.SUPPLIER])
def test_non_admin_gets_403_on_every_admin_url(session: Session, client: TestClient, role: Role) -> None:
    org = make_organisation(session, kind=OrgKind.SUPPLIER if role is Role.SUPPLIER else OrgKind.HQ)
    make_organisation(session, kind=OrgKind.HQ)
    user = make_user(session, organisation=org, roles=[role], locale="en")
    login(client, user)
    token = csrf(client)
    for method, url in ADMIN_URLS:
        if method == "GET":
            response = client.get(url, follow_redirects=False)
        else:
            response = client.post(url, data={"csrf_token": token, "code": "X"}, follow_redirects=False)
        assert response.status_code == 403, (method, url, response.status_code)
    assert session.execute(select(func.count()).select_from(Organisation)).scalar_one() == 2


def test_anonymous_is_sent_to_login(client: TestClient, db: Any) -> None:
    response = client.get("/admin/users", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


# --- lists ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", list(FORMS))
def test_every_list_renders_with_rows(world: World, slug: str) -> None:
    response = world.client.get(f"/admin/{slug}")
    assert response.status_code == 200
    assert 'id="results"' in response.text
    assert f'href="/admin/{slug}/new"' in response.text
    assert "<table" in response.text


def test_htmx_list_request_returns_only_the_results_fragment(world: World) -> None:
    response = world.client.get("/admin/skus", params={"q": world.sku.code}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<div id="results">')
    assert world.sku.code in response.text


def test_list_search_and_status_filter(world: World) -> None:
    other = make_sku(world.session, name="Green tea")
    world.post(f"/admin/skus/{other.id}/deactivate", {})
    found = world.client.get("/admin/skus", params={"q": "green tea"})
    assert other.code in found.text and world.sku.code not in found.text
    inactive = world.client.get("/admin/skus", params={"status": "inactive"})
    assert other.code in inactive.text and world.sku.code not in inactive.text
    active = world.client.get("/admin/skus", params={"status": "active"})
    assert world.sku.code in active.text and other.code not in active.text
    # An odd status falls back to the default; a page number that is none is a 400, as on every
    # list (web.deps.PageNumber).
    assert world.client.get("/admin/skus", params={"status": "bogus"}).status_code == 200
    assert world.client.get("/admin/skus", params={"page": "abc"}).status_code == 400


def test_list_is_paginated(world: World) -> None:
    for _ in range(30):
        make_sku(world.session)
    first = world.client.get("/admin/skus")
    assert 'rel="next"' in first.text and "Page 1 of 2" in first.text
    second = world.client.get("/admin/skus", params={"page": "2"})
    assert "Page 2 of 2" in second.text


# --- create, edit, deactivate -----------------------------------------------------------------------


@pytest.mark.parametrize("slug", list(FORMS))
def test_create_form_renders(world: World, slug: str) -> None:
    response = world.client.get(f"/admin/{slug}/new")
    assert response.status_code == 200
    assert 'name="csrf_token"' in response.text


@pytest.mark.parametrize("slug", list(FORMS))
def test_create_edit_deactivate_reactivate(world: World, slug: str) -> None:
    model, make_form = FORMS[slug]
    before = world.count(model)
    data = make_form(world)
    response = world.post(f"/admin/{slug}/new", data)
    assert response.status_code == 303, response.text[:3000]
    assert response.headers["location"] == f"/admin/{slug}"
    assert world.count(model) == before + 1
    row = world.session.execute(select(model).order_by(model.id.desc()).limit(1)).scalar_one()  # type: ignore[attr-defined]
    assert "has been created" in world.client.get(f"/admin/{slug}").text  # the flash message

    edit_page = world.client.get(f"/admin/{slug}/{row.id}")
    assert edit_page.status_code == 200

    text_field = {"users": "full_name", "organisations": "name", "locations": "name", "skus": "name_en"}.get(
        slug
    )
    changed = dict(data)
    if text_field:
        changed[text_field] = "Renamed"
    else:
        changed["unit_price"] = "9.5"
    if slug == "users":
        changed["password"] = ""
    response = world.post(f"/admin/{slug}/{row.id}", changed)
    assert response.status_code == 303, response.text[:3000]
    world.session.expire_all()
    row = world.session.get(model, row.id)
    if text_field:
        assert getattr(row, text_field) == "Renamed"
    else:
        assert row.unit_price == Decimal("9.5")
    assert world.count(model) == before + 1

    assert world.post(f"/admin/{slug}/{row.id}/deactivate", {}).status_code == 303
    world.session.expire_all()
    assert world.session.get(model, row.id).is_active is False
    assert "has been deactivated" in world.client.get(f"/admin/{slug}").text
    assert world.post(f"/admin/{slug}/{row.id}/reactivate", {}).status_code == 303
    world.session.expire_all()
    assert world.session.get(model, row.id).is_active is True
    assert world.count(model) == before + 1  # never deleted


def test_created_user_has_roles_password_and_lowercase_email(world: World) -> None:
    data = user_form(
        world, email="Mixed.Case@Example.com", roles=["buyer", "approver"], location_id=str(world.store.id)
    )
    assert world.post("/admin/users/new", data).status_code == 303
    user = world.session.execute(select(User).where(User.email == "mixed.case@example.com")).scalar_one()
    roles = set(world.session.execute(select(UserRole.role).where(UserRole.user_id == user.id)).scalars())
    assert roles == {Role.BUYER, Role.APPROVER}
    assert user.approval_limit == Decimal("5000")
    assert user.location_id == world.store.id
    assert verify_password(user.password_hash, "a long enough password")


def test_price_tax_rate_is_entered_as_percentage(world: World) -> None:
    data = price_form(world, tax_rate="9", unit_price="0.0125")
    assert world.post("/admin/prices/new", data).status_code == 303
    entry = world.session.execute(
        select(PriceListEntry).where(PriceListEntry.sku_id == int(data["sku_id"]))
    ).scalar_one()
    assert entry.tax_rate == Decimal("0.09")
    assert entry.unit_price == Decimal("0.0125")
    assert entry.moq == 10 and entry.pack_size == 6 and entry.lead_time_days == 5
    page = world.client.get(f"/admin/prices/{entry.id}")
    assert 'value="9"' in page.text  # shown back as a percentage
    assert 'inputmode="decimal"' in page.text


def test_editing_user_roles_replaces_them(world: World) -> None:
    user = make_user(world.session, organisation=world.hq, roles=[Role.BUYER, Role.FINANCE])
    data = user_form(world, email=user.email, full_name=user.full_name, roles=["approver"], password="")
    assert world.post(f"/admin/users/{user.id}", data).status_code == 303
    roles = set(world.session.execute(select(UserRole.role).where(UserRole.user_id == user.id)).scalars())
    assert roles == {Role.APPROVER}


def test_moving_a_user_to_a_supplier_with_the_supplier_role_in_one_form_saves_both(world: World) -> None:
    """The organisation and the roles change together: the roles the new kind of organisation
    does not allow go before the move (the database refuses a user holding them there)."""
    user = make_user(world.session, organisation=world.hq, roles=[Role.BUYER], locale="en")
    data = user_form(
        world,
        email=user.email,
        organisation_id=str(world.supplier.id),
        roles=["supplier"],
        approval_limit="",
        password="",
    )
    assert world.post(f"/admin/users/{user.id}", data).status_code == 303
    world.session.expire_all()
    moved = world.session.get(User, user.id)
    assert moved is not None and moved.organisation_id == world.supplier.id
    assert accounts.roles_of(world.session, user.id) == {Role.SUPPLIER}


def test_giving_a_supplier_user_the_approver_role_is_refused_with_a_message(world: World) -> None:
    user = make_user(world.session, organisation=world.supplier, roles=[Role.SUPPLIER])
    data = user_form(
        world,
        email=user.email,
        full_name=user.full_name,
        organisation_id=str(world.supplier.id),
        roles=["supplier", "approver"],
        password="",
    )
    response = world.post(f"/admin/users/{user.id}", data)
    assert response.status_code == 400
    assert error_of(response, "roles") == "A user of a Supplier organisation cannot hold the role Approver."
    roles = set(world.session.execute(select(UserRole.role).where(UserRole.user_id == user.id)).scalars())
    assert roles == {Role.SUPPLIER}


def test_an_organisation_whose_users_hold_hq_roles_cannot_become_a_supplier(world: World) -> None:
    other_hq = make_organisation(world.session, kind=OrgKind.HQ)
    make_user(world.session, organisation=other_hq, roles=[Role.BUYER])
    data = org_form(world, code=other_hq.code, name=other_hq.name, kind="supplier")
    response = world.post(f"/admin/organisations/{other_hq.id}", data)
    assert response.status_code == 400
    assert "Buyer" in error_of(response, "kind")
    world.session.expire_all()
    assert world.session.get(Organisation, other_hq.id).kind is OrgKind.HQ


# --- validation -------------------------------------------------------------------------------------

LONG = "x" * 301

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    # users
    ("users", {"email": ""}, "email", "This field is required."),
    ("users", {"email": "not-an-email"}, "email", "Enter a valid e-mail address"),
    ("users", {"full_name": "  "}, "full_name", "This field is required."),
    ("users", {"full_name": LONG}, "full_name", "Use at most 200 characters."),
    ("users", {"organisation_id": ""}, "organisation_id", "Choose an option."),
    ("users", {"organisation_id": "999999"}, "organisation_id", "Choose an existing organisation."),
    ("users", {"organisation_id": "abc"}, "organisation_id", "Choose an existing organisation."),
    ("users", {"roles": []}, "roles", "Choose at least one."),
    ("users", {"roles": ["buyer", "emperor"]}, "roles", "Choose roles from the list."),
    ("users", {"roles": ["supplier"]}, "roles", "cannot hold the role"),
    ("users", {"roles": ["store"]}, "location_id", "Users with the store role need a location."),
    ("users", {"approval_limit": "abc"}, "approval_limit", "Enter a number"),
    ("users", {"approval_limit": "-1"}, "approval_limit", "Enter a number of 0 or more."),
    ("users", {"approval_limit": "10.123"}, "approval_limit", "Use at most 2 decimal places."),
    ("users", {"password": ""}, "password", "This field is required."),
    ("users", {"password": "short"}, "password", "Too short: use at least 12 characters."),
    ("users", {"password": "eleven char"}, "password", "Too short: use at least 12 characters."),
    ("users", {"password": " QWERTY123456 "}, "password", "Too common: it is on a list"),
    ("users", {"password": " New.Buyer@Example.com "}, "password", "It is the same as the e-mail address."),
    ("users", {"locale": "fr"}, "locale", "Choose one of the listed options."),
    # organisations
    ("organisations", {"code": ""}, "code", "This field is required."),
    ("organisations", {"code": "C" * 33}, "code", "Use at most 32 characters."),
    ("organisations", {"name": ""}, "name", "This field is required."),
    ("organisations", {"kind": "pirate"}, "kind", "Choose one of the listed options."),
    # locations
    ("locations", {"code": ""}, "code", "This field is required."),
    ("locations", {"organisation_id": "999999"}, "organisation_id", "Choose an existing organisation."),
    ("locations", {"organisation_id": ""}, "organisation_id", "Choose an option."),
    ("locations", {"kind": "castle"}, "kind", "Choose one of the listed options."),
    ("locations", {"address": LONG}, "address", "Use at most 300 characters."),
    # SKUs
    ("skus", {"code": ""}, "code", "This field is required."),
    ("skus", {"name": ""}, "name", "This field is required."),
    ("skus", {"unit": "u" * 17}, "unit", "Use at most 16 characters."),
    ("skus", {"aql_major": "3"}, "aql_major", "Enter an AQL of ISO 2859-1"),
    ("skus", {"aql_minor": "abc"}, "aql_minor", "Enter an AQL of ISO 2859-1"),
    ("skus", {"aql_minor": "NaN"}, "aql_minor", "Enter an AQL of ISO 2859-1"),
    ("skus", {"aql_critical": "-1"}, "aql_critical", "Enter an AQL of ISO 2859-1"),
    ("skus", {"aql_critical": ""}, "aql_critical", "This field is required."),
    (
        "skus",
        {"aql_major": "0", "aql_minor": "0.0"},
        "aql_major",
        "At least one defect category needs an AQL",
    ),
    # prices
    ("prices", {"unit_price": ""}, "unit_price", "This field is required."),
    ("prices", {"unit_price": "abc"}, "unit_price", "Enter a number"),
    ("prices", {"unit_price": "-1"}, "unit_price", "Enter a number of 0 or more."),
    ("prices", {"unit_price": "1.23456"}, "unit_price", "Use at most 4 decimal places."),
    ("prices", {"unit_price": "NaN"}, "unit_price", "Enter a number"),
    ("prices", {"unit_price": "1e5"}, "unit_price", "Enter a number"),
    ("prices", {"tax_rate": "abc"}, "tax_rate", "Enter a number"),
    ("prices", {"tax_rate": "-1"}, "tax_rate", "Enter a number of 0 or more."),
    ("prices", {"tax_rate": "100"}, "tax_rate", "Enter a rate below 100 %."),
    ("prices", {"tax_rate": "13.125"}, "tax_rate", "Use at most 2 decimal places."),
    ("prices", {"lead_time_days": "abc"}, "lead_time_days", "Enter a whole number"),
    ("prices", {"lead_time_days": "-1"}, "lead_time_days", "Enter a whole number of 0 or more."),
    ("prices", {"lead_time_days": "1.5"}, "lead_time_days", "Enter a whole number"),
    ("prices", {"moq": "0"}, "moq", "Enter a whole number of 1 or more."),
    ("prices", {"moq": "99999999999"}, "moq", "Enter a whole number of at most"),
    ("prices", {"pack_size": "0"}, "pack_size", "Enter a whole number of 1 or more."),
    ("prices", {"pack_size": ""}, "pack_size", "This field is required."),
    ("prices", {"valid_from": "2026-13-45"}, "valid_from", "Enter a date as YYYY-MM-DD"),
    (
        "prices",
        {"valid_from": "2026-06-01", "valid_to": "2026-05-31"},
        "valid_to",
        "on or after the start date",
    ),
    ("prices", {"sku_id": "999999"}, "sku_id", "Choose an existing SKU."),
]


@pytest.mark.parametrize(
    ("slug", "overrides", "field", "message"), CASES, ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)]
)
def test_invalid_input_is_shown_beside_the_field_and_nothing_is_saved(
    world: World, slug: str, overrides: dict[str, Any], field: str, message: str
) -> None:
    model, make_form = FORMS[slug]
    before = world.count(model)
    data = make_form(world, **overrides)
    response = world.post(f"/admin/{slug}/new", data)
    assert response.status_code == 400, response.text[:3000]
    assert message in error_of(response, field)
    assert world.count(model) == before
    # The user's input comes back (passwords excepted).
    for name, value in overrides.items():
        if (
            isinstance(value, str)
            and value.strip()
            and name not in {"password", "kind", "locale"}
            and not name.endswith("_id")
        ):
            assert f'value="{html.escape(value)}"' in response.text or f'value="{value}"' in response.text


def test_price_supplier_must_be_a_supplier_organisation(world: World) -> None:
    before = world.count(PriceListEntry)
    response = world.post("/admin/prices/new", price_form(world, supplier_id=str(world.hq.id)))
    assert response.status_code == 400
    assert error_of(response, "supplier_id") == "Choose a supplier organisation."
    assert world.count(PriceListEntry) == before


def test_invalid_edit_changes_nothing(world: World) -> None:
    data = price_form(world, sku_id=str(world.sku.id), unit_price="abc", valid_from="", valid_to="")
    response = world.post(f"/admin/prices/{world.price.id}", data)
    assert response.status_code == 400
    world.session.expire_all()
    assert world.session.get(PriceListEntry, world.price.id).unit_price == Decimal("12.5")


def test_user_location_must_belong_to_the_users_organisation(world: World) -> None:
    distributor = make_organisation(world.session, kind=OrgKind.DISTRIBUTOR)
    response = world.post(
        "/admin/users/new",
        user_form(world, organisation_id=str(distributor.id), location_id=str(world.store.id)),
    )
    assert response.status_code == 400
    assert "location of the user's organisation" in error_of(response, "location_id")


@pytest.mark.parametrize(
    ("slug", "field", "message"),
    [
        ("organisations", "code", "Another organisation already uses the code"),
        ("locations", "code", "Another location already uses the code"),
        ("skus", "code", "Another SKU already uses the code"),
        ("users", "email", "Another user already has the e-mail"),
    ],
)
def test_duplicate_code_or_email_gets_a_friendly_message(
    world: World, slug: str, field: str, message: str
) -> None:
    model, make_form = FORMS[slug]
    make_user(world.session, organisation=world.hq, roles=[Role.BUYER], email="taken@example.com")
    existing = {
        "organisations": world.supplier.code,
        "locations": world.store.code,
        "skus": world.sku.code,
        "users": "Taken@Example.com",
    }[slug]
    before = world.count(model)
    response = world.post(f"/admin/{slug}/new", make_form(world, **{field: existing}))
    assert response.status_code == 400
    assert message in error_of(response, field)
    assert world.count(model) == before


def test_duplicate_code_on_edit_is_refused(world: World) -> None:
    other = make_sku(world.session)
    response = world.post(f"/admin/skus/{other.id}", sku_form(world, code=world.sku.code.lower()))
    assert response.status_code == 400
    assert "Another SKU already uses the code" in error_of(response, "code")


def test_duplicate_price_for_same_supplier_sku_and_start(world: World) -> None:
    before = world.count(PriceListEntry)
    data = price_form(world, sku_id=str(world.sku.id), valid_from="", valid_to="")
    response = world.post("/admin/prices/new", data)
    assert response.status_code == 400
    assert "already has a price for this SKU" in error_of(response, "valid_from")
    assert world.count(PriceListEntry) == before


def test_supplier_with_prices_cannot_become_another_kind(world: World) -> None:
    response = world.post(
        f"/admin/organisations/{world.supplier.id}",
        org_form(world, code=world.supplier.code, name=world.supplier.name, kind="distributor"),
    )
    assert response.status_code == 400
    assert "must stay a supplier" in error_of(response, "kind")


# --- users: sessions and self-protection ------------------------------------------------------------


def test_deactivated_user_is_logged_out_at_once_and_cannot_log_in(
    world: World, make_client: ClientFactory
) -> None:
    victim = make_user(world.session, organisation=world.hq, roles=[Role.BUYER], locale="en")
    their_browser = make_client()
    login(their_browser, victim)
    assert their_browser.get("/", follow_redirects=False).status_code == 200

    response = world.post(f"/admin/users/{victim.id}/deactivate", {})
    assert response.status_code == 303
    assert world.count(WebSession) == 1  # only the admin's own session remains

    after = their_browser.get("/", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/login")
    refused = their_browser.post(
        "/login",
        data={"email": victim.email, "password": ADMIN_PASSWORD, "csrf_token": csrf(their_browser)},
        follow_redirects=False,
    )
    assert refused.status_code == 400


def test_admin_cannot_deactivate_themselves(world: World) -> None:
    response = world.post(f"/admin/users/{world.admin.id}/deactivate", {})
    assert response.status_code == 303
    world.session.expire_all()
    assert world.session.get(User, world.admin.id).is_active is True
    assert "cannot deactivate your own account" in world.client.get("/admin/users").text


def test_admin_cannot_remove_their_own_admin_role(world: World) -> None:
    data = user_form(
        world, email=world.admin.email, organisation_id=str(world.hq.id), roles=["buyer"], password=""
    )
    response = world.post(f"/admin/users/{world.admin.id}", data)
    assert response.status_code == 400
    assert "your own administrator role" in error_of(response, "roles")


def test_new_password_ends_the_users_sessions_and_empty_keeps_it(
    world: World, make_client: ClientFactory
) -> None:
    user = make_user(world.session, organisation=world.hq, roles=[Role.BUYER], locale="en")
    their_browser = make_client()
    login(their_browser, user)
    old_hash = user.password_hash

    data = user_form(world, email=user.email, full_name="Kept", roles=["buyer"], password="")
    assert world.post(f"/admin/users/{user.id}", data).status_code == 303
    world.session.expire_all()
    assert world.session.get(User, user.id).password_hash == old_hash
    assert their_browser.get("/", follow_redirects=False).status_code == 200  # still logged in

    data["password"] = "a brand new password"
    assert world.post(f"/admin/users/{user.id}", data).status_code == 303
    world.session.expire_all()
    assert verify_password(world.session.get(User, user.id).password_hash, "a brand new password")
    after = their_browser.get("/", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/login")


def test_a_password_equal_to_the_organisations_name_is_refused_on_create_and_edit(world: World) -> None:
    org = make_organisation(world.session, kind=OrgKind.HQ, name="Lakeside Trading Company")
    data = user_form(world, organisation_id=str(org.id), password="lakeside trading COMPANY")
    response = world.post("/admin/users/new", data)
    assert response.status_code == 400
    assert "It is the same as the organisation's name." in error_of(response, "password")
    assert world.session.execute(select(User).where(User.email == data["email"])).first() is None

    user = make_user(world.session, organisation=org, roles=[Role.BUYER], locale="en")
    old_hash = user.password_hash
    data = user_form(world, email=user.email, organisation_id=str(org.id), password="1qaz2wsx3edc")
    response = world.post(f"/admin/users/{user.id}", data)
    assert response.status_code == 400
    assert "Too common" in error_of(response, "password")
    world.session.expire_all()
    assert world.session.get(User, user.id).password_hash == old_hash


def test_unknown_row_is_404(world: World) -> None:
    assert world.client.get("/admin/skus/999999").status_code == 404
    assert world.post("/admin/skus/999999/deactivate", {}).status_code == 404


def test_admin_changes_are_recorded_in_the_audit_trail(client: TestClient, session: Session) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    admin = make_user(session, organisation=hq, roles=[Role.ADMIN])
    sku = make_sku(session)
    old_name = sku.name
    login(client, admin)
    response = form_post(
        client,
        f"/admin/skus/{sku.id}",
        {
            "code": sku.code,
            "name": "新名称",
            "name_en": "New name",
            "unit": sku.unit,
            "category": sku.category,
            "inspection_mode": "always",
            "inspection_level": "II",
            "aql_critical": "0",
            "aql_major": "2.5",
            "aql_minor": "4.0",
        },
    )
    assert response.status_code == 303
    assert form_post(client, f"/admin/skus/{sku.id}/deactivate", {}).status_code == 303

    entries = timeline(session, "admin.skus", str(sku.id))
    assert [e.action for e in entries] == ["updated", "deactivated"]
    assert all(e.actor_user_id == admin.id for e in entries)
    assert {c.field: (c.before, c.after) for c in entries[0].changes}["name"] == (old_name, "新名称")
    assert {c.field: (c.before, c.after) for c in entries[0].changes}["inspection_mode"] == (
        "never",
        "always",
    )
    assert {c.field: (c.before, c.after) for c in entries[1].changes}["is_active"] == (True, False)


# --- SKU inspection settings ---------------------------------------------------------------------------


def test_sku_inspection_settings_are_saved_with_aqls_as_the_standard_prints_them(world: World) -> None:
    data = sku_form(
        world,
        inspection_mode="always",
        inspection_level="S-2",
        aql_critical="0.00",
        aql_major="1",
        aql_minor="2.50",
        batch_tracked="on",
        required_certificates=["health", "coa"],
    )
    assert world.post("/admin/skus/new", data).status_code == 303

    world.session.expire_all()
    sku = world.session.execute(select(Sku).where(Sku.code == "SKU-NEW")).scalar_one()
    assert (sku.inspection_mode.value, sku.inspection_level) == ("always", "S-2")
    assert (sku.aql_critical, sku.aql_major, sku.aql_minor) == ("0", "1.0", "2.5")
    assert sku.batch_tracked is True
    assert sku.required_certificates == "coa,health"  # in the listed order

    page = world.client.get(f"/admin/skus/{sku.id}").text
    assert re.search(r'name="batch_tracked" value="on" checked', page)
    assert re.search(r'name="required_certificates" value="coa" checked', page)
    assert re.search(r'name="required_certificates" value="health" checked', page)
    assert not re.search(r'name="required_certificates" value="origin" checked', page)
    assert re.search(r'<option value="always" selected>', page)


def test_unticking_batch_tracking_and_certificates_clears_them(world: World) -> None:
    sku = world.sku
    world.session.get(Sku, sku.id).batch_tracked = True
    world.session.get(Sku, sku.id).required_certificates = "coa"
    world.session.commit()

    data = sku_form(world, code=sku.code, name=sku.name)
    assert world.post(f"/admin/skus/{sku.id}", data).status_code == 303

    world.session.expire_all()
    fresh = world.session.get(Sku, sku.id)
    assert fresh is not None and (fresh.batch_tracked, fresh.required_certificates) == (False, "")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"inspection_mode": "sometimes"}, "inspection_mode", "Choose one of the listed options."),
        ({"inspection_mode": ""}, "inspection_mode", "Choose an option."),
        ({"inspection_level": "IV"}, "inspection_level", "Choose one of the listed options."),
        ({"required_certificates": ["coa", "passport"]}, "required_certificates", "Choose certificate types"),
        ({"batch_tracked": "maybe"}, "batch_tracked", "Choose one of the listed options."),
        ({"aql_major": "0.3"}, "aql_major", "Enter an AQL of ISO 2859-1"),
    ],
)
def test_bad_inspection_settings_are_refused_and_change_nothing(
    world: World, overrides: dict[str, Any], field: str, message: str
) -> None:
    sku = world.sku
    data = sku_form(world, code=sku.code, name=sku.name, inspection_mode="always", **{"aql_minor": "6.5"})
    response = world.post(f"/admin/skus/{sku.id}", data | overrides)

    assert response.status_code == 400
    assert message in error_of(response, field)
    world.session.expire_all()
    fresh = world.session.get(Sku, sku.id)
    assert fresh is not None
    assert (fresh.inspection_mode.value, fresh.aql_minor, fresh.required_certificates) == ("never", "4.0", "")


def test_sku_list_shows_the_inspection_settings(world: World) -> None:
    world.session.get(Sku, world.sku.id).inspection_mode = "skip_lot"
    world.session.commit()
    page = world.client.get("/admin/skus", params={"q": world.sku.code}).text
    assert "Skip-lot (every lot until the supplier qualifies) · II · AQL 0/2.5/4.0" in page


def test_quality_approver_is_a_role_admins_can_grant(world: World) -> None:
    data = user_form(world, roles=["quality_approver"])
    assert world.post("/admin/users/new", data).status_code == 303
    world.session.expire_all()
    user = world.session.execute(select(User).where(User.email == "new.buyer@example.com")).scalar_one()
    roles = world.session.execute(select(UserRole.role).where(UserRole.user_id == user.id)).scalars().all()
    assert list(roles) == [Role.QUALITY_APPROVER]


# --- the security log (issue 11, item 5) ---------------------------------------------------------------

Events = list[dict[str, Any]]


def named(events: Events, name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == name]


def test_creating_a_user_is_a_security_event_without_the_password(
    world: World, security_events: Events
) -> None:
    assert world.post("/admin/users/new", user_form(world)).status_code == 303
    [created] = named(security_events, "user_created")
    new_user = world.session.execute(select(User).where(User.email == "new.buyer@example.com")).scalar_one()
    assert created["outcome"] == "success" and created["user_id"] == world.admin.id
    assert created["target_user_id"] == new_user.id and created["roles"] == ["buyer"]
    assert created["target_organisation_id"] == world.hq.id
    assert "a long enough password" not in json.dumps(security_events)


def test_changing_a_users_roles_email_organisation_and_password_is_logged(
    world: World, security_events: Events
) -> None:
    user = make_user(world.session, organisation=world.hq, roles=[Role.BUYER], locale="en")
    old_email = user.email
    data = user_form(world, email="renamed@example.com", full_name=user.full_name, roles=["buyer", "finance"])
    data["password"] = "a brand new password"
    assert world.post(f"/admin/users/{user.id}", data).status_code == 303
    [roles] = named(security_events, "roles_changed")
    assert (roles["before"], roles["after"]) == (["buyer"], ["buyer", "finance"])
    assert roles["target_user_id"] == user.id and roles["user_id"] == world.admin.id
    [changed] = named(security_events, "user_changed")
    assert changed["changes"]["email"] == [old_email, "renamed@example.com"]
    assert changed["changes"]["password"] == ["(set)", "(set)"]
    assert "a brand new password" not in json.dumps(security_events)

    other_hq = make_organisation(world.session, kind=OrgKind.HQ)
    data = user_form(
        world, email=user.email, organisation_id=str(other_hq.id), roles=["buyer", "finance"], password=""
    )
    data["email"] = "renamed@example.com"
    assert world.post(f"/admin/users/{user.id}", data).status_code == 303
    moved = named(security_events, "user_changed")[-1]
    assert moved["changes"] == {"organisation_id": [str(world.hq.id), str(other_hq.id)]}


def test_an_edit_that_changes_nothing_of_note_logs_no_security_event(
    world: World, security_events: Events
) -> None:
    user = make_user(world.session, organisation=world.hq, roles=[Role.BUYER], locale="en")
    data = user_form(world, email=user.email, full_name="Only The Name", roles=["buyer"], password="")
    data["approval_limit"] = str(user.approval_limit or "")
    assert world.post(f"/admin/users/{user.id}", data).status_code == 303
    assert named(security_events, "roles_changed") == named(security_events, "user_changed") == []


def test_deactivating_and_reactivating_a_user_is_logged(world: World, security_events: Events) -> None:
    user = make_user(world.session, organisation=world.hq, roles=[Role.BUYER], locale="en")
    world.post(f"/admin/users/{user.id}/deactivate", {})
    world.post(f"/admin/users/{user.id}/reactivate", {})
    world.post(f"/admin/users/{world.admin.id}/deactivate", {})  # refused: their own account
    done, refused = named(security_events, "user_deactivated")
    assert (done["outcome"], done["target_user_id"]) == ("success", user.id)
    assert (refused["outcome"], refused["target_user_id"]) == ("refused", world.admin.id)
    [reactivated] = named(security_events, "user_changed")
    assert reactivated["action"] == "reactivated" and reactivated["changes"]["is_active"] == [False, True]


def test_organisation_changes_are_logged(world: World, security_events: Events) -> None:
    assert world.post("/admin/organisations/new", org_form(world)).status_code == 303
    org = world.session.execute(select(Organisation).where(Organisation.code == "SUP-NEW")).scalar_one()
    world.post(f"/admin/organisations/{org.id}", org_form(world, name="Renamed Ltd", kind="hq"))
    world.post(f"/admin/organisations/{org.id}/deactivate", {})
    logged = named(security_events, "organisation_changed")
    assert [e["action"] for e in logged] == ["created", "updated", "deactivated"]
    assert all(e["target_organisation_id"] == org.id and e["user_id"] == world.admin.id for e in logged)
    assert logged[1]["changes"] == {"name": ["New Supplier Ltd", "Renamed Ltd"], "kind": ["supplier", "hq"]}
    assert logged[2]["changes"] == {"is_active": [True, False]}


# --- re-authentication for sensitive changes (issue 11, item 6) -------------------------------------------

REAUTH_ASKED = "Enter your own password to confirm this change"


def login_long_ago(world: World, minutes: int | None = None) -> None:
    """The admin last typed their password longer ago than REAUTH_MINUTES (or `minutes` ago)."""
    ago = timedelta(minutes=minutes if minutes is not None else settings.REAUTH_MINUTES + 1)
    world.session.execute(update(WebSession).values(authenticated_at=utcnow() - ago))
    world.session.commit()


def roles_of(world: World, user: User) -> set[Role]:
    world.session.expire_all()
    return set(world.session.execute(select(UserRole.role).where(UserRole.user_id == user.id)).scalars())


@pytest.fixture
def colleague(world: World) -> User:
    return make_user(world.session, organisation=world.hq, roles=[Role.BUYER], locale="en")


def colleague_form(world: World, colleague: User, **overrides: Any) -> dict[str, Any]:
    base = {"email": colleague.email, "full_name": colleague.full_name, "roles": ["buyer"], "password": ""}
    return user_form(world, **(base | {"approval_limit": ""} | overrides))


def test_changing_another_users_email_long_after_login_needs_the_admins_password(
    world: World, colleague: User
) -> None:
    login_long_ago(world)
    response = world.post(
        f"/admin/users/{colleague.id}", colleague_form(world, colleague, email="taken.over@example.com")
    )
    assert response.status_code == 400
    assert REAUTH_ASKED in error_of(response, "reauth_password")
    world.session.expire_all()
    assert world.session.get(User, colleague.id).email == colleague.email


def test_changing_another_users_roles_goes_through_with_the_admins_password(
    world: World, colleague: User, security_events: list[dict[str, Any]]
) -> None:
    login_long_ago(world)
    data = colleague_form(world, colleague, roles=["buyer", "admin"])
    assert world.post(f"/admin/users/{colleague.id}", data).status_code == 400
    assert roles_of(world, colleague) == {Role.BUYER}
    assert (
        world.post(f"/admin/users/{colleague.id}", data | {"reauth_password": ADMIN_PASSWORD}).status_code
        == 303
    )
    assert roles_of(world, colleague) == {Role.BUYER, Role.ADMIN}
    # Typing it counts as a fresh login: the next sensitive change within the window needs no password.
    assert world.post(f"/admin/users/{colleague.id}", data | {"roles": ["buyer"]}).status_code == 303
    outcomes = [e["outcome"] for e in security_events if e["event"] == "reauthentication"]
    assert outcomes == ["required", "success"]


def test_a_wrong_admin_password_changes_nothing_and_counts_as_a_failed_login(
    world: World, colleague: User, make_client: ClientFactory
) -> None:
    their_browser = make_client()
    login(their_browser, colleague)
    login_long_ago(world)
    data = colleague_form(world, colleague, password="the attacker's choice")
    response = world.post(f"/admin/users/{colleague.id}", data | {"reauth_password": "not my password"})
    assert response.status_code == 400
    assert "Your password is not correct, so nothing was changed." in error_of(response, "reauth_password")
    world.session.expire_all()
    assert verify_password(world.session.get(User, colleague.id).password_hash, ADMIN_PASSWORD)
    assert their_browser.get("/", follow_redirects=False).status_code == 200  # still logged in
    failures = world.session.execute(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.email == world.admin.email, LoginAttempt.succeeded.is_(False))  # type: ignore[attr-defined]
    ).scalar_one()
    assert failures == 1


def test_the_edit_form_asks_for_the_password_up_front_only_when_it_will_be_needed(
    world: World, colleague: User
) -> None:
    assert 'name="reauth_password"' not in world.client.get(f"/admin/users/{colleague.id}").text
    assert 'name="reauth_password"' not in world.client.get(f"/admin/users/{world.admin.id}").text
    login_long_ago(world)
    assert 'name="reauth_password"' in world.client.get(f"/admin/users/{colleague.id}").text
    assert 'name="reauth_password"' not in world.client.get(f"/admin/users/{world.admin.id}").text


def test_harmless_changes_and_changes_to_ones_own_account_need_no_password(
    world: World, colleague: User
) -> None:
    login_long_ago(world)
    assert (
        world.post(
            f"/admin/users/{colleague.id}", colleague_form(world, colleague, full_name="New Name")
        ).status_code
        == 303
    )
    own = user_form(
        world, email=world.admin.email, full_name="Me", roles=["admin"], password="", approval_limit=""
    )
    assert world.post(f"/admin/users/{world.admin.id}", own).status_code == 303


def test_reauth_minutes_setting_is_honoured(
    world: World, colleague: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "REAUTH_MINUTES", 60)
    login_long_ago(world, minutes=30)
    data = colleague_form(world, colleague, email="renamed@example.com")
    assert world.post(f"/admin/users/{colleague.id}", data).status_code == 303

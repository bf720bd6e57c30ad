"""What the admin pages manage: one `Entity` spec per table (users, organisations, locations, SKUs,
supplier prices) read by the generic routes in `web.routes.admin`.

A spec names the list columns, the search, the form fields (parsed by `web.admin_forms`), the
options of its drop-downs and the checks that need the database (unique codes, cross-field rules).
Rows are never deleted; they are deactivated and reactivated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlmodel import Session, SQLModel, col

from supplychain import accounts, i18n
from supplychain.i18n import lazy
from supplychain.models import (
    Location,
    LocationKind,
    Organisation,
    OrgKind,
    PriceListEntry,
    Region,
    Role,
    User,
    UserRole,
)
from supplychain.passwords import password_problems
from supplychain.principal import Principal
from supplychain.rules.roles import refused_roles
from supplychain.security import hash_password
from web.admin_forms import Choice, FormField
from web.deps import Scope
from web.sessions import end_all_sessions

LOCATION_KIND_LABELS: dict[LocationKind, str] = {
    LocationKind.CENTRAL_WAREHOUSE: lazy("Central warehouse"),
    LocationKind.REGIONAL_WAREHOUSE: lazy("Regional warehouse"),
    LocationKind.STORE: lazy("Store"),
}

Lookups = dict[str, dict[Any, Any]]


@dataclass(frozen=True)
class Column:
    label: str  # message id
    value: Callable[[Any, Lookups], str]
    num: bool = False


@dataclass
class Change:
    """One submitted form: what the checks and the save step see."""

    session: Session
    admin: Principal
    row: Any | None  # None when creating
    values: dict[str, Any]
    errors: dict[str, str]
    keep_token: str | None = None  # the admin's own session cookie, kept when they change their own password

    @property
    def creating(self) -> bool:
        return self.row is None


@dataclass(frozen=True)
class Entity:
    slug: str
    model: type[SQLModel]
    title: str  # message ids from here on
    new_title: str
    edit_title: str
    search_placeholder: str
    fields: tuple[FormField, ...]
    columns: tuple[Column, ...]
    order_by: Callable[[], Sequence[Any]]
    search: Callable[[Select[Any], str], Select[Any]]
    name_of: Callable[[Any], str]
    # Pick-lists and the names shown in the list read through the admin's scope (supplychain/scoping.py),
    # like every other query of organisation-owned rows.
    options: Callable[[Scope, Any | None], dict[str, list[Choice]]] = lambda scope, row: {}
    lookups: Callable[[Scope, Sequence[Any]], Lookups] = lambda scope, rows: {}
    check: Callable[[Change], None] = lambda change: None
    before_save: Callable[[Change, Any], None] = lambda change, row: None  # before the row is flushed
    after_save: Callable[[Change, Any], None] = lambda change, row: None  # after, when it has an id
    initial: dict[str, Any] = field(default_factory=dict)  # form values of a new row
    # Form values of fields that are not columns of the row (a user's roles).
    extra_values: Callable[[Session, Any], dict[str, Any]] = lambda session, row: {}
    # Returns a message when this row may not be deactivated by this admin.
    refuse_deactivation: Callable[[Any, Principal], str | None] = lambda row, admin: None
    on_deactivate: Callable[[Session, Any], None] = lambda session, row: None
    # Whether this change needs the admin to confirm their own password when their login is not
    # recent (web.reauth).
    sensitive: Callable[[Change], bool] = lambda change: False

    def apply(self, change: Change) -> Any:
        """Copy the parsed values onto the row (a new one when creating); fields that are not columns
        (roles, password) are the spec's `after_save` business."""
        row = change.row if change.row is not None else self.model()
        for f in self.fields:
            if f.name in self.model.model_fields:
                setattr(row, f.name, change.values[f.name])
        return row


# --- shared helpers ---------------------------------------------------------------------------------


def _status(row: Any, lookups: Lookups) -> str:
    return i18n.gettext("Active") if row.is_active else i18n.gettext("Inactive")


def _contains(*columns: Any) -> Callable[[Select[Any], str], Select[Any]]:
    def search(stmt: Select[Any], q: str) -> Select[Any]:
        return stmt.where(or_(*(c.icontains(q, autoescape=True) for c in columns)))

    return search


def _taken(change: Change, column: Any, value: str | None) -> bool:
    """Whether another row already uses `value` in `column` (compared case-insensitively)."""
    if not value:
        return False
    model = column.class_
    stmt = select(func.count()).select_from(model).where(func.lower(column) == value.lower())
    if change.row is not None:
        stmt = stmt.where(model.id != change.row.id)
    return bool(change.session.execute(stmt).scalar_one())


def _unique_code(label: str) -> Callable[[Change, Any], None]:
    def check(change: Change, column: Any) -> None:
        if "code" not in change.errors and _taken(change, column, change.values.get("code")):
            change.errors["code"] = i18n.gettext(label, code=change.values["code"])

    return check


def _enum_choices(labels: dict[Any, str]) -> list[Choice]:
    return [Choice(member.value, i18n.gettext(label)) for member, label in labels.items()]


def _rows_by_id(scope: Scope, model: Any, ids: set[Any]) -> dict[Any, Any]:
    ids.discard(None)
    if not ids:
        return {}
    return {r.id: r for r in scope.session.execute(scope.select(model).where(model.id.in_(ids))).scalars()}


def _active_or_current(scope: Scope, model: Any, current_id: int | None, *where: Any) -> list[Any]:
    """Rows offered in a drop-down: the active ones, plus the one already chosen even if inactive."""
    active = model.is_active.is_(True)
    condition = or_(active, model.id == current_id) if current_id is not None else active
    stmt = scope.select(model).where(condition, *where).order_by(model.code)
    return list(scope.session.execute(stmt).scalars())


def _org_choices(scope: Scope, current_id: int | None, *where: ColumnElement[bool]) -> list[Choice]:
    return [
        Choice(str(o.id), f"{o.code} · {o.name}")
        for o in _active_or_current(scope, Organisation, current_id, *where)
    ]


def _name(row: Any, lookups: Lookups, table: str, key: str) -> str:
    target = lookups[table].get(getattr(row, key))
    return f"{target.code} · {target.name}" if target is not None else ""


# --- users ------------------------------------------------------------------------------------------


def _user_options(scope: Scope, row: User | None) -> dict[str, list[Choice]]:
    locations = _active_or_current(scope, Location, row.location_id if row else None)
    orgs = _rows_by_id(scope, Organisation, {loc.organisation_id for loc in locations})
    return {
        "organisation_id": _org_choices(scope, row.organisation_id if row else None),
        "location_id": [
            Choice(str(loc.id), f"{loc.code} · {loc.name} ({orgs[loc.organisation_id].name})")
            for loc in locations
        ],
        "roles": _enum_choices(accounts.ROLE_LABELS),
        "locale": [Choice(code, label) for code, label in i18n.SUPPORTED_LOCALES.items()],
    }


def _user_check(change: Change) -> None:
    values, errors, session = change.values, change.errors, change.session
    if "email" not in errors and values["email"]:
        unchanged = change.row is not None and change.row.email.lower() == values["email"]
        if not unchanged and _taken(change, User.email, values["email"]):
            errors["email"] = i18n.gettext(
                "Another user already has the e-mail %(email)s.", email=values["email"]
            )
    org = session.get(Organisation, values["organisation_id"]) if values["organisation_id"] else None
    location = session.get(Location, values["location_id"]) if values["location_id"] else None
    roles = set(values["roles"] or ())
    if location is not None and org is not None and location.organisation_id != org.id:
        errors.setdefault("location_id", i18n.gettext("Choose a location of the user's organisation."))
    if "roles" not in errors:
        refused = refused_roles(org.kind, roles) if org is not None else frozenset()
        if refused:
            assert org is not None
            errors["roles"] = accounts.RoleNotAllowed(org.kind, refused).message()
        elif change.row is not None and change.row.id == change.admin.user_id and Role.ADMIN not in roles:
            errors["roles"] = i18n.gettext("You cannot remove your own administrator role.")
    if Role.STORE in roles and location is None and "location_id" not in errors:
        errors["location_id"] = i18n.gettext("Users with the store role need a location.")
    if values.get("password") and "password" not in errors:
        email = values["email"] or (change.row.email if change.row is not None else "")
        problems = password_problems(
            values["password"], email=email, organisation_name=org.name if org is not None else ""
        )
        if problems:
            errors["password"] = " ".join(problems)


def _user_before_save(change: Change, row: User) -> None:
    password = change.values.get("password")
    if password:
        row.password_hash = hash_password(password)
    if row.id is not None:  # an edit: roles the new organisation does not allow go before it moves
        keep = {Role(r) for r in change.values["roles"]}
        accounts.drop_roles_except(change.session, user_id=row.id, keep=keep)


def _user_after_save(change: Change, row: User) -> None:
    assert row.id is not None
    session = change.session
    accounts.set_roles(session, user=row, roles={Role(r) for r in change.values["roles"]})
    if change.values.get("password") and not change.creating:
        # A new password logs the user out everywhere (but not the admin changing their own).
        keep = change.keep_token if row.id == change.admin.user_id else None
        end_all_sessions(session, row.id, keep_token=keep)


def _user_change_is_sensitive(change: Change) -> bool:
    """Changes that could take over another person's account or widen what it may do."""
    row, values = change.row, change.values
    if row is None or row.id == change.admin.user_id:
        return False
    roles_before = set(_user_roles_values(change.session, row)["roles"])
    return (
        bool(values.get("password"))
        or (values.get("email") or "").lower() != row.email.lower()
        or set(values.get("roles") or ()) != roles_before
        or values.get("organisation_id") != row.organisation_id
    )


def _user_lookups(scope: Scope, rows: Sequence[User]) -> Lookups:
    roles: dict[Any, list[Role]] = {}
    ids = [r.id for r in rows]
    if ids:
        stmt = select(UserRole).where(UserRole.user_id.in_(ids))  # type: ignore[attr-defined]
        for ur in scope.session.execute(stmt).scalars():
            roles.setdefault(ur.user_id, []).append(ur.role)
    return {
        "orgs": _rows_by_id(scope, Organisation, {r.organisation_id for r in rows}),
        "locations": _rows_by_id(scope, Location, {r.location_id for r in rows}),
        "roles": roles,
    }


def _user_roles_text(row: User, lookups: Lookups) -> str:
    held = set(lookups["roles"].get(row.id, []))
    return ", ".join(i18n.gettext(label) for role, label in accounts.ROLE_LABELS.items() if role in held)


def _user_roles_values(session: Session, row: User) -> dict[str, Any]:
    stmt = select(col(UserRole.role)).where(col(UserRole.user_id) == row.id)
    return {"roles": [str(r) for r in session.execute(stmt).scalars()]}


def _refuse_self(row: User, admin: Principal) -> str | None:
    return i18n.gettext("You cannot deactivate your own account.") if row.id == admin.user_id else None


def _end_sessions(session: Session, row: User) -> None:
    assert row.id is not None
    end_all_sessions(session, row.id)  # logged out at their very next request


USERS = Entity(
    slug="users",
    model=User,
    title=lazy("Users"),
    new_title=lazy("New user"),
    edit_title=lazy("Edit user"),
    search_placeholder=lazy("E-mail or name"),
    fields=(
        FormField("email", lazy("E-mail"), "email", required=True, max_length=254),
        FormField("full_name", lazy("Full name"), required=True, max_length=200),
        FormField(
            "organisation_id",
            lazy("Organisation"),
            "select",
            required=True,
            int_choices=True,
            invalid_choice=lazy("Choose an existing organisation."),
        ),
        FormField(
            "location_id",
            lazy("Location"),
            "select",
            int_choices=True,
            hint=lazy("The store or warehouse this user works at."),
            invalid_choice=lazy("Choose an existing location."),
        ),
        FormField(
            "roles",
            lazy("Roles"),
            "checkboxes",
            required=True,
            invalid_choice=lazy("Choose roles from the list."),
        ),
        FormField(
            "approval_limit",
            lazy("Approval limit (CNY)"),
            "decimal",
            minimum=Decimal(0),
            maximum=Decimal(10) ** 16,
            places=2,
            hint=lazy("Leave empty for no approval authority."),
        ),
        FormField("locale", lazy("Language"), "select", required=True),
        FormField(
            "password",
            lazy("Password"),
            "password",
            create_only_required=True,
            max_length=512,
            hint=lazy(
                "When editing, leave empty to keep the current password. A new password logs the user out."
            ),
        ),
    ),
    columns=(
        Column(lazy("E-mail"), lambda r, lk: r.email),
        Column(lazy("Full name"), lambda r, lk: r.full_name),
        Column(lazy("Organisation"), lambda r, lk: _name(r, lk, "orgs", "organisation_id")),
        Column(lazy("Location"), lambda r, lk: _name(r, lk, "locations", "location_id")),
        Column(lazy("Roles"), _user_roles_text),
        Column(lazy("Status"), _status),
    ),
    order_by=lambda: (User.email,),
    search=_contains(User.email, User.full_name),
    name_of=lambda r: r.email,
    options=_user_options,
    lookups=_user_lookups,
    check=_user_check,
    before_save=_user_before_save,
    after_save=_user_after_save,
    initial={"locale": i18n.DEFAULT_LOCALE, "roles": []},
    extra_values=_user_roles_values,
    refuse_deactivation=_refuse_self,
    on_deactivate=_end_sessions,
    sensitive=_user_change_is_sensitive,
)


# --- organisations ----------------------------------------------------------------------------------


def _org_check(change: Change) -> None:
    _unique_code(lazy("Another organisation already uses the code %(code)s."))(change, Organisation.code)
    row, kind = change.row, change.values.get("kind")
    if row is None or not kind or kind == row.kind.value:
        return
    session = change.session
    has_prices = session.execute(
        select(func.count()).select_from(PriceListEntry).where(PriceListEntry.supplier_id == row.id)
    ).scalar_one()
    refused = refused_roles(OrgKind(kind), accounts.roles_in_organisation(session, row.id or 0))
    if row.kind is OrgKind.SUPPLIER and has_prices:
        change.errors["kind"] = i18n.gettext("This organisation has price lists, so it must stay a supplier.")
    elif refused:
        change.errors["kind"] = i18n.gettext(
            "Its users hold roles a %(kind)s organisation cannot have: %(roles)s. Change their roles first.",
            kind=i18n.gettext(accounts.ORG_KIND_LABELS[OrgKind(kind)]),
            roles=", ".join(i18n.gettext(accounts.ROLE_LABELS[r]) for r in sorted(refused)),
        )


ORGANISATIONS = Entity(
    slug="organisations",
    model=Organisation,
    title=lazy("Organisations"),
    new_title=lazy("New organisation"),
    edit_title=lazy("Edit organisation"),
    search_placeholder=lazy("Code or name"),
    fields=(
        FormField("code", lazy("Code"), required=True, max_length=32),
        FormField("name", lazy("Name"), required=True, max_length=200),
        FormField("kind", lazy("Kind"), "select", required=True, coerce=OrgKind),
    ),
    columns=(
        Column(lazy("Code"), lambda r, lk: r.code),
        Column(lazy("Name"), lambda r, lk: r.name),
        Column(lazy("Kind"), lambda r, lk: i18n.gettext(accounts.ORG_KIND_LABELS[r.kind])),
        Column(lazy("Status"), _status),
    ),
    order_by=lambda: (Organisation.code,),
    search=_contains(Organisation.code, Organisation.name),
    name_of=lambda r: r.code,
    options=lambda scope, row: {"kind": _enum_choices(accounts.ORG_KIND_LABELS)},
    check=_org_check,
)


# --- locations --------------------------------------------------------------------------------------


def _location_options(scope: Scope, row: Location | None) -> dict[str, list[Choice]]:
    regions = scope.session.execute(scope.select(Region).order_by(col(Region.code))).scalars()
    return {
        "kind": _enum_choices(LOCATION_KIND_LABELS),
        "organisation_id": _org_choices(scope, row.organisation_id if row else None),
        "region_id": [Choice(str(r.id), f"{r.code} · {r.name}") for r in regions],
    }


LOCATIONS = Entity(
    slug="locations",
    model=Location,
    title=lazy("Locations"),
    new_title=lazy("New location"),
    edit_title=lazy("Edit location"),
    search_placeholder=lazy("Code or name"),
    fields=(
        FormField("code", lazy("Code"), required=True, max_length=32),
        FormField("name", lazy("Name"), required=True, max_length=200),
        FormField("kind", lazy("Kind"), "select", required=True, coerce=LocationKind),
        FormField(
            "organisation_id",
            lazy("Organisation"),
            "select",
            required=True,
            int_choices=True,
            invalid_choice=lazy("Choose an existing organisation."),
        ),
        FormField(
            "region_id",
            lazy("Region"),
            "select",
            int_choices=True,
            invalid_choice=lazy("Choose an existing region."),
        ),
        FormField("address", lazy("Address"), max_length=300),
    ),
    columns=(
        Column(lazy("Code"), lambda r, lk: r.code),
        Column(lazy("Name"), lambda r, lk: r.name),
        Column(lazy("Kind"), lambda r, lk: i18n.gettext(LOCATION_KIND_LABELS[r.kind])),
        Column(lazy("Organisation"), lambda r, lk: _name(r, lk, "orgs", "organisation_id")),
        Column(lazy("Region"), lambda r, lk: _name(r, lk, "regions", "region_id")),
        Column(lazy("Status"), _status),
    ),
    order_by=lambda: (Location.code,),
    search=_contains(Location.code, Location.name, Location.address),
    name_of=lambda r: r.code,
    options=_location_options,
    lookups=lambda scope, rows: {
        "orgs": _rows_by_id(scope, Organisation, {r.organisation_id for r in rows}),
        "regions": _rows_by_id(scope, Region, {r.region_id for r in rows}),
    },
    check=lambda change: _unique_code(lazy("Another location already uses the code %(code)s."))(
        change, Location.code
    ),
)

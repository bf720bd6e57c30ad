"""Users' roles: the one place that writes them and the one place that reads them back.

Which roles an organisation's users may hold is the pure rule `supplychain.rules.roles`.
Everything that grants roles (the admin form, the seed, the CLI's `create-user`, any later API)
goes through `create_user`, `set_roles` or `grant_roles`, which refuse an impossible pair with a
message; the database refuses one too (migration 0011's triggers). Everything that asks who holds a
role (the logged-in user, approval chains, delegation, notifications) goes through `role_counts`,
which only counts a role its holder's organisation kind allows, so a row inserted behind the
application's back is ignored rather than obeyed.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, or_, select
from sqlmodel import Session, col

from supplychain import i18n
from supplychain.models import Location, Organisation, OrgKind, Role, User, UserRole
from supplychain.passwords import password_problems
from supplychain.rules.roles import ROLES_BY_ORG_KIND, refused_roles
from supplychain.security import hash_password
from supplychain.settings import settings

ROLE_LABELS: dict[Role, str] = {
    Role.SUPPLIER: i18n.lazy("Supplier"),
    Role.STORE: i18n.lazy("Store"),
    Role.BUYER: i18n.lazy("Buyer"),
    Role.APPROVER: i18n.lazy("Approver"),
    Role.WAREHOUSE: i18n.lazy("Warehouse"),
    Role.INSPECTOR: i18n.lazy("Quality inspector"),
    Role.QUALITY_APPROVER: i18n.lazy("Quality approver"),
    Role.FINANCE: i18n.lazy("Finance"),
    Role.ADMIN: i18n.lazy("Administrator"),
}
ORG_KIND_LABELS: dict[OrgKind, str] = {
    OrgKind.HQ: i18n.lazy("Headquarters"),
    OrgKind.SUPPLIER: i18n.lazy("Supplier"),
    OrgKind.DISTRIBUTOR: i18n.lazy("Distributor"),
}


# Every demo user (supplychain/seed.py) has an address at this domain, reserved for examples (RFC 2606),
# so no real user has one: that is how a production installation recognises them and refuses them.
DEMO_EMAIL_DOMAIN = "demo.example"


def is_demo_account(email: str) -> bool:
    return email.strip().lower().endswith("@" + DEMO_EMAIL_DOMAIN)


def demo_login_refused(email: str) -> bool:
    """Whether this account may not log in here: a demo account (its password is published in the
    README and printed by `portal seed`) on a production installation."""
    return settings.ENVIRONMENT == "production" and is_demo_account(email)


class AccountError(ValueError):
    """A user that cannot be created as asked; `str()` is the message for a person."""


class RoleNotAllowed(AccountError):
    """Roles a user's organisation kind does not allow; `str()` is the message for a person."""

    def __init__(self, kind: OrgKind, roles: Iterable[Role]) -> None:
        self.kind = kind
        self.roles = tuple(sorted(roles))
        super().__init__(self.message())

    def message(self) -> str:
        return i18n.ngettext(
            "A user of a %(kind)s organisation cannot hold the role %(roles)s.",
            "A user of a %(kind)s organisation cannot hold the roles %(roles)s.",
            len(self.roles),
            kind=i18n.gettext(ORG_KIND_LABELS[self.kind]),
            roles=", ".join(i18n.gettext(ROLE_LABELS[role]) for role in self.roles),
        )


def create_user(
    session: Session,
    *,
    email: str,
    full_name: str,
    organisation_code: str,
    roles: Iterable[Role],
    password: str,
    location_code: str | None = None,
    locale: str = i18n.DEFAULT_LOCALE,
) -> User:
    """A new active user with `roles` (flushed, not committed), checked like the admin form checks:
    the organisation and location exist, the e-mail is free, the password passes the password rule
    (supplychain.passwords), and the organisation's kind allows every role (RoleNotAllowed). Nothing
    is written when it refuses."""
    email = email.strip().lower()
    organisation = session.execute(
        select(Organisation).where(col(Organisation.code) == organisation_code)
    ).scalar_one_or_none()
    if organisation is None or organisation.id is None:
        raise AccountError(i18n.gettext("No organisation has the code %(code)s.", code=organisation_code))
    wanted = set(roles)
    if not wanted:
        raise AccountError(i18n.gettext("Choose at least one role."))
    check_roles(organisation.kind, wanted)
    if "@" not in email or len(email) > 254:
        raise AccountError(i18n.gettext("Enter a valid e-mail address, for example name@example.com."))
    if session.execute(select(col(User.id)).where(func.lower(col(User.email)) == email)).first():
        raise AccountError(i18n.gettext("Another user already has the e-mail %(email)s.", email=email))
    problems = password_problems(password, email=email, organisation_name=organisation.name)
    if problems:
        raise AccountError(" ".join(problems))
    location_id = None
    if location_code:
        location = session.execute(
            select(Location).where(
                col(Location.code) == location_code, col(Location.organisation_id) == organisation.id
            )
        ).scalar_one_or_none()
        if location is None:
            raise AccountError(i18n.gettext("Choose a location of the user's organisation."))
        location_id = location.id
    if Role.STORE in wanted and location_id is None:
        raise AccountError(i18n.gettext("Users with the store role need a location."))
    user = User(
        email=email,
        full_name=full_name.strip() or email,
        organisation_id=organisation.id,
        location_id=location_id,
        locale=locale,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    grant_roles(session, user=user, roles=wanted)
    return user


def check_roles(kind: OrgKind, roles: Iterable[Role]) -> None:
    """Raise RoleNotAllowed unless a user of an organisation of `kind` may hold every one of `roles`."""
    refused = refused_roles(kind, roles)
    if refused:
        raise RoleNotAllowed(kind, refused)


def set_roles(session: Session, *, user: User, roles: Iterable[Role]) -> None:
    """Give `user` exactly `roles` (flushed, not committed); RoleNotAllowed changes nothing."""
    user_id, wanted, current = _checked(session, user, roles)
    if current - wanted:
        session.execute(
            delete(UserRole).where(col(UserRole.user_id) == user_id, col(UserRole.role).in_(current - wanted))
        )
    session.add_all(UserRole(user_id=user_id, role=role) for role in wanted - current)
    session.flush()


def drop_roles_except(session: Session, *, user_id: int, keep: Iterable[Role]) -> None:
    """Delete the user's roles outside `keep`, before a pending change of the user row is flushed:
    a user moving to another kind of organisation must not hold, even for a moment, a role that
    organisation does not allow (the database refuses the move). `set_roles` adds the rest after."""
    with session.no_autoflush:
        session.execute(
            delete(UserRole).where(col(UserRole.user_id) == user_id, col(UserRole.role).not_in(set(keep)))
        )


def roles_in_organisation(session: Session, organisation_id: int) -> set[Role]:
    """Every role a user of this organisation holds, as stored (whether it counts or not)."""
    return set(
        session.execute(
            select(col(UserRole.role))
            .join(User, col(User.id) == col(UserRole.user_id))
            .where(col(User.organisation_id) == organisation_id)
            .distinct()
        ).scalars()
    )


def grant_roles(session: Session, *, user: User, roles: Iterable[Role]) -> None:
    """Add `roles` to what `user` holds (flushed, not committed); RoleNotAllowed changes nothing."""
    user_id, wanted, current = _checked(session, user, roles)
    session.add_all(UserRole(user_id=user_id, role=role) for role in wanted - current)
    session.flush()


def _checked(session: Session, user: User, roles: Iterable[Role]) -> tuple[int, set[Role], set[Role]]:
    """(the user's id; the roles asked for, checked against the user's organisation; the roles
    stored now)."""
    assert user.id is not None
    wanted = set(roles)
    organisation = session.get(Organisation, user.organisation_id)
    assert organisation is not None
    check_roles(organisation.kind, wanted)
    current = set(
        session.execute(select(col(UserRole.role)).where(col(UserRole.user_id) == user.id)).scalars()
    )
    return user.id, wanted, current


def role_counts() -> ColumnElement[bool]:
    """True for a `user_role` row (joined to its `app_user` and `organisation`) whose role the
    user's organisation kind allows: the condition every reader of roles applies."""
    return or_(
        *(
            and_(col(Organisation.kind) == kind, col(UserRole.role).in_(roles))
            for kind, roles in ROLES_BY_ORG_KIND.items()
        )
    )


def held_roles() -> Select[int, Role]:
    """(user id, role) for every role that counts; join or filter it further."""
    return (
        select(col(UserRole.user_id), col(UserRole.role))
        .join(User, col(User.id) == col(UserRole.user_id))
        .join(Organisation, col(Organisation.id) == col(User.organisation_id))
        .where(role_counts())
    )


def roles_of(session: Session, user_id: int) -> frozenset[Role]:
    """The roles of this user that count."""
    rows = session.execute(held_roles().where(col(UserRole.user_id) == user_id)).all()
    return frozenset(role for _, role in rows)


def holders_of(*roles: Role) -> Select[int]:
    """Ids of the users holding one of `roles` in a way that counts (a subquery; active or not)."""
    return (
        select(col(UserRole.user_id))
        .join(User, col(User.id) == col(UserRole.user_id))
        .join(Organisation, col(Organisation.id) == col(User.organisation_id))
        .where(col(UserRole.role).in_(roles), role_counts())
    )


def holds(user_id: int, role: Role) -> ColumnElement[bool]:
    """SQL: this user holds `role` in a way that counts."""
    return exists(holders_of(role).where(col(UserRole.user_id) == user_id))

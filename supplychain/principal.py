"""Who is acting: the logged-in user as the rest of the code sees them (no ORM object leaks out)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from supplychain import accounts
from supplychain.models import Organisation, OrgKind, Role, User


@dataclass(frozen=True)
class Principal:
    user_id: int
    email: str
    full_name: str
    organisation_id: int
    organisation_name: str
    org_kind: OrgKind
    roles: frozenset[Role]
    location_id: int | None
    locale: str
    approval_limit: Decimal | None

    @property
    def is_hq(self) -> bool:
        return self.org_kind is OrgKind.HQ

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))


def principal_for(session: Session, user: User) -> Principal:
    """The user as the rest of the code sees them, with the roles that count (`accounts.roles_of`)."""
    assert user.id is not None
    org = session.get(Organisation, user.organisation_id)
    assert org is not None
    return Principal(
        user_id=user.id,
        email=user.email,
        full_name=user.full_name,
        organisation_id=org.id or 0,
        organisation_name=org.name,
        org_kind=org.kind,
        roles=accounts.roles_of(session, user.id),
        location_id=user.location_id,
        locale=user.locale,
        approval_limit=user.approval_limit,
    )

"""Who is acting: the logged-in user as the rest of the code sees them (no ORM object leaks out)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from supplychain.models import Organisation, OrgKind, Role, User, UserRole


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
    """`user` as the principal acting: a logged-in session, or a script acting as a demo user."""
    assert user.id is not None
    org = session.get(Organisation, user.organisation_id)
    assert org is not None
    roles = session.execute(select(col(UserRole.role)).where(col(UserRole.user_id) == user.id)).scalars()
    return Principal(
        user_id=user.id,
        email=user.email,
        full_name=user.full_name,
        organisation_id=org.id or 0,
        organisation_name=org.name,
        org_kind=org.kind,
        roles=frozenset(roles),
        location_id=user.location_id,
        locale=user.locale,
        approval_limit=user.approval_limit,
    )

"""Who is acting: the logged-in user as the rest of the code sees them (no ORM object leaks out)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from supplychain.models import OrgKind, Role


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

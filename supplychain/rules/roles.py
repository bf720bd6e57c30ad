"""Which roles a user may hold, by the kind of organisation they belong to (DESIGN 5).

Supplier organisations hold supplier users; distributors hold store users; every HQ role (and the
store role of an HQ-owned store) exists only in HQ. The admin form, the seed, the CLI and any later
API check a user's roles with `refused_roles`; the database refuses an impossible pair with a
trigger built from the same table (migration 0011); and the code that reads roles back (the logged-in
user, the approval chains) keeps only `allowed_roles`, so a row written behind the application's back
is ignored rather than obeyed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from supplychain.models.org import OrgKind
from supplychain.models.users import Role

HQ_ONLY_ROLES: Final = frozenset(
    {
        Role.ADMIN,
        Role.BUYER,
        Role.APPROVER,
        Role.WAREHOUSE,
        Role.INSPECTOR,
        Role.QUALITY_APPROVER,
        Role.FINANCE,
    }
)

ROLES_BY_ORG_KIND: Final[dict[OrgKind, frozenset[Role]]] = {
    OrgKind.HQ: HQ_ONLY_ROLES | {Role.STORE},  # HQ's own stores have store users too
    OrgKind.SUPPLIER: frozenset({Role.SUPPLIER}),
    OrgKind.DISTRIBUTOR: frozenset({Role.STORE}),
}


def allowed_roles(kind: OrgKind) -> frozenset[Role]:
    """The roles a user of an organisation of this kind may hold."""
    return ROLES_BY_ORG_KIND[kind]


def refused_roles(kind: OrgKind, roles: Iterable[Role]) -> frozenset[Role]:
    """The roles in `roles` a user of an organisation of this kind may not hold (empty: all fine)."""
    return frozenset(roles) - ROLES_BY_ORG_KIND[kind]


def kinds_holding(role: Role) -> frozenset[OrgKind]:
    """The kinds of organisation whose users may hold `role`."""
    return frozenset(kind for kind, roles in ROLES_BY_ORG_KIND.items() if role in roles)

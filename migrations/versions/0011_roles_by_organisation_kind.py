"""Roles belong to kinds of organisation: the database refuses an impossible user/role pair.

Supplier organisations hold supplier users, distributors store users, and every HQ role exists only
in HQ (supplychain/rules/roles.py). Three triggers keep it so whatever code writes: a role row for a
user whose organisation's kind does not allow it; moving a user into an organisation whose kind does
not allow one of their roles; changing an organisation's kind while its users hold roles the new
kind does not allow. Role rows that already break the rule are deleted first (they never counted:
the application ignores them), each one logged.

SQLite drops a table's triggers when Alembic's batch mode rebuilds it: a later migration that
batch-alters organisation, app_user or user_role must call `create_triggers()` of this module again
(tests/test_roles_by_org_kind.py checks the refusals at head).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 05:00:00
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

# supplychain.rules.roles.ROLES_BY_ORG_KIND as of this migration (a migration never imports app code:
# a later change of the rule needs a migration of its own).
ROLES_BY_ORG_KIND = {
    "hq": ("admin", "buyer", "approver", "warehouse", "inspector", "quality_approver", "finance", "store"),
    "supplier": ("supplier",),
    "distributor": ("store",),
}
MESSAGE = "role not allowed for the organisation kind"


def allowed(kind: str, role: str) -> str:
    """SQL: the pair (organisation kind expression, role expression) is allowed."""
    return "(" + " OR ".join(
        f"({kind} = '{k}' AND {role} IN ({', '.join(repr(r) for r in roles)}))"
        for k, roles in ROLES_BY_ORG_KIND.items()
    ) + ")"


# Each check: (trigger name, table, event, SQL that is true when the new row breaks the rule).
CHECKS = (
    (
        "user_role_kind",
        "user_role",
        "INSERT OR UPDATE",
        "NOT EXISTS (SELECT 1 FROM app_user u JOIN organisation o ON o.id = u.organisation_id "
        f"WHERE u.id = NEW.user_id AND {allowed('o.kind', 'NEW.role')})",
    ),
    (
        "app_user_kind",
        "app_user",
        "UPDATE OF organisation_id",
        "EXISTS (SELECT 1 FROM user_role ur JOIN organisation o ON o.id = NEW.organisation_id "
        f"WHERE ur.user_id = NEW.id AND NOT {allowed('o.kind', 'ur.role')})",
    ),
    (
        "organisation_kind",
        "organisation",
        "UPDATE OF kind",
        "EXISTS (SELECT 1 FROM app_user u JOIN user_role ur ON ur.user_id = u.id "
        f"WHERE u.organisation_id = NEW.id AND NOT {allowed('NEW.kind', 'ur.role')})",
    ),
)


def create_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for name, table, event, breaks in CHECKS:
        if dialect == "sqlite":
            # SQLite triggers fire on one event each.
            for verb in event.split(" OR "):
                op.execute(
                    f"CREATE TRIGGER {name}_{verb.split()[0].lower()} BEFORE {verb} ON {table} "
                    f"WHEN {breaks} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
                )
        else:
            op.execute(
                f"CREATE FUNCTION {name}_check() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF {breaks} THEN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation'; "
                "END IF; RETURN NEW; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {name}_check BEFORE {event} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}_check()"
            )


def drop_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for name, table, event, _ in CHECKS:
        if dialect == "sqlite":
            for verb in event.split(" OR "):
                op.execute(f"DROP TRIGGER IF EXISTS {name}_{verb.split()[0].lower()}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}_check ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {name}_check()")


def upgrade() -> None:
    bind = op.get_bind()
    impossible = bind.execute(
        sa.text(
            "SELECT ur.id, u.email, o.code, o.kind, ur.role FROM user_role ur "
            "JOIN app_user u ON u.id = ur.user_id JOIN organisation o ON o.id = u.organisation_id "
            f"WHERE NOT {allowed('o.kind', 'ur.role')} ORDER BY ur.id"
        )
    ).all()
    for row_id, email, org_code, kind, role in impossible:
        log.warning("removing role %s of %s: a %s organisation (%s) cannot hold it", role, email, kind, org_code)
        bind.execute(sa.text("DELETE FROM user_role WHERE id = :id"), {"id": row_id})
    create_triggers()


def downgrade() -> None:
    drop_triggers()

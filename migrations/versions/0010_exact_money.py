"""Exact money: every NUMERIC column becomes a BIGINT of its smallest unit.

SQLite keeps NUMERIC as a float, so amounts lost cents and SUM() came back as a float. Now each
value is stored as a whole number of 10**-scale (supplychain.models.base.ExactDecimal): amounts,
approval limits and the deduction percentage at scale 2 (fen; 1/100 %), unit prices and tax rates
at scale 4. Integers are exact on both databases, and so are their sums.

Existing rows are converted exactly, rounded half-up at the column's scale: PostgreSQL in the
ALTER (`round(col * 100)::bigint`; NUMERIC arithmetic, never float); SQLite in Python from the
stored value (a float is read as the decimal it was written as, its shortest repr), before the
batch copy casts the column. Two CHECK constraints compare with a literal and are restated in
units: tax_rate < 1 becomes < 10000, price_deduction_percent < 100 becomes < 10000.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class Col(NamedTuple):
    name: str
    precision: int  # of the NUMERIC it was
    scale: int
    nullable: bool


def _amount(name: str, *, nullable: bool = False) -> Col:
    return Col(name, 18, 2, nullable)


def _price(*, nullable: bool = False) -> tuple[Col, Col]:
    return Col("unit_price", 18, 4, nullable), Col("tax_rate", 5, 4, nullable)


AMOUNTS = (_amount("net_amount"), _amount("tax_amount"), _amount("total_amount"))
COLUMNS: dict[str, tuple[Col, ...]] = {
    "app_user": (_amount("approval_limit", nullable=True),),
    "approval_request": (_amount("amount"),),
    "price_list_entry": _price(),
    "purchase_order": AMOUNTS,
    "purchase_order_line": (*_price(), _amount("line_amount")),
    "inspection": (Col("price_deduction_percent", 5, 2, True), *_price(nullable=True)),
    "return_to_vendor": _price(),
    "debit_note": AMOUNTS,
}

# CHECK constraints dropped while the columns convert and restated after: (table, name, before,
# after). Two compare with a literal, restated in units; the debit note's total would fail halfway,
# as PostgreSQL converts one column at a time.
CHECKS = (
    (
        "price_list_entry",
        "ck_price_tax_rate",
        "tax_rate >= 0 AND tax_rate < 1",
        "tax_rate >= 0 AND tax_rate < 10000",
    ),
    (
        "inspection",
        "ck_inspection_deduction",
        "price_deduction_percent IS NULL OR (price_deduction_percent > 0 AND price_deduction_percent < 100)",
        "price_deduction_percent IS NULL OR (price_deduction_percent > 0 AND price_deduction_percent < 10000)",
    ),
    (
        "debit_note",
        "ck_debit_note_total",
        "total_amount = net_amount + tax_amount",
        "total_amount = net_amount + tax_amount",
    ),
)


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _checks(table: str) -> list[tuple[str, str, str]]:
    return [(name, before, after) for t, name, before, after in CHECKS if t == table]


def _stored_decimal(value: object) -> Decimal:
    """A NUMERIC value as SQLite returns it (int, float or text), as the decimal it was written as."""
    if isinstance(value, float):
        return Decimal(repr(value))  # the shortest repr: 0.1, not 0.1000000000000000055511151231257827
    return Decimal(str(value))


def _to_units(value: object, scale: int) -> int:
    exact = _stored_decimal(value).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    return int(exact.scaleb(scale))


def _from_units(value: object, scale: int) -> str:
    assert isinstance(value, int)
    return str(Decimal(value).scaleb(-scale))


def _rewrite_sqlite(table: str, columns: tuple[Col, ...], convert: Callable[[object, int], object]) -> None:
    """Rewrite every row's values in place (SQLite only; PostgreSQL converts in the ALTER)."""
    conn = op.get_bind()
    names = [c.name for c in columns]
    rows = conn.execute(sa.text(f"SELECT id, {', '.join(names)} FROM {table}")).all()
    updates = [
        {"id": row[0]}
        | {c.name: None if value is None else convert(value, c.scale) for c, value in zip(columns, row[1:])}
        for row in rows
    ]
    if updates:
        assignments = ", ".join(f"{name} = :{name}" for name in names)
        conn.execute(sa.text(f"UPDATE {table} SET {assignments} WHERE id = :id"), updates)


def upgrade() -> None:
    sqlite = _is_sqlite()
    for table, columns in COLUMNS.items():
        checks = _checks(table)
        if checks:  # dropped first: the scaled values would fail them
            with op.batch_alter_table(table, schema=None) as batch_op:
                for name, _before, _after in checks:
                    batch_op.drop_constraint(name, type_="check")
        if sqlite:
            _rewrite_sqlite(table, columns, _to_units)
        with op.batch_alter_table(table, schema=None) as batch_op:
            for c in columns:
                batch_op.alter_column(
                    c.name,
                    existing_type=sa.Numeric(precision=c.precision, scale=c.scale),
                    type_=sa.BigInteger(),
                    existing_nullable=c.nullable,
                    postgresql_using=f"round({c.name} * {10**c.scale})::bigint",
                )
            for name, _before, after in checks:
                batch_op.create_check_constraint(name, after)


def downgrade() -> None:
    sqlite = _is_sqlite()
    for table, columns in COLUMNS.items():
        checks = _checks(table)
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _before, _after in checks:
                batch_op.drop_constraint(name, type_="check")
            for c in columns:
                batch_op.alter_column(
                    c.name,
                    existing_type=sa.BigInteger(),
                    type_=sa.Numeric(precision=c.precision, scale=c.scale),
                    existing_nullable=c.nullable,
                    postgresql_using=f"{c.name}::numeric / {10**c.scale}",
                )
        if sqlite:
            _rewrite_sqlite(table, columns, _from_units)
        if checks:
            with op.batch_alter_table(table, schema=None) as batch_op:
                for name, before, _after in checks:
                    batch_op.create_check_constraint(name, before)

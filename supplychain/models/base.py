"""Column helpers shared by every table."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, text
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.sql.operators import OperatorType
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Field

from supplychain.rules.money import MONEY_PLACES, from_units, to_units


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite returns naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


PUBLIC_ID_LENGTH = 32  # hex digits: 128 random bits


def new_public_id() -> str:
    return secrets.token_hex(PUBLIC_ID_LENGTH // 2)


def public_id_field() -> Any:
    """The id a stored file is addressed by in URLs: random, so one cannot be guessed from another
    (the row id counts up). Not a permission: the routes still check who may see the row."""
    return Field(default_factory=new_public_id, max_length=PUBLIC_ID_LENGTH, unique=True, index=True)


def timestamp_field(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable)


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal with `scale` places, stored as a whole number of its smallest unit in a BIGINT:
    money at scale 2 in fen (12.34 is 1234), unit prices and tax rates at scale 4.

    Integers are exact on SQLite and PostgreSQL alike (SQLite keeps NUMERIC as a float), so SUM()
    is exact too, and it comes back as a Decimal: SUM and COALESCE take this type from their
    argument. A value with more places than the column keeps is refused (ValueError), never rounded
    here; round first with `supplychain.rules.money`. Plain values compared with a column
    (`amount >= Decimal("100")`) are scaled the same way.

    SQL sees the stored integers, so expressions keep to what stays right in units: adding or
    subtracting columns (or values) of one scale, and multiplying or dividing by a plain number;
    anything else (`unit_price * tax_rate`, a price plus an amount) is refused (TypeError) when the
    statement is built. Raw SQL (CHECK constraints) is written in units: `tax_rate < 10000` is
    "below 100 %".
    """

    impl = BigInteger
    cache_ok = True

    class Comparator(TypeDecorator.Comparator[Decimal], Integer.Comparator[Decimal]):
        def _adapt_expression(
            self, op: OperatorType, other_comparator: TypeEngine.Comparator[Any]
        ) -> tuple[OperatorType, TypeEngine[Any]]:
            this = self.type
            other = other_comparator.type
            assert isinstance(this, ExactDecimal)
            if op in _ADDITIVE and isinstance(other, ExactDecimal) and other.scale == this.scale:
                return op, this
            if op in _SCALING and not isinstance(other, ExactDecimal):
                return op, this
            kind = f"a {other.scale}-place one" if isinstance(other, ExactDecimal) else repr(other)
            raise TypeError(f"{op.__name__} of a {this.scale}-place exact decimal and {kind} is not exact")

    comparator_factory = Comparator

    def __init__(self, scale: int = MONEY_PLACES) -> None:
        super().__init__()
        self.scale = scale

    def coerce_compared_value(self, op: OperatorType | None, value: Any) -> TypeEngine[Any]:
        # A plain factor stays a plain number; anything else is a value of this column's kind.
        if op in _SCALING:
            return self.impl_instance.coerce_compared_value(op, value)
        return self

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise TypeError(f"{value!r} is not a Decimal (money is never float)")
        units = to_units(Decimal(value), self.scale)
        if not -(2**63) <= units < 2**63:
            raise ValueError(f"{value} is too large for the column")
        return units

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        # A plain integer, or a whole Decimal where PostgreSQL widens SUM(bigint) to numeric.
        units = int(value)
        if units != value:
            raise ValueError(f"{value!r} is not a whole number of units")
        return from_units(units, self.scale)


_ADDITIVE = frozenset({operators.add, operators.sub})
_SCALING = frozenset({operators.mul, operators.truediv, operators.floordiv})


def decimal_field(scale: int, *, default: Decimal | None = None, nullable: bool = False) -> Any:
    """An exact decimal with `scale` places (unit prices, tax rates, percentages)."""
    return Field(default=default, sa_type=ExactDecimal(scale), nullable=nullable)


def money_field(*, default: Decimal | None = None, nullable: bool = False) -> Any:
    """Money (CNY, 2 places): Decimal in Python, exact in the database, never float."""
    return decimal_field(MONEY_PLACES, default=default, nullable=nullable)


def blank_text_field(*, max_length: int) -> Any:
    """A text column that defaults to "" in Python and in the database (for columns added later)."""
    return Field(default="", max_length=max_length, sa_column_kwargs={"server_default": text("''")})

"""Sales and other issues entered by a store (the demand planning reads, DESIGN 4.6).

Each sale is one ISSUE movement posted through `supplychain.stock.post_movement` with source
document type "sale", dated on its business day (the ledger row's `created_at`: the moment of entry
for today's sales, noon China time for an earlier day), so planning reads daily demand from the
ledger. A sale never takes more than is available (on hand less reserved and quarantine).

Entered one at a time through a form (its one-time id is the idempotency key: a double submit posts
once) or as a CSV file (`location_code,sku_code,date,quantity`) whose every row is checked before
any is posted, then all are posted in one transaction, each keyed by the file's SHA-256 and its row
number: the same file sent twice posts once.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, tuple_
from sqlmodel import Session, col

from supplychain import i18n
from supplychain.models import Location, MovementType, Sku, StockBalance, StockLedgerEntry
from supplychain.principal import Principal
from supplychain.rules.dates import BUSINESS_TIMEZONE, business_date
from supplychain.rules.stock import StockDelta
from supplychain.scoping import sales_locations
from supplychain.stock import post_movement

DOCUMENT_TYPE = "sale"
MAX_BACKDATE_DAYS = 31  # a sale may be entered up to this many days after its business day
MAX_QUANTITY = 1_000_000
NOTE_MAX_LENGTH = 500
CSV_HEADER = ("location_code", "sku_code", "date", "quantity")
CSV_MAX_ROWS = 2000
CSV_MAX_BYTES = 256 * 1024
RECENT_ENTRIES = 20
_WHOLE_NUMBER = re.compile(r"^[+-]?\d{1,12}$", re.ASCII)


@dataclass(frozen=True)
class SaleLine:
    location: Location
    sku: Sku
    business_date: date
    quantity: int
    note: str = ""


# --- the fields, as a person types them ----------------------------------------------------------------


def parse_quantity(text: str) -> tuple[int | None, str]:
    """A whole number above zero: (value, "") or (None, a message to show)."""
    text = text.strip().replace(",", "")
    if not _WHOLE_NUMBER.match(text):
        return None, i18n.gettext("Enter a whole number, for example 12.")
    value = int(text)
    if value < 0:
        return None, i18n.gettext("The quantity cannot be negative.")
    if value == 0:
        return None, i18n.gettext("Enter a quantity of at least 1.")
    if value > MAX_QUANTITY:
        return None, i18n.gettext("Enter at most %(max)s.", max=i18n.format_decimal(MAX_QUANTITY, places=0))
    return value, ""


def parse_business_date(text: str, today: date) -> tuple[date | None, str]:
    """A business day from `MAX_BACKDATE_DAYS` ago up to today."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None, i18n.gettext("Enter a date as YYYY-MM-DD, for example 2026-03-31.")
    if day > today:
        return None, i18n.gettext("The date cannot be in the future.")
    if day < today - timedelta(days=MAX_BACKDATE_DAYS):
        return None, i18n.gettext("The date can be at most %(days)s days ago.", days=MAX_BACKDATE_DAYS)
    return day, ""


def occurred_at(day: date, now: datetime) -> datetime:
    """When the ledger says a sale of business day `day` happened."""
    if day == business_date(now):
        return now
    return datetime.combine(day, time(12), tzinfo=BUSINESS_TIMEZONE)


# --- where and what ----------------------------------------------------------------------------------------


def locations_for(session: Session, principal: Principal) -> list[Location]:
    """The locations `principal` may record sales at (`supplychain.scoping.sales_locations`)."""
    stmt = select(Location).where(sales_locations(principal)).order_by(col(Location.code))
    return list(session.execute(stmt).scalars())


def skus_by_code(session: Session, codes: Iterable[str]) -> dict[str, Sku]:
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    rows = session.execute(select(Sku).where(col(Sku.code).in_(wanted), col(Sku.is_active))).scalars()
    return {sku.code: sku for sku in rows}


def available(session: Session, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Available stock (on hand less reserved and quarantine) per (location id, SKU id)."""
    wanted = set(pairs)
    if not wanted:
        return {}
    rows = session.execute(
        select(StockBalance).where(
            tuple_(col(StockBalance.location_id), col(StockBalance.sku_id)).in_(list(wanted))
        )
    ).scalars()
    return {(b.location_id, b.sku_id): b.available for b in rows}


def stocked_skus(session: Session, locations: list[Location], limit: int = 500) -> list[Sku]:
    """SKUs with stock available at any of `locations`: the form's suggestions."""
    ids = [loc.id for loc in locations]
    if not ids:
        return []
    held = select(col(StockBalance.sku_id)).where(
        col(StockBalance.location_id).in_(ids),
        col(StockBalance.on_hand) - col(StockBalance.reserved) - col(StockBalance.quarantine) > 0,
    )
    stmt = select(Sku).where(col(Sku.id).in_(held), col(Sku.is_active)).order_by(col(Sku.code)).limit(limit)
    return list(session.execute(stmt).scalars())


def already_posted(session: Session, keys: Iterable[str]) -> set[str]:
    wanted = list(keys)
    if not wanted:
        return set()
    stmt = select(col(StockLedgerEntry.idempotency_key)).where(
        col(StockLedgerEntry.idempotency_key).in_(wanted)
    )
    return set(session.execute(stmt).scalars())


def shortfall_message(line: SaleLine, have: int) -> str:
    return i18n.gettext(
        "Only %(available)s of %(sku)s available at %(location)s.",
        available=i18n.format_decimal(have, places=0),
        sku=line.sku.code,
        location=line.location.name,
    )


# --- posting ---------------------------------------------------------------------------------------------


def post_sale(
    session: Session,
    principal: Principal,
    line: SaleLine,
    *,
    idempotency_key: str,
    source_document_id: str,
    now: datetime,
) -> bool:
    """Post one sale (does not commit); False when its key was posted already.
    Raises InsufficientStock when it would take more than is available."""
    assert line.location.id is not None and line.sku.id is not None
    result = post_movement(
        session,
        idempotency_key=idempotency_key,
        location_id=line.location.id,
        sku_id=line.sku.id,
        movement_type=MovementType.ISSUE,
        delta=StockDelta(on_hand=-line.quantity),
        source_document_type=DOCUMENT_TYPE,
        source_document_id=source_document_id,
        actor_user_id=principal.user_id,
        note=line.note[:NOTE_MAX_LENGTH],
        occurred_at=occurred_at(line.business_date, now),
    )
    return result.created


def form_key(principal: Principal, form_id: str) -> str:
    return f"sale:form:{principal.user_id}:{form_id}"


# --- a CSV file of sales ------------------------------------------------------------------------------------


@dataclass
class CsvSales:
    """A checked file: its lines (when every row is good) or the problems, row by row."""

    digest: str
    lines: list[tuple[int, SaleLine]] = field(default_factory=list)  # (row number, line)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (row number, reason); 0: the file

    def key(self, row: int) -> str:
        return f"sale:csv:{self.digest}:{row}"

    @property
    def source_document_id(self) -> str:
        return f"csv:{self.digest[:32]}"


def read_csv(
    session: Session, principal: Principal, data: bytes, *, today: date, locations: list[Location]
) -> CsvSales:
    """Check every row of an uploaded file (row 1 is the header); nothing is posted here."""
    checked = CsvSales(digest=hashlib.sha256(data).hexdigest())
    problems = checked.problems
    if len(data) > CSV_MAX_BYTES:
        problems.append((0, i18n.gettext("The file is larger than %(kb)s KB.", kb=CSV_MAX_BYTES // 1024)))
        return checked
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append((0, i18n.gettext("The file is not UTF-8 text.")))
        return checked
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        problems.append((0, i18n.gettext("The file is not a CSV file.")))
        return checked
    if not rows or tuple(c.strip().lower() for c in rows[0]) != CSV_HEADER:
        problems.append(
            (0, i18n.gettext("The first row must be the header %(header)s.", header=",".join(CSV_HEADER)))
        )
        return checked
    body = [(number, row) for number, row in enumerate(rows[1:], start=2) if any(c.strip() for c in row)]
    if not body:
        problems.append((0, i18n.gettext("The file has no sales in it.")))
        return checked
    if len(body) > CSV_MAX_ROWS:
        problems.append((0, i18n.gettext("The file has more than %(rows)s rows.", rows=CSV_MAX_ROWS)))
        return checked
    by_code = {loc.code: loc for loc in locations}
    skus = skus_by_code(session, (row[1].strip() for _, row in body if len(row) == len(CSV_HEADER)))
    for number, row in body:
        if len(row) != len(CSV_HEADER):
            problems.append((number, i18n.gettext("Expected 4 columns, found %(n)s.", n=len(row))))
            continue
        location_code, sku_code, day_text, quantity_text = (c.strip() for c in row)
        reasons = []
        location = by_code.get(location_code)
        if location is None:
            reasons.append(i18n.gettext("%(code)s is not one of your locations.", code=location_code))
        sku = skus.get(sku_code)
        if sku is None:
            reasons.append(i18n.gettext("%(code)s is not a known SKU.", code=sku_code))
        day, error = parse_business_date(day_text, today)
        if error:
            reasons.append(error)
        quantity, error = parse_quantity(quantity_text)
        if error:
            reasons.append(error)
        if reasons:
            problems.extend((number, reason) for reason in reasons)
        else:
            assert location is not None and sku is not None and day is not None and quantity is not None
            checked.lines.append((number, SaleLine(location, sku, day, quantity)))
    if problems:
        checked.lines = []
        return checked
    # Enough stock for every location and SKU, all its rows together (rows already posted aside).
    posted = already_posted(session, (checked.key(n) for n, _ in checked.lines))
    wanted: dict[tuple[int, int], int] = defaultdict(int)
    first: dict[tuple[int, int], tuple[int, SaleLine]] = {}
    for number, line in checked.lines:
        if checked.key(number) in posted:
            continue
        assert line.location.id is not None and line.sku.id is not None
        pair = (line.location.id, line.sku.id)
        wanted[pair] += line.quantity
        first.setdefault(pair, (number, line))
    have = available(session, wanted)
    for pair, quantity in wanted.items():
        if quantity > have.get(pair, 0):
            number, line = first[pair]
            problems.append((number, shortfall_message(line, have.get(pair, 0))))
    if problems:
        checked.lines = []
    return checked


def post_csv(session: Session, principal: Principal, checked: CsvSales, *, now: datetime) -> int:
    """Post every line of a checked file in the caller's transaction; the number newly posted.
    Raises InsufficientStock (the caller rolls back) when stock moved since the check."""
    posted = 0
    for number, line in checked.lines:
        created = post_sale(
            session,
            principal,
            line,
            idempotency_key=checked.key(number),
            source_document_id=checked.source_document_id,
            now=now,
        )
        posted += created
    return posted


@dataclass(frozen=True)
class RecentSale:
    entry: StockLedgerEntry
    sku: Sku
    location: Location


def recent_sales(
    session: Session, locations: list[Location], limit: int = RECENT_ENTRIES
) -> list[RecentSale]:
    """The latest sales recorded at `locations`, newest first: one statement."""
    ids = [loc.id for loc in locations]
    if not ids:
        return []
    rows = session.execute(
        select(StockLedgerEntry, Sku, Location)
        .join(Sku, col(Sku.id) == col(StockLedgerEntry.sku_id))
        .join(Location, col(Location.id) == col(StockLedgerEntry.location_id))
        .where(
            col(StockLedgerEntry.location_id).in_(ids),
            col(StockLedgerEntry.source_document_type) == DOCUMENT_TYPE,
        )
        .order_by(col(StockLedgerEntry.id).desc())
        .limit(limit)
    ).all()
    return [RecentSale(entry=e, sku=s, location=loc) for e, s, loc in rows]

"""Sales entry (`/stock/sales`): one ISSUE movement per sale through the stock service, posted once
however often the form is sent; bad input refused with a message and nothing changed; a CSV file
checked row by row and posted all or nothing, once."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from starlette.testclient import TestClient

from supplychain import i18n, sales
from supplychain.models import MovementType, Role, StockLedgerEntry
from supplychain.models.base import utcnow
from supplychain.rules.dates import BUSINESS_TIMEZONE, business_date
from supplychain.rules.stock import StockDelta
from tests.factories import make_user
from tests.fixtures.web import ClientFactory, at_once, form_id_in, login
from tests.web.crawler import table_digests
from tests.web.test_inventory import Stocked, balance, post
from tests.web.test_inventory import stocked as stocked

STOCK_TABLES = ("stock_ledger", "stock_balance")


def stock_digest(db: Engine) -> dict[str, str]:
    digests = table_digests(db)
    return {name: digests[name] for name in STOCK_TABLES}


def today() -> str:
    return business_date(utcnow()).isoformat()


def sales_client(make_client: ClientFactory, user: object, locale: str = "en") -> TestClient:
    client = make_client()
    client.cookies.set("scp_lang", locale)
    login(client, user)
    return client


def fields_of(client: TestClient, action: str = "/stock/sales") -> dict[str, str]:
    page = client.get("/stock/sales").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    return {"csrf_token": token.group(1), "form_id": form_id_in(page, action)}


def sale(s: Stocked, **overrides: object) -> dict[str, str]:
    values = {
        "location": str(s.hq_store.id),
        "sku": s.sku_a.code,
        "date": today(),
        "quantity": "3",
        "note": "counter",
    }
    values.update({k: str(v) for k, v in overrides.items()})
    return values


def sale_entries(session: Session) -> list[StockLedgerEntry]:
    session.expire_all()
    stmt = select(StockLedgerEntry).where(col(StockLedgerEntry.source_document_type) == sales.DOCUMENT_TYPE)
    return list(session.execute(stmt).scalars())


@pytest.fixture
def english(session: Session, stocked: Stocked) -> Stocked:
    for user in (stocked.store_user, stocked.dist_user):
        user.locale = "en"
        session.add(user)
    session.commit()
    return stocked


# --- one sale by form ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_the_sales_page_renders_for_a_store_user_in_both_languages(
    make_client: ClientFactory, session: Session, stocked: Stocked, locale: str
) -> None:
    stocked.store_user.locale = locale
    session.add(stocked.store_user)
    session.commit()
    page = sales_client(make_client, stocked.store_user, locale).get("/stock/sales")
    assert page.status_code == 200
    title = i18n.translations(locale).gettext("Record sales")
    assert f"<h1>{title}</h1>" in page.text
    # Only the user's own store is offered; the SKUs with stock there are suggested.
    assert re.findall(
        r'<option value="(\d+)"', page.text.split('id="location"')[1].split("</select>")[0]
    ) == [str(stocked.hq_store.id)]
    assert f'<option value="{stocked.sku_a.code}">' in page.text


def test_only_store_and_warehouse_users_record_sales(make_client: ClientFactory, stocked: Stocked) -> None:
    for user in (stocked.buyer, stocked.supplier_a_user, stocked.inspector):
        assert sales_client(make_client, user).get("/stock/sales").status_code == 403


def test_a_sale_posts_one_issue_dated_on_its_business_day(
    make_client: ClientFactory, session: Session, english: Stocked
) -> None:
    s = english
    client = sales_client(make_client, s.store_user)
    yesterday = business_date(utcnow()) - timedelta(days=1)
    response = client.post("/stock/sales", data={**fields_of(client), **sale(s, date=yesterday)})
    assert response.status_code == 200 and str(response.url).endswith("/stock/sales")
    assert f"Recorded: 3 of {s.sku_a.code} at {s.hq_store.name}." in response.text
    [entry] = sale_entries(session)
    assert entry.movement_type is MovementType.ISSUE and entry.delta_on_hand == -3
    assert entry.actor_user_id == s.store_user.id and entry.note == "counter"
    assert entry.created_at.astimezone(BUSINESS_TIMEZONE).date() == yesterday
    assert balance(session, s.hq_store, s.sku_a).on_hand == 17
    assert f'<tr id="sale-{entry.id}">' in response.text  # listed under the form


def test_a_double_submit_posts_once_and_both_answers_say_recorded(
    make_client: ClientFactory, session: Session, english: Stocked
) -> None:
    s = english
    client = sales_client(make_client, s.store_user)
    data = {**fields_of(client), **sale(s)}
    first, second = at_once(
        lambda: client.post("/stock/sales", data=data, follow_redirects=False),
        lambda: client.post("/stock/sales", data=data, follow_redirects=False),
    )
    assert first.status_code == second.status_code == 303
    again = client.post("/stock/sales", data=data)
    assert "This sale was already recorded." in again.text
    assert len(sale_entries(session)) == 1
    assert balance(session, s.hq_store, s.sku_a).on_hand == 17


BAD_SALES = {
    "zero": ({"quantity": "0"}, "quantity", "Enter a quantity of at least 1."),
    "negative": ({"quantity": "-2"}, "quantity", "The quantity cannot be negative."),
    "not a number": ({"quantity": "two"}, "quantity", "Enter a whole number, for example 12."),
    "more than available": ({"quantity": "21"}, "quantity", "Only 20 of TST-A1 available at"),
    "huge": ({"quantity": "99999999999999999999"}, "quantity", "Enter a whole number"),
    "future date": ({"date": "tomorrow"}, "date", "The date cannot be in the future."),
    "too old": ({"date": "32 days ago"}, "date", "The date can be at most 31 days ago."),
    "not a date": ({"date": "31/12/2026"}, "date", "Enter a date as YYYY-MM-DD"),
    "unknown SKU": ({"sku": "NOPE-1"}, "sku", "Enter the code of a known SKU."),
    "no SKU": ({"sku": ""}, "sku", "Choose a SKU."),
    "another organisation's location": (
        {"location": "dist_store"},
        "location",
        "Choose one of your locations.",
    ),
    "a location of its own organisation not its store": (
        {"location": "warehouse"},
        "location",
        "Choose one of your locations.",
    ),
}


@pytest.mark.parametrize("case", BAD_SALES.values(), ids=BAD_SALES.keys())
def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    make_client: ClientFactory, db: Engine, english: Stocked, case: tuple[dict[str, str], str, str]
) -> None:
    s = english
    overrides, field, message = case
    day = business_date(utcnow())
    named = {
        "tomorrow": day + timedelta(days=1),
        "32 days ago": day - timedelta(days=32),
        "dist_store": s.dist_store.id,
        "warehouse": s.warehouse.id,
    }
    values = {k: named.get(v, v) for k, v in overrides.items()}
    client = sales_client(make_client, s.store_user)
    before = stock_digest(db)
    response = client.post("/stock/sales", data={**fields_of(client), **sale(s, **values)})
    assert response.status_code == 400
    error = re.search(rf'data-testid="error-{field}">([^<]*)<', response.text)
    assert error is not None and message in error.group(1), response.text[-3000:]
    assert stock_digest(db) == before


def test_the_oldest_allowed_day_is_31_days_ago(
    make_client: ClientFactory, session: Session, english: Stocked
) -> None:
    client = sales_client(make_client, english.store_user)
    oldest = business_date(utcnow()) - timedelta(days=31)
    response = client.post(
        "/stock/sales", data={**fields_of(client), **sale(english, date=oldest)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert len(sale_entries(session)) == 1


def test_a_distributor_records_at_its_stores_and_a_warehouse_user_at_its_own_location(
    make_client: ClientFactory, session: Session, english: Stocked
) -> None:
    s = english
    dist = sales_client(make_client, s.dist_user)
    response = dist.post(
        "/stock/sales",
        data={**fields_of(dist), **sale(s, location=s.dist_store.id, sku=s.sku_b.code)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    keeper = make_user(session, organisation=s.hq, roles=[Role.WAREHOUSE], location=s.warehouse, locale="en")
    wh = sales_client(make_client, keeper)
    response = wh.post(
        "/stock/sales",
        data={**fields_of(wh), **sale(s, location=s.warehouse.id, quantity=1150)},
        follow_redirects=False,
    )
    assert response.status_code == 303  # all of what is available (reserved and quarantine stay)
    assert balance(session, s.dist_store, s.sku_b).on_hand == 37
    assert balance(session, s.warehouse, s.sku_a).available == 0


# --- a CSV file ------------------------------------------------------------------------------------------


def csv_file(*rows: str, bom: bool = False, header: str = "location_code,sku_code,date,quantity") -> bytes:
    text = "\r\n".join([header, *rows]) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def upload(client: TestClient, data: bytes) -> httpx.Response:
    fields = fields_of(client, "/stock/sales/upload")
    response: httpx.Response = client.post(
        "/stock/sales/upload", data=fields, files={"file": ("sales.csv", data, "text/csv")}
    )
    return response


def problems(html: str) -> list[str]:
    block = re.search(r'data-testid="csv-problems">(.*?)</div>', html, re.S)
    assert block is not None, "no list of problems on the page"
    return re.findall(r"<li>([^<]*)</li>", block.group(1))


def test_a_csv_file_posts_every_row_in_one_go_and_the_same_file_again_posts_nothing(
    make_client: ClientFactory, session: Session, english: Stocked
) -> None:
    s = english
    client = sales_client(make_client, s.dist_user)
    day = business_date(utcnow())
    data = csv_file(
        f"{s.dist_store.code},{s.sku_a.code},{day.isoformat()},5",
        f"{s.dist_store.code},{s.sku_b.code},{(day - timedelta(days=2)).isoformat()},7",
        f"{s.dist_store.code},{s.sku_a.code},{day.isoformat()},25",
        bom=True,
    )
    response = upload(client, data)
    assert "Recorded 3 sales from the file." in response.text
    entries = sale_entries(session)
    digest = hashlib.sha256(data).hexdigest()
    assert sorted(e.idempotency_key for e in entries) == [f"sale:csv:{digest}:{n}" for n in (2, 3, 4)]
    assert balance(session, s.dist_store, s.sku_a).on_hand == 0
    assert balance(session, s.dist_store, s.sku_b).on_hand == 33

    again = upload(client, data)
    assert "This file was already recorded; nothing was added." in again.text
    assert len(sale_entries(session)) == 3


def test_a_csv_file_with_any_bad_row_posts_nothing_and_names_every_bad_row(
    make_client: ClientFactory, db: Engine, english: Stocked
) -> None:
    s = english
    client = sales_client(make_client, s.dist_user)
    day = business_date(utcnow())
    data = csv_file(
        f"{s.dist_store.code},{s.sku_a.code},{day.isoformat()},5",
        f"{s.warehouse.code},{s.sku_a.code},{day.isoformat()},1",
        f"{s.dist_store.code},NOPE-9,{day.isoformat()},1",
        f"{s.dist_store.code},{s.sku_b.code},{(day + timedelta(days=1)).isoformat()},0",
        f"{s.dist_store.code},{s.sku_b.code}",
    )
    before = stock_digest(db)
    response = upload(client, data)
    assert response.status_code == 400
    assert problems(response.text) == [
        f"Row 3: {s.warehouse.code} is not one of your locations.",
        "Row 4: NOPE-9 is not a known SKU.",
        "Row 5: The date cannot be in the future.",
        "Row 5: Enter a quantity of at least 1.",
        "Row 6: Expected 4 columns, found 2.",
    ]
    assert stock_digest(db) == before


def test_a_csv_file_taking_more_than_is_available_in_total_posts_nothing(
    make_client: ClientFactory, db: Engine, english: Stocked
) -> None:
    s = english
    client = sales_client(make_client, s.dist_user)
    day = business_date(utcnow()).isoformat()
    data = csv_file(
        f"{s.dist_store.code},{s.sku_a.code},{day},20",
        f"{s.dist_store.code},{s.sku_a.code},{day},11",  # 31 of 30 in all
    )
    before = stock_digest(db)
    response = upload(client, data)
    assert problems(response.text) == [f"Row 2: Only 30 of {s.sku_a.code} available at {s.dist_store.name}."]
    assert stock_digest(db) == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (csv_file(header="location,sku,date,qty"), "The first row must be the header"),
        (csv_file(), "The file has no sales in it."),
        ("location_code,sku_code,date,quantity\r\nDS,é,2026-01-01,1\r\n".encode("latin-1"), "not UTF-8"),
        (csv_file(*["X,Y,2026-01-01,1"] * (sales.CSV_MAX_ROWS + 1)), "more than"),
        (b"x" * (sales.CSV_MAX_BYTES + 1), "larger than"),
    ],
    ids=["header", "empty", "encoding", "rows", "size"],
)
def test_a_bad_csv_file_is_refused_whole(
    make_client: ClientFactory, db: Engine, english: Stocked, data: bytes, message: str
) -> None:
    client = sales_client(make_client, english.dist_user)
    before = stock_digest(db)
    response = upload(client, data)
    assert response.status_code == 400
    assert any(message in p for p in problems(response.text))
    assert stock_digest(db) == before


def test_a_sale_of_units_taken_since_the_page_was_shown_is_refused(
    make_client: ClientFactory, session: Session, english: Stocked
) -> None:
    """Stock issued elsewhere after the form was shown: the page says what is left, nothing posts."""
    s = english
    client = sales_client(make_client, s.store_user)
    fields = fields_of(client)
    post(session, s.hq_store, s.sku_a, "taken", MovementType.ISSUE, StockDelta(on_hand=-18))
    response = client.post("/stock/sales", data={**fields, **sale(s)})
    assert response.status_code == 400
    assert "Only 2 of" in response.text
    assert sale_entries(session) == []

"""Chinese by default, English on request (remembered on the account); money and dates per locale."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from supplychain import i18n
from supplychain.models import OrgKind, Role, User
from tests.factories import make_organisation, make_price, make_sku, make_user
from tests.fixtures.web import ClientFactory, form_post, login

COMPILED_ZH_CATALOG = i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.mo"


def html_lang(html: str) -> str:
    found = re.search(r'<html lang="([^"]+)"', html)
    assert found, "no lang attribute on <html>"
    return found.group(1)


def shown(html: str, name: str) -> str:
    found = re.search(rf'data-testid="{name}">([^<]*)<', html)
    assert found, f"no element with data-testid={name}"
    return found.group(1)


@pytest.fixture
def user(session: Session) -> User:
    org = make_organisation(session, kind=OrgKind.HQ)
    return make_user(session, organisation=org, roles=[Role.BUYER], locale="zh_CN")


# -- the language of the page -----------------------------------------------------------------------


def test_pages_are_chinese_by_default(client: TestClient, user: User) -> None:
    assert html_lang(client.get("/login").text) == "zh-CN"
    login(client, user)
    assert html_lang(client.get("/").text) == "zh-CN"


def test_switching_to_english_persists_on_the_user_across_logins(
    client: TestClient, make_client: ClientFactory, session: Session, user: User
) -> None:
    login(client, user)
    response = form_post(client, "/locale", {"locale": "en", "next": "/stock"})
    assert response.status_code == 303
    assert response.headers["location"] == "/stock"
    assert html_lang(client.get("/").text) == "en"
    session.refresh(user)
    assert user.locale == "en"

    form_post(client, "/logout")
    fresh = make_client()  # no language cookie: the account alone says English
    assert html_lang(fresh.get("/login").text) == "zh-CN"
    login(fresh, user)
    assert html_lang(fresh.get("/").text) == "en"


def test_anonymous_visitor_can_switch_language_by_cookie(client: TestClient) -> None:
    response = form_post(client, "/locale", {"locale": "en", "next": "/login"})
    assert response.status_code == 303
    assert client.cookies.get("scp_lang") == "en"
    assert html_lang(client.get("/login").text) == "en"


def test_unknown_locale_is_refused_and_changes_nothing(
    client: TestClient, session: Session, user: User
) -> None:
    login(client, user)
    response = form_post(client, "/locale", {"locale": "fr"})
    assert response.status_code == 400
    session.refresh(user)
    assert user.locale == "zh_CN"
    assert html_lang(client.get("/").text) == "zh-CN"


def test_language_switch_offers_the_other_language(client: TestClient) -> None:
    html = client.get("/login").text
    assert 'data-testid="locale-en"' in html and 'data-testid="locale-zh_CN"' not in html


@pytest.mark.xfail(
    not COMPILED_ZH_CATALOG.exists(),
    reason="needs the Chinese catalog supplychain/locale/zh_CN/LC_MESSAGES/messages.mo (not written yet)",
    strict=True,
)
def test_navigation_label_renders_in_chinese_needs_catalog(client: TestClient, user: User) -> None:
    login(client, user)
    html = client.get("/").text
    assert re.search(r'<a href="/"[^>]*>首页</a>', html), "nav 'Home' is not translated to 首页"


# -- formatting ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("locale", "expected"), [("zh_CN", "¥1,234.50"), ("en", "CN¥1,234.50")])
def test_money_is_formatted_per_locale(locale: str, expected: str) -> None:
    with i18n.use_locale(locale):
        assert i18n.format_money(Decimal("1234.5")) == expected


@pytest.mark.parametrize(("locale", "expected"), [("zh_CN", "2026年11月26日"), ("en", "Nov 26, 2026")])
def test_date_is_formatted_per_locale(locale: str, expected: str) -> None:
    with i18n.use_locale(locale):
        assert i18n.format_date(date(2026, 11, 26)) == expected


def test_timestamps_are_shown_as_dates_in_china_time() -> None:
    # 20:00 UTC on the 25th is already the 26th in Shanghai.
    with i18n.use_locale("en"):
        assert i18n.format_date(datetime(2026, 11, 25, 20, 0, tzinfo=UTC)) == "Nov 26, 2026"


def test_empty_values_format_as_empty_text() -> None:
    assert i18n.format_money(None) == ""
    assert i18n.format_date(None) == ""


@pytest.mark.parametrize(
    ("value", "expected"), [("zh-CN", "zh_CN"), ("zh", "zh_CN"), ("en-US", "en"), ("fr", None), ("", None)]
)
def test_browser_locales_map_to_supported_ones(value: str, expected: str | None) -> None:
    assert i18n.normalize_locale(value) == expected


@pytest.mark.parametrize(
    ("locale", "money", "day"),
    [("zh_CN", "¥1,234.50", "2026年11月26日"), ("en", "CN¥1,234.50", "Nov 26, 2026")],
)
def test_price_page_formats_money_and_dates_per_locale(
    client: TestClient, session: Session, locale: str, money: str, day: str
) -> None:
    hq = make_organisation(session, kind=OrgKind.HQ)
    supplier = make_organisation(session, kind=OrgKind.SUPPLIER)
    buyer = make_user(session, organisation=hq, roles=[Role.BUYER], locale=locale)
    price = make_price(
        session,
        supplier=supplier,
        sku=make_sku(session),
        unit_price=Decimal("1234.5"),
        valid_from=date(2026, 11, 26),
    )
    login(client, buyer)
    html = client.get(f"/price-lists/{price.id}").text
    assert shown(html, "unit-price") == money
    assert day in html

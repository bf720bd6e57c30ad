"""Translations and locale-aware formatting (Babel).

The current locale lives in a context variable set once per request (web) or per call (e-mail),
so templates and Python code translate with the same `gettext` without passing the locale around.
Catalogs are `supplychain/locale/<locale>/LC_MESSAGES/messages.po`, compiled at install.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
SUPPORTED_LOCALES: dict[str, str] = {"zh_CN": "中文", "en": "English"}
DEFAULT_LOCALE = "zh_CN"
CURRENCY = "CNY"
# Business dates are shown in the retailer's time zone; timestamps are stored in UTC.
DISPLAY_TIMEZONE = ZoneInfo("Asia/Shanghai")

_current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


def normalize_locale(value: str | None) -> str | None:
    """Map what a browser or a form sends ('en-US', 'zh', 'zh_CN') to a supported locale, or None."""
    if not value:
        return None
    value = value.strip().replace("-", "_")
    if value in SUPPORTED_LOCALES:
        return value
    lang = value.split("_")[0].lower()
    if lang == "zh":
        return "zh_CN"
    if lang == "en":
        return "en"
    return None


def get_locale() -> str:
    return _current_locale.get()


def set_locale(locale: str) -> None:
    _current_locale.set(locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE)


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = _current_locale.set(locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current_locale.reset(token)


@cache
def translations(locale: str) -> NullTranslations:
    return Translations.load(str(LOCALE_DIR), [locale], domain="messages")


def translate(message: str) -> str:
    """The translation alone, placeholders untouched (Jinja's i18n extension fills them in)."""
    return translations(get_locale()).gettext(message)


def translate_plural(singular: str, plural: str, n: int) -> str:
    return translations(get_locale()).ngettext(singular, plural, n)


def gettext(message: str, **params: object) -> str:
    text = translate(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    return translate_plural(singular, plural, n) % {"num": n, **params}


@cache
def babel_locale(locale: str) -> Locale:
    """Babel's locale data, parsed once per locale (the formatters below take it every call)."""
    return Locale.parse(locale)


def lazy(message: str) -> str:
    """Marks a string for extraction where it must be translated later (at render time)."""
    return message


PERCENT_FORMAT = "#,##0.##%"


@dataclass(frozen=True)
class NumberStyle:
    """A locale's way of writing numbers and money, read from Babel once (pages format hundreds of
    numbers, and Babel parses its patterns on every call). The results equal Babel's
    (tests/test_i18n.py compares them over many values); rounding is half-up everywhere."""

    group: str
    decimal: str
    percent: tuple[str, str]  # prefix and suffix around the digits of a percentage
    money: tuple[str, str]  # prefix and suffix around the digits of a positive amount
    negative_money: tuple[str, str]
    money_places: int

    def digits(self, value: Decimal, places: int, *, trim: bool = False) -> str:
        """|value| rounded half-up to `places`, grouped; `trim`: without trailing fraction zeros."""
        text = f"{abs(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):,.{places}f}"
        if trim and "." in text:
            text = text.rstrip("0").rstrip(".")
        return text.translate({ord(","): self.group, ord("."): self.decimal})

    @staticmethod
    def signed(value: Decimal, digits: str) -> str:
        return f"-{digits}" if value.is_signed() else digits  # as Babel: -0.001 shows as -0.00


@cache
def number_style(locale: str, currency: str = CURRENCY) -> NumberStyle:
    babel = babel_locale(locale)
    places = numbers.get_currency_precision(currency)
    sample = Decimal("1234567.5")

    def around(text: str, digits: str) -> tuple[str, str]:
        before, found, after = text.partition(digits)
        assert found, f"no digits {digits!r} in {text!r}"
        return before, after

    group, decimal_symbol = numbers.get_group_symbol(babel), numbers.get_decimal_symbol(babel)
    digits = f"{sample:,.{places}f}".translate({ord(","): group, ord("."): decimal_symbol})
    return NumberStyle(
        group=group,
        decimal=decimal_symbol,
        percent=around(numbers.format_percent(Decimal("0.5"), format=PERCENT_FORMAT, locale=babel), "50"),
        money=around(numbers.format_currency(sample, currency, locale=babel), digits),
        negative_money=around(numbers.format_currency(-sample, currency, locale=babel), digits),
        money_places=places,
    )


def format_money(amount: Decimal | int | None, currency: str = CURRENCY) -> str:
    if amount is None:
        return ""
    value = Decimal(amount)
    style = number_style(get_locale(), currency)
    digits = style.digits(value, style.money_places)
    prefix, suffix = style.negative_money if value.is_signed() else style.money
    return f"{prefix}{digits}{suffix}"


def format_decimal(value: Decimal | int | None, *, places: int | None = None) -> str:
    """Grouped; `places` fraction digits, or up to three without trailing zeros (Babel's default)."""
    if value is None:
        return ""
    style = number_style(get_locale())
    value = Decimal(value)
    digits = style.digits(value, 3, trim=True) if places is None else style.digits(value, places)
    return style.signed(value, digits)


def format_percent(value: Decimal | None) -> str:
    """A fraction as a percentage with up to two decimals (0.125 -> 12.5%)."""
    if value is None:
        return ""
    style = number_style(get_locale())
    percent = Decimal(value) * 100
    prefix, suffix = style.percent
    return prefix + style.signed(percent, style.digits(percent, 2, trim=True)) + suffix


def format_date(value: date | datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(DISPLAY_TIMEZONE).date()
    return dates.format_date(value, format=fmt, locale=babel_locale(get_locale()))


def format_datetime(value: datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    locale = babel_locale(get_locale())
    return dates.format_datetime(value, format=fmt, tzinfo=DISPLAY_TIMEZONE, locale=locale)


def locale_display_name(locale: str) -> str:
    return SUPPORTED_LOCALES.get(locale) or Locale.parse(locale).display_name or locale

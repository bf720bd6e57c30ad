"""Translations and locale-aware formatting (Babel).

The current locale lives in a context variable set once per request (web) or per call (e-mail),
so templates and Python code translate with the same `gettext` without passing the locale around.
Catalogs are `supplychain/locale/<locale>/LC_MESSAGES/messages.po`, compiled at install.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.support import NullTranslations, Translations

from supplychain.rules.money import half_up_context

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


def format_money(amount: Decimal | int | None, currency: str = CURRENCY) -> str:
    if amount is None:
        return ""
    with half_up_context():  # Babel rounds to the places it shows in the current context
        return numbers.format_currency(Decimal(amount), currency, locale=babel_locale(get_locale()))


def format_decimal(value: Decimal | int | None, *, places: int | None = None) -> str:
    if value is None:
        return ""
    fmt = None if places is None else "#,##0." + "0" * places if places else "#,##0"
    with half_up_context():
        return numbers.format_decimal(Decimal(value), format=fmt, locale=babel_locale(get_locale()))


def format_percent(value: Decimal | None) -> str:
    if value is None:
        return ""
    with half_up_context():
        return numbers.format_percent(value, format="#,##0.##%", locale=babel_locale(get_locale()))


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

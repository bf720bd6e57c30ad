"""The translation catalogs: every user-facing string extracted from the code has a Chinese
translation, placeholders survive translation, and formatting follows the locale."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from supplychain import i18n
from supplychain.settings import PROJECT_ROOT

PO_ZH = PROJECT_ROOT / "supplychain/locale/zh_CN/LC_MESSAGES/messages.po"
PO_EN = PROJECT_ROOT / "supplychain/locale/en/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extract(tmp_path: Path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
         "-k", "lazy", "-k", "gettext", "-k", "ngettext:1,2", "--no-location", "-o", str(pot), "."],
        cwd=PROJECT_ROOT, check=True,
    )  # fmt: skip
    with pot.open("rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}


def _catalog(path: Path):  # type: ignore[no-untyped-def]
    with path.open("rb") as fh:
        return read_po(fh, locale=path.parts[-3])


def test_every_extracted_string_has_a_chinese_translation(tmp_path: Path) -> None:
    extracted = _extract(tmp_path)
    catalog = _catalog(PO_ZH)
    missing = sorted(
        msgid
        for msgid in extracted
        if msgid not in catalog or not catalog[msgid].string or catalog[msgid].fuzzy
    )
    assert not missing, f"untranslated (run `make messages` and translate): {missing}"


def test_english_catalog_covers_the_same_messages(tmp_path: Path) -> None:
    extracted = _extract(tmp_path)
    catalog = _catalog(PO_EN)
    assert extracted <= {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def test_translations_keep_their_placeholders() -> None:
    broken = []
    for message in _catalog(PO_ZH):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[0]))
        for text in strings:
            if set(PLACEHOLDER.findall(text)) != wanted:
                broken.append(message.id)
    assert not broken


def test_compiled_catalog_translates_at_runtime() -> None:
    with i18n.use_locale("zh_CN"):
        assert i18n.gettext("Log in") == "登录"
    with i18n.use_locale("en"):
        assert i18n.gettext("Log in") == "Log in"


@pytest.mark.parametrize(
    ("locale", "money", "day"),
    [("zh_CN", "¥1,234.50", "2026年11月26日"), ("en", "CN¥1,234.50", "Nov 26, 2026")],
)
def test_money_and_dates_follow_the_locale(locale: str, money: str, day: str) -> None:
    with i18n.use_locale(locale):
        assert i18n.format_money(Decimal("1234.5")) == money
        assert i18n.format_date(date(2026, 11, 26)) == day
        # Timestamps are stored in UTC and shown in China time: 20:00 UTC is the next day there.
        assert i18n.format_date(datetime(2026, 11, 25, 20, 0, tzinfo=UTC)) == day


def test_unknown_locale_falls_back_to_chinese() -> None:
    with i18n.use_locale("fr"):
        assert i18n.get_locale() == "zh_CN"
    assert i18n.normalize_locale("en-US") == "en"
    assert i18n.normalize_locale("zh") == "zh_CN"
    assert i18n.normalize_locale("de") is None


# --- the number formatters built once per locale equal Babel's -----------------------------------

EDGE_VALUES = [
    "0",
    "-0",
    "0.004",
    "0.005",
    "-0.005",
    "-0.001",
    "0.0049",
    "1",
    "-1",
    "999.995",
    "1234.5",
    "1234567.891",
    "-98765.4321",
    "99999.99",
    "0.125",
    "12.5",
    "100",
    "1e6",
    "-1e-9",
]


def _samples() -> list[Decimal]:
    import random

    rng = random.Random(2859)
    values = [Decimal(v) for v in EDGE_VALUES]
    for _ in range(400):
        exponent = rng.randint(-6, 9)
        values.append(Decimal(rng.randint(-(10**6), 10**6)).scaleb(exponent - 6))
    return values


@pytest.mark.parametrize("locale", sorted(i18n.SUPPORTED_LOCALES))
def test_the_fast_number_formatters_write_what_babel_writes(locale: str) -> None:
    from babel import numbers

    from supplychain.rules.money import half_up_context

    babel = i18n.babel_locale(locale)
    with i18n.use_locale(locale), half_up_context():
        for value in _samples():
            assert i18n.format_money(value) == numbers.format_currency(value, "CNY", locale=babel), value
            assert i18n.format_decimal(value) == numbers.format_decimal(value, locale=babel), value
            for places in (0, 2, 4):
                pattern = "#,##0." + "0" * places if places else "#,##0"
                expected = numbers.format_decimal(value, format=pattern, locale=babel)
                assert i18n.format_decimal(value, places=places) == expected, (value, places)
            expected = numbers.format_percent(value, format=i18n.PERCENT_FORMAT, locale=babel)
            assert i18n.format_percent(value) == expected, value


TEMPLATE_MESSAGES = (
    '{{ _("Filter") }}',
    '{{ _("Please give a reason for the rejection.") }}',
    '{{ _("Price deduction: %(percent)s", percent="<b>5 %</b>") }}',  # a variable is escaped
    '{{ _("Price deduction: %(percent)s", percent=safe) }}',  # unless it is markup already
    '{{ _("No such message %%") }}',  # %% is a literal percent, with or without variables
    "{% trans %}Filter{% endtrans %}",
    '{{ ngettext("%(num)s purchase order", "%(num)s purchase orders", 3) }}',
    "{{ _(message) }}",
)


@pytest.mark.parametrize("locale", sorted(i18n.SUPPORTED_LOCALES))
@pytest.mark.parametrize("autoescape", [True, False])
def test_the_portals_cached_template_gettext_renders_what_jinjas_renders(
    locale: str, autoescape: bool
) -> None:
    """web.templating caches gettext without variables: every answer (twice, so the cached one is
    compared too) equals jinja2.ext's newstyle gettext over the same catalogue."""
    from jinja2 import Environment
    from markupsafe import Markup

    from web.templating import env as portal_env

    reference = Environment(extensions=["jinja2.ext.i18n"], autoescape=autoescape)  # noqa: S701 (both modes compared)
    reference.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.translate, ngettext=i18n.translate_plural, newstyle=True
    )
    portal = portal_env.overlay(autoescape=autoescape)
    with i18n.use_locale(locale):
        for source in TEMPLATE_MESSAGES:
            values = {"message": "<i>Filter</i>", "safe": Markup("<b>5 %</b>")}
            expected = reference.from_string(source).render(values)
            for _ in range(2):
                assert portal.from_string(source).render(values) == expected, source

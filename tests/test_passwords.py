"""The password rule (supplychain.passwords): length, the shipped list of common and breached
passwords, and the user's own e-mail and organisation name, each refusal saying why."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest

from supplychain import i18n
from supplychain.passwords import (
    COMMON_PASSWORDS_FILE,
    MIN_PASSWORD_LENGTH,
    common_passwords,
    password_problems,
)
from supplychain.seed import USERS
from tests.factories import DEFAULT_PASSWORD

TOO_SHORT = "Too short: use at least 12 characters."
TOO_COMMON = "Too common: it is on a list of common and breached passwords. Choose another."
SAME_AS_EMAIL = "It is the same as the e-mail address. Choose another."
SAME_AS_ORGANISATION = "It is the same as the organisation's name. Choose another."


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with i18n.use_locale("en"):
        yield


def problems(
    password: str, email: str = "li.wei@example.com", organisation: str = "Lakeside Trading"
) -> list[str]:
    return password_problems(password, email=email, organisation_name=organisation)


def test_a_long_uncommon_password_passes() -> None:
    assert problems("violet kettle under 9 maps") == []


def test_twelve_characters_are_the_minimum() -> None:
    assert MIN_PASSWORD_LENGTH == 12
    assert problems("x7!kq2#vm9p") == [TOO_SHORT]  # 11
    assert problems("x7!kq2#vm9pz") == []  # 12


@pytest.mark.parametrize("password", ["qwerty123456", "1qaz2wsx3edc", "QWERTY123456", "  qwerty123456 "])
def test_a_password_on_the_common_list_is_refused_whatever_its_case_and_surrounding_spaces(
    password: str,
) -> None:
    assert problems(password) == [TOO_COMMON]


def test_a_short_common_password_gets_both_reasons() -> None:
    assert problems("password") == [TOO_SHORT, TOO_COMMON]


@pytest.mark.parametrize("password", ["li.wei@example.com", " LI.WEI@Example.com  "])
def test_the_users_own_email_is_refused(password: str) -> None:
    assert problems(password) == [SAME_AS_EMAIL]


@pytest.mark.parametrize("password", ["lakeside trading", "  LAKESIDE TRADING "])
def test_the_organisations_name_is_refused(password: str) -> None:
    assert problems(password, organisation="Lakeside Trading ") == [SAME_AS_ORGANISATION]


def test_an_empty_email_or_organisation_name_matches_nothing() -> None:
    assert password_problems("violet kettle under 9 maps") == []
    assert password_problems("            ", email=" ", organisation_name="") == []


def test_messages_are_translated() -> None:
    with i18n.use_locale("zh_CN"):
        translated = problems("li.wei@example.com")
    assert translated and translated != [SAME_AS_EMAIL]


def test_the_shipped_list_holds_the_top_100000_and_loads_once() -> None:
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        entries = [line.rstrip("\n") for line in lines]
    assert len(entries) > 100_000
    assert entries == sorted(entries) and all(e == e.strip().lower() and e for e in entries)
    # The top of the source list and some long entries from its tail.
    assert {"123456", "password", "dragon", "qwerty123456", "123qweasdzxc"} <= common_passwords()
    assert common_passwords() is common_passwords()


def test_the_demo_passwords_and_the_test_suites_password_pass() -> None:
    for _role, local_part, password, *_ in USERS:
        assert password_problems(password, email=f"{local_part}@demo.example") == [], password
    assert problems(DEFAULT_PASSWORD) == []

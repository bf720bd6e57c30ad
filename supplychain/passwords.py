"""The password rule (OWASP ASVS 2.1): the one place that says whether a new password may be set.

Every place a password is set asks `password_problems` (the change-password page, the admin's user
form, `portal create-user` and `portal create-admin` through `accounts.create_user`): at least
MIN_PASSWORD_LENGTH characters, not in the shipped list of common and breached passwords
(supplychain/data/README.md says where it comes from), and not the user's own e-mail or organisation
name. Comparisons ignore case and surrounding spaces, so "  PassWord123456 " counts as the listed
"password123456". Nothing else is demanded (no character classes, no expiry), as ASVS asks.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

from supplychain import i18n

MIN_PASSWORD_LENGTH = 12
COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common_passwords.txt.gz"


def password_problems(password: str, *, email: str = "", organisation_name: str = "") -> list[str]:
    """Why `password` may not be set for the user with `email` in `organisation_name`: one message per
    reason, for a person, in the current locale; empty when it may."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(i18n.gettext("Too short: use at least %(n)s characters.", n=MIN_PASSWORD_LENGTH))
    folded = _folded(password)
    if folded in common_passwords():
        problems.append(
            i18n.gettext("Too common: it is on a list of common and breached passwords. Choose another.")
        )
    if folded and folded == _folded(email):
        problems.append(i18n.gettext("It is the same as the e-mail address. Choose another."))
    if folded and folded == _folded(organisation_name):
        problems.append(i18n.gettext("It is the same as the organisation's name. Choose another."))
    return problems


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, read once on first use (about 140,000 lower-cased entries)."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.rstrip("\n") for line in lines if line.strip())


def _folded(text: str) -> str:
    # The list was lower-cased with str.lower(); casefold() would fold some letters further (ß -> ss)
    # and miss entries.
    return text.strip().lower()

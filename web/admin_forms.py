"""Form fields for the admin pages: one small spec per field, one parser for all of them.

`parse_form(fields, form, options, creating=...)` turns what a browser posted into typed values and
field-specific, translated error messages: `(values, errors)`. It never raises on bad input, so a
typo like "abc" or "-1" is a message beside the field, not a 422 or a 500. Rules that need the
database (unique codes, cross-field checks) live with each entity in `web.admin_entities`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email

from supplychain import i18n
from supplychain.i18n import lazy

Kind = Literal[
    "text", "email", "decimal", "percent", "int", "date", "select", "checkboxes", "checkbox", "password"
]

# Whole numbers must fit a PostgreSQL INTEGER column.
MAX_INT = 2_147_483_647
_NUMBER = re.compile(r"^[+-]?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?$", re.ASCII)
_INTEGER = re.compile(r"^[+-]?\d+$", re.ASCII)


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class FormField:
    """One input. `label`, `hint` and `invalid_choice` are message ids, translated when shown."""

    name: str
    label: str
    kind: Kind = "text"
    required: bool = False
    max_length: int | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    places: int | None = None  # decimal places allowed (decimal: of the amount; percent: of the percentage)
    hint: str = ""
    invalid_choice: str = lazy("Choose one of the listed options.")
    create_only_required: bool = False  # required when creating, optional (empty = unchanged) when editing
    int_choices: bool = False  # select values are row ids
    coerce: Callable[[str], Any] | None = None  # e.g. an enum class for a select of its values
    # Checkboxes stored in one text column, joined by this separator ("coa,health"); None: a list.
    separator: str | None = None

    def is_required(self, creating: bool) -> bool:
        return self.required or (self.create_only_required and creating)


def parse_form(
    fields: Sequence[FormField],
    form: Any,
    options: Mapping[str, Sequence[Choice]],
    *,
    creating: bool,
    current: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed values for every field (None when left empty) and an error message per bad field.

    `current` holds the row's values as the form showed them; an e-mail left unchanged is not checked
    again (addresses stored before the stricter check must not block every other edit)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields:
        value: Any
        if field.kind == "checkboxes":
            raw_list = [v for v in form.getlist(field.name) if isinstance(v, str)]
            value, error = _parse_checkboxes(field, raw_list, options.get(field.name, ()))
            if field.separator is not None and not error:
                value = field.separator.join(value)
        elif field.kind == "checkbox":
            # A single box: posted ("on") when ticked, absent otherwise; nothing else is accepted.
            raw_box = form.get(field.name)
            value = raw_box is not None
            error = "" if raw_box in (None, "on", "true", "1") else i18n.gettext(field.invalid_choice)
        else:
            raw = form.get(field.name)
            text = raw if isinstance(raw, str) else ""
            if field.kind != "password":
                text = text.strip()
            unchanged = current is not None and text.lower() == str(current.get(field.name, "")).lower()
            if field.kind == "email" and unchanged and text:
                value, error = text.lower(), ""
            else:
                value, error = _parse_one(field, text, options.get(field.name, ()), creating=creating)
        values[field.name] = value
        if error:
            errors[field.name] = error
    return values, errors


def raw_input(fields: Sequence[FormField], form: Any) -> dict[str, Any]:
    """What the user typed, to show again when the form comes back with errors (never passwords)."""
    raw: dict[str, Any] = {}
    for field in fields:
        if field.kind == "checkboxes":
            raw[field.name] = [v for v in form.getlist(field.name) if isinstance(v, str)]
        elif field.kind == "checkbox":
            raw[field.name] = form.get(field.name) is not None
        elif field.kind != "password":
            value = form.get(field.name)
            raw[field.name] = value if isinstance(value, str) else ""
    return raw


def display_value(field: FormField, value: Any) -> Any:
    """A stored value as the form shows it (the inverse of parsing)."""
    if field.kind == "checkbox":
        return bool(value)
    if value is None:
        return [] if field.kind == "checkboxes" else ""
    if field.kind == "password":
        return ""
    if field.kind == "checkboxes":
        if field.separator is not None and isinstance(value, str):
            return [v for v in value.split(field.separator) if v]
        return [str(v) for v in value]
    if field.kind == "percent":
        return _plain(Decimal(value) * 100)
    if field.kind == "decimal":
        return _plain(Decimal(value))
    if field.kind == "date":
        return value.isoformat()
    return str(value)


def _plain(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _parse_one(field: FormField, text: str, choices: Sequence[Choice], *, creating: bool) -> tuple[Any, str]:
    if not text:
        if field.is_required(creating):
            if field.kind == "select":
                return None, i18n.gettext("Choose an option.")
            return None, i18n.gettext("This field is required.")
        return ("" if field.kind == "text" else None), ""
    if field.max_length is not None and len(text) > field.max_length:
        return None, i18n.gettext("Use at most %(n)s characters.", n=field.max_length)
    match field.kind:
        case "text":
            return text, ""
        case "password":
            # The password rule needs the e-mail and organisation too: the entity's check applies it.
            return text, ""
        case "email":
            return _parse_email(text)
        case "decimal" | "percent":
            return _parse_decimal(field, text)
        case "int":
            return _parse_int(field, text)
        case "date":
            try:
                return date.fromisoformat(text), ""
            except ValueError:
                return None, i18n.gettext("Enter a date as YYYY-MM-DD, for example 2026-03-31.")
        case "select":
            if text not in {c.value for c in choices}:
                return None, i18n.gettext(field.invalid_choice)
            if field.int_choices:
                return int(text), ""
            return (field.coerce(text) if field.coerce else text), ""
    raise AssertionError(field.kind)  # pragma: no cover


def _parse_email(text: str) -> tuple[str | None, str]:
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return None, i18n.gettext("Enter a valid e-mail address, for example name@example.com.")
    # Logins compare e-mails in lower case, so they are stored that way.
    return result.normalized.lower(), ""


def _parse_decimal(field: FormField, text: str) -> tuple[Decimal | None, str]:
    cleaned = text.rstrip("%").strip() if field.kind == "percent" else text
    if not _NUMBER.match(cleaned):
        example = "13" if field.kind == "percent" else "12.50"
        return None, i18n.gettext("Enter a number, for example %(example)s.", example=example)
    try:
        number = Decimal(cleaned.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        return None, i18n.gettext("Enter a number, for example %(example)s.", example="12.50")
    if field.minimum is not None and number < field.minimum:
        return None, i18n.gettext("Enter a number of %(min)s or more.", min=field.minimum)
    if field.maximum is not None and number >= field.maximum:
        if field.kind == "percent":
            return None, i18n.gettext("Enter a rate below %(max)s %%.", max=field.maximum)
        return None, i18n.gettext("Enter a number below %(max)s.", max=field.maximum)
    exponent = number.normalize().as_tuple().exponent  # 12.500 has 1 place, not 3
    if field.places is not None and isinstance(exponent, int) and -exponent > field.places:
        return None, i18n.gettext("Use at most %(n)s decimal places.", n=field.places)
    if field.kind == "percent":
        return number / 100, ""
    return number, ""


def _parse_int(field: FormField, text: str) -> tuple[int | None, str]:
    if not _INTEGER.match(text):
        return None, i18n.gettext("Enter a whole number, for example 7.")
    number = int(text)
    if field.minimum is not None and number < field.minimum:
        return None, i18n.gettext("Enter a whole number of %(min)s or more.", min=field.minimum)
    upper = int(field.maximum) if field.maximum is not None else MAX_INT
    if number > upper:
        return None, i18n.gettext("Enter a whole number of at most %(max)s.", max=upper)
    return number, ""


def _parse_checkboxes(field: FormField, raw: list[str], choices: Sequence[Choice]) -> tuple[list[str], str]:
    allowed = [c.value for c in choices]
    chosen = [v for v in allowed if v in raw]  # in the listed order, without duplicates
    if any(v not in allowed for v in raw):
        return chosen, i18n.gettext(field.invalid_choice)
    if field.required and not chosen:
        return chosen, i18n.gettext("Choose at least one.")
    return chosen, ""

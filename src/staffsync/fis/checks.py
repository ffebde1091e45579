"""Field checks shared by the staff and phone services.

A check takes the raw value and returns the clean one, or raises ``Bad`` with the
message a person sees next to the field. ``clean`` runs every check and gathers every
problem, so one response names all the offending fields. Messages never repeat the
value: a mistyped SSN must not end up in a log line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from enum import StrEnum
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

Check = Callable[[Any], Any]


class Bad(ValueError):
    """A field's value is refused; the message is shown next to the field."""


def clean(
    data: Mapping[str, Any], checks: Mapping[str, Check], required: Mapping[str, str] = {}
) -> tuple[dict[str, Any], dict[str, str]]:
    """``(clean values, problems)`` for the fields of ``data`` that ``checks`` knows.

    Fields without a check are problems ("Unknown field"); a ``None`` or blank value is
    passed on as ``None``. A ``required`` field (name -> label) that is absent or blank
    is a problem too, unless its value was already refused for a more precise reason.
    """
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, raw in data.items():
        check = checks.get(name)
        if check is None:
            problems[name] = "Unknown field"
        elif raw is None or (isinstance(raw, str) and not raw.strip()):
            values[name] = None
        else:
            try:
                values[name] = check(raw)
            except Bad as bad:
                problems[name] = str(bad)
    return values, missing(values, required) | problems


def missing(values: Mapping[str, Any], required: Mapping[str, str]) -> dict[str, str]:
    """``{field: "<Label> is required"}`` for each required field that is absent or None."""
    return {name: f"{label} is required" for name, label in required.items()
            if values.get(name) is None}


def text_of(max_length: int, label: str) -> Check:
    def check(raw: Any) -> str:
        value = _string(raw, label).strip()
        if len(value) > max_length:
            raise Bad(f"{label} must be at most {max_length} characters")
        return value
    return check


def choice_of(enum: type[StrEnum], label: str) -> Check:
    allowed = [member.value for member in enum]

    def check(raw: Any) -> str:
        value = _string(raw, label).strip().lower().replace(" ", "_")
        if value not in allowed:
            raise Bad(f"{label} must be one of: {', '.join(allowed)}")
        return value
    return check


def ssn(raw: Any) -> str:
    """Nine digits; dashes and spaces between them are accepted and dropped."""
    digits = re.sub(r"[\s-]", "", _string(raw, "SSN"))
    if not re.fullmatch(r"\d{9}", digits):
        raise Bad("SSN must be 9 digits")
    return digits


def zip_code(raw: Any) -> str:
    """Five or nine digits (``12345``, ``123456789`` or ``12345-6789``), stored as digits."""
    digits = _string(raw, "ZIP Code").strip()
    if re.fullmatch(r"\d{5}-\d{4}", digits):
        digits = digits.replace("-", "")
    if not re.fullmatch(r"\d{5}|\d{9}", digits):
        raise Bad("ZIP Code must be 5 or 9 digits")
    return digits


def email(raw: Any) -> str:
    """Checked by email-validator (syntax only, no DNS), stored normalized."""
    try:
        return validate_email(_string(raw, "Email"), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise Bad("Enter a valid email address") from exc


def iso_date(raw: Any) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(_string(raw, "Date").strip())
    except ValueError as exc:
        raise Bad("Enter a date as YYYY-MM-DD") from exc


def phone(raw: Any) -> str:
    """Parsed with phonenumbers (US when no country code is given), stored as E.164."""
    try:
        parsed = phonenumbers.parse(_string(raw, "Phone"), "US")
    except phonenumbers.NumberParseException as exc:
        raise Bad("Enter a valid phone number") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise Bad("Enter a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def boolean(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise Bad("Must be true or false")
    return raw


def staff_id(raw: Any) -> str:
    value = _string(raw, "Staff ID").strip()
    if not re.fullmatch(r"[A-Za-z0-9-]{1,20}", value):
        raise Bad("Staff ID may use letters, digits and - (at most 20 characters)")
    return value


def passthrough(raw: Any) -> Any:
    return raw


def _string(raw: Any, label: str) -> str:
    if not isinstance(raw, str):
        raise Bad(f"{label} must be text")
    return raw

"""Field checks: what is accepted, how it is stored, and what a person is told."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from staffsync.fis import checks
from staffsync.fis.models import Gender


@pytest.mark.parametrize(
    ("check", "raw", "stored"),
    [
        (checks.ssn, "123456789", "123456789"),
        (checks.ssn, "123-45-6789", "123456789"),
        (checks.zip_code, "17837", "17837"),
        (checks.zip_code, "178371234", "178371234"),
        (checks.zip_code, "17837-1234", "178371234"),
        (checks.email, "Jane.Smith@Example.ORG", "Jane.Smith@example.org"),
        (checks.phone, "(570) 246-5970", "+15702465970"),
        (checks.phone, "570.246.5970", "+15702465970"),
        (checks.phone, "+44 20 7946 0958", "+442079460958"),
        (checks.iso_date, "2020-08-24", date(2020, 8, 24)),
        (checks.choice_of(Gender, "Gender"), "Female", "female"),
        (checks.staff_id, "E-1001", "E-1001"),
    ],
)
def test_accepted_values_are_stored_normalized(check: checks.Check, raw: Any, stored: Any) -> None:
    assert check(raw) == stored


@pytest.mark.parametrize(
    ("check", "raw", "message"),
    [
        (checks.ssn, "12345678", "SSN must be 9 digits"),
        (checks.ssn, "1234567890", "SSN must be 9 digits"),
        (checks.ssn, "12345678a", "SSN must be 9 digits"),
        (checks.ssn, 123456789, "SSN must be text"),
        (checks.zip_code, "1783", "ZIP Code must be 5 or 9 digits"),
        (checks.zip_code, "1783712", "ZIP Code must be 5 or 9 digits"),
        (checks.email, "jane@", "Enter a valid email address"),
        (checks.email, "not an email", "Enter a valid email address"),
        (checks.phone, "555-0100", "Enter a valid phone number"),
        (checks.phone, "call me", "Enter a valid phone number"),
        (checks.iso_date, "24/08/2020", "Enter a date as YYYY-MM-DD"),
        (checks.choice_of(Gender, "Gender"), "x", "Gender must be one of: female, male, nonbinary"),
        (checks.boolean, "yes", "Must be true or false"),
        (checks.staff_id, "has space", "Staff ID may use letters, digits and -"),
    ],
)
def test_refused_values_name_the_problem(check: checks.Check, raw: Any, message: str) -> None:
    with pytest.raises(checks.Bad) as refused:
        check(raw)
    assert str(refused.value).startswith(message)


def test_messages_never_repeat_the_value() -> None:
    with pytest.raises(checks.Bad) as refused:
        checks.ssn("98765432")
    assert "98765432" not in str(refused.value)


def test_clean_reports_every_problem_and_unknown_fields() -> None:
    values, problems = checks.clean(
        {"ssn": "1", "zip_code": "2", "email": " ", "color": "red"},
        {"ssn": checks.ssn, "zip_code": checks.zip_code, "email": checks.email},
    )
    assert values == {"email": None}
    assert problems == {"ssn": "SSN must be 9 digits", "zip_code": "ZIP Code must be 5 or 9 digits",
                        "color": "Unknown field"}

"""The error catalogue: the seed's wording, and its pure rules as tables."""

from __future__ import annotations

import pytest

from staffsync.sync import catalogue as c
from tests.sync.factories import snapshot


@pytest.mark.parametrize(
    ("username", "system"),
    [
        ("Admin", True),
        ("admin", True),
        (" ADMIN ", True),
        ("SCView", True),
        ("scview", True),
        ("CSIU", True),
        ("csiu", True),
        ("administrator", False),
        ("jdoe", False),
        ("", False),
    ],
)
def test_system_users(username: str, system: bool) -> None:
    assert c.is_system_user(username) is system


def test_the_system_user_list_is_configurable() -> None:
    assert c.is_system_user("Svc-Backup", ["svc-backup"])
    assert not c.is_system_user("Admin", ["svc-backup"])


@pytest.mark.parametrize(
    ("blanks", "named"),
    [
        ({}, ()),
        ({"username": ""}, ("Username",)),
        ({"staff_id": None}, ("Staff ID",)),
        ({"first_name": "  "}, ("First Name",)),
        ({"email": None, "last_name": None}, ("Last Name", "Email Address")),
        ({"phone": None, "phone_type": None}, ()),  # a phone is optional
    ],
)
def test_missing_required_fields(blanks: dict, named: tuple) -> None:
    assert c.missing_fields(snapshot(**blanks)) == named


def test_precheck_puts_the_system_user_rule_first() -> None:
    assert isinstance(c.precheck(snapshot(username="CSIU", email=None)), c.SystemUser)
    assert c.precheck(snapshot()) is None


@pytest.mark.parametrize("entry", c.CATALOGUE, ids=lambda e: e.code)
def test_entries_keep_the_seed_wording(entry: c.Entry) -> None:
    support = "You may need to contact CSIU Support for assistance: 570-246-5970."
    fix = entry.resolution
    assert fix.startswith(("The ", "Update ", "Verify ", "SCView "))
    if entry.retryable and entry.code != "server_error":
        assert fix == f"The sync service or API is down. {support}"
    if entry.code == "end_point_incorrect":
        assert fix.endswith("It's typically, https://api.myscview.com/.")


def test_codes_are_unique_and_each_class_carries_its_entry() -> None:
    assert len({e.code for e in c.CATALOGUE}) == len(c.CATALOGUE)
    error = c.MissingRequiredFields(["Staff ID"])
    assert error.as_dict() == {
        "code": "missing_required_fields",
        "message": "Missing Required fields: Staff ID",
        "resolution": "Update the appropriate fields and save again or run the sync again.",
        "retryable": False,
        "detail": "",
    }
    assert (error.status, error.code, error.fields) == (422, "missing_required_fields",
                                                        ("Staff ID",))

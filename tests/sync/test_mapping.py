"""UserSnapshot <-> SCIM User, exactly per DESIGN.md, and back through a live server."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from staffsync.sync.mapping import (
    CORE,
    EMPLOYEE_NUMBER,
    ENTERPRISE,
    comparable_of_scim,
    comparable_of_snapshot,
    differing,
    patch_operations,
    to_scim,
)
from tests.sync.conftest import LiveScim
from tests.sync.factories import snapshot


def test_to_scim_follows_the_design_table() -> None:
    user = to_scim(snapshot(7, phone_type="home", active=False))
    assert user == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": "key-7",
        "userName": "user7",
        "name": {"givenName": "Ada", "familyName": "Lovelace7"},
        "emails": [{"value": "user7@district.example", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "+15705550007", "type": "home", "primary": True}],
        "active": False,
        ENTERPRISE: {"employeeNumber": "10007"},
    }


@pytest.mark.parametrize(("fis", "scim"), [("cell", "mobile"), ("home", "home"), ("work", "work")])
def test_phone_types(fis: str, scim: str) -> None:
    assert to_scim(snapshot(phone_type=fis))["phoneNumbers"][0]["type"] == scim


def test_no_primary_phone_sends_no_phone_numbers() -> None:
    assert "phoneNumbers" not in to_scim(snapshot(phone=None, phone_type=None))


def leaves(value: Any) -> list[Any]:
    """Every scalar inside a JSON value."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def test_nothing_but_synced_fields_leaves() -> None:
    """Every value sent is a snapshot field or a fixed SCIM constant: nothing else can
    leave (the HR data that stays in FIS is checked end to end in tests/sync_run)."""
    fis = snapshot(4, phone_type="work")
    constants = {CORE, ENTERPRISE, "work", True}
    sent = leaves(to_scim(fis))
    assert sorted(v for v in sent if v not in constants) == sorted(
        [fis.staff_key, fis.username, fis.first_name, fis.last_name, fis.email, fis.phone,
         fis.staff_id])
    assert sorted(to_scim(fis)) == sorted(["schemas", "externalId", "userName", "name",
                                           "emails", "phoneNumbers", "active", ENTERPRISE])


@pytest.mark.parametrize("phone_type", ["cell", "home", "work", None])
def test_round_trip_through_a_live_server(live_scim: LiveScim, phone_type: str | None) -> None:
    fis = snapshot(3, phone_type=phone_type, phone="+15705550003" if phone_type else None)
    with live_scim.client() as client:
        created = client.create(to_scim(fis))
        (listed,) = list(client.iter_users())
    for user in (created, listed):
        assert comparable_of_scim(user) == comparable_of_snapshot(fis)


def test_scview_only_attributes_do_not_count_as_differences() -> None:
    user = to_scim(snapshot())
    user["title"] = "Teacher"
    user["emails"].insert(0, {"value": "home@example.org", "type": "home"})
    user["phoneNumbers"].append({"value": "+15705559999", "type": "work"})
    assert differing(comparable_of_snapshot(snapshot()), comparable_of_scim(user)) == ()


@pytest.mark.parametrize(
    ("change", "fields", "ops"),
    [
        ({"first_name": "Grace"}, ("given_name",),
         [{"op": "replace", "path": "name.givenName", "value": "Grace"}]),
        ({"staff_id": "999"}, ("employee_number",),
         [{"op": "replace", "path": EMPLOYEE_NUMBER, "value": "999"}]),
        ({"phone": None, "phone_type": None}, ("phone", "phone_type"),
         [{"op": "remove", "path": "phoneNumbers"}]),
        ({"phone_type": "work"}, ("phone_type",),
         [{"op": "replace", "path": "phoneNumbers",
           "value": [{"value": "+15705550001", "type": "work", "primary": True}]}]),
        ({"active": False}, ("active",), [{"op": "replace", "path": "active", "value": False}]),
    ],
)
def test_differences_and_their_patch(change: dict, fields: tuple, ops: list) -> None:
    before, after = snapshot(), replace(snapshot(), **change)
    changed = differing(comparable_of_snapshot(after), comparable_of_snapshot(before))
    assert changed == fields
    assert patch_operations(after, changed) == ops

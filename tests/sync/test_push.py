"""Sync one user against a live SCIM server: every outcome, adopt, refuse, retry."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from staffsync.kit.server import free_port
from staffsync.sync import catalogue as c
from staffsync.sync.mapping import ENTERPRISE, to_scim
from staffsync.sync.push import Outcome, push_user
from staffsync.sync.scim_client import ScimClient, Target
from tests.sync.conftest import LiveScim
from tests.sync.factories import snapshot
from tests.sync.faults import Proxy, serving


def only_user(live: LiveScim) -> dict[str, Any]:
    (user,) = live.users()
    return user


def test_create_then_unchanged_then_updated(live_scim: LiveScim) -> None:
    fis = snapshot()
    with live_scim.client() as client:
        assert push_user(fis, client).outcome is Outcome.CREATED
        assert push_user(fis, client).outcome is Outcome.UNCHANGED
        renamed = replace(fis, last_name="Byron", email="ada@district.example")
        result = push_user(renamed, client)
    assert (result.outcome, result.changed) == (Outcome.UPDATED, ("family_name", "email"))
    user = only_user(live_scim)
    assert user["name"]["familyName"] == "Byron"
    assert user["emails"] == [{"value": "ada@district.example", "type": "work", "primary": True}]


@pytest.mark.parametrize("patch", [True, False], ids=["PATCH", "PUT"])
def test_no_primary_phone_really_clears_the_phone(make_live_scim, patch: bool) -> None:
    live = make_live_scim(patch={"supported": patch})
    with live.client() as client:
        push_user(snapshot(), client)
        assert "phoneNumbers" in only_user(live)
        result = push_user(snapshot(phone=None, phone_type=None), client)
    assert result.outcome is Outcome.UPDATED
    assert "phoneNumbers" not in only_user(live)


def test_inactive_staff_is_deactivated_not_deleted(live_scim: LiveScim) -> None:
    with live_scim.client() as client:
        push_user(snapshot(), client)
        push_user(snapshot(active=False), client)
    assert only_user(live_scim)["active"] is False


def test_adopts_an_existing_user_with_the_same_employee_id(live_scim: LiveScim) -> None:
    existing = to_scim(snapshot(username="a.lovelace"))
    del existing["externalId"]
    with live_scim.http() as http:
        http.post("/Users", json=existing).raise_for_status()
    with live_scim.client() as client:
        result = push_user(snapshot(), client)
    assert result.outcome is Outcome.UPDATED
    assert set(result.changed) == {"external_id", "user_name"}
    user = only_user(live_scim)
    assert (user["externalId"], user["userName"]) == ("key-1", "user1")


def test_refuses_a_username_held_by_another_employee_id(live_scim: LiveScim) -> None:
    other = to_scim(snapshot(99, username="user1"))
    with live_scim.http() as http:
        http.post("/Users", json=other).raise_for_status()
    with live_scim.client() as client:
        result = push_user(snapshot(), client)
    assert result.outcome is Outcome.FAILED
    assert isinstance(result.error, c.UsernameConflict)
    assert result.error.message == "User sync to SCView failed for: user1."
    assert "verify that the Employee ID is correct" in result.error.resolution
    assert only_user(live_scim)[ENTERPRISE]["employeeNumber"] == "10099"  # untouched


def test_renaming_onto_a_taken_username_is_refused(live_scim: LiveScim) -> None:
    with live_scim.client() as client:
        push_user(snapshot(1), client)
        push_user(snapshot(2), client)
        result = push_user(snapshot(2, username="user1"), client)
    assert isinstance(result.error, c.UsernameConflict)
    assert result.error.message == "User sync to SCView failed for: user1."


def test_a_retry_after_a_lost_answer_creates_no_duplicate(live_scim: LiveScim) -> None:
    """The first POST reaches SCView but its answer is lost (a 504 from the proxy)."""
    lost = {"count": 0}

    def lose_first_create(method: str, target: str) -> int | None:
        creating = method == "POST" and target.split("?")[0].endswith("/Users")
        if creating and not lost["count"]:
            lost["count"] += 1
            return 504
        return None

    proxy = Proxy(live_scim.end_point, after=lose_first_create)
    with serving(proxy) as url, ScimClient(Target(url, live_scim.database, live_scim.token)) as cl:
        first = push_user(snapshot(), cl)
        retry = push_user(snapshot(), cl)
    assert isinstance(first.error, c.ServiceDown)
    assert retry.outcome is Outcome.UNCHANGED
    assert len(live_scim.users()) == 1


@pytest.mark.parametrize("name", ["admin", "SCView", "Csiu"])
def test_system_users_are_skipped_without_a_request(name: str) -> None:
    nowhere = Target(f"http://127.0.0.1:{free_port()}", "district", "token")
    with ScimClient(nowhere) as client:
        result = push_user(snapshot(username=name), client)
    assert result.outcome is Outcome.SKIPPED
    assert result.error is not None
    assert result.error.message == f"User sync to SCView failed for: {name}."


def test_missing_required_fields_are_named(live_scim: LiveScim) -> None:
    with live_scim.client() as client:
        result = push_user(snapshot(staff_id=None, email=" ", last_name=""), client)
    assert isinstance(result.error, c.MissingRequiredFields)
    assert result.error.message == "Missing Required fields: Staff ID, Last Name, Email Address"
    assert live_scim.users() == []

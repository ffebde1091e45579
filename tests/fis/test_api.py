"""The FIS JSON API over real HTTP, including issue 2's "Done when" list."""

from __future__ import annotations

import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import secrets, staff
from staffsync.fis.models import SyncState, ThirdPartyConfig, User
from staffsync.kit.db import transaction
from tests.fis.conftest import Api, staff_data

_names = itertools.count(1)


def _unique_last() -> str:
    """A last name no other test in the module uses (letters only, so it folds as is)."""
    return "Apit" + "".join(chr(ord("a") + int(d)) for d in str(next(_names)))


def _add(api: Api, **overrides: Any) -> dict[str, Any]:
    response = api.call("POST", "/staff", json=staff_data(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


def _mark_synced(sessions: sessionmaker[Session], username: str) -> None:
    """What the sync worker does after a successful push (issue 5 builds it)."""
    with transaction(sessions) as session:
        user_id = session.scalar(select(User.id).where(User.username_key == username.lower()))
        session.execute(update(SyncState).where(SyncState.user_id == user_id)
                        .values(dirty=False, pushed_version=SyncState.version))


# --- Done when ---------------------------------------------------------------------------

def test_staff_without_email_creates_no_user(api: Api) -> None:
    last = _unique_last()
    added = _add(api, last_name=last)
    assert added["username"] is None and added["sync"] is None
    assert api.call("GET", f"/users?q={last}", admin=True).json() == []


def test_staff_with_email_creates_a_user_with_a_generated_username(api: Api) -> None:
    last = _unique_last()
    added = _add(api, first_name="Kim", last_name=last, email="kim@example.org")
    assert added["username"] == f"k{last.lower()}"
    user = api.call("GET", f"/users/{added['username'].upper()}", admin=True).json()
    assert user["staff_id"] == added["staff_id"] and user["email"] == "kim@example.org"
    assert user["sync"]["status"] == "pending" and user["sync"]["dirty"] is True


def test_edit_last_name_with_a_reason_keeps_history(api: Api) -> None:
    added = _add(api, last_name="Original", email="ln@example.org")
    path = f"/staff/{added['staff_id']}/last-name"
    refused = api.call("POST", path, json={"last_name": "Changed"})
    first = api.call("POST", path, json={"last_name": "Changed", "reason": "Marriage"})
    second = api.call("POST", path, json={"last_name": "Final", "reason": "Divorce"})
    assert refused.status_code == 422
    assert refused.json()["fields"] == {"reason": "Reason is required"}
    assert first.status_code == second.status_code == 200
    history = api.call("GET", f"/staff/{added['staff_id']}").json()["last_name_history"]
    assert [(h["old_name"], h["new_name"], h["reason"]) for h in history] == [
        ("Original", "Changed", "Marriage"), ("Changed", "Final", "Divorce")]
    assert all(h["changed_by"].startswith("api key hr-") for h in history)


def test_add_two_phones_and_move_the_primary(api: Api) -> None:
    sid = _add(api, email="ph@example.org")["staff_id"]
    added = [api.call("POST", f"/staff/{sid}/phones", json=body) for body in (
        {"phone": "570-246-5970", "primary": True}, {"phone": "(570) 246-5971", "type": "work"})]
    assert [r.status_code for r in added] == [201, 201]
    first, second = (r.json() for r in added)
    before = api.call("GET", f"/staff/{sid}/phones").json()
    moved = api.call("PATCH", f"/staff/{sid}/phones/{second['id']}", json={"primary": True})
    listed = api.call("GET", f"/staff/{sid}/phones").json()
    assert moved.status_code == 200
    assert [p["primary"] for p in before] == [True, False]
    assert [(p["phone"], p["type"], p["primary"]) for p in listed] == [
        ("+15702465970", "cell", False), ("+15702465971", "work", True)]
    assert first["id"] != second["id"]


def test_sync_state_turns_dirty_only_when_a_synced_value_changes(
    api: Api, sessions: sessionmaker[Session]
) -> None:
    added = _add(api, email="dirty@example.org")
    sid, username = added["staff_id"], added["username"]

    def sync() -> dict[str, Any]:
        return dict(api.call("GET", f"/users/{username}", admin=True).json()["sync"])

    _mark_synced(sessions, username)
    assert sync()["status"] == "synced"
    unsynced = api.call("PATCH", f"/staff/{sid}", json={"address1": "9 Oak Ave",
                                                         "race": "asian"})
    assert unsynced.status_code == 200
    assert (unsynced.json()["address1"], unsynced.json()["race"]) == ("9 Oak Ave", "asian")
    assert sync()["dirty"] is False and sync()["status"] == "synced"
    synced = api.call("PATCH", f"/staff/{sid}", json={"first_name": "Janelle"})
    assert synced.status_code == 200 and synced.json()["first_name"] == "Janelle"
    after = sync()
    assert after["dirty"] is True and after["status"] == "pending" and after["version"] == 2


# --- Rules at the API --------------------------------------------------------------------

def test_ssn_is_only_returned_masked(api: Api) -> None:
    added = _add(api, ssn="321-54-9876", email="mask@example.org")
    fetched = api.call("GET", f"/staff/{added['staff_id']}")
    assert added["ssn"] == fetched.json()["ssn"] == "***-**-9876"
    assert "321549876" not in fetched.text and "321-54-9876" not in fetched.text


def test_bad_input_names_every_field_and_writes_nothing(api: Api) -> None:
    last = _unique_last()
    response = api.call("POST", "/staff", json=staff_data(
        last_name=last, ssn="1234", zip_code="abc", email="x@", act29="old"))
    assert response.status_code == 422
    assert response.json() == {
        "code": "invalid_input",
        "message": "Some fields are not valid. Correct them and save again.",
        "fields": {"ssn": "SSN must be 9 digits", "zip_code": "ZIP Code must be 5 or 9 digits",
                   "email": "Enter a valid email address",
                   "act29": "Act 29 must be one of: new, existing"}}
    assert api.call("GET", f"/staff?q={last}").json() == []


def test_wrong_types_and_unknown_fields_are_named_beside_every_other_problem(
    api: Api
) -> None:
    """A number where text belongs is the service's problem too, so it is reported with
    the rest instead of hiding them; the value is never echoed."""
    last = _unique_last()
    response = api.call("POST", "/staff", json=staff_data(
        last_name=last, ssn=123456789, zip_code="abc", hire_date=20240101, colour="blue"))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input" and body["fields"] == {
        "ssn": "SSN must be text", "zip_code": "ZIP Code must be 5 or 9 digits",
        "hire_date": "Enter a date as YYYY-MM-DD", "colour": "Unknown field"}
    assert "123456789" not in response.text
    assert api.call("GET", f"/staff?q={last}").json() == []


def test_a_phone_primary_flag_must_be_true_or_false(api: Api) -> None:
    sid = _add(api, email="flag@example.org")["staff_id"]
    response = api.call("POST", f"/staff/{sid}/phones",
                        json={"phone": "57", "primary": "yes", "kind": "cell"})
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"phone", "primary", "kind"}
    assert response.json()["fields"]["primary"] == "Must be true or false"
    assert api.call("GET", f"/staff/{sid}/phones").json() == []


def test_edit_last_name_names_unknown_fields_with_the_missing_reason(api: Api) -> None:
    sid = _add(api)["staff_id"]
    response = api.call("POST", f"/staff/{sid}/last-name",
                        json={"last_name": 42, "why": "Marriage"})
    assert response.status_code == 422 and response.json()["fields"] == {
        "last_name": "Last Name must be text", "reason": "Reason is required",
        "why": "Unknown field"}


def test_staff_id_is_refused_on_edit_while_auto_assigned_and_editable_otherwise(
    api: Api
) -> None:
    sid = _add(api, email="sid@example.org")["staff_id"]
    refused = api.call("PATCH", f"/staff/{sid}", json={"staff_id": "HAND-1"})
    assert refused.status_code == 422 and set(refused.json()["fields"]) == {"staff_id"}
    assert api.call("GET", f"/staff/{sid}").status_code == 200
    off = api.call("PUT", "/settings/parameters", admin=True, json={"auto_assign_id": False})
    assert off.status_code == 200
    try:
        moved = api.call("PATCH", f"/staff/{sid}", json={"staff_id": f"H-{sid}"})
        assert moved.status_code == 200 and moved.json()["staff_id"] == f"H-{sid}"
        assert api.call("GET", f"/staff/{sid}").status_code == 404
        user = api.call("GET", f"/users/{moved.json()['username']}", admin=True).json()
        assert user["staff_id"] == f"H-{sid}" and user["sync"]["dirty"] is True
    finally:
        api.call("PUT", "/settings/parameters", admin=True, json={"auto_assign_id": True})


def test_staff_search_and_not_found(api: Api) -> None:
    last = _unique_last()
    added = _add(api, last_name=last)
    found = api.call("GET", f"/staff?q={last[:-1].upper()}").json()
    missing = api.call("GET", "/staff/no-such-id")
    assert added["staff_id"] in [s["staff_id"] for s in found]
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_delete_phone(api: Api) -> None:
    sid = _add(api)["staff_id"]
    phone = api.call("POST", f"/staff/{sid}/phones", json={"phone": "5702465970"}).json()
    assert api.call("DELETE", f"/staff/{sid}/phones/{phone['id']}").status_code == 204
    assert api.call("GET", f"/staff/{sid}/phones").json() == []


def test_users_list_shows_system_users_without_sync_state(api: Api) -> None:
    listed = {u["username"]: u for u in api.call("GET", "/users?limit=500", admin=True).json()}
    assert {"Admin", "SCView", "CSIU"} <= set(listed)
    assert listed["CSIU"]["is_system"] is True and listed["CSIU"]["sync"] is None


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer wrong"}, 401), ({"Authorization": "Basic x"}, 401)],
)
def test_requests_need_a_valid_api_key(api: Api, headers: dict[str, str], status: int) -> None:
    response = api.client.get("/api/v1/staff", headers=headers)
    assert response.status_code == status and response.json()["code"] == "unauthorized"


@pytest.mark.parametrize("path", ["/users", "/settings/parameters", "/settings/third-party"])
def test_hr_keys_may_not_use_system_endpoints(api: Api, path: str) -> None:
    response = api.call("GET", path)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert api.call("GET", path, admin=True).status_code == 200


def test_parameters_round_trip_and_validation(api: Api) -> None:
    original = api.call("GET", "/settings/parameters", admin=True).json()
    changed = api.call("PUT", "/settings/parameters", admin=True,
                       json={"username_pattern": "{first_name}{last_initial}"})
    refused = api.call("PUT", "/settings/parameters", admin=True,
                       json={"username_pattern": "{nick}", "next_staff_id": 0})
    mistyped = api.call("PUT", "/settings/parameters", admin=True, json={
        "auto_assign_id": "yes", "username_pattern": 7, "system_usernames": "Admin"})
    restored = api.call("PUT", "/settings/parameters", admin=True, json=original)
    assert changed.json()["username_pattern"] == "{first_name}{last_initial}"
    assert refused.status_code == 422 and set(refused.json()["fields"]) == {
        "username_pattern", "next_staff_id"}
    assert mistyped.status_code == 422 and set(mistyped.json()["fields"]) == {
        "auto_assign_id", "username_pattern", "system_usernames"}
    assert restored.json() == original


def test_third_party_token_is_write_only_and_encrypted_at_rest(
    api: Api, sessions: sessionmaker[Session]
) -> None:
    token = "tok-" + "s3cret" * 5
    saved = api.call("PUT", "/settings/third-party", admin=True, json={
        "end_point": "https://api.myscview.com/", "token": token, "database_name": "district1",
        "enabled": True})
    fetched = api.call("GET", "/settings/third-party", admin=True)
    assert saved.status_code == 200 and token not in saved.text and token not in fetched.text
    assert fetched.json() == {"end_point": "https://api.myscview.com/",
                              "database_name": "district1", "enabled": True, "token_set": True}
    with transaction(sessions) as session:
        stored = session.scalars(select(ThirdPartyConfig.token_encrypted)).one()
    assert stored and token not in stored and secrets.current().decrypt(stored) == token
    api.call("PUT", "/settings/third-party", admin=True, json={"enabled": False})


def test_enabling_user_sync_needs_every_setting(api: Api) -> None:
    api.call("PUT", "/settings/third-party", admin=True,
             json={"token": "", "end_point": None, "database_name": None, "enabled": False})
    refused = api.call("PUT", "/settings/third-party", admin=True,
                       json={"enabled": True, "end_point": "ftp://x"})
    assert refused.status_code == 422 and refused.json()["fields"] == {
        "end_point": "End Point must be an http(s) URL such as https://api.myscview.com/",
        "token": "Token is required to enable User Sync",
        "database_name": "Database name is required to enable User Sync"}


def test_choices_list_every_select(api: Api) -> None:
    listed = api.call("GET", "/choices").json()
    assert listed["staff_status"] == ["active", "inactive"]
    assert listed["phone_type"] == ["cell", "home", "work"]
    assert listed["act29"] == ["new", "existing"]
    assert "full_time" in listed["employment_status"] and "white" in listed["race"]


def test_openapi_document_is_served(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    assert {"/api/v1/staff", "/api/v1/staff/{staff_id}/last-name", "/api/v1/users/{username}",
            "/api/v1/settings/third-party"} <= set(document["paths"])
    assert "HTTPBearer" in document["components"]["securitySchemes"]
    gender = document["components"]["schemas"]["StaffIn"]["properties"]["gender"]
    assert gender["description"] == "One of: female, male, nonbinary"


def test_a_lost_race_for_a_username_is_a_conflict_not_a_crash(
    api: Api, sessions: sessionmaker[Session]
) -> None:
    """Two staff members with the same initials get emails at the same moment (adds do
    not race: the Staff ID counter's row lock serializes them). The request waits on the
    unique index until the open transaction commits; PostgreSQL then refuses it (409, try
    again); SQLite runs writers one at a time, so the request sees the name and takes the
    next one."""
    last = _unique_last()
    first = _add(api, first_name="Rae", last_name=last)["staff_id"]
    second = _add(api, first_name="Rob", last_name=last)["staff_id"]
    with ThreadPoolExecutor(max_workers=1) as pool, transaction(sessions) as session:
        holder = staff.update(session, first, {"email": "race1@example.org"})
        racing = pool.submit(api.call, "PATCH", f"/staff/{second}",
                             json={"email": "race2@example.org"})
        time.sleep(0.5)  # let the request reach the database and wait there
        assert holder.user is not None and not racing.done()
    response = racing.result(timeout=30)
    if sessions.kw["bind"].dialect.name == "postgresql":
        assert response.status_code == 409
        assert response.json() == {"code": "conflict", "message": (
            "Another change to the same record was saved at the same moment. Try again.")}
        assert api.call("GET", f"/staff/{second}").json()["email"] is None
    else:
        assert response.status_code == 200 and response.json()["username"] == f"r{last.lower()}2"

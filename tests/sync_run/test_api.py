"""End to end over real HTTP: a live FIS server (its JSON API) pushing to a live SCIM
server on loopback, each with its own database. The SCIM side is checked only over SCIM."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from staffsync.kit.server import free_port
from staffsync.sync.catalogue import CATALOGUE
from staffsync.sync.mapping import ENTERPRISE
from tests.fis.conftest import Api, new_ssn, staff_data
from tests.sync.conftest import LiveScim
from tests.sync.faults import answering, plain_http_server, serving

ENTRIES = {entry.code: entry for entry in CATALOGUE}


@pytest.fixture
def target(api: Api, make_live_scim: Callable[..., LiveScim]) -> LiveScim:
    """A fresh SCIM tenant, saved as FIS's Third Party Configuration through the API."""
    live = make_live_scim()
    configure(api, live.end_point, live.database, live.token)
    return live


def configure(api: Api, end_point: str, database: str, token: str) -> None:
    body = {"end_point": end_point, "database_name": database, "token": token, "enabled": True}
    answer = api.call("PUT", "/settings/third-party", admin=True, json=body)
    assert answer.status_code == 200, answer.text


def add_staff(api: Api, **fields: Any) -> dict[str, Any]:
    answer = api.call("POST", "/staff", json=staff_data(**fields))
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def scim_user(live: LiveScim, username: str) -> dict[str, Any]:
    with live.http() as http:
        found = http.get("/Users", params={"filter": f'userName eq "{username}"'}).json()
    (user,) = found["Resources"]
    return dict(user)


def test_staff_added_in_fis_then_synced_is_in_scview_with_the_synced_fields(
    api: Api, target: LiveScim
) -> None:
    ssn = new_ssn()
    member = add_staff(api, ssn=ssn, first_name="Grace", last_name="Hopper",
                       email="grace.hopper@district.example.org")
    phone = {"phone": "570-246-5970", "type": "work", "primary": True}
    assert api.call("POST", f"/staff/{member['staff_id']}/phones", json=phone).status_code == 201
    synced = api.call("POST", f"/users/{member['username']}/sync", admin=True)
    assert synced.status_code == 200, synced.text
    assert synced.json()["outcome"] == "created"
    user = scim_user(target, member["username"])
    assert user["externalId"] == member["key"]
    assert user[ENTERPRISE]["employeeNumber"] == member["staff_id"]
    assert (user["name"]["givenName"], user["name"]["familyName"]) == ("Grace", "Hopper")
    assert user["emails"][0]["value"] == "grace.hopper@district.example.org"
    assert (user["phoneNumbers"][0]["value"], user["phoneNumbers"][0]["type"]) == (
        "+15702465970", "work")
    assert user["active"] is True
    assert ssn not in str(user) and ssn[-4:] not in str(user) and "Hopper" in str(user)
    state = api.call("GET", f"/users/{member['username']}", admin=True).json()["sync"]
    assert (state["status"], state["dirty"]) == ("synced", False)


def test_sync_all_over_http_then_no_writes_then_drift_repaired(
    api: Api, target: LiveScim
) -> None:
    add_staff(api, email="one@district.example.org")
    add_staff(api, email="two@district.example.org")
    first = api.call("POST", "/users/sync", admin=True).json()
    assert first["status"] == "completed" and first["writes"] >= 2
    again = api.call("POST", "/users/sync", admin=True).json()
    assert again["writes"] == 0 and set(again["counts"]) == {"unchanged", "skipped"}
    user = target.users()[0]
    with target.http() as http:
        drift = {**user, "name": {**user["name"], "familyName": "Changed In SCView"}}
        http.put(f"/Users/{user['id']}", json=drift).raise_for_status()
    repaired = api.call("POST", "/users/sync", admin=True).json()
    assert repaired["counts"]["updated"] == 1 and repaired["writes"] == 1
    detail = api.call("GET", f"/sync/runs/{repaired['id']}", admin=True).json()
    (updated,) = [o for o in detail["outcomes"] if o["outcome"] == "updated"]
    assert updated["username"] == user["userName"] and updated["changed"] == ["family_name"]
    runs = api.call("GET", "/sync/runs", admin=True, params={"limit": 3}).json()
    assert [r["id"] for r in runs] == [repaired["id"], again["id"], first["id"]]


def test_dry_run_over_http_plans_only_and_lists_each_change(api: Api, target: LiveScim) -> None:
    kept = add_staff(api, email="planned@district.example.org")
    dry = {"dry_run": "true"}
    plan = api.call("POST", "/users/sync", admin=True, params=dry).json()
    assert plan["dry_run"] is True and plan["counts"]["create"] >= 1 and plan["writes"] == 0
    assert target.users() == []
    steps = {s["username"]: s for s in plan["steps"]}
    assert steps[kept["username"]] == {"username": kept["username"], "action": "create",
                                       "changed": [], "error": None}
    assert steps["CSIU"]["action"] == "skipped"
    assert steps["CSIU"]["error"]["message"] == "User sync to SCView failed for: CSIU."
    api.call("POST", "/users/sync", admin=True)
    user = scim_user(target, kept["username"])
    with target.http() as http:
        drift = {**user, "name": {**user["name"], "givenName": "Drifted"}, "active": False}
        http.put(f"/Users/{user['id']}", json=drift).raise_for_status()
    again = api.call("POST", "/users/sync", admin=True, params=dry).json()
    (update,) = [s for s in again["steps"] if s["action"] == "update"]
    assert update == {"username": kept["username"], "action": "update",
                      "changed": ["given_name", "active"], "error": None}
    assert scim_user(target, kept["username"])["name"]["givenName"] == "Drifted"


def test_a_failed_sync_answers_with_the_catalogue_entry(
    api: Api, make_live_scim: Callable[..., LiveScim]
) -> None:
    live = make_live_scim()
    configure(api, live.end_point, live.database, "a-wrong-token")
    member = add_staff(api, email="fails@district.example.org")
    one = api.call("POST", f"/users/{member['username']}/sync", admin=True)
    assert one.status_code == 502
    assert one.json()["code"] == "token_or_database_incorrect"
    assert one.json()["resolution"].startswith("Verify that the System > Directories")
    every = api.call("POST", "/users/sync", admin=True)
    assert every.status_code == 502 and every.json()["status"] == "stopped"
    assert every.json()["message"] == (
        "Error when FIS Third Party Configuration Token or Database name is incorrect.")


def test_run_sync_needs_a_sysadmin_key(api: Api, target: LiveScim) -> None:
    assert api.call("POST", "/users/sync").status_code == 403
    assert api.call("GET", "/sync/runs").status_code == 403
    assert api.call("GET", "/sync/runs/999999", admin=True).status_code == 404
    assert api.call("POST", "/users/nobody/sync", admin=True).status_code == 404


def refused_end_point() -> str:
    return f"http://127.0.0.1:{free_port()}/"  # nothing listens there


TEST_CONNECTION = {
    "wrong token": (lambda live: (live.end_point, live.database, "nope"),
                    "token_or_database_incorrect"),
    "unknown database": (lambda live: (live.end_point, "no-such-db", live.token),
                         "token_or_database_incorrect"),
    "connection refused": (lambda live: (refused_end_point(), live.database, live.token),
                           "service_down"),
    "name does not resolve": (lambda live: ("http://scview.invalid/", live.database,
                                            live.token), "name_not_resolved"),
}


@pytest.mark.parametrize("case", TEST_CONNECTION)
def test_test_connection_reports_the_catalogue_entry(
    api: Api, make_live_scim: Callable[..., LiveScim], case: str
) -> None:
    settings_of, code = TEST_CONNECTION[case]
    live = make_live_scim()
    configure(api, *settings_of(live))
    answer = api.call("POST", "/settings/third-party/test", admin=True)
    assert answer.json()["ok"] is False and answer.json()["code"] == code
    assert answer.status_code in (502, 503) and answer.json()["resolution"]


SERVER_FAULTS: dict[str, tuple[Callable[[Path], AbstractContextManager[str]], str, int]] = {
    # name: (context yielding the End Point, catalogue code, HTTP status of the answer)
    "500": (lambda tmp: serving(answering(500, b"Internal Server Error")), "server_error", 502),
    "404, not JSON (a plain HTTP server)": (plain_http_server, "end_point_incorrect", 502),
    "timeout": (lambda tmp: serving(answering(200, b"{}", "application/scim+json", delay=1.5)),
                "service_down", 503),
}


@pytest.mark.parametrize("case", SERVER_FAULTS)
def test_test_connection_reports_server_faults(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    end_point_of, code, status = SERVER_FAULTS[case]
    monkeypatch.setenv("STAFFSYNC_SCIM_TIMEOUT", "0.3")  # the FIS server runs in this process
    with end_point_of(tmp_path) as url:
        configure(api, url, "district", "a-token")
        answer = api.call("POST", "/settings/third-party/test", admin=True)
    body = answer.json()
    assert (answer.status_code, body["ok"], body["code"]) == (status, False, code)
    entry = ENTRIES[code]
    assert body["message"] == entry.message.format(status=500, reason="Internal Server Error")
    assert body["resolution"] == entry.resolution


def test_sync_all_against_a_server_answering_500_is_stopped_with_the_resolution(
    api: Api
) -> None:
    add_staff(api, email="five.hundred@district.example.org")
    with serving(answering(500, b"Internal Server Error")) as url:
        configure(api, url, "district", "a-token")
        answer = api.call("POST", "/users/sync", admin=True)
    body = answer.json()
    assert (answer.status_code, body["status"], body["code"]) == (502, "stopped", "server_error")
    assert body["message"] == (
        "Response status code does not indicate success: 500 (Internal Server Error).")
    assert body["resolution"].startswith("The site is down.")
    run = api.call("GET", f"/sync/runs/{body['id']}", admin=True).json()
    assert run["status"] == "stopped" and run["error"]["code"] == "server_error"


def test_test_connection_ok(api: Api, target: LiveScim) -> None:
    answer = api.call("POST", "/settings/third-party/test", admin=True)
    assert answer.status_code == 200 and answer.json()["ok"] is True

"""Run Sync from FIS (the service the pages, API and CLI call) against scim2-server, a
third-party SCIM server, on both FIS backends."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import staff, sync_state, users
from staffsync.fis.models import SyncRunUser, SyncState, utcnow
from staffsync.kit.db import transaction
from staffsync.kit.errors import NotFound
from staffsync.sync import service
from staffsync.sync.mapping import ENTERPRISE, to_scim
from staffsync.sync.push import Outcome, Result
from tests.fis.conftest import staff_data
from tests.sync.conftest import LiveScim
from tests.sync.faults import Proxy, answering, serving
from tests.sync_run.conftest import configure, point_at, seed_district

Factory = sessionmaker[Session]
SYSTEM_USERS = ("Admin", "SCView", "CSIU")  # FIS's own users, from its first migration
SKIPPED = {"skipped": len(SYSTEM_USERS)}  # reported in every sync all, never sent


def add_staff(factory: Factory, **overrides: Any) -> str:
    """Add a staff member with an email; return their username."""
    with transaction(factory) as session:
        member = staff.add(session, staff_data(email="ada@district.example.org", **overrides))
        assert member.user is not None
        return member.user.username


def state_of(factory: Factory, username: str) -> SyncState:
    with transaction(factory) as session:
        state = users.get(session, username).sync_state
        assert state is not None
        return state


def by_username(live: LiveScim) -> dict[str, dict[str, Any]]:
    return {u["userName"]: u for u in live.users()}


def test_sync_one_user_creates_it_with_the_synced_fields(fis: Factory, live_scim: LiveScim
                                                         ) -> None:
    point_at(fis, live_scim)
    username = add_staff(fis, first_name="Ada", last_name="Lovelace")
    result = service.sync_user(fis, username, "test")
    assert (result["outcome"], result["error"]) == ("created", None)
    remote = by_username(live_scim)[username]
    assert (remote["name"]["givenName"], remote["name"]["familyName"]) == ("Ada", "Lovelace")
    assert remote["emails"][0]["value"] == "ada@district.example.org"
    assert remote[ENTERPRISE]["employeeNumber"]
    state = state_of(fis, username)
    assert not state.dirty and state.pushed_version == state.version and state.last_error is None
    assert state.last_synced_at is not None


def test_the_hr_data_of_a_staff_record_never_reaches_the_scim_user(fis: Factory) -> None:
    hr = {"ssn": "219099999", "address1": "77 Quarry Lane", "zip_code": "17837",
          "gender": "female", "race": "asian", "hire_date": "2011-03-14"}
    username = add_staff(fis, **hr)
    with transaction(fis) as session:
        snap = users.snapshot(session, users.get(session, username))
    assert snap is not None
    sent = json.dumps(to_scim(snap)).lower()
    for value in ("219099999", "219-09-9999", "quarry", "17837", "female", "asian",
                  "2011-03-14"):
        assert value not in sent, value
    assert username in sent  # the same payload does carry the synced values


def test_sync_one_user_again_is_unchanged_and_both_runs_are_history(
    fis: Factory, live_scim: LiveScim
) -> None:
    point_at(fis, live_scim)
    username = add_staff(fis)
    first = service.sync_user(fis, username, "test")
    again = service.sync_user(fis, username, "test")
    assert again["outcome"] == "unchanged"
    with transaction(fis) as session:
        runs = service.list_runs(session, 10)
        detail = service.get_run(session, first["run_id"])
    assert [r["id"] for r in runs] == [again["run_id"], first["run_id"]]
    assert runs[0]["scope"] == "one" and runs[0]["counts"] == {"unchanged": 1}
    assert detail["outcomes"] == [{"username": username, "outcome": "created", "changed": [],
                                   "error": None}]


def test_a_failed_push_is_recorded_with_its_catalogue_entry(
    fis: Factory, live_scim: LiveScim
) -> None:
    configure(fis, live_scim.end_point, live_scim.database, "wrong-token")
    username = add_staff(fis)
    result = service.sync_user(fis, username, "test")
    assert result["outcome"] == "failed"
    assert result["error"]["code"] == "token_or_database_incorrect"
    assert "Third Party Configuration Token" in result["error"]["resolution"]
    state = state_of(fis, username)
    assert state.dirty and state.last_error is not None and state.attempts == 1
    assert state.next_attempt_at is None  # parked until a person fixes the configuration
    with transaction(fis) as session:
        (run,) = service.list_runs(session, 10)
    assert run["status"] == "stopped" and run["error"]["code"] == "token_or_database_incorrect"


def test_an_edit_made_during_the_push_keeps_the_user_dirty(fis: Factory) -> None:
    username = add_staff(fis)
    read = state_of(fis, username)
    with transaction(fis) as session:  # the edit commits while the push is in flight
        sync_state.mark_dirty(session, read.user_id)
    with transaction(fis) as session:
        done = Result(username, Outcome.CREATED)
        sync_state.record(session, read.user_id, read.version, done, utcnow())
    after = state_of(fis, username)
    assert after.dirty and after.pushed_version == read.version
    assert after.version == read.version + 1


def test_unknown_user_and_missing_setup_are_clear_errors(fis: Factory, live_scim: LiveScim
                                                         ) -> None:
    username = add_staff(fis)
    with pytest.raises(service.SyncNotSetUp, match="Third Party Configuration"):
        service.sync_user(fis, username, "test")
    with pytest.raises(service.SyncNotSetUp):
        service.sync_all(fis, "test")
    configure(fis, live_scim.end_point, live_scim.database, live_scim.token, enabled=False)
    with pytest.raises(service.SyncNotSetUp):
        service.sync_user(fis, username, "test")
    point_at(fis, live_scim)
    with pytest.raises(NotFound):
        service.sync_user(fis, "nobody", "test")


def test_a_system_user_is_never_sent(fis: Factory, live_scim: LiveScim) -> None:
    point_at(fis, live_scim)
    result = service.sync_user(fis, "Admin", "test")
    assert result["outcome"] == "skipped"
    assert result["error"]["message"] == "User sync to SCView failed for: Admin."
    assert live_scim.users() == []


def test_sync_all_reports_each_system_user_as_skipped_and_never_sends_it(
    fis: Factory, live_scim: LiveScim
) -> None:
    point_at(fis, live_scim)
    username = add_staff(fis)
    run = service.sync_all(fis, "test")
    with transaction(fis) as session:
        outcomes = {o["username"]: o for o in service.get_run(session, run["id"])["outcomes"]}
    assert set(outcomes) == {username, *SYSTEM_USERS}
    for name in SYSTEM_USERS:
        assert outcomes[name]["outcome"] == "skipped"
        assert outcomes[name]["error"]["message"] == f"User sync to SCView failed for: {name}."
        assert "verify that the Employee ID" in outcomes[name]["error"]["resolution"]
    assert [u["userName"] for u in live_scim.users()] == [username]


def listing_fails(status: int) -> Callable[[str, str], int | None]:
    """A proxy rule: SCView answers ``status`` to the listing (GET /Users) only."""
    return lambda method, target: status if method == "GET" and "/Users?" in target else None


def test_sync_all_stopped_by_a_500_while_listing_records_the_entry(
    fis: Factory, live_scim: LiveScim
) -> None:
    seed_district(fis, 4)
    with serving(Proxy(live_scim.end_point, before=listing_fails(500))) as url:
        configure(fis, url, live_scim.database, live_scim.token)
        run = service.sync_all(fis, "test")
    assert (run["status"], run["counts"], run["writes"]) == ("stopped", {}, 0)
    assert run["error"]["code"] == "server_error"
    assert run["error"]["message"] == (
        "Response status code does not indicate success: 500 (Internal Server Error).")
    assert run["error"]["resolution"].startswith("The site is down.")
    with transaction(fis) as session:
        assert service.get_run(session, run["id"])["status"] == "stopped"
        assert all(s.dirty for s in session.scalars(select(SyncState)))
    assert live_scim.users() == []


def test_sync_all_against_a_server_that_answers_500_to_everything(fis: Factory) -> None:
    seed_district(fis, 2)
    with serving(answering(500, b"Internal Server Error")) as url:
        configure(fis, url, "district", "token")
        run = service.sync_all(fis, "test")
    assert run["status"] == "stopped" and run["error"]["code"] == "server_error"


def test_sync_all_then_a_repeat_writes_nothing_then_drift_is_repaired(
    fis: Factory, live_scim: LiveScim
) -> None:
    point_at(fis, live_scim)
    count = seed_district(fis, 40)
    seen: list[tuple[int, int]] = []
    first = service.sync_all(fis, "test", progress=lambda d, t: seen.append((d, t)))
    assert first["status"] == "completed" and first["counts"] == {"created": count, **SKIPPED}
    total = count + len(SYSTEM_USERS)
    assert first["writes"] == count and seen[-1] == (total, total)
    with transaction(fis) as session:
        dirty = session.scalars(select(SyncState).where(SyncState.dirty)).all()
    assert dirty == []
    again = service.sync_all(fis, "test")
    assert again["counts"] == {"unchanged": count, **SKIPPED} and again["writes"] == 0
    name, remote = next(iter(by_username(live_scim).items()))
    with live_scim.http() as http:
        drifted = {**remote, "name": {**remote["name"], "givenName": "Drifted"}}
        http.put(f"/Users/{remote['id']}", json=drifted).raise_for_status()
    repaired = service.sync_all(fis, "test")
    assert repaired["counts"] == {"updated": 1, "unchanged": count - 1, **SKIPPED}
    assert by_username(live_scim)[name]["name"]["givenName"] != "Drifted"
    with transaction(fis) as session:
        detail = service.get_run(session, repaired["id"])
    assert [o for o in detail["outcomes"] if o["outcome"] == "updated"] == [
        {"username": name, "outcome": "updated", "changed": ["given_name"], "error": None}
    ]


def test_sync_all_dry_run_plans_and_writes_nothing(fis: Factory, live_scim: LiveScim) -> None:
    point_at(fis, live_scim)
    count = seed_district(fis, 10)
    run = service.sync_all(fis, "test", dry_run=True)
    assert run["dry_run"] and run["counts"] == {"create": count, **SKIPPED} and run["writes"] == 0
    assert live_scim.users() == []
    with transaction(fis) as session:
        assert session.scalars(select(SyncRunUser)).all() == []
        assert all(s.dirty for s in session.scalars(select(SyncState)))


def test_sync_all_stopped_by_configuration_records_one_error(
    fis: Factory, live_scim: LiveScim
) -> None:
    configure(fis, live_scim.end_point, "no-such-district", live_scim.token)
    seed_district(fis, 5)
    run = service.sync_all(fis, "test")
    assert run["status"] == "stopped"
    assert run["error"]["message"] == (
        "Error when FIS Third Party Configuration Token or Database name is incorrect.")
    assert run["counts"] == {}
    with transaction(fis) as session:
        assert all(s.dirty for s in session.scalars(select(SyncState)))


def test_unknown_scview_users_are_reported_and_kept(fis: Factory, live_scim: LiveScim) -> None:
    point_at(fis, live_scim)
    with live_scim.http() as http:
        stranger = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "stranger"}
        http.post("/Users", json=stranger).raise_for_status()
    seed_district(fis, 3)
    run = service.sync_all(fis, "test")
    assert run["unknown"] == ["stranger"] and run["unknown_count"] == 1
    assert "stranger" in by_username(live_scim)


def test_test_connection_reports_ok_or_the_entry(fis: Factory, live_scim: LiveScim) -> None:
    configure(fis, live_scim.end_point, live_scim.database, live_scim.token, enabled=False)
    assert service.test_connection(fis)["ok"] is True
    configure(fis, live_scim.end_point, live_scim.database, "wrong", enabled=False)
    failed = service.test_connection(fis)
    assert failed["ok"] is False and failed["code"] == "token_or_database_incorrect"



def test_an_unchanged_user_with_a_recorded_error_is_cleared_by_sync_all(
    fis: Factory, live_scim: LiveScim
) -> None:
    point_at(fis, live_scim)
    username = add_staff(fis)
    service.sync_all(fis, "test")
    configure(fis, live_scim.end_point, live_scim.database, "wrong-token")
    assert service.sync_user(fis, username, "test")["outcome"] == "failed"
    assert state_of(fis, username).last_error is not None
    point_at(fis, live_scim)
    run = service.sync_all(fis, "test")
    assert run["counts"] == {"unchanged": 1, **SKIPPED}
    state = state_of(fis, username)
    assert state.last_error is None and state.attempts == 0 and not state.dirty


def sent_values(factory: Factory, username: str) -> dict[str, Any]:
    """What a push of ``username`` sends now (``UserSnapshot.as_dict()``)."""
    with transaction(factory) as session:
        snap = users.snapshot(session, users.get(session, username))
    assert snap is not None
    return snap.as_dict()


def test_sync_all_keeps_the_values_it_wrote_as_each_users_last_synced(
    fis: Factory, live_scim: LiveScim
) -> None:
    point_at(fis, live_scim)
    with transaction(fis) as session:
        made = [staff.add(session, staff_data(first_name=name, email=f"{name}@district.org"))
                for name in ("ada", "grace", "edsger")]
        ada, grace, edsger = [(m.staff_id, m.user.username) for m in made if m.user]
    assert service.sync_all(fis, "test")["counts"]["created"] == 3
    for _, username in (ada, grace, edsger):
        assert state_of(fis, username).last_synced == sent_values(fis, username)
    before = state_of(fis, grace[1])
    with transaction(fis) as session:
        staff.update(session, ada[0], {"first_name": "Augusta"})
    again = service.sync_all(fis, "test")
    assert again["counts"] == {"updated": 1, "unchanged": 2, **SKIPPED}
    updated = state_of(fis, ada[1])
    assert updated.last_synced == sent_values(fis, ada[1])
    assert updated.last_synced["first_name"] == "Augusta" and not updated.dirty
    unchanged = state_of(fis, grace[1])  # in sync already: its state is not written again
    assert (unchanged.last_synced, unchanged.last_synced_at) == (
        before.last_synced, before.last_synced_at)

"""Sync all against a live SCIM server: writes only what differs, repairs drift."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from staffsync.sync import catalogue as c
from staffsync.sync.executor import execute, sync_all
from staffsync.sync.mapping import ENTERPRISE, to_scim
from staffsync.sync.plan import make_plan
from staffsync.sync.scim_client import ScimClient, Target
from tests.sync.conftest import LiveScim
from tests.sync.factories import snapshot
from tests.sync.faults import Proxy, serving

STAFF = 60
SERVERS = {
    "bulk": {},
    "small bulk batches": {"bulk": {"maxOperations": 7, "maxPayloadSize": 4000}},
    "no bulk: concurrent requests": {"bulk": {"supported": False}},
    "no bulk, no patch": {"bulk": {"supported": False}, "patch": {"supported": False}},
}


@pytest.fixture(params=SERVERS)
def live(request: pytest.FixtureRequest, make_live_scim: Callable[..., LiveScim]) -> LiveScim:
    return make_live_scim(**SERVERS[request.param])


def district(**changes_of: dict) -> list:
    return [snapshot(n, **changes_of.get(f"user{n}", {})) for n in range(STAFF)]


def test_initial_sync_then_a_repeat_is_a_no_op(live: LiveScim) -> None:
    seen: list[tuple[int, int]] = []
    with live.client() as client:
        _, first = sync_all(district(), client, progress=lambda done, total: seen.append((done,
                                                                                          total)))
        _, again = sync_all(district(), client)
    assert first.counts() == {"created": STAFF} and first.writes == STAFF
    assert seen[-1] == (STAFF, STAFF)
    assert again.counts() == {"unchanged": STAFF}
    assert again.writes == 0 and again.stopped is None
    assert len(live.users()) == STAFF


def test_drift_made_in_scview_is_repaired(live: LiveScim) -> None:
    with live.client() as client:
        sync_all(district(), client)
        by_name = {u["userName"]: u["id"] for u in live.users()}
        with live.http() as http:
            drifted = {**to_scim(snapshot(3)), "name": {"givenName": "X", "familyName": "Y"}}
            http.put(f"/Users/{by_name['user3']}", json=drifted).raise_for_status()
            no_phone = {k: v for k, v in to_scim(snapshot(4)).items() if k != "phoneNumbers"}
            http.put(f"/Users/{by_name['user4']}", json=no_phone).raise_for_status()
        _, report = sync_all(district(user5={"phone": None, "phone_type": None}), client)
        _, after = sync_all(district(user5={"phone": None, "phone_type": None}), client)
    changed = {r.username: r.changed for r in report.results if r.outcome == "updated"}
    assert changed == {
        "user3": ("given_name", "family_name"),
        "user4": ("phone", "phone_type"),
        "user5": ("phone", "phone_type"),
    }
    assert report.writes == 3 and after.writes == 0
    user5 = next(u for u in live.users() if u["userName"] == "user5")
    assert "phoneNumbers" not in user5


def test_unknown_users_are_reported_never_deleted(live_scim: LiveScim) -> None:
    with live_scim.http() as http:
        stranger = {**to_scim(snapshot(500)), "userName": "stranger", "externalId": None}
        http.post("/Users", json=stranger).raise_for_status()
    with live_scim.client() as client:
        _, report = sync_all(district(), client)
    assert report.unknown == ["stranger"]
    assert "stranger" in {u["userName"] for u in live_scim.users()}


def test_dry_run_writes_nothing(live_scim: LiveScim) -> None:
    with live_scim.client() as client:
        plan, report = sync_all(district(), client, dry_run=True)
    assert plan.counts() == {"create": STAFF} and report.writes == 0
    assert live_scim.users() == []


def test_one_bad_user_never_stops_the_run(live: LiveScim) -> None:
    with live.http() as http:
        held = {**to_scim(snapshot(900)), "userName": "user7"}
        http.post("/Users", json=held).raise_for_status()
    fis = [*district(), snapshot(70, username="user1")]  # duplicate userName inside FIS
    with live.client() as client:
        _, report = sync_all(fis, client)
    failed = {r.username: r.error for r in report.results if r.outcome == "failed"}
    assert set(failed) == {"user7", "user1"}
    assert all(isinstance(e, c.UsernameConflict) for e in failed.values())
    assert report.counts()["created"] == STAFF - 1
    assert report.stopped is None


@pytest.mark.parametrize("write", ["POST", "PATCH"])
def test_a_configuration_failure_while_writing_stops_the_run_once(
    make_live_scim: Callable[..., LiveScim], write: str
) -> None:
    """Reads pass, every write gets 401 (the token lost its write rights mid-run)."""
    live = make_live_scim(bulk={"supported": False})
    with live.client() as client:
        sync_all(district()[:10], client)
    proxy = Proxy(live.end_point, before=lambda method, path: 401 if method == write else None)
    changed = [snapshot(n, first_name="New") for n in range(STAFF)]
    with serving(proxy) as url, ScimClient(Target(url, live.database, live.token)) as client:
        _, report = sync_all(changed, client, workers=2)
    assert isinstance(report.stopped, c.TokenOrDatabaseIncorrect)
    assert not [r for r in report.results if r.outcome == "failed"]
    assert len(report.results) < STAFF


def test_sync_all_adopts_by_employee_id(live_scim: LiveScim) -> None:
    existing = {**to_scim(snapshot(1)), "externalId": None, "userName": "someone"}
    with live_scim.http() as http:
        http.post("/Users", json=existing).raise_for_status()
    with live_scim.client() as client:
        _, report = sync_all([snapshot(1)], client)
    assert report.results[0].changed == ("external_id", "user_name")
    (user,) = live_scim.users()
    assert (user["userName"], user[ENTERPRISE]["employeeNumber"]) == ("user1", "10001")


def test_a_user_deleted_in_scview_after_planning_is_created_again(live: LiveScim) -> None:
    changed = district(user3={"first_name": "Grace"})
    with live.client() as client:
        sync_all(district(), client)
        plan = make_plan(changed, client.iter_users())
        (user3,) = [u for u in live.users() if u["userName"] == "user3"]
        with live.http() as http:
            http.delete(f"/Users/{user3['id']}").raise_for_status()
        report = execute(plan, client)
    assert [(r.username, r.outcome) for r in report.results if r.outcome != "unchanged"] == [
        ("user3", "created")
    ]
    assert {u["userName"]: u["name"]["givenName"] for u in live.users()}["user3"] == "Grace"

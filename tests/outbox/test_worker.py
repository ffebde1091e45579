"""The worker against a live SCView over loopback, on both backends: latency, coalescing,
transient and permanent failures, the tenant breaker, a poison user, reconciliation."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from email.utils import formatdate
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import phones, sync_state, users
from staffsync.fis.models import SyncRun
from staffsync.kit.db import transaction
from staffsync.sync import service
from staffsync.sync.mapping import comparable_of_scim, comparable_of_snapshot, differing
from staffsync.sync.scim_client import Target
from staffsync.sync.snapshot import UserSnapshot
from staffsync.sync.worker import Worker, WorkerConfig, in_background
from tests.outbox.conftest import QUIET, Clock, configure, mismatches
from tests.outbox.factories import add_staff, drain, edit, state_of
from tests.outbox.scview_faults import LiveScview, http, scview_users


def eventually(check: Callable[[], bool], within: float) -> float:
    """Seconds until ``check()`` held; fails after ``within`` seconds."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < within, "did not happen in time"
        time.sleep(0.01)
    return time.monotonic() - started


def given_name(target: Target, username: str) -> str | None:
    with http(target) as client:
        found = client.get("/Users", params={"filter": f'userName eq "{username}"'}).json()
    resources = found.get("Resources") or []
    return resources[0]["name"]["givenName"] if resources else None


def test_an_edit_is_in_scview_within_a_second(fis: sessionmaker[Session], fis_url: str,
                                              target: Target) -> None:
    staff_id, username = add_staff(fis)
    with in_background(fis_url, QUIET):
        eventually(lambda: given_name(target, username) is not None, within=5)
        for name in ("Beth", "Cora", "Dina"):
            edit(fis, staff_id, first_name=name)
            waited = eventually(lambda n=name: given_name(target, username) == n, within=5)
            assert waited < 1.0
    assert mismatches(fis, target) == []


def test_edits_made_while_scview_is_down_coalesce_into_one_push(
        fis: sessionmaker[Session], scview: LiveScview, target: Target, clock: Clock,
        new_worker: Callable[..., Worker]) -> None:
    worker = new_worker()
    staff_id, username = add_staff(fis)
    drain(worker, clock)
    scview.down()
    try:
        for n in range(10):
            edit(fis, staff_id, first_name=f"Name{n}")
            worker.run_once()
    finally:
        scview.up()
    before = len(scview.faulty.writes())
    drain(worker, clock)
    assert len(scview.faulty.writes()) == before + 1  # one PATCH, with the latest values
    assert given_name(target, username) == "Name9"
    assert mismatches(fis, target) == []


def test_scview_down_pauses_the_tenant_with_one_error_then_recovers(
        fis: sessionmaker[Session], scview: LiveScview, target: Target, clock: Clock,
        new_worker: Callable[..., Worker], caplog: pytest.LogCaptureFixture) -> None:
    worker = new_worker()
    names = [add_staff(fis)[1] for _ in range(6)]
    scview.down()
    try:
        with caplog.at_level(logging.INFO, logger="staffsync.worker"):
            for _ in range(8):  # rounds, probes included, while SCView stays down
                worker.run_once()
                clock.advance(120)
        paused = [r for r in caplog.records if "User sync paused" in r.getMessage()]
        assert len(paused) == 1 and "service is down" in paused[0].getMessage().lower()
        assert worker.health.error and worker.health.error["code"] == "service_down"
        for name in names:  # each user is pending, not failed: the error is the tenant's
            state = state_of(fis, name)
            assert state.dirty and state.last_error is None and state.lease_owner is None
    finally:
        scview.up()
    drain(worker, clock)
    assert worker.health.open_until is None
    assert any("resumed" in r.getMessage() for r in caplog.records)
    assert mismatches(fis, target) == []


def test_a_wrong_token_pauses_the_tenant_until_the_configuration_is_fixed(
        fis: sessionmaker[Session], target: Target, clock: Clock,
        new_worker: Callable[..., Worker]) -> None:
    worker = new_worker()
    username = add_staff(fis)[1]
    configure(fis, target.end_point, target.database, "not-the-token")
    for _ in range(3):
        worker.run_once()
    assert worker.health.error and worker.health.error["code"] == "token_or_database_incorrect"
    assert worker.health.open_until is not None
    assert state_of(fis, username).dirty
    configure(fis, target.end_point, target.database, target.token)
    worker.run_once()  # a new configuration starts with a closed breaker
    assert not state_of(fis, username).dirty
    assert mismatches(fis, target) == []


def test_a_500_is_retried_with_backoff(fis: sessionmaker[Session], scview: LiveScview,
                                       target: Target, clock: Clock,
                                       new_worker: Callable[..., Worker]) -> None:
    worker = new_worker()
    username = add_staff(fis)[1]
    scview.faulty.mode = "500"
    before = clock()
    worker.run_once()
    state = state_of(fis, username)
    assert state.last_error and state.last_error["code"] == "server_error"
    assert state.dirty and state.attempts == 1
    assert state.next_attempt_at and before <= state.next_attempt_at <= clock() + timedelta(
        seconds=1)  # full jitter under a 1 s ceiling for the first failure
    worker.run_once()
    worker.run_once()
    assert state_of(fis, username).attempts >= 1
    scview.faulty.mode = None
    drain(worker, clock)
    state = state_of(fis, username)
    assert not state.dirty and state.last_error is None and state.attempts == 0
    assert mismatches(fis, target) == []


@pytest.mark.parametrize("form", ["seconds", "http date"])
def test_a_429_waits_at_least_retry_after(form: str, fis: sessionmaker[Session],
                                          scview: LiveScview, target: Target, clock: Clock,
                                          new_worker: Callable[..., Worker]) -> None:
    worker = new_worker()
    username = add_staff(fis)[1]
    # An HTTP date has whole seconds: 31 s ahead is at least 30 s ahead.
    after = "30" if form == "seconds" else formatdate(time.time() + 31, usegmt=True)
    scview.faulty.mode, scview.faulty.retry_after = "429", after
    worker.run_once()
    state = state_of(fis, username)
    assert state.last_error and state.last_error["code"] == "rate_limited"
    assert state.next_attempt_at and state.next_attempt_at >= clock() + timedelta(seconds=29)
    worker.run_once()  # not due yet: nothing is sent
    assert state_of(fis, username).attempts == 1
    scview.faulty.mode = None
    drain(worker, clock)
    assert mismatches(fis, target) == []


def test_a_username_conflict_parks_the_user_until_the_record_is_fixed(
        fis: sessionmaker[Session], scview: LiveScview, target: Target, clock: Clock,
        new_worker: Callable[..., Worker]) -> None:
    worker = new_worker()
    staff_id, username = add_staff(fis)
    with http(target) as client:  # someone else already holds that userName in SCView
        taken = client.post("/Users", json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": username, "externalId": "someone-else"}).raise_for_status().json()
    for _ in range(3):
        clock.advance(3600)
        worker.run_once()
    state = state_of(fis, username)
    assert state.last_error and state.last_error["code"] == "username_conflict"
    assert state.attempts == 1 and state.next_attempt_at is None  # parked: tried once
    with http(target) as client:
        client.delete(f"/Users/{taken['id']}").raise_for_status()
    clock.advance(3600)
    worker.run_once()
    assert state_of(fis, username).attempts == 1  # still parked: nobody fixed the record
    edit(fis, staff_id, first_name="Fixed")  # a person saves the record again
    worker.run_once()
    assert state_of(fis, username).last_error is None
    assert mismatches(fis, target) == []


@pytest.mark.parametrize(("fault", "code"), [("502", "service_down"), ("slow", "service_down")])
def test_a_poison_user_never_delays_the_others(fault: str, code: str,
                                               fis: sessionmaker[Session], fis_url: str,
                                               scview: LiveScview, target: Target) -> None:
    poison = add_staff(fis)[1]
    # Every request about this user fails at the server: a 502, or an answer that comes
    # after the worker's request timeout (a 500 is the same case to the worker).
    scview.faulty.poison, scview.faulty.poison_fault, scview.faulty.slow = poison, fault, 3.0
    others = [add_staff(fis) for _ in range(5)]
    config = WorkerConfig(reconcile_every=None, concurrency=4, timeout=1.0)
    with in_background(fis_url, config) as worker:
        eventually(lambda: len(scview_users(target)) == 5, within=10)
        for staff_id, username in others:
            edit(fis, staff_id, first_name="Again")
            assert eventually(lambda u=username: given_name(target, u) == "Again", 5) < 1.0
        eventually(lambda: state_of(fis, poison).last_error is not None, within=10)
        assert worker.health.open_until is None  # the tenant never paused
    state = state_of(fis, poison)
    assert state.dirty and state.attempts >= 1 and state.last_error
    assert state.last_error["code"] == code and state.next_attempt_at is not None
    with transaction(fis) as session:
        assert sync_state.tenant_error(session) is None


def test_a_failure_after_an_edit_in_flight_leaves_the_edit_due(
        fis: sessionmaker[Session], scview: LiveScview, target: Target, clock: Clock,
        new_worker: Callable[..., Worker]) -> None:
    worker = new_worker()
    staff_id, username = add_staff(fis)
    scview.faulty.mode = "hold"  # the POST waits at SCView's door
    pushing = threading.Thread(target=worker.run_once)
    pushing.start()
    eventually(lambda: scview.faulty.held >= 1, within=10)
    edit(fis, staff_id, first_name="Edited")  # a person saves the record meanwhile
    scview.faulty.mode = "409"  # ... and the held POST is refused: a permanent failure
    pushing.join()
    state = state_of(fis, username)  # the failure is of the old values: nothing parked
    assert state.dirty and state.last_error is None and state.attempts == 0
    assert state.next_attempt_at is not None and state.next_attempt_at <= clock()
    scview.faulty.mode = None
    worker.run_once()
    assert given_name(target, username) == "Edited" and not state_of(fis, username).dirty


def sent_values(fis: sessionmaker[Session], username: str) -> dict[str, Any]:
    with transaction(fis) as session:
        snapshot = users.snapshot(session, users.get(session, username))
    assert snapshot is not None
    return snapshot.as_dict()


@pytest.mark.parametrize("path", ["worker", "run sync"])
def test_a_push_records_exactly_the_values_it_sent(
        path: str, fis: sessionmaker[Session], target: Target, clock: Clock,
        new_worker: Callable[..., Worker]) -> None:
    staff_id, username = add_staff(fis)
    with transaction(fis) as session:
        phones.add(session, staff_id, {"phone": "5702465970", "primary": True})
    if path == "worker":
        drain(new_worker(), clock)
    else:
        assert service.sync_user(fis, username, "page")["outcome"] == "created"
    state = state_of(fis, username)
    assert state.last_synced == sent_values(fis, username)
    assert state.last_synced["phone"] == "+15702465970"
    assert "ssn" not in {key.lower() for key in state.last_synced}
    held = UserSnapshot(**state.last_synced)
    assert differing(comparable_of_snapshot(held), comparable_of_scim(scview_users(target)[0])) \
        == ()


def test_the_last_synced_values_are_the_ones_sent_not_a_later_edit(
        fis: sessionmaker[Session], scview: LiveScview, target: Target, clock: Clock,
        new_worker: Callable[..., Worker]) -> None:
    worker = new_worker()
    staff_id, username = add_staff(fis, first_name="Before")
    sent = sent_values(fis, username)
    scview.faulty.mode = "hold"
    pushing = threading.Thread(target=worker.run_once)
    pushing.start()
    eventually(lambda: scview.faulty.held >= 1, within=10)
    edit(fis, staff_id, first_name="After")
    scview.faulty.mode = None  # the held POST lands, with the values read before the edit
    pushing.join()
    state = state_of(fis, username)
    assert state.last_synced == sent and state.dirty  # "After" is still to be pushed
    assert state.pushed_version == state.version - 1


def test_a_lost_answer_is_pushed_again_without_a_duplicate(
        fis: sessionmaker[Session], scview: LiveScview, target: Target, clock: Clock,
        new_worker: Callable[..., Worker]) -> None:
    worker = new_worker()
    names = [add_staff(fis)[1] for _ in range(3)]
    scview.faulty.mode = "lose"  # the POSTs land; the answers are lost
    worker.run_once()
    assert all(state_of(fis, name).dirty for name in names)
    scview.faulty.mode = None
    drain(worker, clock)
    assert len(scview_users(target)) == 3
    assert mismatches(fis, target) == []


def test_scheduled_reconciliation_repairs_drift_once_per_interval(
        fis: sessionmaker[Session], target: Target, clock: Clock,
        new_worker: Callable[..., Worker]) -> None:
    config = WorkerConfig(reconcile_every=timedelta(seconds=1), concurrency=2)
    workers = [new_worker(config) for _ in range(2)]
    username = add_staff(fis)[1]
    drain(workers[0], clock)
    user = scview_users(target)[0]
    with http(target) as client:  # someone changes SCView behind the sync's back
        client.patch(f"/Users/{user['id']}", json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "name.givenName", "value": "Drift"}],
        }).raise_for_status()
    clock.offset = timedelta()  # runs are stamped in real time: back to it
    time.sleep(1.1)  # an interval has passed since the workers started
    threads = [threading.Thread(target=w._reconcile) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert given_name(target, username) != "Drift"
    assert mismatches(fis, target) == []
    with transaction(fis) as session:
        runs = session.scalars(select(SyncRun).where(SyncRun.trigger == "schedule")).all()
    assert len(runs) == 1 and runs[0].status == "completed"
    workers[0].maybe_reconcile()  # the last run is recent: nothing starts
    assert workers[0]._reconciler is None


def test_a_long_push_keeps_its_lease(fis: sessionmaker[Session], scview: LiveScview,
                                     target: Target, clock: Clock,
                                     new_worker: Callable[..., Worker]) -> None:
    short = WorkerConfig(reconcile_every=None, concurrency=2, lease=timedelta(seconds=0.6))
    first, second = new_worker(short), new_worker(short)
    username = add_staff(fis)[1]
    scview.faulty.mode = "hold"  # the write takes longer than a lease
    pushing = threading.Thread(target=first.run_once)
    pushing.start()
    eventually(lambda: scview.faulty.held >= 1, within=10)
    time.sleep(1.5)  # two and a half leases: renewed all along, so still the first's
    state = state_of(fis, username)
    assert state.lease_owner == first.owner and state.lease_expires_at
    assert state.lease_expires_at > clock()
    assert second.run_once().claimed == 0  # nobody takes over a push that is alive
    scview.faulty.mode = None
    pushing.join()
    assert not state_of(fis, username).dirty and state_of(fis, username).lease_owner is None
    assert len(scview.faulty.writes()) == 1 and mismatches(fis, target) == []


def test_a_poison_user_cannot_pin_the_probe(fis: sessionmaker[Session], scview: LiveScview,
                                            target: Target, clock: Clock,
                                            new_worker: Callable[..., Worker]) -> None:
    poison = add_staff(fis)[1]  # the oldest due row, first in line for every probe
    others = [add_staff(fis)[1] for _ in range(3)]
    scview.faulty.poison, scview.faulty.poison_fault = poison, "502"
    worker = new_worker()
    scview.down()
    try:
        for _ in range(3):
            worker.run_once()
        assert worker.health.open_until is not None  # SCView is down: the tenant paused
    finally:
        scview.up()  # back, but still failing for the poison user
    for _ in range(4):  # probes: a failed probe goes to the back of the queue
        clock.advance(120)
        worker.run_once()
        if worker.health.open_until is None:
            break
    assert worker.health.open_until is None
    clock.advance(120)
    worker.run_once()  # the tenant pushes again; the poison user backs off alone
    assert all(not state_of(fis, name).dirty for name in others)
    assert state_of(fis, poison).dirty

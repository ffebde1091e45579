"""Four workers on PostgreSQL drain 2,000 dirty users while HR keeps editing: every user
is pushed, SCView ends exactly as FIS, and no user is ever pushed by two workers at once
(each request is stamped at SCView's doorway with the worker that sent it)."""

from __future__ import annotations

import itertools
import json
import random
import time
from collections import defaultdict
from contextlib import ExitStack

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import users
from staffsync.fis.models import SyncState
from staffsync.kit.db import transaction
from staffsync.sync.scim_client import Target
from staffsync.sync.worker import WorkerConfig, in_background
from tests.outbox.conftest import mismatches
from tests.outbox.factories import edit, staff_ids
from tests.outbox.scview_faults import Hit, LiveScview, scview_users
from tests.sync_run.conftest import seed_district

STAFF = 2_095  # the seed gives about 95% an email: with this seed, exactly 2,000 users
WORKERS = 4


@pytest.fixture(scope="module", params=["postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only: several workers share an outbox there (SQLite has one worker)."""
    return str(request.param)


def outstanding(fis: sessionmaker[Session]) -> int:
    with transaction(fis) as session:
        query = select(func.count()).where(
            SyncState.dirty | SyncState.lease_owner.is_not(None))
        return session.scalar(query) or 0


def test_four_workers_share_the_outbox_without_pushing_a_user_twice_at_once(
        fis: sessionmaker[Session], fis_url: str, scview: LiveScview, target: Target) -> None:
    user_count = seed_district(fis, STAFF)
    assert user_count == 2_000
    config = WorkerConfig(reconcile_every=None, concurrency=4, batch=50)
    rng = random.Random(5)
    with ExitStack() as stack:
        for _ in range(WORKERS):
            stack.enter_context(in_background(fis_url, config))
        for staff_id in rng.sample(staff_ids(fis), 60):  # edits while the workers run
            edit(fis, staff_id, first_name=f"Edited{rng.randrange(1000)}")
        deadline = time.monotonic() + 120
        while outstanding(fis):
            assert time.monotonic() < deadline, "the workers did not drain the outbox"
            time.sleep(0.2)
    assert mismatches(fis, target) == []
    hits = scview.faulty.hits
    agents = {h.agent for h in hits if h.agent.startswith("staffsync-worker/")}
    assert len(agents) == WORKERS  # all four took part
    per_user = pushes_per_user(fis, target, hits)
    assert len(per_user) == user_count  # each user was pushed
    posts = [h for h in hits if h.method == "POST"]
    assert len(posts) == user_count  # created once each: no duplicate, no lost answer
    for key, intervals in per_user.items():
        intervals.sort()
        for (_, end, who), (start, _, other) in itertools.pairwise(intervals):
            assert end <= start, f"{key} pushed by {who} and {other} at the same time"


def pushes_per_user(fis: sessionmaker[Session], target: Target,
                    hits: list[Hit]) -> dict[str, list[tuple[float, float, str]]]:
    """``staff key -> [(start, end, worker)]`` of each push. A push is one worker's run of
    requests about one user, from its externalId lookup up to its next one."""
    key_of = keys_by_value(fis, target)
    requests: dict[tuple[str, str], list[Hit]] = defaultdict(list)
    for hit in sorted(hits, key=lambda h: h.started):
        key = user_key(hit, key_of)
        if key is not None:
            requests[(key, hit.agent)].append(hit)
    pushes: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for (key, agent), seen in requests.items():
        for push in split_at_lookups(seen):
            pushes[key].append((push[0].started, push[-1].ended, agent))
    return pushes


def split_at_lookups(seen: list[Hit]) -> list[list[Hit]]:
    runs: list[list[Hit]] = []
    for hit in seen:
        if hit.query.startswith("externalId eq") or not runs:
            runs.append([])
        runs[-1].append(hit)
    return runs


def keys_by_value(fis: sessionmaker[Session], target: Target) -> dict[str, str]:
    """Every value a request may name a user by (SCView id, userName, Employee ID) ->
    the user's staff key."""
    with transaction(fis) as session:
        snapshots = list(users.iter_snapshots(session))
    found = {s.username.lower(): s.staff_key for s in snapshots}
    found |= {s.staff_id: s.staff_key for s in snapshots if s.staff_id}
    found |= {u["id"]: u["externalId"] for u in scview_users(target)}
    return found


def user_key(hit: Hit, key_of: dict[str, str]) -> str | None:
    if hit.query:  # attribute eq "value"
        value = json.loads(hit.query.split(" eq ", 1)[1])
        return value if hit.query.startswith("externalId") else key_of.get(value.lower(),
                                                                           key_of.get(value))
    if hit.method == "POST":
        return str(json.loads(hit.body)["externalId"])
    if hit.method in ("PATCH", "PUT"):
        return key_of.get(hit.path.rsplit("/", 1)[-1])
    return None

"""Carry out a reconciliation plan: write only what differs, and report every user.

Writes go through /Bulk when the server advertises it (batches bounded by maxOperations
and maxPayloadSize), otherwise through a bounded pool of concurrent requests. One bad
user never stops the run; a configuration-level failure (wrong token, database or End
Point, DNS, service down) stops it once, with that one error in ``RunReport.stopped``;
so does any failure of the listing (a 500 or 429 on /ServiceProviderConfig or /Users),
since without SCView's state there is no plan.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

from staffsync.sync.catalogue import (
    DEFAULT_SYSTEM_USERS,
    ConfigurationError,
    Rejected,
    SyncError,
    UserGone,
)
from staffsync.sync.mapping import patch_operations, patch_request, to_scim
from staffsync.sync.plan import WRITES, Action, Plan, Planner, Step
from staffsync.sync.push import Outcome, Result, push_user, update
from staffsync.sync.scim_client import BulkResult, ScimClient
from staffsync.sync.snapshot import UserSnapshot

Progress = Callable[[int, int], None]  # (users done, users in the run)
BULK_ENVELOPE = 200  # bytes a BulkRequest adds around its operations, rounded up
DEFAULT_WORKERS = 8


@dataclass
class RunReport:
    """The outcome of a sync all: one ``Result`` per FIS user that was decided."""

    total: int = 0
    results: list[Result] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    stopped: SyncError | None = None
    writes: int = 0  # write operations sent to SCView (a bulk batch counts each operation)

    def counts(self) -> Counter[str]:
        return Counter(result.outcome.value for result in self.results)


_OUTCOME_OF = {Action.UNCHANGED: Outcome.UNCHANGED, Action.SKIPPED: Outcome.SKIPPED}


def result_of(step: Step) -> Result:
    """The result of a step that needs no write."""
    return Result(step.username, _OUTCOME_OF.get(step.action, Outcome.FAILED), error=step.error)


def write_step(step: Step, client: ScimClient) -> Result:
    """One planned create or update as its own request(s)."""
    assert step.snapshot is not None  # the plan keeps a snapshot on every write step
    try:
        if step.action is Action.CREATE:
            client.create(to_scim(step.snapshot))
            return Result(step.username, Outcome.CREATED)
        assert step.remote_id is not None
        update(client, step.remote_id, step.snapshot, step.changed)
        return Result(step.username, Outcome.UPDATED, step.changed)
    except UserGone:  # deleted in SCView since we listed it: push afresh
        return push_user(step.snapshot, client)
    except SyncError as error:
        return Result(step.username, Outcome.FAILED, step.changed, error)


class Run:
    """The mutable side of one execution: results, the progress callback, the stop."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.report = RunReport(total=total)
        self.progress = progress
        self.done = 0

    def record(self, results: Iterable[Result]) -> None:
        for result in results:
            self.report.results.append(result)
            self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.report.total)

    def stop(self, error: SyncError) -> None:
        if self.report.stopped is None:
            self.report.stopped = error


def execute(
    plan: Plan,
    client: ScimClient,
    *,
    progress: Progress | None = None,
    workers: int = DEFAULT_WORKERS,
) -> RunReport:
    run = Run(len(plan.steps), progress)
    run.report.unknown = list(plan.unknown)
    writes = plan.writes
    run.record(result_of(step) for step in plan.steps if step.action not in WRITES)
    try:
        if writes and client.capabilities().bulk:
            bulk_writes(writes, client, run)
        elif writes:
            concurrent_writes(writes, client, run, workers)
    except SyncError as error:  # a configuration error, or /ServiceProviderConfig failed
        run.stop(error)
    return run.report


def sync_all(
    snapshots: Iterable[UserSnapshot],
    client: ScimClient,
    *,
    system_users: Iterable[str] = DEFAULT_SYSTEM_USERS,
    system_accounts: Iterable[str] = (),
    dry_run: bool = False,
    progress: Progress | None = None,
    workers: int = DEFAULT_WORKERS,
) -> tuple[Plan, RunReport]:
    """Read SCView's users, plan against FIS's snapshots, then (unless dry) execute.

    FIS's snapshots are read in a thread while SCView's pages arrive: the two reads are
    independent. Once FIS is read, each arriving SCView user that surely matches a FIS
    user decides that user's step (``Planner``) while the next pages are on their way;
    the rest, whose match may be on any page, are decided when the last page is in.
    """
    planner = Planner(system_users, system_accounts)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            fis = pool.submit(list, snapshots)
            for user in client.iter_users():
                planner.add_remote(user)
                if planner.snapshots is None and fis.done():
                    planner.add_fis(fis.result())
            if planner.snapshots is None:
                planner.add_fis(fis.result())
            plan = planner.plan()
    except SyncError as error:  # the listing failed (500, 429, 401, refused...): no plan
        return Plan(), RunReport(stopped=error)
    if dry_run:
        return plan, RunReport(total=len(plan.steps), unknown=list(plan.unknown))
    return plan, execute(plan, client, progress=progress, workers=workers)


# -- concurrent requests ----------------------------------------------------------------


def concurrent_writes(steps: list[Step], client: ScimClient, run: Run, workers: int) -> None:
    """At most ``workers`` requests in flight; after a configuration error, send no more."""
    halt = threading.Event()

    def one(step: Step) -> Result | None:
        if halt.is_set():
            return None
        result = write_step(step, client)
        if result.error is not None and result.error.stops_run:
            halt.set()
        return result

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(one, steps):
            if result is None:
                continue
            if result.error is not None and result.error.stops_run:
                run.stop(result.error)
                continue
            run.report.writes += 1
            run.record([result])


# -- /Bulk --------------------------------------------------------------------------------


def bulk_operation(bulk_id: str, step: Step, patch: bool) -> dict[str, Any]:
    """The BulkRequest operation for one planned write (RFC 7644 3.7)."""
    assert step.snapshot is not None
    if step.action is Action.CREATE:
        return {"method": "POST", "bulkId": bulk_id, "path": "/Users",
                "data": to_scim(step.snapshot)}
    path = f"/Users/{step.remote_id}"
    if patch:
        data = patch_request(patch_operations(step.snapshot, step.changed))
        return {"method": "PATCH", "bulkId": bulk_id, "path": path, "data": data}
    data = {"id": step.remote_id, **to_scim(step.snapshot)}
    return {"method": "PUT", "bulkId": bulk_id, "path": path, "data": data}


def batches(
    sized: Iterable[tuple[Any, int]], max_operations: int, max_payload_size: int
) -> Iterator[list[Any]]:
    """Group items (each with its JSON size in bytes) into batches for /Bulk.

    A batch holds at most ``max_operations`` items and ``BULK_ENVELOPE + sum(size + 1)``
    is at most ``max_payload_size`` (0 means no byte limit). An item too big on its own
    still goes alone, so the server can refuse it and only that user fails.
    """
    batch: list[Any] = []
    used = BULK_ENVELOPE
    for item, size in sized:
        too_big = max_payload_size and used + size + 1 > max_payload_size
        if batch and (len(batch) >= max_operations or too_big):
            yield batch
            batch, used = [], BULK_ENVELOPE
        batch.append(item)
        used += size + 1
    if batch:
        yield batch


def bulk_writes(steps: list[Step], client: ScimClient, run: Run) -> None:
    caps = client.capabilities()
    ops = ((bulk_operation(str(i), step, caps.patch), step) for i, step in enumerate(steps))
    sized = ((pair, len(orjson.dumps(pair[0]))) for pair in ops)  # as the client sends it
    for batch in batches(sized, caps.max_operations, caps.max_payload_size):
        if not send_batch(batch, client, run):
            return


def send_batch(batch: list[tuple[dict[str, Any], Step]], client: ScimClient, run: Run) -> bool:
    """Send one batch; False when the run must stop."""
    usernames = {op["bulkId"]: step.username for op, step in batch}
    try:
        answers = {a.bulk_id: a for a in client.bulk([op for op, _ in batch], usernames)}
    except ConfigurationError:
        raise  # stops the whole run (caught once in ``execute``)
    except SyncError as error:  # the whole batch was refused (500, 413, ...)
        run.record(Result(s.username, Outcome.FAILED, s.changed, error) for _, s in batch)
        return True
    run.report.writes += len(batch)
    results = [bulk_outcome(op, step, answers.get(op["bulkId"]), client) for op, step in batch]
    stopping = next((r.error for r in results if r.error and r.error.stops_run), None)
    run.record(r for r in results if not (r.error and r.error.stops_run))
    if stopping is not None:
        run.stop(stopping)
    return stopping is None


def bulk_outcome(
    op: dict[str, Any], step: Step, answer: BulkResult | None, client: ScimClient
) -> Result:
    if answer is None:
        missing = Rejected(0, "No answer", "the BulkResponse has no result for this user")
        return Result(step.username, Outcome.FAILED, step.changed, missing)
    if isinstance(answer.error, UserGone):
        assert step.snapshot is not None
        return push_user(step.snapshot, client)
    if answer.error is not None:
        return Result(step.username, Outcome.FAILED, step.changed, answer.error)
    outcome = Outcome.CREATED if op["method"] == "POST" else Outcome.UPDATED
    return Result(step.username, outcome, step.changed)

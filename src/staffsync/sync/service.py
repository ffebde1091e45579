"""Run the user sync from FIS: one user, or all users as a reconciliation, recorded as
sync history (``SyncRun``/``SyncRunUser``) and in each user's ``SyncState``.

The transaction rule (STYLE.md): a short transaction reads what the push needs (the
snapshot, the sync state ``version``, the Third Party Configuration); no transaction is
open while SCView is called; a new transaction records the outcome, clearing ``dirty``
only where ``version`` is unchanged, so an edit made during the push is not lost.
The Users and Edit User pages, the API and the CLI all call these functions.

Callers must not hold a transaction of their own while calling ``sync_user``,
``sync_all`` or ``test_connection`` (e.g. a route's session dependency): that would be a
transaction open across the HTTP calls, and on SQLite (``BEGIN IMMEDIATE``) it blocks
the recording transaction until the busy timeout.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import parameters, sync_state, third_party, users
from staffsync.fis.models import SyncRun, SyncRunUser, User, utcnow
from staffsync.kit.collector import fewer_collections
from staffsync.kit.db import read_only, transaction
from staffsync.kit.errors import NotFound, StaffsyncError
from staffsync.kit.settings import get_settings
from staffsync.sync import executor
from staffsync.sync.catalogue import ConfigurationError, SyncError, SystemUser
from staffsync.sync.executor import Progress, RunReport
from staffsync.sync.plan import Plan
from staffsync.sync.push import Outcome, Result, push_user
from staffsync.sync.scim_client import ScimClient, Target, check_connection
from staffsync.sync.snapshot import UserSnapshot

UNKNOWN_KEPT = 1000  # SCView users unknown to FIS listed in a run record (all are counted)
RECORD_BATCH = 2000


class SyncNotSetUp(StaffsyncError):
    """User Sync is not set up. Enter the End Point, Token and Database name in System >
    Directories > Third Party Configuration and enable it, then run the sync again."""

    status = 409
    code = "sync_not_set_up"


class RunNotFound(NotFound):
    """No sync run has that id."""


@dataclass(frozen=True)
class Settings:
    """What a push needs from FIS, read in one short transaction."""

    target: Target
    system_users: frozenset[str]
    timeout: float  # seconds per SCIM request (STAFFSYNC_SCIM_TIMEOUT)


def _settings(session: Session, *, enabled_only: bool = True) -> Settings:
    conn = third_party.connection(session, enabled_only=enabled_only)
    if conn is None:
        raise SyncNotSetUp()
    target = Target(conn.end_point, conn.database_name, conn.token)
    names = parameters.system_usernames(session) or {"admin", "scview", "csiu"}
    return Settings(target, frozenset(names), get_settings().scim_timeout)


# -- one user -----------------------------------------------------------------------------


def sync_user(factory: sessionmaker[Session], username: str, trigger: str) -> dict[str, Any]:
    """Push one user now (Edit User > Run Sync). Returns ``{"run_id", "username",
    "outcome", "changed", "error"}``; raises ``NotFound`` or ``SyncNotSetUp``."""
    with transaction(factory) as session:
        user = users.get(session, username)
        settings = _settings(session)
        snap = users.snapshot(session, user)
        version = user.sync_state.version if user.sync_state else None
        user_id, name = user.id, user.username
    result = _push_one(snap, name, settings)
    with transaction(factory) as session:
        run_id = _record_one(session, trigger, user_id, version, result, snap)
    return {"run_id": run_id, **result.as_dict()}


def _push_one(snap: UserSnapshot | None, username: str, settings: Settings) -> Result:
    if snap is None:  # a system user: it has no staff record and is never sent
        return Result(username, Outcome.SKIPPED, error=SystemUser(username))
    try:
        with ScimClient(settings.target, timeout=settings.timeout) as client:
            return push_user(snap, client, settings.system_users)
    except SyncError as error:  # the client refused the End Point or Database name
        return Result(username, Outcome.FAILED, error=error)


def _record_one(session: Session, trigger: str, user_id: int, version: int | None,
                result: Result, sent: UserSnapshot | None) -> int:
    now = utcnow()
    stopping = result.error if isinstance(result.error, ConfigurationError) else None
    run = SyncRun(scope="one", trigger=trigger, status="stopped" if stopping else "completed",
                  started_at=now, finished_at=now, total=1,
                  summary={"counts": {result.outcome.value: 1}, "unknown": [],
                           "unknown_count": 0, "writes": int(result.outcome in _WRITTEN)},
                  error=stopping.as_dict() if stopping else None)
    session.add(run)
    session.flush()
    session.execute(insert(SyncRunUser), [_outcome_row(run.id, result)])
    if version is not None:
        sync_state.record(session, user_id, version, result, now, sent)
    return run.id


_WRITTEN = frozenset({Outcome.CREATED, Outcome.UPDATED})


def _outcome_row(run_id: int, result: Result) -> dict[str, Any]:
    return {"run_id": run_id, "username": result.username, "outcome": result.outcome.value,
            "changed": list(result.changed),
            "error": result.error.as_dict() if result.error else None}


# -- all users ----------------------------------------------------------------------------


def sync_all(
    factory: sessionmaker[Session],
    trigger: str,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Users > Run Sync: reconcile every FIS user with SCView; the run as a dict."""
    return run_all(factory, trigger, dry_run, progress)[0]


def run_all(
    factory: sessionmaker[Session],
    trigger: str,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], Plan, RunReport]:
    """``sync_all`` with the plan and report too (the CLI prints them as tables)."""
    with fewer_collections():
        return _run_all(factory, trigger, dry_run, progress)


def _run_all(
    factory: sessionmaker[Session], trigger: str, dry_run: bool, progress: Progress | None
) -> tuple[dict[str, Any], Plan, RunReport]:
    with transaction(factory) as session:
        settings = _settings(session)
        accounts = list(session.scalars(select(User.username).where(User.staff_pk.is_(None))))
        run = SyncRun(scope="all", trigger=trigger, dry_run=dry_run, status="running")
        session.add(run)
        session.flush()
        run_id = run.id
    tracked: dict[str, tuple[int, int, bool]] = {}
    try:
        plan, report = _reconcile(factory, settings, accounts, tracked, dry_run, progress)
    except BaseException:  # a bug or Ctrl-C: the run must not stay "running" forever
        with transaction(factory) as session:
            session.get_one(SyncRun, run_id).status = "aborted"
        raise
    with transaction(factory) as session:
        _record_all(session, run_id, plan, report, tracked, dry_run)
        view = run_view(session, run_id)
    if dry_run:  # the plan user by user: who would be created or updated, which fields
        view["steps"] = [step.as_dict() for step in plan.changes]
    return view, plan, report


def _reconcile(factory: sessionmaker[Session], settings: Settings, accounts: list[str],
               tracked: dict[str, tuple[int, int, bool]], dry_run: bool,
               progress: Progress | None) -> tuple[Plan, RunReport]:
    """``accounts``: FIS's system users, reported as skipped and never sent."""
    try:
        client = ScimClient(settings.target, timeout=settings.timeout)
    except ConfigurationError as error:
        return Plan(), RunReport(stopped=error)
    with client:
        snapshots = _snapshots(factory, tracked)
        return executor.sync_all(snapshots, client, system_users=settings.system_users,
                                 system_accounts=accounts, dry_run=dry_run,
                                 progress=progress)


def _snapshots(factory: sessionmaker[Session],
               tracked: dict[str, tuple[int, int, bool]]) -> Iterator[UserSnapshot]:
    """Every FIS user's snapshot, streamed in keyset batches, filling ``tracked``.

    Lazy on purpose: ``executor.sync_all`` reads it in a thread while SCView's pages
    arrive (the transaction waits on FIS only, never on SCView) and it closes (by
    exhaustion) before any write is sent. Each version is read by the same statement
    as its user's values: an edit committed later leaves the row dirty (pushed again),
    never lost. Read-only: on SQLite, HR's edits do not wait on the read.
    """
    with read_only(factory) as session:
        yield from users.iter_snapshots(session, tracked=tracked)


def _record_all(session: Session, run_id: int, plan: Plan, report: RunReport,
                tracked: dict[str, tuple[int, int, bool]], dry_run: bool) -> None:
    run = session.get_one(SyncRun, run_id)
    run.finished_at = utcnow()
    run.status = "stopped" if report.stopped else "completed"
    run.error = report.stopped.as_dict() if report.stopped else None
    counts = plan.counts() if dry_run else report.counts()
    run.total = len(plan.steps)
    run.summary = {"counts": dict(counts), "unknown": report.unknown[:UNKNOWN_KEPT],
                   "unknown_count": len(report.unknown), "writes": report.writes}
    session.flush()  # the run's row first: recording the results expires the session
    if not dry_run:
        sent = {step.username: step.snapshot for step in plan.writes}
        _record_results(session, run_id, report.results, tracked, run.finished_at, sent)


def _record_results(session: Session, run_id: int, results: list[Result],
                    tracked: dict[str, tuple[int, int, bool]], now: datetime,
                    sent: dict[str, UserSnapshot | None]) -> None:
    """Each user's outcome in the run, and in its sync state, in bounded batches.

    ``sent``: the values written for each user the plan created or updated, kept as the
    user's ``last_synced`` (as the worker and Run Sync keep it)."""
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO sync_run_user (run_id, username, outcome, changed, error) "
           f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})")
    stream = iter(results)
    while batch := list(islice(stream, RECORD_BATCH)):
        # One driver-level executemany with the JSON written here: per-row ORM and type
        # processing cost more than the insert itself in a run of 10,000 unchanged users.
        connection.exec_driver_sql(sql, [_outcome_values(run_id, r) for r in batch])
        sync_state.record_many(session, _to_record(batch, tracked, sent), now)


_NOTHING = ("[]", "null")  # the JSON of ``changed`` and ``error`` for most outcomes


def _outcome_values(run_id: int, result: Result) -> tuple[Any, ...]:
    if not result.changed and result.error is None:
        return (run_id, result.username, result.outcome.value, *_NOTHING)
    error = result.error.as_dict() if result.error else None
    return (run_id, result.username, result.outcome.value, json.dumps(list(result.changed)),
            json.dumps(error))


def _to_record(results: list[Result], tracked: dict[str, tuple[int, int, bool]],
               sent: dict[str, UserSnapshot | None]) -> Iterator[sync_state.Pushed]:
    """The outcomes that change a sync state: all but "unchanged" for a row in sync.
    A user created or updated keeps the values sent; an unchanged one keeps what its
    state holds (``record_many`` leaves it when still of that version)."""
    for result in results:
        found = tracked.get(result.username.lower())
        if found is None:
            continue
        user_id, version, in_sync = found
        if not (in_sync and result.outcome is Outcome.UNCHANGED):
            written = sent.get(result.username) if result.outcome in _WRITTEN else None
            yield sync_state.pushed_of(user_id, version, result, written)


# -- Test Connection ----------------------------------------------------------------------


def test_connection(factory: sessionmaker[Session]) -> dict[str, Any]:
    """Third Party Configuration > Test Connection on the saved settings (enabled or not):
    ``{"ok": True, "bulk": ..., ...}`` or ``{"ok": False, **catalogue entry}``."""
    with transaction(factory) as session:
        settings = _settings(session, enabled_only=False)
    try:
        caps = check_connection(settings.target, timeout=settings.timeout)
    except SyncError as error:
        return {"ok": False, **error.as_dict()}
    return {"ok": True, "bulk": caps.bulk, "patch": caps.patch, "filter": caps.filter}


# -- history ------------------------------------------------------------------------------


def run_view(session: Session, run_id: int) -> dict[str, Any]:
    """A run as the API shows it, without its per-user outcomes."""
    run = session.get(SyncRun, run_id)
    if run is None:
        raise RunNotFound()
    summary = run.summary or {}
    return {
        "id": run.id, "scope": run.scope, "trigger": run.trigger, "dry_run": run.dry_run,
        "status": run.status, "started_at": run.started_at, "finished_at": run.finished_at,
        "total": run.total, "counts": summary.get("counts", {}),
        "writes": summary.get("writes", 0), "unknown": summary.get("unknown", []),
        "unknown_count": summary.get("unknown_count", 0), "error": run.error,
    }


def get_run(session: Session, run_id: int) -> dict[str, Any]:
    """A run with each user's outcome (``outcomes``)."""
    view = run_view(session, run_id)
    rows = session.scalars(
        select(SyncRunUser).where(SyncRunUser.run_id == run_id).order_by(SyncRunUser.id)
    )
    view["outcomes"] = [
        {"username": r.username, "outcome": r.outcome, "changed": r.changed or [],
         "error": r.error}
        for r in rows
    ]
    return view


def list_runs(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    """The newest runs first."""
    ids = session.scalars(select(SyncRun.id).order_by(SyncRun.id.desc()).limit(limit))
    return [run_view(session, run_id) for run_id in ids]


def error_status(error: dict[str, Any] | None) -> int:
    """The HTTP status of a catalogue entry dict (200 when there is none)."""
    if error is None:
        return 200
    return _STATUS_OF_CODE.get(error["code"], 502)


def _subclasses(cls: type[SyncError]) -> Iterator[type[SyncError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


_STATUS_OF_CODE = {
    cls.entry.code: cls.status for cls in _subclasses(SyncError) if "entry" in vars(cls)
}

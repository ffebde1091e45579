"""The per-user sync state (DESIGN.md, "The sync state"): FIS writes and marks it; the
sync worker claims, pushes and clears it.

Contract with the worker: a row is *due* when ``dirty`` and ``next_attempt_at <= now``
(the ``ix_sync_state_due`` partial index covers exactly that). Every mark bumps
``version``; the worker clears ``dirty`` only where ``version`` still equals the version
it pushed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import (
    JSON,
    Table,
    and_,
    bindparam,
    case,
    func,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from staffsync.fis.models import SyncHealth, SyncState, User, utcnow
from staffsync.sync.backoff import Backoff
from staffsync.sync.push import Result
from staffsync.sync.snapshot import UserSnapshot

Status = Literal["pending", "synced", "failed"]


def start(session: Session, user: User) -> SyncState:
    """A new user's state: dirty, version 1, due now."""
    state = SyncState(user=user, dirty=True, version=1, next_attempt_at=utcnow())
    session.add(state)
    notify_due(session)
    return state


def mark_dirty(session: Session, user_id: int, now: datetime | None = None) -> None:
    """Mark a user's synced values changed, in the caller's transaction.

    Bumps ``version`` in SQL (never read-modify-write) and makes the row due now with
    ``attempts`` reset: a person just changed the record, so a row parked by a failure
    such as "Missing Required fields" gets its retry straight away.
    """
    stmt = (
        update(SyncState)
        .where(SyncState.user_id == user_id)
        .values(
            dirty=True,
            version=SyncState.version + 1,
            attempts=0,
            next_attempt_at=now or utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(stmt)
    _expire_loaded(session, user_id)
    notify_due(session)


DUE_CHANNEL = "staffsync_sync_due"


def notify_due(session: Session) -> None:
    """Wake the PostgreSQL workers (``LISTEN staffsync_sync_due``) when this transaction
    commits; once per transaction. PostgreSQL delivers a NOTIFY only on commit and drops
    it on rollback, so a worker is never woken for an edit that did not happen. SQLite
    workers poll instead."""
    if session.get_bind().dialect.name != "postgresql":
        return
    marker = session.get_transaction()
    if session.info.get(DUE_CHANNEL) is marker:
        return
    session.execute(text(f"NOTIFY {DUE_CHANNEL}"))
    session.info[DUE_CHANNEL] = marker


def _expire_loaded(session: Session, user_id: int) -> None:
    # The UPDATE bypassed the identity map; a loaded copy would show stale values.
    loaded = session.identity_map.get(session.identity_key(SyncState, user_id))
    if loaded is not None:
        session.expire(loaded)


def status(state: SyncState | None) -> Status:
    """``failed`` while a last error is recorded, else ``pending`` while dirty (or never
    tracked), else ``synced``."""
    if state is None:
        return "pending"
    if state.last_error:
        return "failed"
    return "pending" if state.dirty else "synced"


def describe(state: SyncState | None) -> dict[str, Any]:
    """What the Users screen and API show about a user's sync."""
    if state is None:
        return {"status": "pending", "dirty": False, "version": 0, "last_error": None,
                "last_synced_at": None, "attempts": 0, "next_attempt_at": None}
    return {
        "status": status(state),
        "dirty": state.dirty,
        "version": state.version,
        "last_error": state.last_error,
        "last_synced_at": state.last_synced_at,
        "attempts": state.attempts,
        "next_attempt_at": state.next_attempt_at,
    }


@dataclass(frozen=True, slots=True)
class Pushed:
    """One push outcome to record: the state ``version`` read before the push, what
    happened (``outcome`` as in ``sync.push.Outcome``, ``error`` a catalogue entry
    dict), and ``snapshot``, the values sent (``UserSnapshot.as_dict()``; None when the
    caller does not know them)."""

    user_id: int
    version: int
    outcome: str
    changed: tuple[str, ...] = ()
    error: dict[str, Any] | None = None
    retry_after: float | None = None
    snapshot: dict[str, Any] | None = None


SUCCESS = frozenset({"created", "updated", "unchanged"})
BACKOFF = Backoff()


def record(session: Session, user_id: int, pushed_version: int, result: Result,
           now: datetime, snapshot: UserSnapshot | None = None) -> None:
    """Record one push outcome in the user's sync state (the worker's and Run Sync's step)."""
    record_many(session, [pushed_of(user_id, pushed_version, result, snapshot)], now)


def pushed_of(user_id: int, version: int, result: Result,
              snapshot: UserSnapshot | None = None) -> Pushed:
    error = result.error
    return Pushed(user_id, version, result.outcome.value, result.changed,
                  error.as_dict() if error else None, getattr(error, "retry_after", None),
                  snapshot.as_dict() if snapshot else None)


def record_many(session: Session, pushed: Iterable[Pushed], now: datetime,
                owner: str | None = None) -> None:
    """Record push outcomes, one executemany UPDATE per kind.

    Success: ``pushed_version = v``, ``last_synced_at = now``, ``last_synced`` the
    values sent, errors and attempts reset, and ``dirty`` cleared only where
    ``version`` is still ``v`` (an edit made during the push keeps the row dirty, so it
    is pushed again). Failure, only where ``version`` is still ``v`` (a newer edit may
    be the fix: it stays due as ``mark_dirty`` left it) and, given an ``owner``, only
    where that worker still holds the lease: ``last_error`` set, ``attempts + 1``; a
    retryable entry is due again after ``BACKOFF``, a permanent one is parked
    (``next_attempt_at`` NULL) until a person changes the record.
    """
    done: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for item in pushed:
        if item.outcome not in SUCCESS:
            failed.append(_failed_row(session, item, now, owner))
        else:
            (done if item.snapshot is not None else kept).append(_done_row(item, now))
    for statement, rows in ((_DONE, done), (_DONE_UNKNOWN, kept),
                            (_FAILED_LEASED if owner else _FAILED, failed)):
        if rows:
            session.connection().execute(statement, rows)
    session.expire_all()  # the UPDATEs bypassed the identity map


def _done_row(item: Pushed, now: datetime) -> dict[str, Any]:
    row = {"uid": item.user_id, "v": item.version, "now": now}
    return row | ({"synced": item.snapshot} if item.snapshot is not None else {})


def _failed_row(session: Session, item: Pushed, now: datetime,
                owner: str | None) -> dict[str, Any]:
    retryable = bool(item.error and item.error.get("retryable"))
    attempts = _attempts(session, item.user_id) + 1
    due = BACKOFF.next_attempt(now, attempts, item.retry_after) if retryable else None
    row = {"uid": item.user_id, "v": item.version, "error": item.error, "due": due}
    return row | ({"owner": owner} if owner else {})


def _attempts(session: Session, user_id: int) -> int:
    found = session.scalar(select(SyncState.attempts).where(SyncState.user_id == user_id))
    return found or 0


_table = cast(Table, SyncState.__table__)
_SUCCESS_VALUES: dict[str, Any] = {
    "dirty": case((_table.c.version == bindparam("v"), False), else_=_table.c.dirty),
    "pushed_version": bindparam("v"),
    "last_synced_at": bindparam("now", type_=_table.c.last_synced_at.type),
    "last_error": null(),  # SQL NULL: a bare None would store JSON 'null'
    "attempts": 0,
}
_DONE = (
    _table.update()
    .where(_table.c.user_id == bindparam("uid"))
    .values(**_SUCCESS_VALUES, last_synced=bindparam("synced", type_=JSON))
)
# Values not known (a sync all): the stored snapshot still holds when it is of this
# same version (SET reads the row as it was), else nothing is known.
_DONE_UNKNOWN = (
    _table.update()
    .where(_table.c.user_id == bindparam("uid"))
    .values(**_SUCCESS_VALUES, last_synced=case(
        (_table.c.pushed_version == bindparam("v"), _table.c.last_synced), else_=null()))
)
_FAILED = (
    _table.update()
    .where(_table.c.user_id == bindparam("uid"), _table.c.version == bindparam("v"))
    .values(
        last_error=bindparam("error", type_=JSON),
        attempts=_table.c.attempts + 1,
        next_attempt_at=bindparam("due", type_=_table.c.next_attempt_at.type),
    )
)
_FAILED_LEASED = _FAILED.where(_table.c.lease_owner == bindparam("owner"))


# -- the tenant's health (one row: SyncHealth id 1) -------------------------------------

CONFIGURATION_CODES = frozenset({
    "service_down", "name_not_resolved", "token_or_database_incorrect", "end_point_incorrect",
})


def tenant_error(session: Session) -> dict[str, Any] | None:
    """The tenant-wide error the workers recorded (a catalogue entry dict), or None."""
    return session.scalar(select(SyncHealth.error).where(SyncHealth.id == 1))


def health_generation(session: Session) -> int:
    """Which saved configuration the health is about (bumped by every save)."""
    return session.scalar(select(SyncHealth.generation).where(SyncHealth.id == 1)) or 0


def report_tenant_error(session: Session, generation: int, error: dict[str, Any],
                        now: datetime) -> None:
    """Record a tenant-wide error, unless the configuration was saved since the worker
    read ``generation`` (the error would be about the old settings)."""
    session.execute(
        update(SyncHealth)
        .where(SyncHealth.id == 1, SyncHealth.generation == generation)
        .values(error=error, since=func.coalesce(SyncHealth.since, now))
        .execution_options(synchronize_session=False)
    )


def clear_tenant_error(session: Session) -> None:
    """SCView answers again: the tenant-wide error is over."""
    session.execute(
        update(SyncHealth)
        .where(SyncHealth.id == 1, SyncHealth.error.is_not(None))
        .values(error=null(), since=None)
        .execution_options(synchronize_session=False)
    )


def configuration_saved(session: Session, now: datetime | None = None) -> None:
    """Third Party Configuration was saved: the tenant's error is cleared (a new
    generation), and the users parked by a configuration-level error, or held back
    while the tenant was failing, are due again now."""
    session.execute(
        update(SyncHealth)
        .where(SyncHealth.id == 1)
        .values(generation=SyncHealth.generation + 1, error=null(), since=None)
        .execution_options(synchronize_session=False)
    )
    code = SyncState.last_error["code"].as_string()
    session.execute(
        update(SyncState)
        # Also the rows the tenant's breaker held back (pending, with no error).
        .where(SyncState.dirty,
               or_(SyncState.last_error.is_(None), code.in_(CONFIGURATION_CODES)))
        .values(next_attempt_at=now or utcnow(), attempts=0)
        .execution_options(synchronize_session=False)
    )
    notify_due(session)


# A tracked row for which recording an "unchanged" outcome would change nothing: clean,
# pushed at this version, no error.
IN_SYNC = and_(~SyncState.dirty, SyncState.pushed_version == SyncState.version,
               SyncState.last_error.is_(None))

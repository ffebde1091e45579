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

from sqlalchemy import JSON, Table, and_, bindparam, case, null, select, text, update
from sqlalchemy.orm import Session

from staffsync.fis.models import SyncState, User, utcnow
from staffsync.sync.backoff import Backoff
from staffsync.sync.push import Result

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
    """One push outcome to record: the state ``version`` read before the push, and what
    happened (``outcome`` as in ``sync.push.Outcome``, ``error`` a catalogue entry dict)."""

    user_id: int
    version: int
    outcome: str
    changed: tuple[str, ...] = ()
    error: dict[str, Any] | None = None
    retry_after: float | None = None


SUCCESS = frozenset({"created", "updated", "unchanged"})
BACKOFF = Backoff()


def record(session: Session, user_id: int, pushed_version: int, result: Result,
           now: datetime) -> None:
    """Record one push outcome in the user's sync state (the worker's and Run Sync's step)."""
    record_many(session, [pushed_of(user_id, pushed_version, result)], now)


def pushed_of(user_id: int, version: int, result: Result) -> Pushed:
    error = result.error
    return Pushed(user_id, version, result.outcome.value, result.changed,
                  error.as_dict() if error else None, getattr(error, "retry_after", None))


def record_many(session: Session, pushed: Iterable[Pushed], now: datetime) -> None:
    """Record push outcomes, one executemany UPDATE per kind.

    Success: ``pushed_version = v``, ``last_synced_at = now``, errors and attempts reset,
    and ``dirty`` cleared only where ``version`` is still ``v`` (an edit made during the
    push keeps the row dirty, so it is pushed again). Failure: ``last_error`` set,
    ``attempts + 1``; a retryable entry is due again after ``BACKOFF`` (the row stays as
    dirty as it was), a permanent one is parked (``next_attempt_at`` NULL) until a person
    changes the record (``mark_dirty`` makes it due again).
    """
    done: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for item in pushed:
        if item.outcome in SUCCESS:
            done.append(_done_row(item, now))
        else:
            failed.append(_failed_row(session, item, now))
    if done:
        session.connection().execute(_DONE, done)
    if failed:
        session.connection().execute(_FAILED, failed)
    session.expire_all()  # the UPDATEs bypassed the identity map


def _done_row(item: Pushed, now: datetime) -> dict[str, Any]:
    synced = {"outcome": item.outcome, "changed": list(item.changed)}
    return {"uid": item.user_id, "v": item.version, "now": now, "synced": synced}


def _failed_row(session: Session, item: Pushed, now: datetime) -> dict[str, Any]:
    retryable = bool(item.error and item.error.get("retryable"))
    attempts = _attempts(session, item.user_id) + 1
    due = BACKOFF.next_attempt(now, attempts, item.retry_after) if retryable else None
    return {"uid": item.user_id, "error": item.error, "due": due}


def _attempts(session: Session, user_id: int) -> int:
    found = session.scalar(select(SyncState.attempts).where(SyncState.user_id == user_id))
    return found or 0


_table = cast(Table, SyncState.__table__)
_DONE = (
    _table.update()
    .where(_table.c.user_id == bindparam("uid"))
    .values(
        dirty=case((_table.c.version == bindparam("v"), False), else_=_table.c.dirty),
        pushed_version=bindparam("v"),
        last_synced_at=bindparam("now", type_=_table.c.last_synced_at.type),
        last_synced=bindparam("synced", type_=JSON),
        last_error=null(),  # SQL NULL: a bare None would store JSON 'null'
        attempts=0,
    )
)
_FAILED = (
    _table.update()
    .where(_table.c.user_id == bindparam("uid"))
    .values(
        last_error=bindparam("error", type_=JSON),
        attempts=_table.c.attempts + 1,
        next_attempt_at=bindparam("due", type_=_table.c.next_attempt_at.type),
    )
)


def versions(session: Session) -> dict[str, tuple[int, int, bool]]:
    """``username_key -> (user_id, version, in_sync)`` for every tracked user, streamed
    from the database (never ORM objects). ``in_sync``: clean, pushed at this version,
    no error; recording an "unchanged" outcome for such a row would change nothing."""
    in_sync = and_(~SyncState.dirty, SyncState.pushed_version == SyncState.version,
                   SyncState.last_error.is_(None))
    query = select(User.username_key, SyncState.user_id, SyncState.version, in_sync).join(
        SyncState, SyncState.user_id == User.id
    )
    rows = session.execute(query.execution_options(yield_per=2000))
    return {key: (user_id, version, bool(clean)) for key, user_id, version, clean in rows}

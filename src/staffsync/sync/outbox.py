"""The outbox's SQL: claim due sync states as leases, read their snapshots, release them.

Each function takes a ``Session`` and never commits: the worker loop runs each in its
own short transaction, and never holds one across a push.

A row is *claimable* when it is due (``dirty`` and ``next_attempt_at <= now``; a parked
row has ``next_attempt_at`` NULL, so it is never claimable until ``mark_dirty``) and its
lease is free or expired. On PostgreSQL the claim is ``FOR UPDATE SKIP LOCKED``, so
concurrent workers take disjoint rows without waiting on each other; SQLite ignores the
locking clause, and its ``BEGIN IMMEDIATE`` serializes claims instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from staffsync.fis import users
from staffsync.fis.models import SyncState
from staffsync.sync.snapshot import UserSnapshot


@dataclass(frozen=True, slots=True)
class Claim:
    """One claimed user: the ``version`` its snapshot was read at (``None``: no snapshot,
    e.g. its staff record is gone)."""

    user_id: int
    version: int
    snapshot: UserSnapshot | None


def _claimable(now: datetime) -> ColumnElement[bool]:
    lease_free = or_(SyncState.lease_expires_at.is_(None), SyncState.lease_expires_at <= now)
    return and_(SyncState.dirty, SyncState.next_attempt_at <= now, lease_free)


def claim(session: Session, owner: str, now: datetime, lease: timedelta,
          limit: int) -> list[Claim]:
    """Lease up to ``limit`` due rows to ``owner`` (oldest due first) and read each one's
    version and current snapshot, in the caller's (short) transaction."""
    due = (
        select(SyncState.user_id, SyncState.version)
        .where(_claimable(now))
        .order_by(SyncState.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    versions: dict[int, int] = {uid: v for uid, v in session.execute(due)}
    if not versions:
        return []
    session.execute(
        update(SyncState)
        .where(SyncState.user_id.in_(versions))
        .values(lease_owner=owner, lease_expires_at=now + lease)
        .execution_options(synchronize_session=False)
    )
    snapshots = users.snapshots_of(session, list(versions))
    return [Claim(uid, v, snapshots.get(uid)) for uid, v in versions.items()]


def release(session: Session, owner: str, user_ids: list[int],
            due: datetime | None = None) -> None:
    """Give back ``owner``'s leases on ``user_ids`` (a lease taken over by another worker
    after expiry is that worker's, and is left alone). ``due``: not claimable before
    then (the tenant's breaker is open), which also sends a failed probe to the back of
    the queue, so that one user cannot be the probe every time."""
    values: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
    if due is not None:
        values["next_attempt_at"] = due
    session.execute(
        update(SyncState)
        .where(SyncState.user_id.in_(user_ids), SyncState.lease_owner == owner)
        .values(values)
        .execution_options(synchronize_session=False)
    )


def renew(session: Session, owner: str, user_ids: list[int], until: datetime) -> None:
    """Extend ``owner``'s leases on ``user_ids`` (pushes still in flight) to ``until``."""
    session.execute(
        update(SyncState)
        .where(SyncState.user_id.in_(user_ids), SyncState.lease_owner == owner)
        .values(lease_expires_at=until)
        .execution_options(synchronize_session=False)
    )


def any_due(session: Session, now: datetime) -> bool:
    """Whether a row is claimable now: the idle worker's read-only check."""
    return bool(session.scalar(select(exists().where(_claimable(now)))))


def due_count(session: Session, now: datetime) -> int:
    """How many rows are claimable now (the tests' and the benchmark's "drained" check)."""
    return session.scalar(select(func.count()).where(_claimable(now))) or 0

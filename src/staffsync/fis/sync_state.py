"""The per-user sync state (DESIGN.md, "The sync state"): FIS writes and marks it; the
sync worker claims, pushes and clears it.

Contract with the worker: a row is *due* when ``dirty`` and ``next_attempt_at <= now``
(the ``ix_sync_state_due`` partial index covers exactly that). Every mark bumps
``version``; the worker clears ``dirty`` only where ``version`` still equals the version
it pushed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.orm import Session

from staffsync.fis.models import SyncState, User, utcnow

Status = Literal["pending", "synced", "failed"]


def start(session: Session, user: User) -> SyncState:
    """A new user's state: dirty, version 1, due now."""
    state = SyncState(user=user, dirty=True, version=1, next_attempt_at=utcnow())
    session.add(state)
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

"""Plain-function HR edits through the FIS services, each in its own transaction (as a
request would make them), and a helper that drains the outbox on a movable clock."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import staff
from staffsync.fis.models import Staff, SyncState, User
from staffsync.kit.db import transaction
from staffsync.sync.worker import Worker
from tests.fis.conftest import staff_data

_numbers = itertools.count(1)


def add_staff(fis: sessionmaker[Session], **overrides: Any) -> tuple[str, str]:
    """Add a staff member with an email (so a user, due for sync); ``(staff_id, username)``."""
    n = next(_numbers)
    data = {"first_name": f"Ann{n}", "last_name": f"Lee{n}", "email": f"ann{n}@example.org"}
    with transaction(fis) as session:
        added = staff.add(session, staff_data(**(data | overrides)))
        return added.staff_id, added.user.username


def edit(fis: sessionmaker[Session], staff_id: str, **values: Any) -> None:
    """Edit Demographics (``first_name=...``, ``email=...``, ``staff_status=...``)."""
    with transaction(fis) as session:
        staff.update(session, staff_id, values)


def state_of(fis: sessionmaker[Session], username: str) -> SyncState:
    with transaction(fis) as session:
        query = select(SyncState).join(User).where(User.username_key == username.lower())
        return session.scalars(query).one()


def staff_ids(fis: sessionmaker[Session]) -> list[str]:
    with transaction(fis) as session:
        return list(session.scalars(select(Staff.staff_id).order_by(Staff.id)))


def waiting(session: Session) -> int:
    """Dirty rows that will be due some time (parked ones never will, until an edit)."""
    query = select(func.count()).where(SyncState.dirty, SyncState.next_attempt_at.is_not(None))
    return session.scalar(query) or 0


def drain(worker: Worker, clock: Any, rounds: int = 50) -> None:
    """Run rounds until nothing is waiting, moving the clock past backoffs and breakers."""
    for _ in range(rounds):
        clock.advance(3600)
        worker.run_once()
        with transaction(worker.factory) as session:
            if waiting(session) == 0:
                return
    raise AssertionError("the outbox did not drain")

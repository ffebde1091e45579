"""System > Directories > Users, and the snapshots the sync reads.

A staff member has a user exactly when they have an email (``staff.py`` enforces it).
System users (Admin, SCView, CSIU, from the first migration) have no staff and no
snapshot, and are never synced.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from sqlalchemy.orm import Session, aliased, selectinload

from staffsync.fis import parameters, sync_state, usernames
from staffsync.fis.models import Staff, StaffPhone, StaffStatus, SyncState, User
from staffsync.kit.errors import InvalidInput, NotFound
from staffsync.sync.snapshot import UserSnapshot


class UserNotFound(NotFound):
    """No user has that username."""


def _snapshot_select() -> Select[*tuple[Any, ...]]:
    primary = aliased(StaffPhone)
    return (
        select(
            User.id, User.username, Staff.key, Staff.staff_id, Staff.first_name,
            Staff.last_name, Staff.email, primary.phone, primary.type, Staff.staff_status,
        )
        .join(Staff, User.staff_pk == Staff.id)
        .outerjoin(primary, and_(primary.staff_pk == Staff.id, primary.is_primary))
    )


def _to_snapshot(row: tuple[Any, ...]) -> UserSnapshot:
    (_id, username, key, staff_id, first, last, email, phone, phone_type, status) = row
    return UserSnapshot(
        staff_key=key, username=username, staff_id=staff_id, first_name=first,
        last_name=last, email=email, phone=phone, phone_type=phone_type,
        active=status == StaffStatus.active,
    )


def snapshot(session: Session, user: User) -> UserSnapshot | None:
    """The user's synced values as they are now in this transaction (None: no staff)."""
    session.flush()
    row = session.execute(_snapshot_select().where(User.id == user.id)).one_or_none()
    return None if row is None else _to_snapshot(tuple(row))


def _staff_snapshot(session: Session, staff_pk: int) -> tuple[int, UserSnapshot] | None:
    session.flush()
    row = session.execute(_snapshot_select().where(Staff.id == staff_pk)).one_or_none()
    return None if row is None else (row[0], _to_snapshot(tuple(row)))


def snapshots_of(session: Session, user_ids: list[int]) -> dict[int, UserSnapshot]:
    """``user id -> snapshot`` of the given staff users (system users have none)."""
    rows = session.execute(_snapshot_select().where(User.id.in_(user_ids)))
    return {row[0]: _to_snapshot(tuple(row)) for row in rows}


Tracked = dict[str, tuple[int, int, bool]]  # username_key -> (user_id, version, in_sync)


def iter_snapshots(
    session: Session, batch_size: int = 500, tracked: Tracked | None = None
) -> Iterator[UserSnapshot]:
    """Every staff user's snapshot, in user id order, ``batch_size`` rows per query.

    Keyset pagination (``WHERE user.id > last``) keeps memory flat and each query cheap
    however large the district is. Given ``tracked``, each user's sync state goes into
    it, read by the same statement as the values, so each version is the one of the
    values read (an edit committed after it leaves the row dirty: pushed again).
    """
    columns = (SyncState.version, sync_state.IN_SYNC) if tracked is not None else ()
    query = _snapshot_select().add_columns(*columns).order_by(User.id).limit(batch_size)
    if tracked is not None:
        query = query.outerjoin(SyncState, SyncState.user_id == User.id)
    last = 0
    while True:
        # plain rows from the connection: no ORM loading
        rows = session.connection().execute(query.where(User.id > last)).all()
        for row in rows:
            if tracked is not None and row[10] is not None:
                tracked[row[1].lower()] = (row[0], row[10], bool(row[11]))
            yield _to_snapshot(tuple(row)[:10])
        if len(rows) < batch_size:
            return
        last = rows[-1][0]


@contextmanager
def tracking(session: Session, staff: Staff) -> Iterator[None]:
    """Mark the staff's user dirty if the body changed a synced value.

    The snapshot is read before and after the body in the caller's transaction, so the
    mark commits (or rolls back) together with the write. A user created by the body
    is already due (``create_for_staff``), so only a user that existed before is marked.
    """
    before = _staff_snapshot(session, staff.id)
    yield
    after = _staff_snapshot(session, staff.id)
    if before is not None and after is not None and before[1] != after[1]:
        sync_state.mark_dirty(session, after[0])


def create_for_staff(session: Session, staff: Staff, username: str | None) -> User:
    """Create the staff member's user: the generated username when Auto Assign Staff
    Username is true, else ``username`` (already checked), with its sync state due now."""
    params = parameters.load(session)
    if params.auto_assign_username:
        username = generate(session, params.username_pattern, staff.first_name, staff.last_name)
    assert username, "staff.py checks that a hand-entered username is present"
    user = User(username=username, staff=staff, is_system=False)
    session.add(user)
    sync_state.start(session, user)
    session.flush()
    return user


def generate(session: Session, pattern: str, first_name: str, last_name: str) -> str:
    """The pattern's username made unique against users and system usernames."""
    candidate = usernames.base(pattern, first_name, last_name)
    taken = session.scalars(
        select(User.username_key).where(User.username_key.startswith(candidate, autoescape=True))
    )
    return usernames.pick_free(candidate, set(taken) | parameters.system_usernames(session))


def username_problem(session: Session, username: str, own: User | None = None) -> str | None:
    """Why a hand-entered username cannot be used, or None."""
    why = usernames.check_hand_entered(username)
    if why:
        return why
    if username.lower() in parameters.system_usernames(session):
        return "That username is reserved for a system user"
    holder = session.scalar(select(User).where(User.username_key == username.lower()))
    if holder is not None and holder is not own:
        return "That username is already taken"
    return None


def rename(session: Session, user: User, username: str) -> None:
    """Change a hand-entered username (Auto Assign Staff Username false)."""
    why = username_problem(session, username, own=user)
    if why:
        raise InvalidInput({"username": why})
    user.username = username


def get(session: Session, username: str) -> User:
    user = session.scalar(
        select(User)
        .where(User.username_key == username.lower())
        .options(selectinload(User.sync_state), selectinload(User.staff))
    )
    if user is None:
        raise UserNotFound()
    return user


def _matching(q: str | None) -> ColumnElement[bool]:
    """The Users search's condition: a username, last name, first name or Staff ID that
    starts with ``q``, case-insensitively."""
    prefix = (q or "").strip().lower()
    if not prefix:
        return true()
    return or_(
        User.username_key.startswith(prefix, autoescape=True),
        func.lower(Staff.last_name).startswith(prefix, autoescape=True),
        func.lower(Staff.first_name).startswith(prefix, autoescape=True),
        func.lower(Staff.staff_id).startswith(prefix, autoescape=True),
    )


def search(session: Session, q: str | None, limit: int, offset: int) -> list[User]:
    """Users matching ``q`` (see ``_matching``), in username order."""
    query = select(User).outerjoin(Staff, User.staff_pk == Staff.id).where(_matching(q))
    query = query.options(selectinload(User.sync_state), selectinload(User.staff))
    return list(session.scalars(query.order_by(User.username_key).limit(limit).offset(offset)))


def count(session: Session, q: str | None) -> int:
    """How many users ``search`` finds for ``q`` in all."""
    query = (select(func.count()).select_from(User)
             .outerjoin(Staff, User.staff_pk == Staff.id).where(_matching(q)))
    return session.scalar(query) or 0

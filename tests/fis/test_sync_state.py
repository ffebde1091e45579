"""The sync outbox: a user is marked dirty exactly when a synced value changes, in the
same transaction as the change."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import parameters, phones, staff, sync_state, users
from staffsync.fis.models import Staff, SyncState
from staffsync.kit.db import transaction
from staffsync.sync.snapshot import UserSnapshot
from tests.fis.conftest import create_staff, new_ssn, staff_data

Edit = Callable[[Session, Staff], Any]


def _version(session: Session, member: Staff) -> int:
    assert member.user is not None
    state = session.get(SyncState, member.user.id)
    assert state is not None
    session.refresh(state)
    return state.version


def _with_phones(session: Session) -> tuple[Staff, int, int]:
    member = create_staff(session, email="p@example.org")
    primary = phones.add(session, member.staff_id, {"phone": "5702465970", "primary": True})
    other = phones.add(session, member.staff_id, {"phone": "5702465971", "type": "home"})
    return member, primary.id, other.id


MARKS: list[tuple[str, Edit]] = [
    ("first name", lambda s, m: staff.update(s, m.staff_id, {"first_name": "Janet"})),
    ("email", lambda s, m: staff.update(s, m.staff_id, {"email": "new@example.org"})),
    ("staff status", lambda s, m: staff.update(s, m.staff_id, {"staff_status": "inactive"})),
    ("last name", lambda s, m: staff.change_last_name(s, m.staff_id, "Jones", "Marriage", "hr")),
    ("primary phone added",
     lambda s, m: phones.add(s, m.staff_id, {"phone": "5702465972", "primary": True})),
]
NO_MARKS: list[tuple[str, Edit]] = [
    ("address", lambda s, m: staff.update(s, m.staff_id, {"address1": "2 Elm St"})),
    ("zip, gender, race", lambda s, m: staff.update(
        s, m.staff_id, {"zip_code": "17838", "gender": "male", "race": "asian"})),
    ("ssn", lambda s, m: staff.update(s, m.staff_id, {"ssn": new_ssn()})),
    ("hire date, act 29", lambda s, m: staff.update(
        s, m.staff_id, {"hire_date": "2021-01-04", "act29": "existing"})),
    ("same first name", lambda s, m: staff.update(s, m.staff_id, {"first_name": m.first_name})),
    ("non-primary phone added", lambda s, m: phones.add(s, m.staff_id, {"phone": "5702465972"})),
]


@pytest.mark.parametrize(("what", "edit"), MARKS, ids=[m[0] for m in MARKS])
def test_synced_value_change_marks_dirty(session: Session, what: str, edit: Edit) -> None:
    member = create_staff(session, email="m@example.org")
    before = _version(session, member)
    edit(session, member)
    assert _version(session, member) == before + 1


@pytest.mark.parametrize(("what", "edit"), NO_MARKS, ids=[m[0] for m in NO_MARKS])
def test_other_changes_do_not_mark(session: Session, what: str, edit: Edit) -> None:
    member = create_staff(session, email="n@example.org")
    before = _version(session, member)
    edit(session, member)
    assert _version(session, member) == before


PHONE_EDITS: list[tuple[str, Callable[[Session, str, int, int], Any], bool]] = [
    ("primary number changed",
     lambda s, sid, p, o: phones.update(s, sid, p, {"phone": "5702465999"}), True),
    ("primary type changed", lambda s, sid, p, o: phones.update(s, sid, p, {"type": "work"}), True),
    ("primary moved", lambda s, sid, p, o: phones.update(s, sid, o, {"primary": True}), True),
    ("primary deleted", lambda s, sid, p, o: phones.delete(s, sid, p), True),
    ("other number changed",
     lambda s, sid, p, o: phones.update(s, sid, o, {"phone": "5702465999"}), False),
    ("other deleted", lambda s, sid, p, o: phones.delete(s, sid, o), False),
]


@pytest.mark.parametrize(("what", "edit", "marks"), PHONE_EDITS, ids=[e[0] for e in PHONE_EDITS])
def test_only_primary_phone_changes_mark(session: Session, what: str, edit: Any,
                                         marks: bool) -> None:
    member, primary, other = _with_phones(session)
    before = _version(session, member)
    edit(session, member.staff_id, primary, other)
    assert _version(session, member) == before + int(marks)


def test_hand_entered_staff_id_change_marks(session: Session) -> None:
    parameters.update_parameters(session, {"auto_assign_id": False})
    member = create_staff(session, staff_id="M-1", email="s@example.org")
    before = _version(session, member)
    staff.update(session, "M-1", {"staff_id": "M-2"})
    assert _version(session, member) == before + 1 and member.staff_id == "M-2"


def test_repeated_edits_coalesce_into_one_row(session: Session) -> None:
    member = create_staff(session, email="c@example.org")
    for name in ("A", "B", "C"):
        staff.update(session, member.staff_id, {"first_name": name})
    assert member.user is not None
    rows = session.scalars(select(SyncState).where(SyncState.user_id == member.user.id)).all()
    assert len(rows) == 1 and rows[0].version == 4 and rows[0].dirty


def test_mark_makes_a_parked_row_due_again(session: Session) -> None:
    member = create_staff(session, email="d@example.org")
    assert member.user is not None
    state = session.get(SyncState, member.user.id)
    assert state is not None
    later = datetime.now(UTC) + timedelta(hours=1)
    state.dirty, state.attempts, state.next_attempt_at = False, 5, later
    session.flush()
    now = datetime.now(UTC)
    sync_state.mark_dirty(session, member.user.id, now=now)
    session.refresh(state)
    assert (state.dirty, state.attempts, state.next_attempt_at) == (True, 0, now)


def test_mark_and_edit_commit_or_roll_back_together(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        staff_id = staff.add(session, staff_data(email="t@example.org")).staff_id
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        staff.update(session, staff_id, {"first_name": "Rolled"})
        raise RuntimeError("the request failed after the write")
    with transaction(sessions) as session:
        member = staff.get(session, staff_id)
        assert member.first_name == "Jane" and _version(session, member) == 1


@pytest.mark.parametrize(
    ("dirty", "last_error", "expected"),
    [(True, None, "pending"), (False, None, "synced"),
     (True, {"code": "server_error"}, "failed"), (False, {"code": "missing"}, "failed")],
)
def test_status(dirty: bool, last_error: dict[str, str] | None, expected: str) -> None:
    assert sync_state.status(SyncState(dirty=dirty, last_error=last_error)) == expected


def test_snapshot_carries_only_the_synced_values(session: Session) -> None:
    member, _, _ = _with_phones(session)
    staff.update(session, member.staff_id, {"staff_status": "inactive"})
    assert member.user is not None
    assert users.snapshot(session, member.user) == UserSnapshot(
        staff_key=member.key, username=member.user.username, staff_id=member.staff_id,
        first_name="Jane", last_name="Smith", email="p@example.org", phone="+15702465970",
        phone_type="cell", active=False)


def test_system_users_have_no_snapshot(session: Session) -> None:
    assert users.snapshot(session, users.get(session, "admin")) is None


def test_iter_snapshots_streams_every_staff_user_in_batches(session: Session) -> None:
    made = [create_staff(session, first_name=f"It{n}", email=f"it{n}@example.org")
            for n in range(5)]
    create_staff(session, first_name="NoUser")
    seen = [s for s in users.iter_snapshots(session, batch_size=2)]
    keys = [s.staff_key for s in seen]
    assert all(m.key in keys for m in made) and len(keys) == len(set(keys))
    assert "NoUser" not in {s.first_name for s in seen}
    assert all(s.username not in ("Admin", "SCView", "CSIU") for s in seen)


def test_concurrent_adds_get_distinct_staff_ids(sessions: sessionmaker[Session]) -> None:
    def add_one(_: int) -> str:
        with transaction(sessions) as session:
            return staff.add(session, staff_data()).staff_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(add_one, range(40)))
    numbers = sorted(int(i) for i in ids)
    assert len(set(ids)) == 40 and numbers == list(range(numbers[0], numbers[0] + 40))


PARKING = {"code": "username_conflict", "message": "m", "resolution": "r", "retryable": False}


def _tracked(session: Session, email: str) -> SyncState:
    member = create_staff(session, email=email)
    assert member.user is not None
    state = session.get(SyncState, member.user.id)
    assert state is not None
    return state


def test_a_failure_of_an_older_version_leaves_the_newer_edit_due(session: Session) -> None:
    state = _tracked(session, "v@example.org")
    uid, pushed = state.user_id, state.version
    sync_state.mark_dirty(session, uid)  # an edit lands while version 1 is being pushed
    now = datetime.now(UTC)
    sync_state.record_many(session, [sync_state.Pushed(uid, pushed, "failed", error=PARKING)],
                           now)
    state = session.get_one(SyncState, uid)
    assert state.last_error is None and state.attempts == 0
    assert state.next_attempt_at is not None and state.next_attempt_at <= now  # still due


def test_a_failure_is_recorded_only_by_the_lease_holder(session: Session) -> None:
    state = _tracked(session, "l@example.org")
    state.lease_owner = "worker-b"  # took the row over after worker-a's lease expired
    session.flush()
    failed = [sync_state.Pushed(state.user_id, state.version, "failed", error=PARKING)]
    sync_state.record_many(session, failed, datetime.now(UTC), owner="worker-a")
    assert session.get_one(SyncState, state.user_id).last_error is None
    sync_state.record_many(session, failed, datetime.now(UTC), owner="worker-b")
    parked = session.get_one(SyncState, state.user_id)
    assert parked.last_error == PARKING and parked.next_attempt_at is None


def test_last_synced_is_kept_only_for_the_version_it_was_sent_at(session: Session) -> None:
    state = _tracked(session, "k@example.org")
    uid, v = state.user_id, state.version
    sent = {"username": "kept", "first_name": "Jane"}
    now = datetime.now(UTC)
    sync_state.record_many(session, [sync_state.Pushed(uid, v, "created", snapshot=sent)], now)
    assert session.get_one(SyncState, uid).last_synced == sent
    # A sync all that found it unchanged does not say which values: same version, same values.
    sync_state.record_many(session, [sync_state.Pushed(uid, v, "unchanged")], now)
    assert session.get_one(SyncState, uid).last_synced == sent
    sync_state.mark_dirty(session, uid)
    sync_state.record_many(session, [sync_state.Pushed(uid, v + 1, "updated")], now)
    assert session.get_one(SyncState, uid).last_synced is None  # unknown, never stale

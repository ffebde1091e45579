"""Add Staff, Edit Demographics and Edit Last Name through the service layer."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from staffsync.fis import parameters, staff, users
from staffsync.fis.models import Staff, SyncState, User
from staffsync.kit.errors import InvalidInput
from tests.fis.conftest import create_staff, staff_data


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_staff_without_email_gets_no_user(session: Session) -> None:
    added = create_staff(session, last_name="Noemail")
    assert added.user is None
    assert session.scalar(select(User).where(User.staff_pk == added.id)) is None


def test_staff_with_email_gets_a_generated_username_and_a_due_sync_state(session: Session) -> None:
    added = create_staff(session, first_name="Pat", last_name="Quill", email="pq@example.org")
    assert added.user is not None and added.user.username == "pquill"
    state = session.get(SyncState, added.user.id)
    assert state is not None and state.dirty and state.version == 1


def test_generated_usernames_are_unique_case_insensitively(session: Session) -> None:
    names = [create_staff(session, first_name=f, last_name=last, email=f"{f}@example.org").user
             for f, last in [("Ida", "Vance"), ("Ivan", "VANCE"), ("Ines", "Vänce")]]
    assert [u.username for u in names if u] == ["ivance", "ivance2", "ivance3"]


def test_generated_username_skips_system_usernames(session: Session) -> None:
    parameters.update_parameters(session, {"username_pattern": "{last_name}"})
    added = create_staff(session, first_name="Ann", last_name="Admin", email="aa@example.org")
    assert added.user is not None and added.user.username == "admin2"


def test_auto_assigned_staff_ids_come_from_the_next_number(session: Session) -> None:
    parameters.update_parameters(session, {"next_staff_id": 5000})
    first, second = create_staff(session), create_staff(session)
    assert (first.staff_id, second.staff_id) == ("5000", "5001")
    assert parameters.load(session).next_staff_id == 5002


def test_auto_assign_skips_numbers_already_entered_by_hand(session: Session) -> None:
    parameters.update_parameters(session, {"auto_assign_id": False})
    create_staff(session, staff_id="7000")
    parameters.update_parameters(session, {"auto_assign_id": True, "next_staff_id": 7000})
    assert create_staff(session).staff_id == "7001"


def test_staff_id_is_required_and_unique_when_auto_assign_is_off(session: Session) -> None:
    parameters.update_parameters(session, {"auto_assign_id": False})
    with pytest.raises(InvalidInput) as missing:
        create_staff(session)
    create_staff(session, staff_id="H-1")
    with pytest.raises(InvalidInput) as taken:
        create_staff(session, staff_id="H-1")
    assert missing.value.fields == {"staff_id": "Staff ID is required (Auto Assign ID is false)"}
    assert taken.value.fields == {"staff_id": "That Staff ID belongs to another staff member"}


def test_staff_id_cannot_be_given_while_auto_assign_is_on(session: Session) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_staff(session, staff_id="X1")
    assert refused.value.fields == {
        "staff_id": "Staff ID is assigned automatically (Auto Assign ID is true)"}


def test_every_problem_is_reported_at_once_and_nothing_is_written(session: Session) -> None:
    before = (_count(session, Staff), _count(session, User))
    bad = staff_data(ssn="12", zip_code="1", email="nope", gender="?", hire_date="yesterday",
                     first_name=None, race=..., act29="")
    with pytest.raises(InvalidInput) as refused:
        staff.add(session, bad)
    assert refused.value.fields == {
        "ssn": "SSN must be 9 digits",
        "zip_code": "ZIP Code must be 5 or 9 digits",
        "email": "Enter a valid email address",
        "gender": "Gender must be one of: female, male, nonbinary",
        "hire_date": "Enter a date as YYYY-MM-DD",
        "first_name": "First Name is required",
        "race": "Race is required",
        "act29": "Act 29 is required",
    }
    assert (_count(session, Staff), _count(session, User)) == before


def test_every_add_staff_field_is_required(session: Session) -> None:
    with pytest.raises(InvalidInput) as refused:
        staff.add(session, {})
    assert set(refused.value.fields) == set(staff.REQUIRED)


def test_ssn_is_unique_and_stored_only_as_digest_ciphertext_and_last_four(session: Session) -> None:
    added = create_staff(session, ssn="222-33-4444")
    with pytest.raises(InvalidInput) as refused:
        create_staff(session, ssn="222334444")
    assert refused.value.fields == {"ssn": "That SSN belongs to another staff member"}
    stored = (added.ssn_digest, added.ssn_encrypted, added.ssn_last4)
    assert "222334444" not in "".join(stored[:2]) and stored[2] == "4444"


def test_adding_an_email_later_creates_the_user(session: Session) -> None:
    added = create_staff(session, first_name="Lee", last_name="Later")
    staff.update(session, added.staff_id, {"email": "lee@example.org"})
    assert added.user is not None and added.user.username == "llater"
    state = session.get(SyncState, added.user.id)
    assert state is not None and state.dirty and state.version == 1


def test_removing_the_email_of_a_user_is_refused(session: Session) -> None:
    added = create_staff(session, email="keep@example.org")
    with pytest.raises(InvalidInput) as refused:
        staff.update(session, added.staff_id, {"email": None})
    assert list(refused.value.fields) == ["email"]
    assert added.email == "keep@example.org"


def test_username_is_entered_by_hand_when_auto_assign_username_is_off(session: Session) -> None:
    parameters.update_parameters(session, {"auto_assign_username": False})
    with pytest.raises(InvalidInput) as missing:
        create_staff(session, email="h@example.org")
    added = create_staff(session, email="h@example.org", username="Hand.Made")
    with pytest.raises(InvalidInput) as taken:
        create_staff(session, email="h2@example.org", username="hand.made")
    with pytest.raises(InvalidInput) as system:
        create_staff(session, email="h3@example.org", username="csiu")
    assert missing.value.fields == {"username": "Username is required with an email address"}
    assert added.user is not None and added.user.username == "Hand.Made"
    assert taken.value.fields == {"username": "That username is already taken"}
    assert system.value.fields == {"username": "That username is reserved for a system user"}


def test_username_cannot_be_given_while_auto_assign_username_is_on(session: Session) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_staff(session, email="a@example.org", username="mine")
    assert list(refused.value.fields) == ["username"]


def test_edit_last_name_requires_a_reason_and_keeps_history(session: Session) -> None:
    added = create_staff(session, last_name="Before", email="b@example.org")
    with pytest.raises(InvalidInput) as refused:
        staff.change_last_name(session, added.staff_id, "After", " ", changed_by="hr")
    staff.change_last_name(session, added.staff_id, "After", "Marriage", changed_by="hr")
    staff.change_last_name(session, added.staff_id, "Again", "Court order", changed_by="hr2")
    assert refused.value.fields == {"reason": "Reason is required"}
    assert added.last_name == "Again"
    history = [(c.old_name, c.new_name, c.reason, c.changed_by) for c in added.last_name_history]
    assert history == [
        ("Before", "After", "Marriage", "hr"), ("After", "Again", "Court order", "hr2")]
    assert all(c.changed_at is not None for c in added.last_name_history)


def test_edit_demographics_refuses_the_last_name(session: Session) -> None:
    added = create_staff(session)
    with pytest.raises(InvalidInput) as refused:
        staff.update(session, added.staff_id, {"last_name": "Sneaky"})
    assert list(refused.value.fields) == ["last_name"]


def test_last_name_change_does_not_rename_the_user(session: Session) -> None:
    added = create_staff(session, first_name="Rae", last_name="Stable", email="r@example.org")
    staff.change_last_name(session, added.staff_id, "Moved", "Marriage", changed_by="hr")
    assert added.user is not None and users.get(session, "rstable").staff is added


def test_hand_entered_username_can_be_changed_and_marks_dirty(session: Session) -> None:
    parameters.update_parameters(session, {"auto_assign_username": False})
    added = create_staff(session, email="rn@example.org", username="first.name")
    assert added.user is not None
    staff.update(session, added.staff_id, {"username": "Second.Name"})
    state = session.get(SyncState, added.user.id)
    assert added.user.username == "Second.Name" and state is not None
    session.refresh(state)
    assert state.version == 2

"""The Staff Phone tab: normalized numbers, one primary phone, enforced by the database."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from staffsync.fis import phones
from staffsync.fis.models import StaffPhone
from staffsync.kit.errors import InvalidInput
from tests.fis.conftest import create_staff


def test_phone_is_stored_as_e164_with_cell_as_the_default_type(session: Session) -> None:
    owner = create_staff(session)
    added = phones.add(session, owner.staff_id, {"phone": "(570) 246-5970"})
    assert (added.phone, added.type, added.is_primary) == ("+15702465970", "cell", False)


def test_bad_phone_and_type_are_reported_together(session: Session) -> None:
    owner = create_staff(session)
    with pytest.raises(InvalidInput) as refused:
        phones.add(session, owner.staff_id, {"phone": "12", "type": "pager", "primary": "yes"})
    assert refused.value.fields == {"phone": "Enter a valid phone number",
                                    "type": "Type must be one of: cell, home, work",
                                    "primary": "Must be true or false"}
    with pytest.raises(InvalidInput) as missing:
        phones.add(session, owner.staff_id, {"type": "home"})
    assert missing.value.fields == {"phone": "Phone is required"}
    assert owner.phones == []


def test_database_refuses_a_second_primary_phone(session: Session) -> None:
    owner = create_staff(session)
    session.flush()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add_all([StaffPhone(staff_pk=owner.id, phone="+15702465970", is_primary=True),
                         StaffPhone(staff_pk=owner.id, phone="+15702465971", is_primary=True)])
        session.flush()


def test_database_allows_many_non_primary_phones(session: Session) -> None:
    owner = create_staff(session)
    session.add_all([StaffPhone(staff_pk=owner.id, phone=f"+1570246597{n}", is_primary=False)
                     for n in range(3)])
    session.flush()
    assert len(owner.phones) == 3


def test_primary_moves_from_one_phone_to_another(session: Session) -> None:
    owner = create_staff(session)
    home = phones.add(session, owner.staff_id, {"phone": "5702465970", "type": "home",
                                                "primary": True})
    cell = phones.add(session, owner.staff_id, {"phone": "5702465971", "primary": True})
    assert (home.is_primary, cell.is_primary) == (False, True)
    phones.update(session, owner.staff_id, home.id, {"primary": True})
    assert (home.is_primary, cell.is_primary) == (True, False)


def test_edit_and_delete_a_phone(session: Session) -> None:
    owner = create_staff(session)
    phone = phones.add(session, owner.staff_id, {"phone": "5702465970"})
    phones.update(session, owner.staff_id, phone.id, {"phone": "570-246-5999", "type": "work"})
    assert (phone.phone, phone.type) == ("+15702465999", "work")
    phones.delete(session, owner.staff_id, phone.id)
    assert phones.list_phones(session, owner.staff_id) == []


def test_phone_of_another_staff_member_is_not_found(session: Session) -> None:
    first, second = create_staff(session), create_staff(session)
    phone = phones.add(session, first.staff_id, {"phone": "5702465970"})
    with pytest.raises(phones.PhoneNotFound):
        phones.delete(session, second.staff_id, phone.id)

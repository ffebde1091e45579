"""The Staff Phone tab: add, edit and delete phones, and move the primary flag.

Only the primary phone syncs, so any change to it (number, type, which phone is primary,
its deletion) marks the user dirty; changes to other phones do not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from staffsync.fis import checks, users
from staffsync.fis import staff as staff_service
from staffsync.fis.models import PhoneType, Staff, StaffPhone
from staffsync.kit.errors import InvalidInput, NotFound


class PhoneNotFound(NotFound):
    """That staff member has no phone with that id."""


CHECKS: dict[str, checks.Check] = {
    "phone": checks.phone,
    "type": checks.choice_of(PhoneType, "Type"),
    "primary": checks.boolean,
}


def list_phones(session: Session, staff_id: str) -> list[StaffPhone]:
    return list(staff_service.get(session, staff_id).phones)


def add(session: Session, staff_id: str, data: Mapping[str, Any]) -> StaffPhone:
    """Add a phone: ``phone`` required, ``type`` cell by default, ``primary`` false by
    default; a new primary takes the flag from the previous one."""
    staff = staff_service.get(session, staff_id)
    values = _checked(data, required=True)
    with users.tracking(session, staff):
        phone = StaffPhone(phone=values["phone"], type=values.get("type") or PhoneType.cell.value,
                           is_primary=False)
        staff.phones.append(phone)
        session.flush()
        if values.get("primary"):
            _make_primary(session, staff, phone)
    return phone


def update(session: Session, staff_id: str, phone_id: int, data: Mapping[str, Any]) -> StaffPhone:
    """Edit a phone; ``primary: true`` moves the flag here, ``primary: false`` clears it."""
    staff = staff_service.get(session, staff_id)
    phone = _find(staff, phone_id)
    values = _checked(data, required=False)
    with users.tracking(session, staff):
        if values.get("phone"):
            phone.phone = values["phone"]
        if values.get("type"):
            phone.type = values["type"]
        if values.get("primary") is True:
            _make_primary(session, staff, phone)
        elif values.get("primary") is False:
            phone.is_primary = False
    return phone


def delete(session: Session, staff_id: str, phone_id: int) -> None:
    staff = staff_service.get(session, staff_id)
    phone = _find(staff, phone_id)
    with users.tracking(session, staff):
        staff.phones.remove(phone)


def _make_primary(session: Session, staff: Staff, phone: StaffPhone) -> None:
    # Clear the old flag and flush before setting the new one: the partial unique index
    # would refuse two primaries even for the instant between the two UPDATEs.
    for other in staff.phones:
        if other is not phone and other.is_primary:
            other.is_primary = False
    session.flush()
    phone.is_primary = True


def _checked(data: Mapping[str, Any], required: bool) -> dict[str, Any]:
    needed = {"phone": "Phone"} if required or "phone" in data else {}
    values, problems = checks.clean(data, CHECKS, needed)
    if problems:
        raise InvalidInput(problems)
    return values


def _find(staff: Staff, phone_id: int) -> StaffPhone:
    for phone in staff.phones:
        if phone.id == phone_id:
            return phone
    raise PhoneNotFound()

"""HR/Payroll > Staff: Add Staff, Edit Demographics, Edit Last Name, Staff Search.

Every write checks all fields first and writes nothing if any is refused. Writes that
change a synced value mark the user's sync state dirty in the same transaction
(``users.tracking``).

Email and the FIS user: adding an email creates the user (generated or hand-entered
username). Removing the email of a staff member who has a user is refused: the user and
its SCView account stay linked to the staff member; set Staff Status to inactive to
deactivate them in SCView instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from staffsync.fis import checks, parameters, secrets, users
from staffsync.fis.models import (
    Act29,
    EmploymentStatus,
    Gender,
    LastNameChange,
    Race,
    Staff,
    StaffStatus,
    User,
)
from staffsync.kit.errors import InvalidInput, NotFound


class StaffNotFound(NotFound):
    """No staff member has that Staff ID."""


# The Add Staff screen's required fields (*), with their labels.
REQUIRED = {
    "ssn": "SSN", "last_name": "Last Name", "first_name": "First Name",
    "address1": "Address 1", "zip_code": "ZIP Code", "gender": "Gender", "race": "Race",
    "staff_status": "Staff Status", "employment_status": "Employment Status",
    "hire_date": "Hire Date", "act29": "Act 29",
}
NAME_LENGTH = 60

CHECKS: dict[str, checks.Check] = {
    "ssn": checks.ssn,
    "last_name": checks.text_of(NAME_LENGTH, "Last Name"),
    "first_name": checks.text_of(NAME_LENGTH, "First Name"),
    "address1": checks.text_of(120, "Address 1"),
    "zip_code": checks.zip_code,
    "gender": checks.choice_of(Gender, "Gender"),
    "race": checks.choice_of(Race, "Race"),
    "staff_status": checks.choice_of(StaffStatus, "Staff Status"),
    "employment_status": checks.choice_of(EmploymentStatus, "Employment Status"),
    "hire_date": checks.iso_date,
    "act29": checks.choice_of(Act29, "Act 29"),
    "email": checks.email,
    "staff_id": checks.staff_id,
    "username": checks.passthrough,  # checked against the users table in _username_rules
}


def get(session: Session, staff_id: str) -> Staff:
    staff = session.scalar(
        select(Staff)
        .where(Staff.staff_id == staff_id)
        .options(selectinload(Staff.user).selectinload(User.sync_state),
                 selectinload(Staff.phones), selectinload(Staff.last_name_history))
    )
    if staff is None:
        raise StaffNotFound()
    return staff


def _matching(q: str | None) -> ColumnElement[bool]:
    """Staff Search's condition: ``q`` anywhere in the last name, first name, Staff ID or
    email, case-insensitively (SQL ``LIKE``, so the database does the matching)."""
    part = (q or "").strip().lower()
    if not part:
        return true()
    return or_(*(func.lower(column).contains(part, autoescape=True)
                 for column in (Staff.last_name, Staff.first_name, Staff.staff_id, Staff.email)))


def search(session: Session, q: str | None, limit: int, offset: int) -> list[Staff]:
    """Staff Search: the staff matching ``q`` (see ``_matching``), in name order."""
    query = select(Staff).options(selectinload(Staff.user)).where(_matching(q))
    query = query.order_by(Staff.last_name, Staff.first_name, Staff.id)
    return list(session.scalars(query.limit(limit).offset(offset)))


def count(session: Session, q: str | None) -> int:
    """How many staff ``search`` finds for ``q`` in all (for "Showing 51-100 of 2,027")."""
    return session.scalar(select(func.count()).select_from(Staff).where(_matching(q))) or 0


def add(session: Session, data: Mapping[str, Any]) -> Staff:
    """Add Staff: check every field, then insert the staff member and, when an email is
    given, their user (due for sync)."""
    params = parameters.load(session)
    values, problems = checks.clean(data, CHECKS, REQUIRED)
    problems |= _staff_id_rules(session, values, params.auto_assign_id, None)
    problems |= _ssn_rules(session, values, None)
    problems |= _username_rules(session, values, params.auto_assign_username, None)
    _refuse(problems)
    username = values.pop("username", None)
    staff = Staff(**_columns(values))
    staff.staff_id = values.get("staff_id") or _free_staff_id(session)
    session.add(staff)
    session.flush()
    if staff.email:
        users.create_for_staff(session, staff, username)
    return staff


def update(session: Session, staff_id: str, data: Mapping[str, Any]) -> Staff:
    """Edit Demographics: change any Add Staff field except the last name (Edit Last
    Name keeps its history) and, while Auto Assign ID is true, the Staff ID."""
    staff = get(session, staff_id)
    params = parameters.load(session)
    values, problems = checks.clean(data, CHECKS, {k: REQUIRED[k] for k in data if k in REQUIRED})
    if "last_name" in values:
        problems["last_name"] = "Use Edit Last Name to change the last name (a reason is required)"
    problems |= _staff_id_rules(session, values, params.auto_assign_id, staff)
    problems |= _ssn_rules(session, values, staff)
    problems |= _email_rules(values, staff)
    problems |= _username_rules(session, values, params.auto_assign_username, staff)
    _refuse(problems)
    with users.tracking(session, staff):
        _apply(session, staff, values)
    return staff


def _apply(session: Session, staff: Staff, values: dict[str, Any]) -> None:
    username = values.pop("username", None)
    for name, value in _columns(values).items():
        setattr(staff, name, value)
    session.flush()
    if staff.email and staff.user is None:
        users.create_for_staff(session, staff, username)
    elif username and staff.user is not None:
        users.rename(session, staff.user, username)


def change_last_name(session: Session, staff_id: str, new_name: Any, reason: Any,
                     changed_by: str, unknown: Mapping[str, Any] = {}) -> Staff:
    """Edit Last Name: both a new last name and a reason are required; the old and new
    names, the reason, the time and who made the change are kept as history. Fields in
    ``unknown`` are refused beside the others."""
    staff = get(session, staff_id)
    values, problems = checks.clean(
        {**unknown, "last_name": new_name, "reason": reason},
        {"last_name": CHECKS["last_name"], "reason": checks.text_of(200, "Reason")},
        {"last_name": "New Last Name", "reason": "Reason"},
    )
    if values.get("last_name") == staff.last_name:
        problems["last_name"] = "New Last Name is the same as the current last name"
    _refuse(problems)
    with users.tracking(session, staff):
        staff.last_name_history.append(LastNameChange(
            old_name=staff.last_name, new_name=values["last_name"],
            reason=values["reason"], changed_by=changed_by,
        ))
        staff.last_name = values["last_name"]
    return staff


def _refuse(problems: dict[str, str]) -> None:
    if problems:
        raise InvalidInput(problems)


def _columns(values: dict[str, Any]) -> dict[str, Any]:
    """Model column values; the SSN becomes its digest, ciphertext and last four."""
    columns = {k: v for k, v in values.items() if k not in ("ssn", "username")}
    ssn = values.get("ssn")
    if ssn:
        box = secrets.current()
        columns |= {"ssn_digest": box.digest(ssn), "ssn_encrypted": box.encrypt(ssn),
                    "ssn_last4": ssn[-4:]}
    if columns.get("staff_id") is None:
        columns.pop("staff_id", None)
    return columns


def _staff_id_rules(session: Session, values: dict[str, Any], auto: bool,
                    staff: Staff | None) -> dict[str, str]:
    wanted = values.get("staff_id")
    if wanted is None:
        required = not auto and (staff is None or "staff_id" in values)
        return {"staff_id": "Staff ID is required (Auto Assign ID is false)"} if required else {}
    if auto:
        return {"staff_id": "Staff ID is assigned automatically (Auto Assign ID is true)"}
    holder = session.scalar(select(Staff.id).where(Staff.staff_id == wanted))
    if holder is not None and (staff is None or holder != staff.id):
        return {"staff_id": "That Staff ID belongs to another staff member"}
    return {}


def _ssn_rules(session: Session, values: dict[str, Any], staff: Staff | None) -> dict[str, str]:
    ssn = values.get("ssn")
    if not ssn:
        return {}
    digest = secrets.current().digest(ssn)
    holder = session.scalar(select(Staff.id).where(Staff.ssn_digest == digest))
    if holder is not None and (staff is None or holder != staff.id):
        return {"ssn": "That SSN belongs to another staff member"}
    return {}


def _email_rules(values: dict[str, Any], staff: Staff) -> dict[str, str]:
    if "email" in values and values["email"] is None and staff.user is not None:
        return {"email": "Email cannot be removed from a staff member who has a user; "
                         "set Staff Status to inactive instead"}
    return {}


def _username_rules(session: Session, values: dict[str, Any], auto: bool,
                    staff: Staff | None) -> dict[str, str]:
    """Auto Assign Staff Username true: no username may be given. False: a staff member
    who gets a user now needs one, and any given one must be free."""
    username = values.get("username")
    has_user = staff is not None and staff.user is not None
    gets_user = not has_user and (values.get("email") or (staff is not None and staff.email))
    if username is not None and auto:
        return {"username": "Username is assigned automatically "
                            "(Auto Assign Staff Username is true)"}
    if username is None:
        needed = gets_user and not auto
        return {"username": "Username is required with an email address"} if needed else {}
    if not (gets_user or has_user):
        return {"username": "A username needs an email address"}
    if not isinstance(username, str):
        return {"username": "Username must be text"}
    why = users.username_problem(session, username, own=staff.user if staff else None)
    return {"username": why} if why else {}


def _free_staff_id(session: Session) -> str:
    """The next counter value that no hand-entered Staff ID already uses."""
    while True:
        candidate = parameters.take_staff_id(session)
        if session.scalar(select(Staff.id).where(Staff.staff_id == candidate)) is None:
            return candidate

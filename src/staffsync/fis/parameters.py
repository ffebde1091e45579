"""HR/Payroll parameters: Auto Assign ID (with its next number), Auto Assign Staff
Username (with its pattern), and the list of system usernames that never sync."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from staffsync.fis import usernames
from staffsync.fis.models import Parameters
from staffsync.kit.errors import InvalidInput

DEFAULT_SYSTEM_USERNAMES = ("Admin", "SCView", "CSIU")
EDITABLE = ("auto_assign_id", "next_staff_id", "auto_assign_username", "username_pattern",
            "system_usernames")


def load(session: Session) -> Parameters:
    """The single parameters row (inserted by the first migration)."""
    params = session.get(Parameters, 1)
    if params is None:
        raise LookupError("the parameters row is missing: run `staffsync db upgrade`")
    return params


def update_parameters(session: Session, changes: dict[str, Any]) -> Parameters:
    """Apply ``changes`` (a subset of ``EDITABLE``) after checking every field."""
    problems = _check(changes)
    if problems:
        raise InvalidInput(problems)
    params = load(session)
    for name, value in changes.items():
        setattr(params, name, value)
    session.flush()
    return params


def _check(changes: dict[str, Any]) -> dict[str, str]:
    problems = {name: "Unknown parameter" for name in changes if name not in EDITABLE}
    for name in ("auto_assign_id", "auto_assign_username"):
        if name in changes and not isinstance(changes[name], bool):
            problems[name] = "Must be true or false"
    if "next_staff_id" in changes and not _positive_int(changes["next_staff_id"]):
        problems["next_staff_id"] = "Next number must be a positive whole number"
    if "username_pattern" in changes:
        pattern = changes["username_pattern"]
        why = (usernames.check_pattern(pattern) if isinstance(pattern, str)
               else "Username pattern must be text")
        if why:
            problems["username_pattern"] = why
    if "system_usernames" in changes:
        names = changes["system_usernames"]
        if not (isinstance(names, list) and all(isinstance(n, str) and n.strip() for n in names)):
            problems["system_usernames"] = "System usernames must be a list of non-empty names"
    return problems


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def take_staff_id(session: Session) -> str:
    """Return the next Staff ID and advance the counter in one statement.

    ``UPDATE ... RETURNING`` takes a row lock on PostgreSQL (and SQLite runs writers one
    at a time), so concurrent adds never receive the same number.
    """
    stmt = (
        update(Parameters)
        .where(Parameters.id == 1)
        .values(next_staff_id=Parameters.next_staff_id + 1)
        .returning(Parameters.next_staff_id)
    )
    taken_next = session.execute(stmt).scalar_one()
    return str(taken_next - 1)


def system_usernames(session: Session) -> set[str]:
    """The configured system usernames, lowercased."""
    names = session.execute(select(Parameters.system_usernames).where(Parameters.id == 1))
    return {name.lower() for name in names.scalar_one() or ()}

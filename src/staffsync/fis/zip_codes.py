"""HR/PY > Staff > Directories > ZIP Codes: the district's ZIP codes (ZIP, city, state).

The directory is what the ZIP Code select on Add Staff and Edit Demographics offers.
Staff records keep their own ZIP Code checked only for its format (5 or 9 digits, the
JSON API's contract), so removing a ZIP code from the directory never changes a staff
member; their page still shows it, marked as not in the directory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from staffsync.fis import checks
from staffsync.fis.models import ZipCode
from staffsync.kit.errors import InvalidInput, NotFound


class ZipCodeNotFound(NotFound):
    """That ZIP Code is not in the directory."""


def _state(raw: Any) -> str:
    value = checks.text_of(60, "State")(raw).upper()
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise checks.Bad("State must be the two-letter abbreviation, e.g. PA")
    return value


CHECKS: dict[str, checks.Check] = {
    "zip_code": checks.zip_code, "city": checks.text_of(60, "City"), "state": _state,
}
REQUIRED = {"zip_code": "ZIP Code", "city": "City", "state": "State"}


def shown(zip_code: str) -> str:
    """``178371234`` -> ``17837-1234``; a 5-digit ZIP as it is."""
    return f"{zip_code[:5]}-{zip_code[5:]}" if len(zip_code) == 9 else zip_code


def directory(session: Session) -> list[ZipCode]:
    """Every ZIP code of the district, in ZIP order (a district has a few dozen)."""
    return list(session.scalars(select(ZipCode).order_by(ZipCode.zip_code)))


def add(session: Session, data: Mapping[str, Any]) -> ZipCode:
    values, problems = checks.clean(data, CHECKS, REQUIRED)
    if values.get("zip_code") and session.get(ZipCode, values["zip_code"]) is not None:
        problems["zip_code"] = "That ZIP Code is already in the directory"
    if problems:
        raise InvalidInput(problems)
    entry = ZipCode(**values)
    session.add(entry)
    session.flush()
    return entry


def remove(session: Session, zip_code: str) -> None:
    entry = session.get(ZipCode, zip_code)
    if entry is None:
        raise ZipCodeNotFound()
    session.delete(entry)
    session.flush()


def add_missing(session: Session, entries: Iterable[tuple[str, str, str]]) -> int:
    """Add the ``(zip, city, state)`` entries not yet in the directory; returns how many."""
    known = set(session.scalars(select(ZipCode.zip_code)))
    new = [ZipCode(zip_code=z, city=city, state=state)
           for z, city, state in entries if z not in known]
    session.add_all(new)
    session.flush()
    return len(new)


def choices(session: Session, current: str | None) -> list[tuple[str, str]]:
    """The ZIP Code select's ``(value, label)`` pairs, e.g. ``17837 - Lewisburg, PA``
    (with an en dash).

    A ``current`` value that is not in the directory comes first, so a staff member's
    ZIP Code still shows as selected after it was removed from the directory.
    """
    options = [(z.zip_code, f"{shown(z.zip_code)} \N{EN DASH} {z.city}, {z.state}")
               for z in directory(session)]
    if current and current not in {value for value, _ in options}:
        options.insert(0, (current, f"{shown(current)} (not in the ZIP Code directory)"))
    return options

"""A plausible sample district for demos and benchmarks: ``staffsync fis seed --staff N``.

The district's ZIP codes fill the ZIP Code directory. Per staff member: a name from
common US first and last names (some with accents and apostrophes), about 95% with an
email (and so a user, due for sync), about 3% inactive, one to three phones of which
exactly one is primary. SSNs start with 9, a range the
Social Security Administration never issues, so seeded SSNs are recognisably fake; they
are derived from the Staff ID, so seeding twice never collides. Rows are bulk-inserted
in batches, so 10,000 staff take seconds and memory stays flat.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from staffsync.fis import parameters, secrets, usernames, zip_codes
from staffsync.fis.models import (
    Act29,
    EmploymentStatus,
    Gender,
    Parameters,
    PhoneType,
    Race,
    Staff,
    StaffPhone,
    SyncState,
    User,
    new_key,
    utcnow,
)

FIRST = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William "
         "Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa "
         "Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly "
         "Andrew Emily Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa "
         "José María Zoë Chloé Renée André Siobhán Seán").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
        "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
        "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
        "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
        "Roberts Kowalski Schmidt Yoder Stoltzfus Núñez Peña O'Brien O'Neill D'Angelo "
        "Müller Brennan-Walsh").split()
STREETS = "Main Market Front Mill Church Water Chestnut Walnut Pine Maple Spruce Hemlock".split()
# The sample district's ZIP Code directory (HR/PY > Staff > Directories > ZIP Codes).
DIRECTORY = (("17837", "Lewisburg", "PA"), ("178371234", "Lewisburg", "PA"),
             ("17821", "Danville", "PA"), ("17801", "Sunbury", "PA"),
             ("17847", "Milton", "PA"), ("17870", "Selinsgrove", "PA"),
             ("17815", "Bloomsburg", "PA"), ("17844", "Mifflinburg", "PA"))
ZIPS = tuple(zip_code for zip_code, _, _ in DIRECTORY)
BATCH = 1000


@dataclass(frozen=True)
class Seeded:
    staff: int
    users: int
    phones: int

    def __add__(self, other: Seeded) -> Seeded:
        return Seeded(self.staff + other.staff, self.users + other.users,
                      self.phones + other.phones)


def seed(session: Session, count: int, rng: random.Random,
         progress: Callable[[int], None] = lambda _: None) -> Seeded:
    """Insert ``count`` staff in batches of ``BATCH``, calling ``progress(n)`` after each;
    the district's ZIP codes go into the ZIP Code directory first (once)."""
    zip_codes.add_missing(session, DIRECTORY)
    box = secrets.current()
    taken = set(session.scalars(select(User.username_key))) | parameters.system_usernames(session)
    pattern = parameters.load(session).username_pattern
    first_number = _take_staff_ids(session, count)
    totals = Seeded(0, 0, 0)
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        rows = [_staff_row(rng, first_number + start + i, box) for i in range(size)]
        totals += _insert_batch(session, rows, rng, taken, pattern)
        progress(size)
    return totals


def _take_staff_ids(session: Session, count: int) -> int:
    """Reserve ``count`` consecutive Staff ID numbers in one statement; return the first."""
    stmt = (update(Parameters).where(Parameters.id == 1)
            .values(next_staff_id=Parameters.next_staff_id + count)
            .returning(Parameters.next_staff_id))
    return int(session.execute(stmt).scalar_one()) - count


def _staff_row(rng: random.Random, number: int, box: secrets.Secrets) -> dict[str, Any]:
    ssn = f"9{number % 10**8:08d}"
    first, last = rng.choice(FIRST), rng.choice(LAST)
    has_email = rng.random() >= 0.05
    email = f"{usernames.fold(first)}.{usernames.fold(last)}{number}@district.example.org"
    return {
        "key": new_key(), "staff_id": str(number), "ssn_digest": box.digest(ssn),
        "ssn_encrypted": box.encrypt(ssn), "ssn_last4": ssn[-4:], "last_name": last,
        "first_name": first, "address1": f"{rng.randint(1, 999)} {rng.choice(STREETS)} St",
        "zip_code": rng.choice(ZIPS), "gender": rng.choice(list(Gender)).value,
        "race": rng.choice(list(Race)).value,
        "staff_status": "inactive" if rng.random() < 0.03 else "active",
        "employment_status": rng.choice(list(EmploymentStatus)).value,
        "hire_date": date(2000, 1, 3) + timedelta(days=rng.randrange(9000)),
        "act29": rng.choice(list(Act29)).value, "email": email if has_email else None,
        "created_at": utcnow(), "updated_at": utcnow(),
    }


def _insert_batch(session: Session, rows: list[dict[str, Any]], rng: random.Random,
                  taken: set[str], pattern: str) -> Seeded:
    staff_pks = list(session.scalars(
        insert(Staff).returning(Staff.id, sort_by_parameter_order=True), rows))
    phones = [phone for pk in staff_pks for phone in _phones(rng, pk)]
    session.execute(insert(StaffPhone), phones)
    with_email = [(pk, row) for pk, row in zip(staff_pks, rows, strict=True) if row["email"]]
    users = list(_user_rows(with_email, taken, pattern))
    user_ids = list(session.scalars(
        insert(User).returning(User.id, sort_by_parameter_order=True), users)) if users else []
    if user_ids:
        session.execute(insert(SyncState), [_due(uid) for uid in user_ids])
    return Seeded(len(staff_pks), len(user_ids), len(phones))


def _phones(rng: random.Random, staff_pk: int) -> list[dict[str, Any]]:
    """One to three distinct valid US numbers; exactly one is primary."""
    count = rng.choice((1, 1, 2, 2, 3))
    numbers = rng.sample(range(2_000_000, 10_000_000), count)
    primary = rng.randrange(count)
    types = [PhoneType.cell, PhoneType.home, PhoneType.work]
    return [{"staff_pk": staff_pk, "phone": f"+1570{n}", "type": types[i].value,
             "is_primary": i == primary} for i, n in enumerate(numbers)]


def _user_rows(with_email: list[tuple[int, dict[str, Any]]], taken: set[str],
               pattern: str) -> Iterator[dict[str, Any]]:
    for pk, row in with_email:
        name = usernames.pick_free(usernames.base(pattern, row["first_name"], row["last_name"]),
                                   taken)
        taken.add(name)
        yield {"username": name, "username_key": name, "staff_pk": pk, "is_system": False,
               "created_at": utcnow()}


def _due(user_id: int) -> dict[str, Any]:
    return {"user_id": user_id, "dirty": True, "version": 1, "pushed_version": 0,
            "attempts": 0, "next_attempt_at": utcnow()}

"""`staffsync fis seed`: a plausible district that obeys every FIS rule."""

from __future__ import annotations

import random

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from staffsync.cli import app
from staffsync.fis import checks, seed, users, zip_codes
from staffsync.fis.models import Staff, StaffPhone, SyncState, User
from staffsync.kit.db import make_engine, session_factory


def test_seeded_staff_follow_the_rules(session: Session) -> None:
    done = seed.seed(session, 300, random.Random(7))
    again = seed.seed(session, 50, random.Random(7))
    staff = session.scalars(select(Staff).order_by(Staff.id).limit(350)).all()
    assert (done.staff, again.staff) == (300, 50)
    assert 0.85 * 350 <= done.users + again.users < 350
    assert any(s.staff_status == "inactive" for s in staff)
    for member in staff:
        primaries = [p for p in member.phones if p.is_primary]
        assert len(primaries) == 1 and 1 <= len(member.phones) <= 3
        assert all(checks.phone(p.phone) == p.phone for p in member.phones)
        assert checks.zip_code(member.zip_code) == member.zip_code
        assert member.email is None or checks.email(member.email) == member.email
        assert (member.user is not None) == (member.email is not None)
        assert member.ssn_last4 and member.ssn_encrypted
    snapshots = list(users.iter_snapshots(session))
    assert len({s.username.lower() for s in snapshots}) == len(snapshots)
    assert all(s.phone for s in snapshots)
    dirty = session.scalar(select(func.count()).select_from(SyncState).where(SyncState.dirty))
    assert dirty == done.users + again.users


def test_seed_fills_the_zip_code_directory_once(session: Session) -> None:
    seed.seed(session, 30, random.Random(5))
    seed.seed(session, 10, random.Random(6))
    directory = {z.zip_code: z.city for z in zip_codes.directory(session)}
    assert directory == {zip_code: city for zip_code, city, _ in seed.DIRECTORY}
    used = set(session.scalars(select(Staff.zip_code).distinct()))
    assert used and used <= set(directory)


def test_one_primary_per_staff_holds_in_the_database(session: Session) -> None:
    seed.seed(session, 40, random.Random(3))
    per_staff = (select(StaffPhone.staff_pk, func.count().label("n"))
                 .where(StaffPhone.is_primary).group_by(StaffPhone.staff_pk).subquery())
    assert session.scalar(select(func.max(per_staff.c.n))) == 1


def test_seed_command(fresh_fis_url: str) -> None:
    result = CliRunner().invoke(app, ["fis", "seed", "--staff", "120", "--db", fresh_fis_url])
    assert result.exit_code == 0, result.output
    assert "Seeded 120 staff, " in result.output
    engine = make_engine(fresh_fis_url)
    with session_factory(engine)() as session:
        counted = session.scalar(select(func.count()).select_from(User))
        directory = [z.zip_code for z in zip_codes.directory(session)]
    engine.dispose()
    assert counted is not None and counted > 100
    assert directory == sorted(seed.ZIPS)

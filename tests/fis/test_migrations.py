"""The first migration builds exactly the models' schema and its fixed rows."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from staffsync.fis.models import Base, Parameters, ThirdPartyConfig, User
from staffsync.kit.db import make_engine, session_factory


def test_upgrade_head_matches_the_models(fresh_fis_url: str) -> None:
    engine = make_engine(fresh_fis_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_first_migration_inserts_system_users_and_settings(fresh_fis_url: str) -> None:
    engine = make_engine(fresh_fis_url)
    with session_factory(engine)() as session:
        system = session.scalars(select(User).order_by(User.id)).all()
        params = session.get(Parameters, 1)
        third_party = session.get(ThirdPartyConfig, 1)
    engine.dispose()
    assert [(u.username, u.is_system, u.staff_pk) for u in system] == [
        ("Admin", True, None), ("SCView", True, None), ("CSIU", True, None)]
    assert params is not None and params.auto_assign_id and params.auto_assign_username
    assert params.system_usernames == ["Admin", "SCView", "CSIU"]
    assert third_party is not None and not third_party.enabled

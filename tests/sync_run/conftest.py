"""Fixtures for running the sync from FIS: a fresh migrated FIS database per test (runs
and sync states are per database), pointed at a fresh SCIM tenant."""

from __future__ import annotations

import random
import shutil
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import seed, third_party
from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from tests.databases import fresh_database
from tests.fis.conftest import _secrets, api, fis_url, sessions  # noqa: F401 (fixtures)
from tests.sync.conftest import (  # noqa: F401 (fixtures)
    LiveScim,
    live_scim,
    make_live_scim,
    scim2_tenants,
    scview_servers,
)


class FisTemplates:
    """One migrated FIS database per backend, copied for each test: a PostgreSQL
    ``CREATE DATABASE ... TEMPLATE`` or an SQLite file copy costs a fraction of a migration."""

    def __init__(self, stack: ExitStack, tmp: pytest.TempPathFactory) -> None:
        self.stack, self.tmp, self.urls = stack, tmp, {}

    def template(self, backend: str) -> str:
        if backend not in self.urls:
            url = self.stack.enter_context(
                fresh_database(backend, self.tmp.mktemp("fis-template"), "fistemplate"))
            upgrade(url, "fis")
            self.urls[backend] = url
        return self.urls[backend]

    @contextmanager
    def copy(self, backend: str, tmp_path: Path) -> Iterator[str]:
        source = make_url(self.template(backend))
        if backend == "sqlite":
            assert source.database
            target = tmp_path / "fis.sqlite"
            shutil.copyfile(source.database, target)
            yield f"sqlite:///{target}"
            return
        name = f"staffsync_fis_{uuid.uuid4().hex[:12]}"
        admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"'))
        try:
            yield source.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture(scope="session")
def fis_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FisTemplates]:
    with ExitStack() as stack:
        yield FisTemplates(stack, tmp_path_factory)


@pytest.fixture
def fis_db(backend: str, tmp_path: Path, fis_templates: FisTemplates) -> Iterator[str]:
    """The URL of a new, migrated FIS database of its own."""
    with fis_templates.copy(backend, tmp_path) as url:
        yield url


@pytest.fixture
def fis(fis_db: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on ``fis_db``."""
    engine = make_engine(fis_db, hide_parameters=True)
    yield session_factory(engine)
    engine.dispose()


def configure(factory: sessionmaker[Session], end_point: str, database: str, token: str,
              enabled: bool = True) -> None:
    """Save System > Directories > Third Party Configuration."""
    with transaction(factory) as session:
        third_party.save(session, {"end_point": end_point, "database_name": database,
                                   "token": token, "enabled": enabled})


def point_at(factory: sessionmaker[Session], live: LiveScim) -> None:
    configure(factory, live.end_point, live.database, live.token)


def seed_district(factory: sessionmaker[Session], staff: int, rng_seed: int = 7) -> int:
    """Seed ``staff`` members; return how many got a user (the ones with an email)."""
    with transaction(factory) as session:
        return seed.seed(session, staff, random.Random(rng_seed)).users


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Pair FIS and SCView on the same backend (both backends are still covered, and
    scim2-server with each): FIS on SQLite pushing to SCView on PostgreSQL adds time,
    not coverage, since the two only meet over HTTP."""
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        fis_backend = params.get("backend") or params.get("fis_url")
        target = str(params.get("make_live_scim", ""))
        crossed = target.startswith("scview-") and target != f"scview-{fis_backend}"
        (dropped if crossed else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept

"""Fixtures for running the sync from FIS: a fresh migrated FIS database per test (runs
and sync states are per database), pointed at a fresh SCIM tenant."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import seed, third_party
from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from tests.databases import fresh_database
from tests.fis.conftest import _secrets, api, fis_url, sessions  # noqa: F401 (fixtures)
from tests.sync.conftest import LiveScim, live_scim, make_live_scim, scim2_tenants  # noqa: F401


@pytest.fixture
def fis_db(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, migrated FIS database."""
    with fresh_database(backend, tmp_path, "fis") as url:
        upgrade(url, "fis")
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

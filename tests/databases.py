"""Fresh, empty databases for tests, on SQLite or PostgreSQL.

PostgreSQL: each call creates its own database on the server named by
``STAFFSYNC_TEST_PG`` (default: the local server, user postgres) and drops it
afterwards, so parallel test workers and parallel checkouts never share state.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get(
    "STAFFSYNC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]
IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(what: str) -> None:
    """Skip locally, but fail under CI=true: CI must never pass by skipping."""
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true", pytrace=False)
    pytest.skip(f"{what} is not available")


def _pg_admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def postgres_available() -> bool:
    try:
        engine = _pg_admin_engine()
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@contextmanager
def fresh_database(backend: str, tmp_path: Path, name: str = "db") -> Iterator[str]:
    """Yield the URL of a new empty database; drop it afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / (name + '.sqlite')}"
        return
    if not postgres_available():
        unavailable(f"PostgreSQL at {make_url(PG_ADMIN_URL).render_as_string()}")
    dbname = f"staffsync_{name}_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=dbname).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()

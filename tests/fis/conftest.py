"""FIS test fixtures: migrated databases on both backends, sessions, an API client.

``fis_url`` is one migrated database per test module and backend (cheap enough to keep
the suite fast); tests that need an untouched database take ``fresh_fis_url``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import auth, staff
from staffsync.fis.app import create_app
from staffsync.fis.models import Staff
from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from staffsync.kit.server import ServerThread
from tests.databases import BACKENDS, fresh_database

SECRET_KEY = Fernet.generate_key().decode()
_ssns = itertools.count(100_000_001)


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STAFFSYNC_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("STAFFSYNC_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="module", params=BACKENDS)
def fis_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with fresh_database(request.param, tmp_path_factory.mktemp("fis"), "fis") as url:
        upgrade(url, "fis")
        yield url


@pytest.fixture
def fresh_fis_url(backend: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database(backend, tmp_path, "fis") as url:
        upgrade(url, "fis")
        yield url


@pytest.fixture(scope="module")
def sessions(fis_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(fis_url, hide_parameters=True)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is rolled back after the test."""
    with sessions() as db:
        db.begin()
        yield db
        db.rollback()


def new_ssn() -> str:
    return str(next(_ssns))


def staff_data(**overrides: Any) -> dict[str, Any]:
    """A valid Add Staff body with a fresh SSN; ``overrides`` replace or add fields."""
    data: dict[str, Any] = {
        "ssn": new_ssn(), "last_name": "Smith", "first_name": "Jane",
        "address1": "1 Main St", "zip_code": "17837", "gender": "female", "race": "white",
        "staff_status": "active", "employment_status": "full_time",
        "hire_date": "2020-08-24", "act29": "new",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


def create_staff(session: Session, **overrides: Any) -> Staff:
    return staff.add(session, staff_data(**overrides))


class Api:
    """An HTTP client on a live FIS server, with one API key per role."""

    def __init__(self, client: httpx.Client, hr: str, sysadmin: str) -> None:
        self.client = client
        self.hr = {"Authorization": f"Bearer {hr}"}
        self.admin = {"Authorization": f"Bearer {sysadmin}"}

    def call(self, method: str, path: str, *, admin: bool = False, **kwargs: Any) -> Any:
        headers = self.admin if admin else self.hr
        return self.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)


@pytest.fixture(scope="module")
def api(fis_url: str, sessions: sessionmaker[Session]) -> Iterator[Api]:
    suffix = next(_ssns)
    with transaction(sessions) as db:
        hr = auth.create_api_key(db, f"hr-{suffix}", "hr")
        admin = auth.create_api_key(db, f"admin-{suffix}", "sysadmin")
    with ServerThread(create_app(fis_url)) as server, httpx.Client(base_url=server.url) as client:
        yield Api(client, hr, admin)

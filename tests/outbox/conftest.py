"""Fixtures for the worker tests: one live SCView per module and backend (behind the
``Faulty`` doorway), a fresh FIS database per test on the same backend, pointed at a
fresh tenant, and a clock the test can move forward."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import users
from staffsync.fis.models import utcnow
from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from staffsync.scview.app import create_app
from staffsync.sync.mapping import comparable_of_scim, comparable_of_snapshot, differing
from staffsync.sync.scim_client import Target
from staffsync.sync.worker import Worker, WorkerConfig
from tests.databases import BACKENDS, fresh_database
from tests.fis.conftest import _secrets  # noqa: F401 (autouse fixture)
from tests.outbox.scview_faults import LiveScview, scview_users
from tests.sync_run.conftest import FisTemplates, configure, fis_templates  # noqa: F401

QUIET = WorkerConfig(reconcile_every=None, concurrency=4)  # no scheduled sync all


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Module-scoped here: FIS and SCView share a backend, and SCView starts once."""
    return str(request.param)


@pytest.fixture(scope="module")
def scview(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveScview]:
    with fresh_database(backend, tmp_path_factory.mktemp("scview"), "scview") as url:
        upgrade(url, "scview")
        app = create_app(url)
        live = LiveScview(app, app.state.sessions)
        live.up()
        yield live
        live.down()
        app.state.engine.dispose()


@pytest.fixture
def target(scview: LiveScview) -> Target:
    scview.reset()
    return scview.tenant()


@pytest.fixture
def fis_url(backend: str, tmp_path: Path, fis_templates: FisTemplates) -> Iterator[str]:  # noqa: F811
    with fis_templates.copy(backend, tmp_path) as url:
        yield url


@pytest.fixture
def fis(fis_url: str, target: Target) -> Iterator[sessionmaker[Session]]:
    """FIS with User Sync set up for the test's tenant."""
    engine = make_engine(fis_url, hide_parameters=True)
    factory = session_factory(engine)
    configure(factory, target.end_point, target.database, target.token)
    yield factory
    engine.dispose()


class Clock:
    """Real UTC time plus an offset the test can advance (backoffs and leases pass)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def mismatches(fis: sessionmaker[Session], target: Target) -> list[str]:
    """How SCView differs from FIS's mapping: users missing, duplicated, unknown, or with
    differing values (empty when SCView holds exactly FIS's users)."""
    with transaction(fis) as session:
        wanted = {s.staff_key: s for s in users.iter_snapshots(session)}
    problems: list[str] = []
    seen: set[str] = set()
    for user in scview_users(target):
        key = user.get("externalId")
        if key in seen or key not in wanted:
            problems.append(f"{'duplicate' if key in seen else 'unknown'} {user['userName']}")
            continue
        seen.add(key)
        diff = differing(comparable_of_snapshot(wanted[key]), comparable_of_scim(user))
        problems += [f"{user['userName']}: {field} differs" for field in diff]
    problems += [f"missing {wanted[k].username}" for k in wanted.keys() - seen]
    return problems


@pytest.fixture
def new_worker(fis: sessionmaker[Session], clock: Clock) -> Iterator[Callable[..., Worker]]:
    """``new_worker(config=None)``: a worker on the test's FIS, stepped by the test with
    ``run_once`` on the test's clock; closed (pool, HTTP connections) afterwards."""
    made: list[Worker] = []

    def make(config: WorkerConfig | None = None) -> Worker:
        made.append(Worker(fis, config or QUIET, clock=clock))
        return made[-1]

    yield make
    for worker in made:
        worker.close()

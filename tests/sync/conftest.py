"""A live SCIM server for the sync tests: scim2-server, one fresh tenant per test.

Tests ask for ``live_scim`` (a ``LiveScim``: end_point, database, token) and talk to
it only over HTTP, so the same tests can later run against our own SCView by giving
this fixture another implementation.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from staffsync.kit.db import transaction
from staffsync.kit.migrate import upgrade
from staffsync.kit.server import ServerThread
from staffsync.scview.app import create_app
from staffsync.scview.tenants import create_tenant
from staffsync.sync.scim_client import ScimClient, Target
from tests.databases import BACKENDS, fresh_database
from tests.sync.scim2_target import Tenants


@dataclass
class LiveScim:
    end_point: str
    database: str
    token: str = field(repr=False)

    @property
    def target(self) -> Target:
        return Target(self.end_point, self.database, self.token)

    def client(self, **options: Any) -> ScimClient:
        return ScimClient(self.target, **options)

    def http(self) -> httpx.Client:
        """A plain HTTP client on the tenant, to look at or change SCView behind the sync."""
        return httpx.Client(
            base_url=self.target.base_url, headers={"Authorization": f"Bearer {self.token}"}
        )

    def users(self) -> list[dict[str, Any]]:
        with self.http() as http:
            return list(http.get("/Users", params={"count": 1000}).json().get("Resources", []))


@pytest.fixture(scope="session")
def scim2_tenants() -> Iterator[tuple[str, Tenants]]:
    tenants = Tenants()
    with ServerThread(tenants) as server:
        yield server.url, tenants


@dataclass
class ScviewServer:
    """Our SCView, live on loopback; tenants are created straight in its database."""

    url: str
    sessions: sessionmaker[Session]

    def tenant(self) -> tuple[str, str]:
        database = f"district-{secrets.token_hex(4)}"
        with transaction(self.sessions) as session:
            return database, create_tenant(session, database)


class ScviewServers:
    """SCView servers started on first use, one per backend, stopped at session end."""

    def __init__(self, stack: ExitStack, tmp: pytest.TempPathFactory) -> None:
        self.stack, self.tmp, self.started = stack, tmp, {}

    def get(self, backend: str) -> ScviewServer:
        if backend not in self.started:
            url = self.stack.enter_context(
                fresh_database(backend, self.tmp.mktemp("scview"), "scview"))
            upgrade(url, "scview")
            app = create_app(url)
            self.stack.callback(app.state.engine.dispose)
            server = self.stack.enter_context(ServerThread(app))
            self.started[backend] = ScviewServer(server.url, app.state.sessions)
        return self.started[backend]


@pytest.fixture(scope="session")
def scview_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScviewServers]:
    with ExitStack() as stack:
        yield ScviewServers(stack, tmp_path_factory)


SERVERS = ["scim2-server", *(f"scview-{backend}" for backend in BACKENDS)]


@pytest.fixture(params=SERVERS)
def make_live_scim(
    request: pytest.FixtureRequest, scview_servers: ScviewServers
) -> Callable[..., LiveScim]:
    """``make_live_scim(bulk={"maxOperations": 3})``: a fresh tenant with that config, on
    scim2-server and on our SCView (on each backend). SCView's ServiceProviderConfig is
    fixed, so a test that needs another configuration runs on scim2-server only."""
    if request.param == "scim2-server":
        url, tenants = request.getfixturevalue("scim2_tenants")

        def on_scim2(**config: Any) -> LiveScim:
            database, token = f"district-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
            tenants.add(database, token, **config)
            return LiveScim(url, database, token)

        return on_scim2
    scview = scview_servers.get(request.param.removeprefix("scview-"))

    def on_scview(**config: Any) -> LiveScim:
        if config:
            pytest.skip("SCView's ServiceProviderConfig is fixed (bulk, patch, limits)")
        return LiveScim(scview.url, *scview.tenant())

    return on_scview


@pytest.fixture
def live_scim(make_live_scim: Callable[..., LiveScim]) -> LiveScim:
    return make_live_scim()

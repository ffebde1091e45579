"""A live SCIM server for the sync tests: scim2-server, one fresh tenant per test.

Tests ask for ``live_scim`` (a ``LiveScim``: end_point, database, token) and talk to
it only over HTTP, so the same tests can later run against our own SCView by giving
this fixture another implementation.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from staffsync.kit.server import ServerThread
from staffsync.sync.scim_client import ScimClient, Target
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


@pytest.fixture
def make_live_scim(scim2_tenants: tuple[str, Tenants]) -> Callable[..., LiveScim]:
    """``make_live_scim(bulk={"maxOperations": 3})``: a fresh tenant with that config."""
    url, tenants = scim2_tenants

    def make(**config: Any) -> LiveScim:
        database, token = f"district-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
        tenants.add(database, token, **config)
        return LiveScim(url, database, token)

    return make


@pytest.fixture
def live_scim(make_live_scim: Callable[..., LiveScim]) -> LiveScim:
    return make_live_scim()

"""A live SCView per backend and module, with two tenants, for the SCIM tests.

One server per module (not per test) keeps the suite fast; each test creates the users
it needs under unique names, so tests never depend on one another.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from staffsync.kit.server import ServerThread
from staffsync.scview.app import create_app
from staffsync.scview.tenants import create_tenant
from tests.databases import BACKENDS, fresh_database

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class LiveScview:
    url: str  # the server root
    db_url: str
    tokens: dict[str, str]  # tenant name -> bearer token

    def base(self, tenant: str = "alpha") -> str:
        return f"{self.url}/{tenant}/scim/v2"

    def client(self, tenant: str = "alpha", token: str | None = None) -> httpx.Client:
        bearer = token if token is not None else self.tokens[tenant]
        return httpx.Client(
            base_url=self.base(tenant), headers={"Authorization": f"Bearer {bearer}"}
        )


@pytest.fixture(scope="module", params=BACKENDS)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
    LiveScview
]:
    tmp: Path = tmp_path_factory.mktemp("scview")
    with fresh_database(str(request.param), tmp, "scview") as db_url:
        upgrade(db_url, "scview")
        engine = make_engine(db_url)
        with transaction(session_factory(engine)) as session:
            tokens = {name: create_tenant(session, name) for name in ("alpha", "beta")}
        engine.dispose()
        app = create_app(db_url)
        with ServerThread(app) as server:
            yield LiveScview(server.url, db_url, tokens)
        app.state.engine.dispose()


@pytest.fixture
def alpha(live: LiveScview) -> Iterator[httpx.Client]:
    with live.client("alpha") as client:
        yield client


def unique(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def user_body(user_name: str | None = None, **extra: Any) -> dict[str, Any]:
    """A full synced user as FIS sends it: names, work email, phone, employee number."""
    name = user_name or unique()
    body: dict[str, Any] = {
        "schemas": [CORE, ENTERPRISE],
        "userName": name,
        "externalId": unique("ext"),
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": f"{name}@example.org", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "+1-570-555-0100", "type": "mobile", "primary": True}],
        "active": True,
        ENTERPRISE: {"employeeNumber": unique("E")},
    }
    body.update(extra)
    return body


def create_user(client: httpx.Client, **extra: Any) -> dict[str, Any]:
    response = client.post("/Users", json=user_body(**extra))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def found_ids(client: httpx.Client, filter_text: str) -> set[str]:
    response = client.get("/Users", params={"filter": filter_text})
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["Resources"]}

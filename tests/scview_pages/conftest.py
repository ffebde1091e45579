"""A live SCView per backend and module for the Admin > Users pages.

Users are created the way FIS creates them: over SCIM, with the tenant's token. The
admin account is created with the same service ``staffsync scview create-admin`` uses.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from staffsync.kit.server import ServerThread
from staffsync.scview.admins import create_admin
from staffsync.scview.app import create_app
from staffsync.scview.models import AdminSession
from staffsync.scview.tenants import create_tenant
from tests.databases import BACKENDS, fresh_database

ADMIN = "clerk"
PASSWORD = "correct horse battery"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass
class Site:
    url: str
    db_url: str
    tokens: dict[str, str]

    def scim(self, tenant: str) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/{tenant}/scim/v2",
                            headers={"Authorization": f"Bearer {self.tokens[tenant]}"})

    def create_user(self, tenant: str, user_name: str, **extra: Any) -> dict[str, Any]:
        with self.scim(tenant) as client:
            response = client.post("/Users", json=scim_user(user_name, **extra))
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def deactivate(self, tenant: str, user_id: str) -> None:
        patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                 "Operations": [{"op": "replace", "path": "active", "value": False}]}
        with self.scim(tenant) as client:
            response = client.patch(f"/Users/{user_id}", json=patch)
        assert response.status_code == 200, response.text


def scim_user(
    user_name: str, given: str = "Pat", family: str = "Lee", employee: str = "E00001", **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [CORE, ENTERPRISE],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"value": f"{user_name}@district.example.org", "type": "work",
                    "primary": True}],
        "phoneNumbers": [{"value": "+1 570-555-0142", "type": "mobile", "primary": True}],
        "active": True,
        ENTERPRISE: {"employeeNumber": employee},
    }
    body.update(extra)
    return body


@pytest.fixture(scope="module", params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
    Site
]:
    tmp: Path = tmp_path_factory.mktemp("scview-pages")
    with fresh_database(str(request.param), tmp, "pages") as db_url:
        upgrade(db_url, "scview")
        engine = make_engine(db_url)
        with transaction(session_factory(engine)) as session:
            tokens = {name: create_tenant(session, name) for name in ("lincoln-sd", "oakwood-sd")}
            create_admin(session, ADMIN, PASSWORD)
        engine.dispose()
        app = create_app(db_url)
        with ServerThread(app) as server:
            yield Site(server.url, db_url, tokens)
        app.state.engine.dispose()


def sign_in(
    client: httpx.Client, username: str = ADMIN, password: str = PASSWORD
) -> httpx.Response:
    """Sign in over plain HTTP the way the form does: fetch it, post it with its token."""
    form = client.get("/admin/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    return client.post("/admin/login", data={"username": username, "password": password,
                                              "csrf": csrf.group(1), "next": "/admin/users"})


def unique(prefix: str) -> str:
    """A username prefix no other test uses (lower case, as a clerk would type it)."""
    return f"{prefix}{uuid.uuid4().hex[:6]}"


def age_sessions(db_url: str, by: timedelta) -> None:
    """Move every admin session's clock back, as if nobody had used it for ``by``."""
    engine = make_engine(db_url)
    with transaction(session_factory(engine)) as session:
        for row in session.scalars(select(AdminSession)):  # in Python: SQLite has no intervals
            row.created, row.last_seen = row.created - by, row.last_seen - by
    engine.dispose()

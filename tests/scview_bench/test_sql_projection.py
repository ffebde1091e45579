"""SQLite's ``attributes`` projection of a listing (``scview.projection``) gives exactly
the users the Python projection gives: for users holding every combination of the
optional attributes, and for many attribute lists. On PostgreSQL the listing projects
in Python, and gives the same users."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from scim2_models import Context
from sqlalchemy import select, true
from sqlalchemy.orm import Session

from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from staffsync.scview import users
from staffsync.scview.fastuser import ENTERPRISE
from staffsync.scview.http import published
from staffsync.scview.models import Tenant
from staffsync.scview.projection import json_projection
from staffsync.scview.resources import project, read_user, response_parameters
from staffsync.scview.tenants import create_tenant
from staffsync.sync.mapping import SYNCED_ATTRIBUTES
from tests.databases import BACKENDS, fresh_database

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
OPTIONAL: dict[str, Any] = {
    "externalId": "key-1",
    "displayName": "Ada L",
    "title": "Teacher",
    "name": {"givenName": "Zoë", "familyName": "Lovelace"},
    "active": False,
    "emails": [{"value": "ada@district.example.org", "type": "work", "primary": True}],
    "phoneNumbers": [{"value": "+15705550100", "type": "mobile", "primary": True}],
    "addresses": [{"locality": "Scranton", "type": "work"}],
}
EXTENSIONS: list[dict[str, str] | None] = [
    None, {"employeeNumber": "1001"}, {"department": "Science"},
    {"employeeNumber": "1002", "department": "Math", "costCenter": "7"},
]
PATHS = ["userName", "externalId", "displayName", "title", "name", "active", "emails",
         "phoneNumbers", "nickName", f"{ENTERPRISE}:employeeNumber",
         f"{ENTERPRISE}:department", f"{ENTERPRISE}:costCenter"]
BASE = "http://127.0.0.1/d/scim/v2"


def bodies() -> Iterator[dict[str, Any]]:
    """Users with each subset of the optional core attributes (every second extension)."""
    keys = sorted(OPTIONAL)
    for n, present in enumerate(itertools.chain.from_iterable(
            itertools.combinations(keys, size) for size in range(len(keys) + 1))):
        body: dict[str, Any] = {"schemas": [CORE], "userName": f"user{n:03d}",
                                **{key: OPTIONAL[key] for key in present}}
        extension = EXTENSIONS[n % len(EXTENSIONS)]
        if extension is not None:
            body["schemas"].append(ENTERPRISE)
            body[ENTERPRISE] = extension
        yield body


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Session, int]]:
    tmp: Path = tmp_path_factory.mktemp("projection")
    with fresh_database(str(request.param), tmp, "projection") as url:
        upgrade(url, "scview")
        engine = make_engine(url)
        with transaction(session_factory(engine)) as session:
            create_tenant(session, "mine")
            create_tenant(session, "other")
            tenant_id = session.scalar(select(Tenant.id).where(Tenant.name == "mine"))
            assert tenant_id is not None
            other = read_user({"schemas": [CORE], "userName": "other"},
                              Context.RESOURCE_CREATION_REQUEST)
            users.create(session, tenant_id + 1, other)  # never listed in "mine"
            for body in bodies():
                users.create(session, tenant_id,
                             read_user(body, Context.RESOURCE_CREATION_REQUEST))
            yield session, tenant_id
        engine.dispose()


def attribute_lists() -> list[str]:
    rng = random.Random(7)
    lists = [SYNCED_ATTRIBUTES, "userName", f"{ENTERPRISE}:department", "USERNAME,Emails"]
    for _ in range(30):
        chosen = rng.sample(PATHS, rng.randint(1, 6))
        lists.append(",".join(p.upper() if rng.random() < 0.3 else p for p in chosen))
    return lists


@pytest.mark.parametrize("attributes", attribute_lists())
def test_the_database_projects_as_python_does(
    seeded: tuple[Session, int], attributes: str
) -> None:
    session, tenant = seeded
    params = response_parameters(attributes, None)
    _, stored = users.search(session, tenant, true(), 1, 500)
    expected = [project(published(item, BASE), params) for item in stored]
    assert len(expected) == 2 ** len(OPTIONAL)
    shown = json_projection(session.get_bind().dialect.name, params)
    if session.get_bind().dialect.name != "sqlite":
        assert shown is None  # Python projects (expected) there
        return
    assert shown is not None
    total, texts = users.search_json(session, tenant, true(), 1, 500, shown)
    assert total == len(texts) == len(stored)
    assert [orjson.loads(text) for text in texts] == expected


def test_lists_it_does_not_cover_are_left_to_python() -> None:
    for attributes, excluded in (("meta", None), ("name.givenName", None),
                                 (None, "emails")):
        params = response_parameters(attributes, excluded)
        assert json_projection("sqlite", params) is None
    assert json_projection("sqlite", None) is None

"""The ``userName eq "..."`` fast path gives exactly the general filter's answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scim2_models import Context
from sqlalchemy import select
from sqlalchemy.orm import Session

from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from staffsync.scview import users
from staffsync.scview.fastfilter import equality
from staffsync.scview.filters import condition
from staffsync.scview.models import Tenant
from staffsync.scview.resources import read_user
from staffsync.scview.tenants import create_tenant
from tests.databases import BACKENDS, fresh_database

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
URN = "urn:ietf:params:scim:schemas:core:2.0:User:"

RECOGNISED = [
    ('userName eq "BJensen@Example.com"', ("user_name", "bjensen@example.com")),
    ('  USERNAME Eq "bjensen"  ', ("user_name", "bjensen")),
    (f'{URN}userName eq "bjensen"', ("user_name", "bjensen")),
    ('externalId eq "X-Bjensen"', ("external_id", "X-Bjensen")),  # caseExact
    ('userName eq "say \\"hi\\" \\u00e9"', ("user_name", 'say "hi" é')),
    ('userName eq ""', ("user_name", "")),
]
NOT_RECOGNISED = [
    None, "", 'userName ne "a"', 'userName co "a"', "userName eq null", "userName eq 1",
    'userName eq "a" and active eq true', '(userName eq "a")', 'displayName eq "a"',
    'emails.value eq "a"', 'emails[type eq "work"].value eq "a"', 'userName eq "a',
    'userName eq "a" "b"', 'userName eq "\\x"', "userName eq " + '"' + "a" * 2100 + '"',
]


@pytest.mark.parametrize(("text", "expected"), RECOGNISED)
def test_the_usual_lookups_are_recognised(text: str, expected: tuple[str, str]) -> None:
    assert equality(text) == expected


@pytest.mark.parametrize("text", NOT_RECOGNISED)
def test_anything_else_takes_the_general_parser(text: str | None) -> None:
    assert equality(text) is None


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Session, int]]:
    """A session on a database with two tenants' users; the id of the one searched."""
    tmp: Path = tmp_path_factory.mktemp("fastfilter")
    with fresh_database(str(request.param), tmp, "fastfilter") as url:
        upgrade(url, "scview")
        engine = make_engine(url)
        with transaction(session_factory(engine)) as session:
            yield session, _seed(session)
        engine.dispose()


def _seed(session: Session) -> int:
    create_tenant(session, "mine")
    create_tenant(session, "other")
    tenants = {name: id_ for name, id_ in session.execute(select(Tenant.name, Tenant.id))}
    people = [("BJensen", "shared"), ("JSmith", "shared"), ("Ann", "shared"),
              ('say "hi" é', "X-Quote"), ("lower", "x-quote")]
    for name, external in people:
        _create(session, tenants["mine"], name, external)
    _create(session, tenants["other"], "BJensen", "shared")  # never found from "mine"
    return tenants["mine"]


def _create(session: Session, tenant: int, name: str, external: str) -> None:
    body = {"schemas": [CORE], "userName": name, "externalId": external}
    users.create(session, tenant, read_user(body, Context.RESOURCE_CREATION_REQUEST))


SEARCHES = [
    'userName eq "bjensen"', 'userName eq "BJENSEN"', 'userName eq "nobody"',
    'externalId eq "shared"', 'externalId eq "SHARED"', 'externalId eq "X-Quote"',
    'userName eq "SAY \\"HI\\" \\u00c9"',
]
PAGES = [(1, 100), (2, 1), (3, 5), (4, 1), (1, 0)]


@pytest.mark.parametrize("text", SEARCHES)
@pytest.mark.parametrize(("start", "count"), PAGES)
def test_fast_and_general_paths_agree(
    seeded: tuple[Session, int], text: str, start: int, count: int
) -> None:
    session, tenant = seeded
    equal = equality(text)
    assert equal is not None
    fast = users.search_equal(session, tenant, *equal, start, count)
    general = users.search(session, tenant, condition(text), start, count)
    assert fast == general


def test_the_fast_path_finds_what_it_should(seeded: tuple[Session, int]) -> None:
    session, tenant = seeded
    total, found = users.search_equal(session, tenant, "external_id", "shared", 2, 1)
    assert total == 3 and len(found) == 1
    total, found = users.search_equal(session, tenant, "user_name", "bjensen", 1, 10)
    assert (total, [item["userName"] for item in found]) == (1, ["BJensen"])

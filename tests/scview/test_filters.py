"""The SCIM filter parser (a table of cases) and its SQL on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from scim2_models import Context
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from staffsync.scview import users
from staffsync.scview.errors import InvalidFilterException
from staffsync.scview.filters import (
    MAX_DEPTH,
    MAX_LENGTH,
    Compare,
    Logical,
    Not,
    ValuePath,
    condition,
    parse,
)
from staffsync.scview.models import ScimUser
from staffsync.scview.resources import read_user
from staffsync.scview.tenants import create_tenant
from tests.databases import BACKENDS, fresh_database
from tests.scview.conftest import CORE, ENTERPRISE

PARSED = [
    ('userName eq "bjensen"', Compare("username", "eq", "bjensen")),
    ('USERNAME Eq "BJensen"', Compare("username", "eq", "BJensen")),
    ("title pr", Compare("title", "pr")),
    ('name.familyName co "O\'Malley"', Compare("name.familyname", "co", "O'Malley")),
    ('userName sw "J" and active eq true', Logical(
        "and", Compare("username", "sw", "J"), Compare("active", "eq", True))),
    ('a eq 1 or b eq 2 and c eq 3', Logical(
        "or", Compare("a", "eq", 1), Logical("and", Compare("b", "eq", 2), Compare("c", "eq", 3)))),
    ('(a eq 1 or b eq 2) and c eq 3', Logical(
        "and", Logical("or", Compare("a", "eq", 1), Compare("b", "eq", 2)), Compare("c", "eq", 3))),
    ('not (active eq false)', Not(Compare("active", "eq", False))),
    ('emails[type eq "work"]', ValuePath("emails", Compare("type", "eq", "work"))),
    ('emails[type eq "work"].value ew ".org"', ValuePath(
        "emails", Compare("type", "eq", "work"), Compare("emails.value", "ew", ".org"))),
    (f'{ENTERPRISE}:employeeNumber eq "42"', Compare("employeenumber", "eq", "42")),
    (f'{CORE}:userName eq "x"', Compare("username", "eq", "x")),
    ('meta.lastModified gt "2011-05-13T04:42:34Z"',
     Compare("meta.lastmodified", "gt", "2011-05-13T04:42:34Z")),
    ('userName eq "a \\"quoted\\" name"', Compare("username", "eq", 'a "quoted" name')),
    ('externalId eq null', Compare("externalid", "eq", None)),
]


@pytest.mark.parametrize(("text", "tree"), PARSED, ids=[text for text, _ in PARSED])
def test_parse(text: str, tree: Any) -> None:
    assert parse(text) == tree


INVALID = [
    "",
    "userName",
    'userName eq',
    'userName zz "x"',
    'userName eq "unterminated',
    'userName eq bareword',
    '(userName eq "x"',
    'userName eq "x")',
    'userName eq "x" and',
    'emails[type eq "work"',
    'emails[type eq "work"].value',
    # SQL-injection-looking input is either a harmless string value or a parse error
    "userName eq ''; DROP TABLE scim_users; --",
    'userName eq "x" OR 1=1',
    "userName eq \"x\"; DELETE FROM tenants",
    '1=1 or userName pr',
    "x' or '1'='1",
    "(" * (MAX_DEPTH + 1) + "userName pr" + ")" * (MAX_DEPTH + 1),
    'userName eq "' + "a" * MAX_LENGTH + '"',
]


@pytest.mark.parametrize("text", INVALID)
def test_invalid_filters_are_invalid_filter(text: str) -> None:
    with pytest.raises(InvalidFilterException):
        condition(text) if text else parse(text)


UNSUPPORTED = ['nickName eq "x"', 'phoneNumbers.value eq "1"', 'emails.display eq "x"',
               'active gt true', 'userName gt 5', 'meta.lastModified gt "yesterday"']


@pytest.mark.parametrize("text", UNSUPPORTED)
def test_unsupported_attributes_and_types_are_invalid_filter(text: str) -> None:
    with pytest.raises(InvalidFilterException):
        condition(text)


# --- the SQL, on both backends --------------------------------------------------------

CREATE = Context.RESOURCE_CREATION_REQUEST
PEOPLE = [  # userName, familyName, work email, home email, active, employeeNumber
    ("BJensen", "Jensen", "bjensen@example.org", None, True, "100"),
    ("JSmith", "Smith", "jsmith@example.org", "js@home.example", False, "200"),
    ("o'malley", "O'Malley", None, "om@home.example", True, None),
    ("percent%user", "Under_Score", "pct@example.com", None, True, "300"),
]


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
    tuple[Engine, int]
]:
    """One seeded database per backend for the whole module; the tests only read it."""
    with fresh_database(str(request.param), tmp_path_factory.mktemp("filters")) as url:
        upgrade(url, "scview")
        engine = make_engine(url)
        with transaction(session_factory(engine)) as session:
            tenant_id = _seed(session)
        yield engine, tenant_id
        engine.dispose()


@pytest.fixture
def session(seeded: tuple[Engine, int]) -> Iterator[Session]:
    engine, tenant_id = seeded
    with session_factory(engine)() as session, session.begin():
        session.info["tenant"] = tenant_id
        yield session
        session.rollback()


def _seed(session: Session) -> int:
    create_tenant(session, "other")
    other = _tenant_id(session, "other")
    create_tenant(session, "mine")
    mine = _tenant_id(session, "mine")
    for name, family, work, home, active, number in PEOPLE:
        mails = [{"value": v, "type": t} for v, t in ((work, "work"), (home, "home")) if v]
        body = {"schemas": [CORE, ENTERPRISE], "userName": name, "active": active,
                "name": {"familyName": family}, "emails": mails, "externalId": f"x-{name}"}
        if number:
            body[ENTERPRISE] = {"employeeNumber": number}
        users.create(session, mine, read_user(body, CREATE))
    users.create(session, other, read_user({"schemas": [CORE], "userName": "BJensen"}, CREATE))
    return mine


def _tenant_id(session: Session, name: str) -> int:
    from staffsync.scview.models import Tenant

    return int(session.scalar(select(Tenant.id).where(Tenant.name == name)) or 0)


def names(session: Session, text: str) -> set[str]:
    total, found = users.search(session, session.info["tenant"], condition(text), 1, 100)
    assert total == len(found)
    return {item["userName"] for item in found}


MATCHES = [
    ('userName eq "bjensen"', {"BJensen"}),
    ('userName ne "bjensen"', {"JSmith", "o'malley", "percent%user"}),
    ('userName sw "J"', {"JSmith"}),
    ('userName ew "SMITH"', {"JSmith"}),
    ('userName co "%"', {"percent%user"}),
    ('name.familyName co "_"', {"percent%user"}),  # _ is not a LIKE wildcard here
    ('name.familyName eq "o\'malley"', {"o'malley"}),
    ("userName eq \"x' OR '1'='1\"", set()),
    ('active eq false', {"JSmith"}),
    ('not (active eq false)', {"BJensen", "o'malley", "percent%user"}),
    ('employeeNumber pr', {"BJensen", "JSmith", "percent%user"}),
    ('not (employeeNumber eq "100")', {"JSmith", "o'malley", "percent%user"}),
    ('employeeNumber gt "150"', {"JSmith", "percent%user"}),
    ('employeeNumber ge "200"', {"JSmith", "percent%user"}),
    ('employeeNumber le "200"', {"BJensen", "JSmith"}),
    ('employeeNumber lt "200"', {"BJensen"}),
    ('externalId eq "x-JSmith"', {"JSmith"}),
    ('externalId eq "X-JSMITH"', set()),  # externalId is caseExact
    ('emails.value eq "BJENSEN@example.org"', {"BJensen"}),
    ('emails co "home.example"', {"JSmith", "o'malley"}),
    ('emails[type eq "work"].value ew ".org"', {"BJensen", "JSmith"}),
    ('emails[type eq "home" and value sw "om"]', {"o'malley"}),
    ('emails[type eq "work"] and emails[type eq "home"]', {"JSmith"}),
    ('not (emails[type eq "work"])', {"o'malley"}),
    ('(userName eq "BJensen" or userName eq "JSmith") and active eq true', {"BJensen"}),
    ('meta.lastModified gt "2000-01-01T00:00:00Z"', {n for n, *_ in PEOPLE}),
    ('meta.lastModified lt "2000-01-01T00:00:00+02:00"', set()),
    ('meta.lastModified le "2000-01-01T00:00:00Z"', set()),
    ('meta.lastModified le "2999-01-01T00:00:00Z"', {n for n, *_ in PEOPLE}),
]


@pytest.mark.parametrize(("text", "expected"), MATCHES, ids=[text for text, _ in MATCHES])
def test_filter_selects_in_sql(session: Session, text: str, expected: set[str]) -> None:
    assert names(session, text) == expected


def test_filters_never_cross_tenants(session: Session) -> None:
    total = session.query(ScimUser).filter(ScimUser.user_name == "bjensen").count()
    assert total == 2  # one per tenant in the table...
    assert names(session, 'userName eq "BJensen"') == {"BJensen"}  # ...one for this tenant
    assert len(users.search(session, session.info["tenant"], condition(None), 1, 100)[1]) == 4

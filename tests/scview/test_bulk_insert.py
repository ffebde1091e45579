"""Bulk's batched insert (``users.insert_created``), which writes on the driver's
connection: it must store exactly what SQLAlchemy's insert of the same rows stores."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from staffsync.kit.db import transaction
from staffsync.kit.migrate import upgrade
from staffsync.scview import users
from staffsync.scview.app import create_app
from staffsync.scview.errors import UniquenessException
from staffsync.scview.models import Tenant, emails
from staffsync.scview.models import users as users_table
from staffsync.scview.tenants import create_tenant
from tests.databases import fresh_database
from tests.scview.conftest import CORE, ENTERPRISE

# Every column and its stored type, as text where a driver could hand back another
# type (SQLite's typeof tells integer from text; PostgreSQL's columns are typed).
USER_COLUMNS = {
    "sqlite": "user_name, external_id, employee_number, family_name, active, typeof(active), "
    "created, typeof(created), last_modified, version, resource, typeof(resource)",
    "postgresql": "user_name, external_id, employee_number, family_name, active, "
    "created::text, last_modified::text, version, resource::text",
}
EMAIL_COLUMNS = {
    "sqlite": 'u.user_name, e.value, e.type, e."primary", typeof(e."primary")',
    "postgresql": 'u.user_name, e.value, e.type, e."primary"',
}


@pytest.fixture
def sessions(backend: str, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """The app's own sessions (its engine writes JSON with orjson), with two tenants."""
    with fresh_database(backend, tmp_path, "insert") as url:
        upgrade(url, "scview")
        app = create_app(url)
        with transaction(app.state.sessions) as session:
            create_tenant(session, "alpha")
            create_tenant(session, "beta")
        yield app.state.sessions
        app.state.engine.dispose()


def tenant_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Tenant.id).order_by(Tenant.name)))


def batch() -> list[dict[str, Any]]:
    """Users of every shape the columns see: missing attributes, inactive, no or two
    emails, and text COPY and JSON must escape (tab, newline, backslash, quotes)."""
    return [
        {"schemas": [CORE, ENTERPRISE], "userName": "Full@Example.com", "externalId": "X1",
         "name": {"givenName": "Bárbara", "familyName": "Jensen"}, "active": True,
         "emails": [{"value": "Full@Example.com", "type": "work", "primary": True},
                    {"value": "home@example.org", "type": "home"}],
         ENTERPRISE: {"employeeNumber": "E-7"}},
        {"schemas": [CORE], "userName": "bare"},
        {"schemas": [CORE], "userName": 'tab\there "quoted" back\\slash', "active": False,
         "displayName": "line\nbreak \\N null-ish", "name": {"familyName": "O'Hara\t\\"},
         "emails": [{"value": "odd@example.com"}]},
    ]


def stored(session: Session, tenant_id: int) -> tuple[list[Any], list[Any]]:
    """The raw user and email rows of a tenant, ids left out (each insert has its own)."""
    conn = session.connection()
    dialect = conn.dialect.name
    rows = conn.execute(text(
        f"SELECT id, {USER_COLUMNS[dialect]} FROM scim_users WHERE tenant_id = :t "
        "ORDER BY user_name"), {"t": tenant_id}).all()
    mails = conn.execute(text(
        f"SELECT {EMAIL_COLUMNS[dialect]} FROM scim_emails e JOIN scim_users u "
        "ON u.id = e.user_id WHERE u.tenant_id = :t ORDER BY u.user_name, e.value"),
        {"t": tenant_id}).all()
    return [tuple(str(value).replace(row[0], "<id>") for value in row[1:]) for row in rows], [
        tuple(mail) for mail in mails]


def test_the_raw_insert_stores_what_sqlalchemy_stores(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        alpha, beta = tenant_ids(session)
        planned = [row for row in users.plan_creates(session, alpha, batch())
                   if isinstance(row, dict)]
        assert len(planned) == 3
        # a time on a whole second too: sqlite3's own datetime adapter would drop its
        # ".000000", SQLAlchemy's DateTime keeps it
        planned[1]["created"] = planned[1]["last_modified"] = datetime(2026, 1, 2, 3, 4, 5)
        users.insert_created(session, planned)

        copies = []
        for row in planned:
            new_id = str(uuid.uuid4())
            copies.append({**row, "id": new_id, "tenant_id": beta,
                           "resource": {**row["resource"], "id": new_id}})
        conn = session.connection()
        conn.execute(insert(users_table), copies)
        conn.execute(insert(emails), [mail for row in copies
                                      for mail in users.email_rows(row["id"], row["resource"])])

        new_rows, new_mails = stored(session, alpha)
        old_rows, old_mails = stored(session, beta)
        assert new_rows == old_rows
        assert new_mails == old_mails
        assert len(new_rows) == 3 and len(new_mails) == 3
        for row in planned:  # and read back through the service as planned
            assert users.get(session, alpha, row["id"]).resource == row["resource"]


def test_a_user_name_taken_since_planning_is_a_uniqueness_error(
    sessions: sessionmaker[Session],
) -> None:
    with transaction(sessions) as session:
        alpha, _ = tenant_ids(session)
        planned = [row for row in users.plan_creates(session, alpha, batch()[:1])
                   if isinstance(row, dict)]
        users.insert_created(session, planned)
    again = [{**row, "id": str(uuid.uuid4())} for row in planned]  # planned before the first
    with pytest.raises(UniquenessException), transaction(sessions) as session:
        users.insert_created(session, again)
    with transaction(sessions) as session:  # the failed batch wrote nothing
        held = session.scalars(select(users_table.c.id).where(users_table.c.tenant_id == alpha))
        assert list(held) == [planned[0]["id"]]


def test_a_batch_gets_distinct_time_ordered_ids(sessions: sessionmaker[Session]) -> None:
    names = [{"schemas": [CORE], "userName": f"many-{index}"} for index in range(2000)]
    with transaction(sessions) as session:
        alpha, _ = tenant_ids(session)
        planned = [row for row in users.plan_creates(session, alpha, names)
                   if isinstance(row, dict)]
    ids = [row["id"] for row in planned]
    assert len(set(ids)) == len(names)
    created = planned[0]["created"]
    since_epoch = int((created - datetime(1970, 1, 1)).total_seconds() * 1000 + 0.5)
    for text_id in ids:  # RFC 9562 version 7: Unix milliseconds (meta.created's), random
        parsed = uuid.UUID(text_id)
        assert (parsed.version, parsed.variant, str(parsed)) == (7, uuid.RFC_4122, text_id)
        assert parsed.int >> 80 == since_epoch
    assert {text_id[19] for text_id in ids} == set("89ab")
    assert len({text_id[15:18] + text_id[20:] for text_id in ids}) == len(ids)  # random parts


def test_a_planned_row_is_the_row_a_single_create_makes(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        alpha, _ = tenant_ids(session)
        planned = users.plan_creates(session, alpha, batch())
    for data, row in zip(batch(), planned, strict=True):
        assert isinstance(row, dict)
        single = users._new_row(alpha, data, row["created"])  # what POST /Users stores
        single["id"] = single["resource"]["id"] = row["id"]
        assert row == single
        assert row["resource"]["meta"] is not planned[0]["resource"]["meta"] or row is planned[0]

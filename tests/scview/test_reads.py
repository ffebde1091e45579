"""Reads take no write lock: a GET answers while another connection holds a write
transaction on the database (on SQLite, ``BEGIN IMMEDIATE``'s lock; on PostgreSQL, an
EXCLUSIVE lock on the users table, which still admits plain SELECTs). Before reads ran
in ``kit.db.read_only``, an SQLite GET waited for the writer (up to its 30 s busy
timeout), so the client's 10 s timeout here would have failed the test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Connection, create_engine, text

from tests.scview.conftest import LiveScview, create_user


@pytest.fixture
def writer(live: LiveScview) -> Iterator[Connection]:
    """A connection holding a write transaction until the test ends."""
    engine = create_engine(live.db_url)
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.connection.driver_connection.isolation_level = None  # type: ignore[union-attr]
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.begin()
            conn.execute(text("LOCK TABLE scim_users IN EXCLUSIVE MODE"))
        try:
            yield conn
        finally:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("ROLLBACK")
            else:
                conn.rollback()
    engine.dispose()


def test_get_and_filter_answer_while_a_writer_holds_the_lock(
    live: LiveScview, alpha: httpx.Client, request: pytest.FixtureRequest
) -> None:
    user = create_user(alpha)
    request.getfixturevalue("writer")
    by_id = alpha.get(f"/Users/{user['id']}", timeout=10)
    assert by_id.status_code == 200, by_id.text
    assert by_id.json()["userName"] == user["userName"]
    found = alpha.get("/Users", params={"filter": f'userName eq "{user["userName"]}"'},
                      timeout=10)
    assert found.status_code == 200, found.text
    assert [item["id"] for item in found.json()["Resources"]] == [user["id"]]

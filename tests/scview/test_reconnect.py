"""PostgreSQL closing SCView's connections (as a restart does) fails no request.

SCIM routes hold their connections across requests without pinging them first
(``kit.db.Units``); a request whose connection turns out to be gone before it committed
runs once more on a new one. The fault is injected at the server: PostgreSQL itself
terminates the backends, as it does on a restart.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from staffsync.kit.db import Units, dbapi, make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from staffsync.kit.server import ServerThread
from staffsync.scview.app import create_app
from staffsync.scview.tenants import create_tenant
from tests.databases import PG_ADMIN_URL, fresh_database
from tests.scview.conftest import user_body

TERMINATE = text(
    "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE datname = :name AND pid != pg_backend_pid()"
)
IN_FLIGHT = 8  # concurrent requests, so that several threads hold a connection


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    with fresh_database("postgresql", tmp_path, "reconnect") as url:
        upgrade(url, "scview")
        yield url


def terminate_backends(url: str) -> set[int]:
    """Close every connection to the database of ``url``, server side; their pids."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        name = make_engine(url).url.database
        pids = {int(row.pid) for row in conn.execute(TERMINATE, {"name": name})}
    admin.dispose()
    return pids


Call = tuple[str, str, Any]  # method, path, JSON body


def each(client: httpx.Client, requests: Sequence[Call]) -> list[int]:
    def send(request: Call) -> int:
        method, path, body = request
        return client.request(method, path, json=body).status_code

    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        return list(pool.map(send, requests))


def test_every_request_after_postgresql_closed_the_connections_succeeds(database: str) -> None:
    engine = make_engine(database)
    with transaction(session_factory(engine)) as session:
        token = create_tenant(session, "alpha")
    engine.dispose()
    app = create_app(database)
    headers = {"Authorization": f"Bearer {token}"}
    with ServerThread(app) as server, httpx.Client(
        base_url=f"{server.url}/alpha/scim/v2", headers=headers
    ) as client:
        users = [client.post("/Users", json=user_body()).json() for _ in range(IN_FLIGHT)]
        lookups: list[Call] = [("GET", f"/Users?filter=userName eq \"{user['userName']}\"", None)
                   for user in users]
        assert each(client, lookups) == [200] * IN_FLIGHT  # connections now held

        old = terminate_backends(database)
        assert old, "the server held no connection to terminate"
        statuses = each(client, [
            *lookups,
            *(("GET", f"/Users/{user['id']}", None) for user in users),
            *(("PUT", f"/Users/{user['id']}", user_body(user["userName"], title="after"))
              for user in users),
            *(("POST", "/Users", user_body()) for _ in users),
        ])
        assert statuses == [200] * (3 * IN_FLIGHT) + [201] * IN_FLIGHT
        assert client.get(f"/Users/{users[0]['id']}").json()["title"] == "after"
        assert not old & terminate_backends(database)  # they were new connections
    app.state.engine.dispose()


def test_a_unit_whose_connection_died_runs_again_and_commits_once(database: str) -> None:
    """Mid-transaction: the first run's insert was never committed, so no duplicate."""
    units = Units(make_engine(database))
    runs: list[int] = []

    def work() -> int:
        with units.unit() as session:
            conn = dbapi(session)
            conn.execute("INSERT INTO tenants (name, token_hash, created)"
                         " VALUES ('once', 'x', now())")
            runs.append(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
            if len(runs) == 1:
                terminate_backends(database)  # PostgreSQL goes away mid-transaction
            return int(conn.execute("SELECT count(*) FROM tenants").fetchone()[0])

    assert units.run(work) == 1
    assert len(runs) == 2 and runs[0] != runs[1]
    engine = make_engine(database)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM tenants WHERE name = 'once'")) == 1
    engine.dispose()
    units.close()
    units.engine.dispose()

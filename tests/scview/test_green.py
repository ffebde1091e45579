"""SCView's PostgreSQL requests run in greenlets on the event loop (``kit.green``).

A request's database waits let the loop serve other requests; each unit in flight has
its own held connection, at most ``Units.limit``; new connections are set up blocking, so
that requests arriving together at a new server never wait on each other for good.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import greenlet
import httpx
import psycopg
import pytest
from scim2_models import Context
from sqlalchemy import text

from staffsync.kit.db import Units, dbapi, make_engine, session_factory, transaction
from staffsync.kit.green import green_connections, spawn
from staffsync.kit.migrate import upgrade
from staffsync.kit.server import ServerThread
from staffsync.scview import users
from staffsync.scview.app import create_app
from staffsync.scview.resources import read_user
from staffsync.scview.tenants import create_tenant
from tests.databases import fresh_database
from tests.scview.conftest import user_body

NAP = 0.3  # seconds each unit waits on PostgreSQL


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    with fresh_database("postgresql", tmp_path, "green") as url:
        upgrade(url, "scview")
        yield url


@pytest.fixture
def units(database: str) -> Iterator[Units]:
    engine = make_engine(database)
    green_connections(engine)
    held = Units(engine, limit=2)
    yield held
    held.close()
    engine.dispose()


def napping_unit(units: Units) -> int:
    with units.unit(reading=True) as session:
        conn = dbapi(session)
        conn.execute("SELECT pg_sleep(%s)", (NAP,))
        return int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])


async def ticking(units: Units, count: int) -> tuple[list[int], int, float]:
    """Backend pids of ``count`` napping units run together, the ticks of a coroutine
    that ran meanwhile, and the seconds it all took."""
    ticks = 0
    done = asyncio.Event()

    async def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    pids = await asyncio.gather(*(spawn(lambda: napping_unit(units)) for _ in range(count)))
    took = time.monotonic() - started
    done.set()
    await ticker
    return list(pids), ticks, took


def run_loop(units: Units, count: int) -> tuple[list[int], int, float]:
    """``ticking`` on a new loop in its own thread (the browser tests' loop may be
    running in this one)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, ticking(units, count)).result()


def test_units_in_flight_wait_on_postgresql_together_and_the_loop_runs(units: Units) -> None:
    pids, ticks, took = run_loop(units, 2)
    assert len(set(pids)) == 2  # a connection each
    assert took < 1.6 * NAP  # the naps overlapped (one after the other: 2 * NAP)
    assert ticks >= 10  # the loop ran other work while they waited


def test_units_beyond_the_limit_wait_for_a_connection(units: Units) -> None:
    pids, _ticks, took = run_loop(units, 5)
    assert len(set(pids)) == 2 and len(units.held) == 2
    assert 2.5 * NAP < took < 4 * NAP  # three rounds of two


def test_a_new_server_answers_requests_arriving_together(database: str) -> None:
    """Its connections are set up while other requests are in flight (SQLAlchemy sets
    the first one up under a lock: a cooperative wait there blocked the server)."""
    engine = make_engine(database)
    with transaction(session_factory(engine)) as session:
        token = create_tenant(session, "alpha")
    engine.dispose()
    app = create_app(database)
    with ServerThread(app) as server, httpx.Client(
        base_url=f"{server.url}/alpha/scim/v2", headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ) as client, ThreadPoolExecutor(8) as pool:
        def lookup(index: int) -> int:
            params = {"filter": f'userName eq "nobody-{index}"'}
            return client.get("/Users", params=params).status_code

        assert list(pool.map(lookup, range(8))) == [200] * 8
    app.state.engine.dispose()


def test_a_cancelled_request_leaves_its_connection_usable(database: str) -> None:
    """Cancelled mid-query, the unit finishes the query's exchange before it stops, so
    the next unit on the same (only) connection works."""
    engine = make_engine(database)
    green_connections(engine)
    units = Units(engine, limit=1)

    async def cancel_then_reuse() -> int:
        napping = asyncio.ensure_future(spawn(lambda: napping_unit(units)))
        await asyncio.sleep(NAP / 3)
        napping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await napping
        return await spawn(lambda: napping_unit(units))

    with ThreadPoolExecutor(1) as thread:
        pid = thread.submit(asyncio.run, cancel_then_reuse()).result()
    assert len(units.held) == 1 and pid > 0
    units.close()
    engine.dispose()


def test_a_spawned_unit_sees_the_context_variables_of_its_task() -> None:
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")

    async def in_a_task() -> str:
        request_id.set("r-42")
        return await spawn(lambda: request_id.get("unset"))

    with ThreadPoolExecutor(1) as thread:
        assert thread.submit(asyncio.run, in_a_task()).result() == "r-42"


def test_requests_one_after_another_reuse_a_greenlet_but_not_its_context() -> None:
    """A greenlet runs one request after another (a new one each cost a frame stack);
    each request still sees only its own task's context variables, and an error a
    request raises reaches its caller."""
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")

    def work() -> tuple[greenlet.greenlet, str]:
        seen = request_id.get("unset")
        request_id.set("set by the work")  # must not leak into the next request
        return greenlet.getcurrent(), seen

    def failing() -> None:
        raise LookupError("no such user")

    async def requests() -> list[tuple[greenlet.greenlet, str]]:
        async def one(name: str) -> tuple[greenlet.greenlet, str]:
            request_id.set(name)
            return await spawn(work)

        first = await asyncio.create_task(one("first"))
        with pytest.raises(LookupError, match="no such user"):
            await spawn(failing)
        return [first, await asyncio.create_task(one("second")), await spawn(work)]

    with ThreadPoolExecutor(1) as thread:
        (first, first_seen), (second, second_seen), (third, third_seen) = thread.submit(
            asyncio.run, requests()
        ).result()
    assert first is second is third
    assert (first_seen, second_seen, third_seen) == ("first", "second", "unset")


def test_a_connection_postgresql_closes_while_idle_does_not_keep_the_loop_busy(
    units: Units, database: str
) -> None:
    """A held connection keeps its socket watched between units; when the server closes
    it, the socket stays readable, and the watch must stop rather than wake the loop at
    every turn. The next unit then takes a new connection."""
    admin = make_engine(database, isolation_level="AUTOCOMMIT")

    async def terminate_then_idle() -> tuple[float, int, int]:
        first = await spawn(lambda: napping_unit(units))
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT pg_terminate_backend(%s)", (first,))
        await asyncio.sleep(0.1)  # the FATAL message and the close arrive
        started = time.process_time()
        await asyncio.sleep(0.5)
        busy = time.process_time() - started
        return busy, first, await spawn(lambda: napping_unit(units))

    with ThreadPoolExecutor(1) as thread:
        busy, first, second = thread.submit(asyncio.run, terminate_then_idle()).result()
    admin.dispose()
    assert busy < 0.1  # a watch left on would spin the loop: about 0.5 s of CPU
    assert second != first


class _RolledBack(Exception):
    pass


def test_a_create_in_a_transaction_never_shares_a_statement_with_other_requests(
    database: str,
) -> None:
    """New users of requests in autocommit go in one statement together; one created in a
    transaction (a Bulk's) must be written in that transaction, alone. Here C's insert is
    held up by a table lock while B (in a transaction) and then A arrive: had B waited in
    line behind C, it would have run A's insert in its own transaction, and its rollback
    would have undone A's user after A was told it was created."""
    engine = make_engine(database)
    green_connections(engine)
    units = Units(engine, limit=4)
    with transaction(session_factory(engine)) as session:
        create_tenant(session, "alpha")
        tenant = int(session.execute(text("SELECT id FROM tenants")).scalar_one())
    locker = psycopg.connect(database.replace("+psycopg", ""))
    locker.execute("LOCK TABLE scim_users IN SHARE MODE")  # inserts wait until it ends

    def single(name: str) -> str:
        with units.unit(autocommit=True) as session:
            user = read_user(user_body(name), Context.RESOURCE_CREATION_REQUEST)
            return str(users.create(session, tenant, user)["id"])

    def rolled_back(name: str) -> str:
        with units.unit() as session:
            user = read_user(user_body(name), Context.RESOURCE_CREATION_REQUEST)
            users.create(session, tenant, user)
            raise _RolledBack

    async def scenario() -> list[Any]:
        started = []
        for work in (lambda: single("c"), lambda: rolled_back("b"), lambda: single("a")):
            started.append(asyncio.ensure_future(spawn(work)))
            await asyncio.sleep(NAP / 2)
        locker.rollback()
        return await asyncio.wait_for(
            asyncio.gather(*started, return_exceptions=True), timeout=10)

    with ThreadPoolExecutor(1) as thread:
        c_id, failure, a_id = thread.submit(asyncio.run, scenario()).result()
    locker.close()
    assert isinstance(failure, _RolledBack)
    with transaction(session_factory(engine)) as session:
        names = set(session.execute(text("SELECT user_name FROM scim_users")).scalars())
    assert names == {"a", "c"}
    assert isinstance(a_id, str) and isinstance(c_id, str)
    units.close()
    engine.dispose()

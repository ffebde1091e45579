"""Engines and sessions for both systems, on SQLite (default) or PostgreSQL.

The caller owns the transaction: services take a ``Session`` and never commit.
"""

from __future__ import annotations

import asyncio
import select
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import orjson
import psycopg
from greenlet import getcurrent
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from staffsync.kit import green

READ_ONLY = "staffsync_read_only"
DBAPI = "staffsync_dbapi"  # Session.info key: the DBAPI connection a ``Units`` unit holds
CURSOR = "staffsync_cursor"  # Session.info key: a cursor on it, kept for the hot statements
COALESCED = "staffsync_coalesced"  # Session.info key: its ``Units``' ``coalesced`` batches
T = TypeVar("T")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, **kwargs: object) -> Engine:
    """Create an engine with the settings each backend needs to behave like the other.

    SQLite gets WAL, foreign keys and a busy timeout so that a server, a worker and a
    CLI command can share one file. PostgreSQL gets pre-ping so that a restarted
    server does not surface as a failed request. JSON columns are written and read by
    orjson: a sync all writes 10,000 sync states with the values sent, and a Bulk
    1,000 SCIM resources (the json module took a fifth of an initial sync's CPU).
    """
    kwargs.setdefault("json_serializer", _json_text)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so
        # that SELECT ... then UPDATE inside one transaction is really atomic. A
        # ``read_only`` transaction takes no write lock (a plain deferred BEGIN).
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _json_text(value: object) -> str:
    return orjson.dumps(value).decode()


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    dbapi_conn.isolation_level = None  # type: ignore[attr-defined]
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # A checkpoint (copying the WAL into the database, with an fsync) every 10,000 pages
    # (40 MB) instead of SQLite's 1,000: a commit that ran one cost several ordinary
    # commits, and pages written again between two checkpoints are copied only once.
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # on the sqlite3 connection itself: through exec_driver_sql, SQLAlchemy's statement
    # machinery made BEGIN cost several times a small query (about 50 µs a transaction)
    reading = conn.get_execution_options().get(READ_ONLY)
    driver: Any = conn.connection.driver_connection
    if not driver.in_transaction:  # else a ``Units`` unit began it already
        driver.execute("BEGIN" if reading else "BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def read_only(factory: sessionmaker[Session], autocommit: bool = False) -> Iterator[Session]:
    """A transaction that only reads: on SQLite it takes no write lock, so an idle
    worker's checks never queue behind (or block) a writer.

    ``autocommit``: on PostgreSQL, each statement is its own transaction, which saves
    the BEGIN and ROLLBACK round trips. Only for reads that need no snapshot across
    statements (at PostgreSQL's READ COMMITTED each statement has its own anyway).
    """
    with factory() as session:
        options: dict[str, object] = {READ_ONLY: True}
        if autocommit and session.get_bind().dialect.name != "sqlite":
            options["isolation_level"] = "AUTOCOMMIT"
        session.connection(execution_options=options)
        try:
            yield session
        finally:
            session.rollback()


def dbapi(session: Session) -> Any:
    """The DBAPI connection (sqlite3 or psycopg) of ``session``'s transaction, for the hot
    statements that run on it directly. A ``Units`` session names the one it holds, which
    saves the Session's own begin (about 0.1 ms)."""
    held = session.info.get(DBAPI)
    if held is not None:
        return held
    return session.connection().connection.driver_connection


def cursor(session: Session) -> Any:
    """A DBAPI cursor on ``dbapi(session)``: a ``Units`` session keeps one, as psycopg
    took about 25 µs to make a cursor for each statement."""
    kept = session.info.get(CURSOR)
    return kept if kept is not None else dbapi(session).cursor()


def coalesced(
    session: Session, run: Callable[[Any, list[T]], list[Any]]
) -> green.Coalesced[T, Any]:
    """The batches of ``run`` (``green.Coalesced``) that the requests of ``session``'s
    ``Units`` share; for another session, batches of its own (each item alone)."""
    shared = session.info.get(COALESCED)
    if shared is None:
        return green.Coalesced(run)
    found = shared.get(run)
    if found is None:
        found = shared[run] = green.Coalesced(run)
    return cast(green.Coalesced[T, Any], found)


class _Held:
    """A connection a ``Units`` keeps open, with a ``Session`` bound to it."""

    def __init__(self, conn: Connection, shared: dict[Any, Any]) -> None:
        self.conn = conn
        driver: Any = conn.connection.driver_connection
        if isinstance(driver, green.GreenConnection):
            driver.cooperative = True  # its waits in a request let the loop run
        self.session = Session(bind=conn, info={DBAPI: driver, CURSOR: driver.cursor(),
                                                     COALESCED: shared})
        self.poll: Any = None  # see _closed_by_server


def _closed_by_server(held: _Held) -> bool:
    """Whether PostgreSQL closed an idle connection (as it does on a restart or
    ``pg_terminate_backend``): it sends a FATAL message and closes the socket, so the
    socket of an idle connection is readable. One poll, no round trip."""
    if held.poll is None:
        held.poll = select.poll()
        try:
            held.poll.register(held.session.info[DBAPI].pgconn.socket, select.POLLIN)
        except psycopg.Error:
            return True
    return bool(held.poll.poll(0))


class Units:
    """Units of work on connections held open across requests, for SCView's SCIM routes.

    A ``Session`` created, begun and committed per request cost about 0.12 ms, a fifth
    of a filtered GET; a transaction begun and committed on the DBAPI connection costs
    about 10 µs. So a unit takes one of the connections this object keeps open (with a
    ``Session`` bound to it), begins on its DBAPI connection, and commits or rolls back
    there; services that use the Session share the transaction (see ``_sqlite_begin``),
    and it is closed after a unit that used it. Each unit in flight has its own
    connection: one on SQLite, where routes run inline one at a time; on PostgreSQL one
    per request in flight (``kit.green``), at most ``limit``, beyond which a unit waits
    for one to be given back. Reads run without a write lock on SQLite and in
    autocommit on PostgreSQL, as ``read_only(..., autocommit=True)`` does.

    A held connection is not pinged before each use as the pool's pre-ping would do (a
    round trip per request). Instead a unit takes no connection that PostgreSQL has
    closed meanwhile (``_closed_by_server``, one poll), and ``run`` runs a request's
    work once more on a new connection when the one it held turned out to be gone
    anyway and the work failed before its COMMIT was sent: such a transaction was never
    committed, so a restarted server still never shows as a failed request.
    """

    def __init__(self, engine: Engine, limit: int = 20) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.limit = limit
        self.held: list[_Held] = []  # every connection open, for close()
        self.free: list[_Held] = []
        self.waiting: deque[Any] = deque()  # futures of units waiting for a connection
        # the greenlets (or threads) whose unit failed on a lost connection before COMMIT
        self.retry: weakref.WeakSet[Any] = weakref.WeakSet()
        self.coalesced: dict[Any, Any] = {}  # see ``coalesced``: shared by its sessions

    def _take(self) -> _Held:
        while self.free:
            held = self.free.pop()
            if self.sqlite or not _closed_by_server(held):
                return held
            self._discard(held)
        if len(self.held) >= self.limit and green.in_request():
            future = asyncio.get_running_loop().create_future()
            self.waiting.append(future)
            try:
                return green.wait_for(future)
            except BaseException:  # cancelled: a connection given to it goes to the next
                if future.done() and not future.cancelled():
                    self._give_back(future.result())
                raise
        held = _Held(self.engine.connect(), self.coalesced)
        self.held.append(held)
        return held

    def _give_back(self, held: _Held) -> None:
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_result(held)
                return
        self.free.append(held)

    @contextmanager
    def unit(self, reading: bool = False, autocommit: bool = False) -> Iterator[Session]:
        """A transaction; a ``reading`` one only reads (see ``read_only``), a writing one
        takes SQLite's write lock first (``BEGIN IMMEDIATE``).

        ``autocommit``: each write of the unit is one statement (as the single-user
        writes of ``scview.users`` are), so on PostgreSQL it runs in autocommit, each
        statement its own transaction, which saves the BEGIN and COMMIT round trips. A
        write may have committed when its connection is lost, so ``run`` does not run
        such a unit again.
        """
        held = self._take()
        session = held.session
        driver = session.info[DBAPI]
        committing = autocommit and not reading and not self.sqlite
        try:
            if self.sqlite:
                driver.execute("BEGIN" if reading else "BEGIN IMMEDIATE")
            else:  # psycopg begins a transaction itself before the first statement
                driver.autocommit = reading or autocommit
            yield session
            if session.in_transaction():  # a service used the Session itself
                session.flush()
            committing = True
            driver.commit()
        except BaseException:
            if self._lost(held.conn):
                self._discard(held)
                if not committing:
                    self.retry.add(getcurrent())
            else:
                driver.rollback()
            raise
        finally:
            if session.in_transaction():  # else it holds nothing: reuse it as it is
                session.close()
            if held in self.held:
                self._give_back(held)

    def _lost(self, conn: Connection) -> bool:
        """Whether PostgreSQL closed ``conn`` (SQLAlchemy may have invalidated it already)."""
        if self.sqlite:
            return False
        if conn.invalidated:
            return True
        driver: Any = conn.connection.driver_connection
        return bool(driver.broken or driver.closed)

    def run(self, work: Callable[[], T]) -> T:
        """``work()`` (whose units are this greenlet's or thread's), once more if a
        connection it used was found gone before it committed (see the class docstring)."""
        current = getcurrent()
        self.retry.discard(current)
        try:
            return work()
        except Exception:
            if current not in self.retry:
                raise
            self.retry.discard(current)
        return work()

    def _discard(self, held: _Held) -> None:
        self.held.remove(held)
        held.conn.invalidate()
        held.conn.close()

    def close(self) -> None:
        for held in self.held:
            held.conn.close()
        self.held.clear()
        self.free.clear()

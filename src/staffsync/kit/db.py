"""Engines and sessions for both systems, on SQLite (default) or PostgreSQL.

The caller owns the transaction: services take a ``Session`` and never commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "staffsync_read_only"
DBAPI = "staffsync_dbapi"  # Session.info key: the DBAPI connection a ``Units`` unit holds
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


class Units:
    """Units of work on a connection held open across requests, for SCView's SCIM routes.

    A ``Session`` created, begun and committed per request cost about 0.12 ms, a fifth
    of a filtered GET; a transaction begun and committed on the DBAPI connection costs
    about 10 µs. So each thread (one on SQLite, where routes run inline; one per
    threadpool thread on PostgreSQL) keeps one pooled connection, and a unit is: begin
    on its DBAPI connection, the thread's ``Session`` bound to it (services that use
    the Session share the transaction, see ``_sqlite_begin``; it is closed after a unit
    that used it), commit or roll back. Reads run without a write lock on SQLite and in
    autocommit on PostgreSQL, as ``read_only(..., autocommit=True)`` does.

    A held connection is not pinged before each use as the pool's pre-ping would do (a
    round trip per request). Instead ``run`` runs a request's work once more on a new
    connection when the one it held turned out to be gone (PostgreSQL restarted) and
    the work failed before its COMMIT was sent: such a transaction was never committed,
    so a restarted server still never shows as a failed request.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.local = threading.local()
        self.held: list[Connection] = []  # every thread's, for close()

    def _session(self) -> Session:
        """This thread's Session, on its held connection (opened on first use)."""
        session: Session | None = getattr(self.local, "session", None)
        if session is None:
            conn = self.engine.connect()
            self.held.append(conn)
            session = Session(bind=conn, info={DBAPI: conn.connection.driver_connection})
            self.local.session, self.local.conn = session, conn
        return session

    @contextmanager
    def unit(self, reading: bool = False) -> Iterator[Session]:
        """A transaction; a ``reading`` one only reads (see ``read_only``), a writing one
        takes SQLite's write lock first (``BEGIN IMMEDIATE``)."""
        session = self._session()
        driver = session.info[DBAPI]
        if self.sqlite:
            driver.execute("BEGIN" if reading else "BEGIN IMMEDIATE")
        else:  # psycopg begins a transaction itself before the first statement
            driver.autocommit = reading
        self.local.committing = False
        try:
            yield session
            if session.in_transaction():  # a service used the Session itself
                session.flush()
            self.local.committing = True
            driver.commit()
        except BaseException:
            if not self._lost(self.local.conn):
                driver.rollback()
            raise
        finally:
            if session.in_transaction():  # else it holds nothing: reuse it as it is
                session.close()

    def _lost(self, conn: Connection) -> bool:
        """Whether PostgreSQL closed ``conn`` (SQLAlchemy may have invalidated it already)."""
        if self.sqlite:
            return False
        if conn.invalidated:
            return True
        driver: Any = conn.connection.driver_connection
        return bool(driver.broken or driver.closed)

    def run(self, work: Callable[[], T]) -> T:
        """``work()`` (whose units are this thread's), once more if its connection was
        found gone before it committed (see the class docstring)."""
        try:
            return work()
        except Exception:
            conn: Connection | None = getattr(self.local, "conn", None)
            if conn is None or not self._lost(conn):
                raise
            self._discard(conn)
            if self.local.committing:  # it may have committed: the client must be told
                raise
        return work()

    def _discard(self, conn: Connection) -> None:
        self.local.conn = self.local.session = None
        self.held.remove(conn)
        conn.invalidate()
        conn.close()

    def close(self) -> None:
        for conn in self.held:
            conn.close()
        self.held.clear()

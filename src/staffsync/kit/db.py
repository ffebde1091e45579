"""Engines and sessions for both systems, on SQLite (default) or PostgreSQL.

The caller owns the transaction: services take a ``Session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "staffsync_read_only"


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
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # on the sqlite3 connection itself: through exec_driver_sql, SQLAlchemy's statement
    # machinery made BEGIN cost several times a small query (about 50 µs a transaction)
    reading = conn.get_execution_options().get(READ_ONLY)
    driver = conn.connection.driver_connection
    driver.execute("BEGIN" if reading else "BEGIN IMMEDIATE")  # type: ignore[union-attr]


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

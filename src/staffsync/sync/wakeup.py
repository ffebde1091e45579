"""How an idle worker waits for work without spinning.

PostgreSQL: ``LISTEN staffsync_sync_due`` on a dedicated autocommit connection, woken by
the ``NOTIFY`` that ``sync_state`` sends from the edit's own transaction (so on commit,
never before). The wait still ends every ``poll`` seconds, for rows whose backoff has
run out, and within ``STOP_CHECK`` seconds of a stop request. SQLite: a plain
``poll``-second sleep.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

import psycopg
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis.sync_state import DUE_CHANNEL

log = logging.getLogger("staffsync.worker")
STOP_CHECK = 0.25  # seconds: how soon a worker blocked on LISTEN notices a stop request


class Wakeup(Protocol):
    def wait(self, stop: threading.Event) -> None: ...

    def close(self) -> None: ...


class Sleep:
    """Wait ``poll`` seconds, or less when ``stop`` is set."""

    def __init__(self, poll: float) -> None:
        self.poll = poll

    def wait(self, stop: threading.Event) -> None:
        stop.wait(self.poll)

    def close(self) -> None:
        pass


class Listen:
    """Wait for a ``NOTIFY`` on ``DUE_CHANNEL``, at most ``poll`` seconds."""

    def __init__(self, engine: Engine, poll: float) -> None:
        url = engine.url.set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)
        self.poll = poll
        self.conn: psycopg.Connection | None = None
        # Listen before the first round: an edit committed between a round's claim and
        # a later LISTEN would wake nobody until the poll.
        self._connection()

    def _connection(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(self.conninfo, autocommit=True)
            self.conn.execute(f"LISTEN {DUE_CHANNEL}")
        return self.conn

    def wait(self, stop: threading.Event) -> None:
        deadline = time.monotonic() + self.poll
        try:
            # In slices, so that a stop request is seen within STOP_CHECK seconds.
            while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
                for _ in self._connection().notifies(timeout=min(left, STOP_CHECK),
                                                     stop_after=1):
                    return
        except psycopg.OperationalError:  # the server restarted: listen again next time
            log.warning("lost the LISTEN connection; reconnecting")
            self.close()
            stop.wait(self.poll)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def wakeup_for(factory: sessionmaker[Session], poll: float, listen: float) -> Wakeup:
    """``Listen`` (at most ``listen`` seconds) on PostgreSQL, else ``Sleep(poll)``."""
    engine = factory.kw["bind"]
    if engine.dialect.name == "postgresql":
        return Listen(engine, listen)
    return Sleep(poll)

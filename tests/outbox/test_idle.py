"""An idle worker blocks instead of spinning: the CPU time of its threads (user and
system, from /proc, whatever else the machine is doing) over a few idle seconds stays a
small share of the wall time, and it only reads (on SQLite, a ``BEGIN IMMEDIATE`` would
take the database's write lock five times a second)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from staffsync.sync.scim_client import Target
from staffsync.sync.worker import Worker, WorkerConfig
from tests.outbox.conftest import mismatches
from tests.outbox.factories import add_staff, state_of
from tests.outbox.test_worker import eventually

IDLE_SECONDS = 2.0
# A worker that spins burns most of a core; one that polls a few cheap read-only checks
# a second burns about 2 % (measured on SQLite; less on PostgreSQL's LISTEN). 10 %
# leaves room for a loaded machine and still catches a busy loop.
MOST_CPU_SHARE = 0.10


def cpu_seconds(thread_ids: list[int]) -> float:
    """User plus system CPU time of these threads of this process (proc(5) fields 14, 15)."""
    ticks = 0
    for tid in thread_ids:
        with open(f"/proc/self/task/{tid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


# SQLite's BEGIN IMMEDIATE takes the write lock even if nothing is written after it.
WRITES = ("INSERT", "UPDATE", "DELETE", "NOTIFY", "BEGIN IMMEDIATE")


@contextmanager
def watching(engine: Engine) -> Iterator[list[str]]:
    """The SQL the engine sends meanwhile (the worker's ``BEGIN`` included on SQLite)."""
    seen: list[str] = []

    def note(conn: object, cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_an_idle_worker_does_not_spin(fis: sessionmaker[Session], target: Target) -> None:
    username = add_staff(fis)[1]  # one user, synced first: then there is nothing to do
    worker, stop = Worker(fis, WorkerConfig(reconcile_every=None)), threading.Event()
    loop = threading.Thread(target=worker.run, args=(stop,), name="staffsync-worker")
    loop.start()
    try:
        eventually(lambda: not state_of(fis, username).dirty, within=30)
        time.sleep(0.5)  # the round that pushed it is over
        threads = [t.native_id for t in threading.enumerate()
                   if t.name.startswith("staffsync") and t.native_id is not None]
        with watching(fis.kw["bind"]) as statements:
            before, started = cpu_seconds(threads), time.monotonic()
            time.sleep(IDLE_SECONDS)
            used, elapsed = cpu_seconds(threads) - before, time.monotonic() - started
        assert loop.is_alive()
        assert used < MOST_CPU_SHARE * elapsed, f"{used:.2f} s of CPU in {elapsed:.1f} s idle"
        assert statements, "the idle worker does not even look for work"
        writes = [sql for sql in statements if sql.lstrip().upper().startswith(WRITES)]
        assert writes == []  # it only reads: no write lock taken on SQLite, no row touched
    finally:
        stop.set()
        loop.join()
    assert mismatches(fis, target) == []

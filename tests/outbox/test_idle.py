"""An idle worker blocks instead of spinning: the CPU time of its threads (user and
system, from /proc, whatever else the machine is doing) over a few idle seconds stays a
small share of the wall time."""

from __future__ import annotations

import os
import threading
import time

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
        before, started = cpu_seconds(threads), time.monotonic()
        time.sleep(IDLE_SECONDS)
        used, elapsed = cpu_seconds(threads) - before, time.monotonic() - started
        assert loop.is_alive()
        assert used < MOST_CPU_SHARE * elapsed, f"{used:.2f} s of CPU in {elapsed:.1f} s idle"
    finally:
        stop.set()
        loop.join()
    assert mismatches(fis, target) == []

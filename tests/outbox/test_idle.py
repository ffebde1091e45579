"""An idle ``staffsync worker`` process blocks instead of spinning: its CPU time (all
threads, user and system, from /proc) over a few idle seconds stays a small share."""

from __future__ import annotations

import os
import subprocess
import time

from sqlalchemy.orm import Session, sessionmaker

from staffsync.sync.scim_client import Target
from tests.outbox.factories import add_staff, state_of
from tests.outbox.scview_faults import scview_users
from tests.outbox.test_killed_worker import STAFFSYNC
from tests.outbox.test_worker import eventually

IDLE_SECONDS = 2.0
# A worker that spins burns most of a core; one that polls a few cheap read-only checks
# a second burns about 2 % (measured on SQLite; less on PostgreSQL's LISTEN). 10 %
# leaves room for a loaded machine and still catches a busy loop.
MOST_CPU_SHARE = 0.10


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process, all threads (proc(5) fields 14, 15)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_an_idle_worker_does_not_spin(fis: sessionmaker[Session], fis_url: str,
                                      target: Target) -> None:
    add_staff(fis)  # one user, synced first: then there is nothing to do
    command = [STAFFSYNC, "worker", "--db", fis_url, "--reconcile-every", "off"]
    worker = subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        eventually(lambda: len(scview_users(target)) == 1, within=30)
        eventually(lambda: not any(state_of(fis, u["userName"]).dirty
                                   for u in scview_users(target)), within=10)
        time.sleep(0.5)  # the round that pushed it is over
        before, started = cpu_seconds(worker.pid), time.monotonic()
        time.sleep(IDLE_SECONDS)
        used, elapsed = cpu_seconds(worker.pid) - before, time.monotonic() - started
        assert worker.poll() is None, "the worker exited"
        assert used < MOST_CPU_SHARE * elapsed, f"{used:.2f} s of CPU in {elapsed:.1f} s idle"
    finally:
        worker.terminate()
        worker.wait(timeout=15)

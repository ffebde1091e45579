"""A ``staffsync worker`` process SIGKILLed in the middle of a push loses nothing: its
claims are leases, and a second worker takes them over once they expire."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis.models import SyncState
from staffsync.kit.db import transaction
from staffsync.sync.scim_client import Target
from tests.outbox.conftest import mismatches
from tests.outbox.factories import add_staff
from tests.outbox.scview_faults import LiveScview, scview_users

STAFFSYNC = str(Path(sys.executable).with_name("staffsync"))  # the installed command


def start_worker(fis_url: str) -> subprocess.Popen[bytes]:
    command = [STAFFSYNC, "worker", "--db", fis_url,
               "--lease-seconds", "2", "--reconcile-every", "off", "--concurrency", "2"]
    return subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def wait_for(check, within: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "did not happen in time"
        time.sleep(0.05)


def leases(fis: sessionmaker[Session]) -> set[str | None]:
    with transaction(fis) as session:
        return set(session.scalars(select(SyncState.lease_owner)))


def test_a_killed_worker_loses_nothing(fis: sessionmaker[Session], fis_url: str,
                                       scview: LiveScview, target: Target) -> None:
    for _ in range(4):
        add_staff(fis)
    scview.faulty.mode = "hold"  # the first write is held open: a push in flight
    first = start_worker(fis_url)
    try:
        wait_for(lambda: scview.faulty.held >= 1, within=20)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        first.kill()
        first.stderr.close()  # type: ignore[union-attr]
    assert leases(fis) != {None}  # the dead worker's claims are still leased
    scview.faulty.mode = None  # the held write now lands, as a request already sent would
    second = start_worker(fis_url)
    try:
        wait_for(lambda: mismatches(fis, target) == [], within=20)
    finally:
        second.send_signal(signal.SIGTERM)  # a clean stop
        assert second.wait(timeout=15) == 0
        second.stderr.close()  # type: ignore[union-attr]
    assert len(scview_users(target)) == 4
    assert leases(fis) == {None}

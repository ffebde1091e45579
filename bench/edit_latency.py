"""Benchmark: latency from an HR edit to the change being visible in SCView.

    .venv/bin/python -m bench.edit_latency [--edits 1000] [--backend sqlite|postgresql|both]

Every part runs as it does in production, each its own process on loopback: SCView is
``staffsync scview serve``; FIS is ``staffsync fis serve``. On SQLite the sync worker
runs inside the FIS process (the default of ``fis serve``, which polls every 0.2 s); on
PostgreSQL FIS runs with ``--no-worker`` and one ``staffsync worker`` process does the
work, woken by LISTEN/NOTIFY. Both databases use the backend measured. The district is
seeded and synced (a sync all) before the worker starts, so the outbox is empty.

One edit is Edit Demographics through FIS's JSON API (``PATCH /api/v1/staff/{id}``, a
new first name), timed from the moment the request is sent; it is visible when a GET of
that user from SCView's SCIM API returns the new givenName. Edits are paced: one at a
time, each waited for, so each figure is one edit's latency, with no coalescing or
batching to flatter it. Before each edit the benchmark waits a random 0..``--gap``
seconds, so an edit lands at a random point of the worker's poll (otherwise every edit
would arrive just after a round ended, at the same phase). The watcher polls SCView
every ``--poll`` seconds; a figure is late by at most one poll period (the poll's sleep
plus one GET), which the table reports, and is never early.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bench.sync_all import http_of, list_all, new_tenant, point_at, wait_until_up
from staffsync.fis import auth, seed
from staffsync.fis.models import Staff, SyncState, User
from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from staffsync.kit.server import free_port
from staffsync.kit.settings import sqlite_url
from staffsync.sync import service
from staffsync.sync.scim_client import Target

STAFFSYNC = str(Path(sys.executable).with_name("staffsync"))
PG = os.environ.get("STAFFSYNC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WARM_UP = 20  # edits made and not counted: connections opened, caches warm


@dataclass
class Stack:
    """The running system: FIS's API, SCView's tenant, and who is who in both."""

    fis_url: str
    api_key: str
    target: Target
    users: list[tuple[str, str]]  # (FIS staff_id, SCView id) of every synced user


@dataclass
class Sample:
    latency: float  # PATCH sent .. SCView's GET showing the new value received
    api: float  # the PATCH's own round trip (the edit is committed within it)
    polls: int
    polling: float  # total time spent polling, for the mean poll period


@contextmanager
def database(backend: str, folder: Path, name: str) -> Iterator[str]:
    """A fresh, migrated database of ``name``'s system (fis or scview), dropped after."""
    if backend == "sqlite":
        url = sqlite_url(folder / f"{name}.db")
        upgrade(url, name)
        yield url
        return
    admin = create_engine(make_url(PG).set(database="postgres"), isolation_level="AUTOCOMMIT")
    dbname = f"staffsync_bench_{name}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    try:
        url = make_url(PG).set(database=dbname).render_as_string(hide_password=False)
        upgrade(url, name)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def process(command: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A ``staffsync`` subprocess, its output in ``log``; stopped (SIGTERM) after."""
    with log.open("wb") as output:
        proc = subprocess.Popen([STAFFSYNC, *command], stdout=output, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def prepare(fis_db: str, scview_url: str, scview_db: str, staff: int) -> Stack:
    """Seed FIS, create the tenant, configure the sync and run a sync all (no worker yet)."""
    engine = make_engine(fis_db, hide_parameters=True)
    factory = session_factory(engine)
    try:
        with transaction(factory) as session:
            seed.seed(session, staff, random.Random(1))
            api_key = auth.create_api_key(session, "bench", "hr")
        target = Target(scview_url, "bench", new_tenant(scview_db, "bench"))
        point_at(factory, scview_url, target.database, target.token)
        run = service.sync_all(factory, "bench")
        assert run["status"] == "completed", run
        with transaction(factory) as session:
            dirty = session.scalar(select(func.count()).where(SyncState.dirty))
            assert dirty == 0, f"{dirty} users still to push after the sync all"
            pairs = session.execute(select(Staff.staff_id, User.username).join(User.staff))
            staff_of = {username: staff_id for staff_id, username in pairs}
    finally:
        engine.dispose()
    with http_of(target) as http:
        scim_id = {user["userName"]: user["id"] for user in list_all(http)}
    users = [(staff_of[name], scim_id[name]) for name in sorted(staff_of)]
    return Stack("", api_key, target, users)


@contextmanager
def running(backend: str, folder: Path, staff: int) -> Iterator[Stack]:
    """SCView, FIS and the worker, each its own process, on ``backend``."""
    with ExitStack() as stack:
        fis_db = stack.enter_context(database(backend, folder, "fis"))
        scview_db = stack.enter_context(database(backend, folder, "scview"))
        scview_port, fis_port = free_port(), free_port()
        stack.enter_context(process(["scview", "serve", "--db", scview_db,
                                     "--port", str(scview_port)], folder / "scview.log"))
        scview_url = f"http://127.0.0.1:{scview_port}"
        wait_until_up(scview_url)
        system = prepare(fis_db, scview_url, scview_db, staff)
        serve = ["fis", "serve", "--db", fis_db, "--port", str(fis_port)]
        if backend == "sqlite":  # the worker runs inside fis serve
            stack.enter_context(process(serve, folder / "fis.log"))
        else:
            stack.enter_context(process([*serve, "--no-worker"], folder / "fis.log"))
            stack.enter_context(process(["worker", "--db", fis_db], folder / "worker.log"))
        system.fis_url = f"http://127.0.0.1:{fis_port}"
        wait_until_up(system.fis_url)
        yield system


def measure(system: Stack, edits: int, gap: float, poll: float,
            rng: random.Random) -> list[Sample]:
    """``WARM_UP`` + ``edits`` paced edits; the samples of the last ``edits``."""
    fis = httpx.Client(base_url=f"{system.fis_url}/api/v1", timeout=30,
                       headers={"Authorization": f"Bearer {system.api_key}"})
    samples: list[Sample] = []
    with fis, http_of(system.target) as scview:
        for n in range(WARM_UP + edits):
            staff_id, scim_id = system.users[n % len(system.users)]
            time.sleep(rng.uniform(0, gap))
            sample = one_edit(fis, scview, staff_id, scim_id, f"Edit{n:05d}", poll)
            if n >= WARM_UP:
                samples.append(sample)
    return samples


def one_edit(fis: httpx.Client, scview: httpx.Client, staff_id: str, scim_id: str,
             name: str, poll: float, within: float = 30.0) -> Sample:
    sent = time.perf_counter()
    fis.patch(f"/staff/{staff_id}", json={"first_name": name}).raise_for_status()
    answered = time.perf_counter()
    polls = 0
    while True:
        polls += 1
        user = scview.get(f"/Users/{scim_id}").raise_for_status().json()
        seen = time.perf_counter()
        if user["name"]["givenName"] == name:
            return Sample(seen - sent, answered - sent, polls, seen - answered)
        if seen - sent > within:
            raise RuntimeError(f"edit of {staff_id} not visible in SCView after {within} s")
        time.sleep(poll)


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def row(label: str, samples: list[Sample], load: tuple[float, float]) -> str:
    latencies = [s.latency for s in samples]
    within = sum(v <= 1.0 for v in latencies) / len(latencies)
    period = sum(s.polling for s in samples) / sum(s.polls for s in samples)
    api = statistics.median(s.api for s in samples)
    cells = [label, f"{len(samples):,}", ms(percentile(latencies, 50)),
             ms(percentile(latencies, 99)), ms(max(latencies)), f"{within:.1%}",
             ms(api), ms(period), f"{load[0]:.1f} → {load[1]:.1f}"]
    return "| " + " | ".join(cells) + " |"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


WORKER = {"sqlite": "SQLite, worker in `fis serve` (0.2 s poll)",
          "postgresql": "PostgreSQL, `staffsync worker` (LISTEN/NOTIFY)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edits", type=int, default=1000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--staff", type=int, default=200, help="district size to seed")
    parser.add_argument("--gap", type=float, default=0.25,
                        help="longest random pause before an edit, in seconds")
    parser.add_argument("--poll", type=float, default=0.005,
                        help="the watcher's pause between GETs to SCView, in seconds")
    args = parser.parse_args()
    os.environ.setdefault("STAFFSYNC_SECRET_KEY", Fernet.generate_key().decode())
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rows = []
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp, running(backend, Path(tmp), args.staff) as s:
            before = os.getloadavg()[0]
            samples = measure(s, args.edits, args.gap, args.poll, random.Random(3))
            rows.append(row(WORKER[backend], samples, (before, os.getloadavg()[0])))
    print("\n| backend and worker | edits | p50 | p99 | max | within 1 s | PATCH p50 "
          "| poll period | load avg (1 min) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

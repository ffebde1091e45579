"""Benchmark: sync all of ~10,000 FIS users into SCView, three ways, against the naive way.

    .venv/bin/python -m bench.sync_all [--staff 10560] [--naive-sample N] [--noop-runs 5]

Both systems on SQLite in a temporary folder; SCView runs as its own process
(``staffsync scview serve``) on loopback, as it would in production, so the sync and the
server do not share a GIL. Measured with ``service.sync_all`` (what Run Sync, the API
and ``staffsync sync all`` call), so the times include reading FIS, listing SCView,
planning, writing, and recording the run and every user's sync state.

Scenarios: (1) initial sync into an empty tenant; (2) again with nothing changed (must
be 0 writes; run ``--noop-runs`` times, the table shows the median); (3) again after 1%
of the users were changed directly in SCView (drift).
The naive way is one GET (filter by externalId) and one PUT (or POST when absent) per
user. By default it is timed on every user; ``--naive-sample N`` times N users only and
scales linearly (it is strictly per user), and the table then says so beside the figure.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import seed, third_party, users
from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from staffsync.kit.server import free_port
from staffsync.kit.settings import sqlite_url
from staffsync.scview.tenants import create_tenant
from staffsync.sync import service
from staffsync.sync.mapping import to_scim
from staffsync.sync.scim_client import Target
from staffsync.sync.snapshot import UserSnapshot

STAFFSYNC = str(Path(sys.executable).with_name("staffsync"))


@contextmanager
def scview_server(folder: Path, workers: int = 1) -> Iterator[tuple[str, str]]:
    """SCView process(es) on a fresh SQLite database; yields (url, scview db url)."""
    db = sqlite_url(folder / "scview.db")
    upgrade(db, "scview")
    port = free_port()
    proc = subprocess.Popen([STAFFSYNC, "scview", "serve", "--db", db, "--port", str(port),
                             "--workers", str(workers)])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url)
        yield url, db
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def wait_until_up(url: str) -> None:
    for _ in range(200):
        try:
            httpx.get(url)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"SCView did not start on {url}")


def new_tenant(scview_db: str, name: str) -> str:
    engine = make_engine(scview_db)
    try:
        with transaction(session_factory(engine)) as session:
            return create_tenant(session, name)
    finally:
        engine.dispose()


def fis_district(folder: Path, staff: int) -> sessionmaker[Session]:
    db = sqlite_url(folder / "fis.db")
    upgrade(db, "fis")
    factory = session_factory(make_engine(db, hide_parameters=True))
    with transaction(factory) as session:
        seed.seed(session, staff, random.Random(1))
    return factory


def point_at(factory: sessionmaker[Session], url: str, tenant: str, token: str) -> None:
    with transaction(factory) as session:
        third_party.save(session, {"end_point": url, "database_name": tenant,
                                   "token": token, "enabled": True})


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def drift(target: Target, share: float, rng: random.Random) -> int:
    """Change ``share`` of the tenant's users directly in SCView; returns how many."""
    with http_of(target) as http:
        listed = list_all(http)
        chosen = rng.sample(listed, max(1, int(len(listed) * share)))
        for user in chosen:
            body = {**user, "name": {**user.get("name", {}), "givenName": "Drifted"}}
            http.put(f"/Users/{user['id']}", json=body).raise_for_status()
    return len(chosen)


def http_of(target: Target) -> httpx.Client:
    return httpx.Client(base_url=target.base_url, timeout=30,
                        headers={"Authorization": f"Bearer {target.token}"})


def list_all(http: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page = http.get("/Users", params={"startIndex": len(found) + 1, "count": 500}).json()
        found += page["Resources"]
        if not page["Resources"] or len(found) >= page["totalResults"]:
            return found


def naive(target: Target, snapshots: list[UserSnapshot]) -> tuple[float, int]:
    """One GET and one PUT (POST when absent) per user; returns (seconds, writes)."""
    writes = 0
    started = time.perf_counter()
    with http_of(target) as http:
        for snap in snapshots:
            query = {"filter": f'externalId eq "{snap.staff_key}"'}
            found = http.get("/Users", params=query).json()["Resources"]
            body = to_scim(snap)
            if found:
                http.put(f"/Users/{found[0]['id']}", json={"id": found[0]["id"], **body})
            else:
                http.post("/Users", json=body)
            writes += 1
    return time.perf_counter() - started, writes


def snapshots_of(factory: sessionmaker[Session]) -> list[UserSnapshot]:
    with transaction(factory) as session:
        return list(users.iter_snapshots(session))


def report(rows: list[tuple[str, float, int, float]], count: int, workers: int,
           naive_note: str) -> None:
    """The results as a Markdown table, ready for BENCHMARKS.md."""
    load = ", ".join(f"{avg:.2f}" for avg in os.getloadavg())
    print(f"\n{count:,} users; SCView: {workers} process(es) on SQLite; load average {load}\n")
    print("| scenario | sync all | writes | naive | speed-up |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds, writes, naive_seconds in rows:
        print(f"| {name} | {seconds:.2f} s | {writes:,} | {naive_seconds:.2f} s{naive_note} | "
              f"{naive_seconds / seconds:.1f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--staff", type=int, default=10_560,
                        help="staff to seed (about 95%% get a user: 10,560 gives ~10,000)")
    parser.add_argument("--naive-sample", type=int, default=None,
                        help="time the naive way on N users and scale (default: all)")
    parser.add_argument("--scview-workers", type=int, default=1,
                        help="SCView server processes (staffsync scview serve --workers)")
    parser.add_argument("--noop-runs", type=int, default=5,
                        help="no-op runs; the table shows their median (each is printed)")
    args = parser.parse_args()
    os.environ.setdefault("STAFFSYNC_SECRET_KEY", Fernet.generate_key().decode())
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp), args.staff, args.naive_sample, args.scview_workers, args.noop_runs)


def run(folder: Path, staff: int, sample_size: int | None, workers: int,
        noop_repeats: int) -> None:
    fis = fis_district(folder, staff)
    snaps = snapshots_of(fis)
    sample = snaps[: min(sample_size or len(snaps), len(snaps))]
    scale = len(snaps) / len(sample)
    rng = random.Random(2)
    with scview_server(folder, workers) as (url, scview_db):
        target = Target(url, "bench", new_tenant(scview_db, "bench"))
        point_at(fis, url, target.database, target.token)
        rows: list[tuple[str, float, int, float]] = []
        noop_runs: list[float] = []
        for name in ("initial (empty SCView)", "no-op (nothing changed)", "1% drift in SCView"):
            if name.startswith("1%"):
                drift(target, 0.01, rng)
            runs = noop_repeats if name.startswith("no-op") else 1
            for _ in range(runs):
                seconds, run_ = timed(lambda: service.sync_all(fis, "bench"))
                assert run_["status"] == "completed", run_
                if runs > 1:
                    assert run_["writes"] == 0, run_
                    noop_runs.append(seconds)
            if noop_runs and name.startswith("no-op"):
                seconds = statistics.median(noop_runs)
            rows.append((name, seconds, run_["writes"], 0.0))
        naive_target = Target(url, "naive", new_tenant(scview_db, "naive"))
        naive_rows = [naive(naive_target, sample)[0] * scale for _ in range(2)]
        drift(naive_target, 0.01, rng)
        naive_rows.append(naive(naive_target, sample)[0] * scale)
        rows = [(n, s, w, nv) for (n, s, w, _), nv in zip(rows, naive_rows, strict=True)]
    note = f" (timed on {len(sample):,} users, scaled x{scale:.1f})" if scale > 1 else ""
    report(rows, len(snaps), workers, note)
    if len(noop_runs) > 1:
        runs = ", ".join(f"{seconds:.2f}" for seconds in sorted(noop_runs))
        print(f"\nno-op: median of {len(noop_runs)} runs; each run (s, sorted): {runs}")


if __name__ == "__main__":
    main()

"""Benchmark: sync all of ~10,000 FIS users into SCView, three ways, against the naive way.

    .venv/bin/python -m bench.sync_all [--staff 10560] [--naive-sample 1000]

Both systems on SQLite in a temporary folder; SCView runs as its own process
(``staffsync scview serve``) on loopback, as it would in production, so the sync and the
server do not share a GIL. Measured with ``service.sync_all`` (what Run Sync, the API
and ``staffsync sync all`` call), so the times include reading FIS, listing SCView,
planning, writing, and recording the run and every user's sync state.

Scenarios: (1) initial sync into an empty tenant; (2) again with nothing changed (must
be 0 writes); (3) again after 1% of the users were changed directly in SCView (drift).
The naive way is one GET (filter by externalId) and one PUT (or POST when absent) per
user; it is timed on ``--naive-sample`` users and extrapolated linearly (it is strictly
per user), unless the sample is the whole district.
"""

from __future__ import annotations

import argparse
import os
import random
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


def report(rows: list[tuple[str, float, int, float | None]], count: int) -> None:
    print(f"\n{count} users")
    print(f"{'scenario':<34}{'sync all':>10}{'writes':>8}{'naive':>10}{'speed-up':>10}")
    for name, seconds, writes, naive_seconds in rows:
        naive_text = f"{naive_seconds:9.2f}s" if naive_seconds else "        -"
        ratio = f"{naive_seconds / seconds:9.1f}x" if naive_seconds else "        -"
        print(f"{name:<34}{seconds:9.2f}s{writes:>8}{naive_text:>10}{ratio:>10}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--staff", type=int, default=10_560,
                        help="staff to seed (about 95%% get a user: 10,560 gives ~10,000)")
    parser.add_argument("--naive-sample", type=int, default=1000)
    parser.add_argument("--scview-workers", type=int, default=1,
                        help="SCView server processes (staffsync scview serve --workers)")
    args = parser.parse_args()
    os.environ.setdefault("STAFFSYNC_SECRET_KEY", Fernet.generate_key().decode())
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp), args.staff, args.naive_sample, args.scview_workers)


def run(folder: Path, staff: int, sample_size: int, workers: int) -> None:
    fis = fis_district(folder, staff)
    snaps = snapshots_of(fis)
    sample = snaps[: min(sample_size, len(snaps))]
    scale = len(snaps) / len(sample)
    rng = random.Random(2)
    with scview_server(folder, workers) as (url, scview_db):
        target = Target(url, "bench", new_tenant(scview_db, "bench"))
        point_at(fis, url, target.database, target.token)
        rows = []
        for name in ("initial (empty SCView)", "no-op (nothing changed)", "1% drift in SCView"):
            if name.startswith("1%"):
                drift(target, 0.01, rng)
            seconds, run_ = timed(lambda: service.sync_all(fis, "bench"))
            assert run_["status"] == "completed", run_
            rows.append((name, seconds, run_["writes"], None))
        naive_target = Target(url, "naive", new_tenant(scview_db, "naive"))
        naive_rows = [naive(naive_target, sample)[0] * scale for _ in range(2)]
        drift(naive_target, 0.01, rng)
        naive_rows.append(naive(naive_target, sample)[0] * scale)
        rows = [(n, s, w, nv) for (n, s, w, _), nv in zip(rows, naive_rows, strict=True)]
    print(f"\nSCView: {workers} process(es) on SQLite")
    report(rows, len(snaps))
    if scale > 1:
        print(f"(naive: timed on {len(sample)} users, scaled x{scale:.1f})")


if __name__ == "__main__":
    main()

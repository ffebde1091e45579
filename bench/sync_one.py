"""Benchmark: Edit User > Run Sync, ``POST /api/v1/users/{username}/sync``, on loopback.

    .venv/bin/python -m bench.sync_one [--users 300]

FIS (``staffsync fis serve --no-worker``) and SCView (``staffsync scview serve``) run as
their own processes on loopback, each on SQLite in a temporary folder, as in production.
Each call is timed from the client: the HTTP request to FIS, FIS reading the user,
pushing it to SCView (discovery, a filtered GET, the write), and recording the run and
the sync state. Two rounds over ``--users`` users: **created** (into an empty tenant),
then **unchanged** (the same users again). Prints a Markdown table with p50, p99 and max.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from bench.sync_all import (
    STAFFSYNC,
    fis_district,
    new_tenant,
    point_at,
    scview_server,
    wait_until_up,
)
from staffsync.kit.server import free_port
from staffsync.kit.settings import sqlite_url


@contextmanager
def fis_server(folder: Path) -> Iterator[str]:
    """FIS's server as its own process, without the sync worker (nothing else pushes)."""
    port = free_port()
    db = sqlite_url(folder / "fis.db")
    proc = subprocess.Popen([STAFFSYNC, "fis", "serve", "--db", db, "--port", str(port),
                             "--no-worker"])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def api_key(folder: Path) -> str:
    db = sqlite_url(folder / "fis.db")
    out = subprocess.run([STAFFSYNC, "fis", "create-api-key", "bench", "--role", "sysadmin",
                          "--db", db], check=True, capture_output=True, text=True).stdout
    return out.split()[-1]


def round_of(http: httpx.Client, usernames: list[str], expect: str) -> list[float]:
    """Seconds per call, one call per user, each answered with ``expect``."""
    times = []
    for username in usernames:
        started = time.perf_counter()
        answer = http.post(f"/api/v1/users/{username}/sync")
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200 and answer.json()["outcome"] == expect, answer.text
    return times


def percentile(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=300, help="users synced per round")
    args = parser.parse_args()
    os.environ.setdefault("STAFFSYNC_SECRET_KEY", Fernet.generate_key().decode())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        fis = fis_district(folder, round(args.users * 1.1) + 10)  # ~95% of staff get a user
        key = api_key(folder)
        with scview_server(folder) as (scview_url, scview_db), fis_server(folder) as fis_url:
            point_at(fis, scview_url, "bench", new_tenant(scview_db, "bench"))
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=fis_url, headers=headers, timeout=30) as http:
                listed = http.get("/api/v1/users", params={"limit": 500}).json()
                names = [u["username"] for u in listed if u["username"].lower()
                         not in {"admin", "scview", "csiu"}][: args.users]
                rows = [(outcome, round_of(http, names, outcome))
                        for outcome in ("created", "unchanged")]
    print(f"\nPOST /api/v1/users/{{username}}/sync, {len(names)} calls per round, loopback\n")
    print("| outcome | calls | p50 | p99 | max | mean |")
    print("|---|---:|---:|---:|---:|---:|")
    for outcome, times in rows:
        ms = [t * 1000 for t in times]
        print(f"| {outcome} | {len(ms)} | {percentile(ms, 0.5):.1f} ms | "
              f"{percentile(ms, 0.99):.1f} ms | {max(ms):.1f} ms | {statistics.mean(ms):.1f} ms |")


if __name__ == "__main__":
    main()

"""SCIM throughput: SCView against scim2-server, side by side, with the same load generator.

    python bench/scim_throughput.py [--backend sqlite|postgresql] [--scview-workers 1 2]
                                    [--duration 10] [--repeat 3] [--connections 16]
                                    [--only filter put post bulk] [--pin]

Both servers run in subprocesses on this machine: scim2-server's in-memory ASGI app under
uvicorn (built as its own test server builds it; one process, since its storage lives in
memory), and SCView with ``staffsync scview serve`` (one run per ``--scview-workers``).
Debian's ``wrk`` (``apt-get install wrk``) drives POST, GET by filter, PUT and Bulk of 1,000
operations with the Lua scripts of ``bench/wrk``. Each figure is the median of ``--repeat``
runs. The harness prints a Markdown table: requests/s (Bulk: operations/s), p50 and p99
latency, and SCView's ratio to scim2-server.

``--pin`` pins each server process to a CPU of its own: SCView's with ``serve
--pin-cpus``, scim2-server's one process to the first CPU, as SCView's first is.

Order matters for an in-memory server whose filters scan every resource: both servers get
the same ``--users`` pre-created users first, GET by filter and PUT run on that population,
and only then POST and Bulk add users.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from staffsync.kit.server import free_port

WRK_DIR = Path(__file__).resolve().parent / "wrk"
BULK_OPERATIONS = 1000  # per Bulk request, as bench/wrk/bulk.lua sends them
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
PG_ADMIN_URL = os.environ.get(
    "STAFFSYNC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# (label, wrk script, operations per request); the order is explained in the docstring
OPERATIONS = [
    ("GET by filter", "filter.lua", 1),
    ("PUT", "put.lua", 1),
    ("POST", "post.lua", 1),
    (f"Bulk ({BULK_OPERATIONS:,} POSTs)", "bulk.lua", BULK_OPERATIONS),
]


@dataclass
class Target:
    """One running server: its SCIM base URL, auth headers and pre-created users."""

    label: str
    base: str
    headers: dict[str, str]
    process: subprocess.Popen[bytes]
    users_file: Path | None = None
    results: dict[str, list[dict[str, float]]] = field(default_factory=dict)


# --- scim2-server ------------------------------------------------------------------------


def scim2_server_app() -> Any:
    """scim2-server's ASGI app, built as its ``scim2-server`` test server builds its app.

    Default schemas, resource types and configuration; in-memory storage; no tenant and
    no token (the ASGI app has no bearer-token variant, so scim2-server skips that check).
    """
    import secrets

    from scim2_models import ScimProvider
    from scim2_server.applications.asgi import ASGIApplication
    from scim2_server.memory import AsyncInMemoryStorage
    from scim2_server.service import ScimService
    from scim2_server.utils import (
        load_default_resource_types,
        load_default_schemas,
        load_default_service_provider_config,
    )

    provider = ScimProvider.from_discovery(
        load_default_schemas().values(),
        load_default_resource_types().values(),
        config=load_default_service_provider_config(),
    )
    service = ScimService(provider, secret=secrets.token_urlsafe(32))
    return ASGIApplication(AsyncInMemoryStorage(), provider, service=service)


def start_scim2_server(log: Path, pin: bool) -> Target:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "scim_throughput:scim2_server_app",
               "--app-dir", str(Path(__file__).parent), "--port", str(port),
               "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    if pin:  # as SCView's --pin-cpus pins its first process
        os.sched_setaffinity(process.pid, {min(os.sched_getaffinity(0))})
    label = "scim2-server (1 process, pinned)" if pin else "scim2-server (1 process)"
    return Target(label, f"http://127.0.0.1:{port}/v2", {}, process)


# --- SCView ------------------------------------------------------------------------------


def staffsync(*args: str) -> str:
    command = [str(Path(sys.executable).with_name("staffsync")), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def start_scview(db_url: str, workers: int, log: Path, pin: bool) -> Target:
    tenant = f"bench{uuid.uuid4().hex[:8]}"
    token = staffsync("scview", "create-tenant", tenant, "--db", db_url)
    port = free_port()
    command = [str(Path(sys.executable).with_name("staffsync")), "scview", "serve", "--db",
               db_url, "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(command + ["--pin-cpus"] * pin, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT)
    plural = "process" if workers == 1 else "processes"
    pinned = ", pinned" if pin else ""
    return Target(f"SCView ({workers} {plural}{pinned})",
                  f"http://127.0.0.1:{port}/{tenant}/scim/v2",
                  {"Authorization": f"Bearer {token}"}, process)


@contextmanager
def scview_database(backend: str, folder: Path) -> Iterator[str]:
    """A new empty SCView database: an SQLite file, or a fresh PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'scview.sqlite'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"staffsync_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        staffsync("db", "upgrade", "--db", url, "--system", "scview")
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- both --------------------------------------------------------------------------------


def wait_ready(target: Target, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if target.process.poll() is not None:
            sys.exit(f"{target.label} exited with {target.process.returncode}; see its log")
        try:
            answer = httpx.get(f"{target.base}/ServiceProviderConfig", headers=target.headers)
            if answer.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    sys.exit(f"{target.label} did not answer within {timeout:.0f} s")


def bulk_body(names: list[str]) -> dict[str, Any]:
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": f"seed{index}",
         "data": {"schemas": [CORE], "userName": name, "name": {"familyName": "Seed"},
                  "emails": [{"value": name, "type": "work", "primary": True}]}}
        for index, name in enumerate(names)
    ]
    return {"schemas": [BULK_REQUEST], "failOnErrors": 1, "Operations": operations}


def seed(target: Target, count: int, folder: Path) -> None:
    """Create ``count`` users by Bulk (checking every answer), and write them for Lua."""
    names = [f"seed-{index}@bench.example" for index in range(count)]
    users: list[tuple[str, str]] = []
    with httpx.Client(headers=target.headers, timeout=120) as client:
        for start in range(0, count, BULK_OPERATIONS):
            chunk = names[start : start + BULK_OPERATIONS]
            answer = client.post(f"{target.base}/Bulk", json=bulk_body(chunk))
            answer.raise_for_status()
            results = answer.json()["Operations"]
            if [result["status"] for result in results] != ["201"] * len(chunk):
                sys.exit(f"{target.label}: seeding failed: {results[0]}")
            users += [(name, result["location"].rsplit("/", 1)[1])
                      for name, result in zip(chunk, results, strict=True)]
    target.users_file = folder / f"users-{target.process.pid}.lua"
    rows = ",\n".join(f'  {{id="{user_id}", name="{name}"}}' for name, user_id in users)
    target.users_file.write_text(f"users = {{\n{rows}\n}}\n")


def run_wrk(target: Target, script: str, args: argparse.Namespace) -> dict[str, float]:
    """One wrk run; its figures as parsed from the line bench/wrk/common.lua prints, with
    the CPU seconds the server's processes (and, for SCView on PostgreSQL, PostgreSQL's)
    spent during it."""
    bulk = script == "bulk.lua"
    connections = args.bulk_connections if bulk else args.connections
    duration = args.bulk_duration if bulk else args.duration
    command = ["wrk", f"-t{min(args.threads, connections)}", f"-c{connections}",
               f"-d{duration}s", "--timeout", "60s", "-s", str(WRK_DIR / script)]
    command += [f"-H{name}: {value}" for name, value in target.headers.items()]
    prefix = f"r{uuid.uuid4().hex[:10]}"
    command += [target.base, "--", prefix, str(target.users_file)]
    postgres = args.backend == "postgresql" and target.label.startswith("SCView")
    server, database = process_tree(target.process.pid), named("postgres") if postgres else []
    before = cpu_seconds(server), cpu_seconds(database)
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    line = next(ln for ln in output.splitlines() if ln.startswith("WRKJSON "))
    figures = json.loads(line.removeprefix("WRKJSON "))
    if figures["non2xx"] or figures["socket_errors"]:
        sys.exit(f"{target.label} {script}: errors in the run:\n{output}")
    figures["server_cpu_s"] = cpu_seconds(server) - before[0]
    if postgres:
        figures["postgres_cpu_s"] = cpu_seconds(named("postgres")) - before[1]
    return figures


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU seconds of the processes ``pids`` (those still running)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[str, int]]:
    """Every process: its command name and parent pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name, rest = stat[stat.index("(") + 1 :].rsplit(")", 1)
            found[int(entry.name)] = (name, int(rest.split()[1]))
    return found


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (SCView's worker processes)."""
    children: dict[int, list[int]] = {}
    for child, (_name, parent) in _processes().items():
        children.setdefault(parent, []).append(child)
    tree, todo = [], [pid]
    while todo:
        tree.append(current := todo.pop())
        todo += children.get(current, [])
    return tree


def named(command: str) -> list[int]:
    """The processes whose command name is ``command`` (PostgreSQL's, on this machine)."""
    return [pid for pid, (name, _parent) in _processes().items() if name == command]


def check_bulk(target: Target) -> None:
    """A Bulk request shaped like bench/wrk/bulk.lua's must create every user (not 200 + errors)."""
    names = [f"check-{uuid.uuid4().hex}@bench.example" for _ in range(BULK_OPERATIONS)]
    answer = httpx.post(f"{target.base}/Bulk", json=bulk_body(names), headers=target.headers,
                        timeout=120)
    statuses = {result["status"] for result in answer.json()["Operations"]}
    if answer.status_code != 200 or statuses != {"201"}:
        sys.exit(f"{target.label}: a Bulk request did not create every user: {statuses}")


def measure(targets: list[Target], args: argparse.Namespace) -> None:
    """Every operation on every server, ``--repeat`` times, servers interleaved per round."""
    for label, script, _ in selected(args):
        for round_ in range(args.repeat):
            for target in targets:
                figures = run_wrk(target, script, args)
                target.results.setdefault(label, []).append(figures)
                rate = figures["requests"] / (figures["duration_us"] / 1e6)
                print(f"  {label:<22} {target.label:<24} run {round_ + 1}: {rate:8.1f} req/s",
                      file=sys.stderr)


def selected(args: argparse.Namespace) -> list[tuple[str, str, int]]:
    """The operations to run (``--only``: their wrk scripts' names, e.g. ``bulk``)."""
    return [op for op in OPERATIONS if not args.only or op[1].removesuffix(".lua") in args.only]


def median_figures(runs: list[dict[str, float]], per_request: int) -> tuple[float, float, float]:
    """(operations/s, p50 ms, p99 ms), each the median over the runs."""
    rates = [run["requests"] * per_request / (run["duration_us"] / 1e6) for run in runs]
    return (statistics.median(rates), statistics.median(run["p50_us"] for run in runs) / 1e3,
            statistics.median(run["p99_us"] for run in runs) / 1e3)


def cpu_per_operation(runs: list[dict[str, float]], per_request: int, key: str) -> str:
    """The median over the runs of ``key``'s CPU µs per operation, or "" if not measured."""
    if any(key not in run for run in runs):
        return ""
    per_operation = [run[key] * 1e6 / (run["requests"] * per_request) for run in runs]
    return f"{statistics.median(per_operation):,.0f}"


def table(targets: list[Target]) -> str:
    """The Markdown table; the target column says whether SCView reaches its ratio
    (at least 3x scim2-server on single requests, 10x on Bulk); the last two, the CPU
    time per operation of the server's processes and of PostgreSQL's."""
    reference = targets[0]
    lines = ["| operation | server | ops/s | p50 ms | p99 ms | vs scim2-server | target "
             "| server CPU µs/op | PostgreSQL CPU µs/op |",
             "|---|---|---:|---:|---:|---:|---|---:|---:|"]
    for label, _, per_request in [op for op in OPERATIONS if op[0] in reference.results]:
        base_rate = median_figures(reference.results[label], per_request)[0]
        wanted = 10 if per_request > 1 else 3
        for target in targets:
            runs = target.results[label]
            rate, p50, p99 = median_figures(runs, per_request)
            ratio = rate / base_rate if base_rate else 0.0
            verdict = "" if target is reference else (
                f"≥{wanted}x: {'met' if ratio >= wanted else 'missed'}")
            cpu = [cpu_per_operation(runs, per_request, key)
                   for key in ("server_cpu_s", "postgres_cpu_s")]
            shown = math.floor(ratio * 100) / 100  # cut, not rounded: 2.996x is not 3.00x
            lines.append(f"| {label} | {target.label} | {rate:,.0f} | {p50:.1f} | {p99:.1f} "
                         f"| {shown:.2f}x | {verdict} | {cpu[0]} | {cpu[1]} |")
    return "\n".join(lines)


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--scview-workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--bulk-duration", type=int, default=20, help="seconds per Bulk run")
    parser.add_argument("--bulk-connections", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--users", type=int, default=1000, help="pre-created users")
    parser.add_argument("--only", nargs="+", choices=["filter", "put", "post", "bulk"],
                        help="run only these operations (default: all)")
    parser.add_argument("--pin", action="store_true",
                        help="pin each server process to a CPU of its own (SCView's "
                             "serve --pin-cpus; scim2-server's one process to the first CPU)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    load_before = load_average()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: install it with `apt-get install wrk` (Debian/Ubuntu)")
    with tempfile.TemporaryDirectory(prefix="scim-bench-") as tmp:
        folder = Path(tmp)
        with scview_database(args.backend, folder) as db_url:
            targets = [start_scim2_server(folder / "scim2-server.log", args.pin)]
            targets += [start_scview(db_url, workers, folder / f"scview-{workers}.log", args.pin)
                        for workers in args.scview_workers]
            try:
                for target in targets:
                    wait_ready(target)
                    seed(target, args.users, folder)
                    check_bulk(target)
                measure(targets, args)
            finally:
                for target in targets:
                    target.process.terminate()
                    target.process.wait(timeout=30)
    print(f"SCView on {args.backend}; wrk -t{args.threads} -c{args.connections}, "
          f"{args.duration} s per run (Bulk: -c{args.bulk_connections}, {args.bulk_duration} s); "
          f"median of {args.repeat}; {args.users:,} users pre-created on each server; "
          f"{os.cpu_count()} CPUs{'; servers pinned' if args.pin else ''}; "
          f"load average {load_before} before, {load_average()} after."
          "\n")
    print(table(targets))


if __name__ == "__main__":
    main()

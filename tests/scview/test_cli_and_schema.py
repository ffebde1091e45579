"""The `staffsync scview` commands, token storage, and the migration matching the models."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from typer.testing import CliRunner

from staffsync.cli import app
from staffsync.kit.db import make_engine
from staffsync.kit.migrate import upgrade
from staffsync.kit.server import ServerThread, free_port
from staffsync.scview.app import create_app
from staffsync.scview.models import AdminAccount, Base, Tenant
from staffsync.scview.tenants import TOKEN_TTL
from tests.databases import fresh_database
from tests.scview.conftest import CORE

runner = CliRunner()
STAFFSYNC = str(Path(sys.executable).with_name("staffsync"))
CPUS = len(os.sched_getaffinity(0))  # the CPUs the tests may run on


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database(backend, tmp_path) as url:
        upgrade(url, "scview")
        yield url


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_migration_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert differences == []


def test_create_tenant_prints_a_strong_token_once_and_stores_only_its_hash(db_url: str) -> None:
    token = run("scview", "create-tenant", "district-7", "--db", db_url)
    assert len(token) >= 43  # token_urlsafe(32): 256 bits
    engine = make_engine(db_url)
    with engine.connect() as conn:
        stored = conn.execute(select(Tenant.token_hash).where(Tenant.name == "district-7")).scalar()
    engine.dispose()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(stored)


def test_create_tenant_twice_fails(db_url: str) -> None:
    run("scview", "create-tenant", "twice", "--db", db_url)
    result = runner.invoke(app, ["scview", "create-tenant", "twice", "--db", db_url])
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_rotate_token_replaces_the_token_within_the_cache_bound(db_url: str) -> None:
    """A running server refuses the old token once the token hash it remembers (for
    TOKEN_TTL) has expired, and takes the new one."""
    old = run("scview", "create-tenant", "rotating", "--db", db_url)
    app_ = create_app(db_url)
    with ServerThread(app_) as server:
        base = f"{server.url}/rotating/scim/v2/Users"
        assert httpx.get(base, headers={"Authorization": f"Bearer {old}"}).status_code == 200
        new = run("scview", "rotate-token", "rotating", "--db", db_url)
        assert new != old
        time.sleep(TOKEN_TTL + 0.1)
        assert httpx.get(base, headers={"Authorization": f"Bearer {old}"}).status_code == 401
        assert httpx.get(base, headers={"Authorization": f"Bearer {new}"}).status_code == 200
    app_.state.engine.dispose()


def test_create_admin_stores_an_argon2id_hash(db_url: str) -> None:
    out = run("scview", "create-admin", "--username", "root", "--password",
              "a long passphrase", "--db", db_url)
    assert "root" in out
    engine = make_engine(db_url)
    with engine.connect() as conn:
        stored = conn.execute(select(AdminAccount.password_hash)).scalar()
    engine.dispose()
    assert str(stored).startswith("$argon2id$")


def test_create_admin_refuses_a_short_password(db_url: str) -> None:
    result = runner.invoke(app, ["scview", "create-admin", "--username", "root",
                                 "--password", "short", "--db", db_url])
    assert result.exit_code == 1
    assert "password" in result.output


def test_verify_admin_accepts_only_the_right_password(db_url: str) -> None:
    from staffsync.kit.db import session_factory, transaction
    from staffsync.scview.admins import create_admin, verify_admin

    engine = make_engine(db_url)
    factory = session_factory(engine)
    with transaction(factory) as session:
        create_admin(session, "ada", "correct horse battery")
    with transaction(factory) as session:
        assert verify_admin(session, "ada", "correct horse battery")
        assert not verify_admin(session, "ada", "wrong horse battery")
        assert not verify_admin(session, "nobody", "correct horse battery")
    engine.dispose()


def test_serve_answers_scim_over_http(db_url: str, tmp_path: Path) -> None:
    """`staffsync scview serve --db URL --port N` as its own process, reached over HTTP."""
    token = run("scview", "create-tenant", "served", "--db", db_url)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [STAFFSYNC, "scview", "serve", "--db", db_url, "--port", str(port)],
            stdout=output, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/served/scim/v2"
    try:
        _wait_until_listening(port, server, log)
        created = httpx.post(f"{base}/Users", json={"schemas": [CORE], "userName": "bjensen"},
                             headers={"Authorization": f"Bearer {token}"})
        denied = httpx.get(f"{base}/Users")
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert created.status_code == 201, created.text
    assert created.json()["meta"]["location"].startswith(f"{base}/Users/")
    assert denied.status_code == 401


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_pin_cpus_puts_each_server_process_on_a_cpu_of_its_own(
    tmp_path: Path, workers: int
) -> None:
    """`serve --pin-cpus`: each process that serves requests runs on one CPU, no two on
    the same one (as many as there are CPUs; a worker beyond that stays unpinned)."""
    with fresh_database("sqlite", tmp_path) as db:
        upgrade(db, "scview")
        port = free_port()
        log = tmp_path / "serve.log"
        with log.open("wb") as output:
            server = subprocess.Popen(
                [STAFFSYNC, "scview", "serve", "--db", db, "--port", str(port),
                 "--workers", str(workers), "--pin-cpus"],
                stdout=output, stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_listening(port, server, log)
            deadline = time.monotonic() + 20  # each worker pins itself as it starts
            while True:
                serving = [server.pid] if workers == 1 else _children(server.pid)
                allowed = [os.sched_getaffinity(pid) for pid in serving]
                pinned = [cpus for cpus in allowed if len(cpus) == 1]
                if len(pinned) == min(workers, CPUS) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(timeout=20)
    assert len(serving) == workers
    assert len(pinned) == min(workers, CPUS)
    assert len(set().union(*pinned)) == len(pinned)  # no two on one CPU


def _children(pid: int) -> list[int]:
    """The worker processes uvicorn started (not its multiprocessing helpers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if f"\nPPid:\t{pid}\n" in status and b"multiprocessing" in command:
                if b"resource_tracker" not in command:
                    found.append(int(entry.name))
    return found


def _wait_until_listening(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"server exited: {log.read_text()}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/")
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("server did not start")


def test_migration_cuts_stored_meta_times_to_the_millisecond(backend: str, tmp_path: Path) -> None:
    from datetime import datetime

    from sqlalchemy import insert

    from staffsync.scview.models import users

    with fresh_database(backend, tmp_path) as url:
        upgrade(url, "scview", "0002")
        engine = make_engine(url)
        written = datetime(2026, 12, 4, 1, 2, 3, 456789)
        with engine.begin() as conn:
            tenant = conn.execute(insert(Tenant).values(name="old", token_hash="x",
                                                        created=written)).inserted_primary_key[0]
            conn.execute(insert(users).values(
                id="u1", tenant_id=tenant, user_name="old", active=True, created=written,
                last_modified=written, version=1, resource={"userName": "old"}))
        upgrade(url, "scview")
        with engine.connect() as conn:
            row = conn.execute(select(users.c.created, users.c.last_modified)).one()
        engine.dispose()
    assert tuple(row) == (written.replace(microsecond=456000),) * 2

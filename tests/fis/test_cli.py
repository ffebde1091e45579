"""`staffsync fis ...`: API keys, admin accounts, and the server."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from staffsync.cli import app
from staffsync.fis import auth, seed, third_party
from staffsync.fis.models import Account, ApiKey, SyncRun
from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from staffsync.kit.server import free_port
from staffsync.sync.worker_cli import reconcile_interval
from tests.sync.conftest import LiveScim, ScviewServers, scview_servers  # noqa: F401

runner = CliRunner()
STAFFSYNC = str(Path(sys.executable).with_name("staffsync"))


def test_create_api_key_prints_a_key_stored_only_as_a_hash(fresh_fis_url: str) -> None:
    result = runner.invoke(app, ["fis", "create-api-key", "payroll", "--role", "sysadmin",
                                 "--db", fresh_fis_url])
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    engine = make_engine(fresh_fis_url)
    with session_factory(engine)() as session:
        stored = session.scalars(select(ApiKey)).one()
        found = auth.authenticate(session, f"Bearer {key}")
    engine.dispose()
    assert len(key) >= 43 and key not in stored.key_hash
    assert (found.name, found.role) == ("payroll", "sysadmin")


def test_create_api_key_refuses_an_unknown_role(fresh_fis_url: str) -> None:
    result = runner.invoke(app, ["fis", "create-api-key", "x", "--role", "root",
                                 "--db", fresh_fis_url])
    assert result.exit_code == 1 and "Role must be one of: hr, sysadmin" in result.output


def test_create_admin_stores_an_argon2id_hash(fresh_fis_url: str) -> None:
    result = runner.invoke(app, ["fis", "create-admin", "--username", "Boss",
                                 "--password", "correct horse", "--db", fresh_fis_url])
    assert result.exit_code == 0, result.output
    engine = make_engine(fresh_fis_url)
    with session_factory(engine)() as session:
        account = session.scalars(select(Account)).one()
        good = auth.verify_login(session, "boss", "correct horse")
        bad = auth.verify_login(session, "boss", "wrong horse")
    engine.dispose()
    assert account.password_hash.startswith("$argon2id$")
    assert good is not None and good.username == "Boss" and bad is None


def test_serve_creates_and_migrates_an_sqlite_database(tmp_path: Path) -> None:
    db = tmp_path / "served" / "fis.db"
    port = free_port()
    env = os.environ | {"STAFFSYNC_FIS_DB": f"sqlite:///{db}"}
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen([STAFFSYNC, "fis", "serve", "--port", str(port)], env=env,
                                  stdout=output, stderr=subprocess.STDOUT)
    try:
        document = _wait_for(f"http://127.0.0.1:{port}/openapi.json", server, log)
        denied = httpx.get(f"http://127.0.0.1:{port}/api/v1/staff")
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert document["info"]["title"] == "FIS" and db.exists()
    assert denied.status_code == 401


def _wait_for(url: str, server: subprocess.Popen[bytes], log: Path) -> dict[str, object]:
    deadline = time.monotonic() + 30  # a loaded machine starts a server slowly
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"server exited: {log.read_text()}")
        try:
            return dict(httpx.get(url).json())
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("server did not start")


def test_serve_reconciles_on_its_interval_repairing_drift_made_in_scview(
    tmp_path: Path, scview_servers: ScviewServers,  # noqa: F811
) -> None:
    db = f"sqlite:///{tmp_path / 'fis.db'}"
    upgrade(db, "fis")
    live = LiveScim(scview_servers.get("sqlite").url, *scview_servers.get("sqlite").tenant())
    engine = make_engine(db)
    factory = session_factory(engine)
    with transaction(factory) as session:
        seed.seed(session, 3, random.Random(5))
        third_party.save(session, {"end_point": live.end_point, "token": live.token,
                                   "database_name": live.database, "enabled": True})
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen([STAFFSYNC, "fis", "serve", "--db", db, "--port", str(port),
                                   "--reconcile-every", "1s"],
                                  stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_until(lambda: scheduled_runs(factory) >= 1, server, log)
        user = live.users()[0]
        given = user["name"]["givenName"]
        drifted = {**user, "name": {**user["name"], "givenName": "Drifted"}}
        with live.http() as http:
            http.put(f"/Users/{user['id']}", json=drifted).raise_for_status()
        runs = scheduled_runs(factory)
        _wait_until(lambda: given_name(live, user["id"]) == given, server, log)
    finally:
        server.terminate()
        server.wait(timeout=10)
        engine.dispose()
    assert scheduled_runs(factory) > runs  # repaired by a scheduled sync all


def scheduled_runs(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as session:
        query = select(func.count()).where(SyncRun.trigger == "schedule",
                                           SyncRun.status == "completed")
        return session.scalar(query) or 0


def given_name(live: LiveScim, scim_id: str) -> str:
    with live.http() as http:
        return str(http.get(f"/Users/{scim_id}").json()["name"]["givenName"])


def _wait_until(check: Callable[[], bool], server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while not check():
        if server.poll() is not None:
            pytest.fail(f"server exited: {log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"did not happen within 30 s: {log.read_text()}")
        time.sleep(0.1)


def test_the_reconciliation_interval_comes_from_the_option_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert reconcile_interval(None) == timedelta(hours=24)
    monkeypatch.setenv("STAFFSYNC_RECONCILE_EVERY", "30m")
    assert reconcile_interval(None) == timedelta(minutes=30)
    assert reconcile_interval("off") is None
    assert reconcile_interval("90s") == timedelta(seconds=90)

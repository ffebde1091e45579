"""`staffsync fis ...`: API keys, admin accounts, and the server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from staffsync.cli import app
from staffsync.fis import auth
from staffsync.fis.models import Account, ApiKey
from staffsync.kit.db import make_engine, session_factory
from staffsync.kit.server import free_port

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
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"server exited: {log.read_text()}")
        try:
            return dict(httpx.get(url).json())
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("server did not start")

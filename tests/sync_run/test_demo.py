"""`staffsync demo` twice in one data folder: the second run reuses everything and its
sync is a no-op. The demo is the embedded default, SQLite only, by design."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import func, select
from typer.testing import CliRunner

from staffsync.cli import app
from staffsync.fis import auth, third_party
from staffsync.fis.models import Staff
from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.server import free_port
from staffsync.kit.settings import sqlite_url
from staffsync.scview.models import Tenant

runner = CliRunner(env={"COLUMNS": "200"})
STAFFSYNC = str(Path(sys.executable).with_name("staffsync"))


def demo(folder: Path) -> str:
    result = runner.invoke(app, ["demo", "--data-dir", str(folder), "--staff", "30",
                                 "--fis-port", str(free_port()),
                                 "--scview-port", str(free_port()), "--no-wait"])
    assert result.exit_code == 0, result.output
    return result.output


def count(url: str, model: type) -> int:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        found = session.scalar(select(func.count()).select_from(model)) or 0
    engine.dispose()
    return found


def api_key_of(output: str) -> str:
    found = re.search(r"API key \(sysadmin\): (\S+)", output)
    assert found
    return found.group(1)


def test_demo_again_reuses_the_data_and_syncs_nothing_even_after_losing_the_token(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    first = demo(folder)
    assert "Seeded 30 staff" in first and "completed" in first
    assert re.search(r"created\s+│\s+\d+", first)
    assert "login demo-admin / " in first and "/demo/scim/v2" in first
    assert stat.S_IMODE((folder / "demo-credentials.json").stat().st_mode) == 0o600
    second = demo(folder)
    assert "Reusing the district" in second and "Seeded" not in second
    assert ", 0 writes." in second and "created" not in second
    assert api_key_of(second) == api_key_of(first)
    assert count(sqlite_url(folder / "fis.db"), Staff) == 30
    assert count(sqlite_url(folder / "scview.db"), Tenant) == 1
    engine = make_engine(sqlite_url(folder / "fis.db"))
    with transaction(session_factory(engine)) as session:
        assert auth.authenticate(session, f"Bearer {api_key_of(first)}").role == "sysadmin"
        # A token FIS can no longer read (cleared here) is rotated, not duplicated.
        third_party.save(session, {"enabled": False, "token": None})
    engine.dispose()
    again = demo(folder)
    assert ", 0 writes." in again and "run stopped" not in again
    assert count(sqlite_url(folder / "scview.db"), Tenant) == 1


def test_ctrl_c_stops_the_demo_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    command = [STAFFSYNC, "demo", "--data-dir", str(tmp_path / "data"), "--staff", "5",
               "--fis-port", str(free_port()), "--scview-port", str(free_port())]
    demo_process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, env=env)
    assert demo_process.stdout is not None
    lines = []
    for line in demo_process.stdout:
        lines.append(line)
        if "Press Ctrl-C to stop." in line:
            break
    fis_url = re.search(r"FIS\s+(http://\S+)", "".join(lines))
    assert fis_url and httpx.get(f"{fis_url.group(1)}/docs").status_code == 200
    demo_process.send_signal(signal.SIGINT)
    rest, _ = demo_process.communicate(timeout=20)
    assert demo_process.returncode == 0, rest
    assert "Stopping FIS and SCView." in rest and "Traceback" not in rest

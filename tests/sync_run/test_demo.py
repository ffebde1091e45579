"""`staffsync demo` twice in one data folder: the second run reuses everything and its
sync is a no-op. The demo is the embedded default, SQLite only, by design."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
from tests.fis.conftest import staff_data

runner = CliRunner(env={"COLUMNS": "200"})
STAFFSYNC = str(Path(sys.executable).with_name("staffsync"))


def demo(folder: Path, exit_code: int = 0, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, ["demo", "--data-dir", str(folder), "--staff", "30",
                                 "--fis-port", str(free_port()),
                                 "--scview-port", str(free_port()), "--no-wait"], env=env)
    assert result.exit_code == exit_code, result.output
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


def test_a_demo_whose_sync_all_is_stopped_still_prints_the_urls_and_logins(
    tmp_path: Path,
) -> None:
    # A proxy that refuses every connection (as a machine with HTTP_PROXY set and no
    # NO_PROXY would have): the sync reaches no SCView, and the run stops.
    output = demo(tmp_path / "data", exit_code=1,
                  env={"HTTP_PROXY": f"http://127.0.0.1:{free_port()}"})
    assert "stopped" in output and "The sync service or API is down." in output
    assert "login demo-admin / " in output and "API key (sysadmin): " in output
    assert re.search(r"FIS\s+http://127\.0\.0\.1:\d+", output)


def test_edits_in_the_demos_fis_reach_its_scview_by_themselves_and_ctrl_c_stops_it(
    tmp_path: Path,
) -> None:
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
    try:
        edit_and_see_in_scview(fis_url.group(1), api_key_of("".join(lines)),
                               tmp_path / "data" / "fis.db")
    finally:
        demo_process.send_signal(signal.SIGINT)
    rest, _ = demo_process.communicate(timeout=20)
    assert demo_process.returncode == 0, rest
    assert "Stopping FIS and SCView." in rest and "Traceback" not in rest


def edit_and_see_in_scview(fis_url: str, api_key: str, fis_db: Path) -> None:
    """Edit Demographics and Add Staff through the demo's FIS API, with no sync run by
    hand; both must show in SCView."""
    with httpx.Client(base_url=f"{fis_url}/api/v1", timeout=30,
                      headers={"Authorization": f"Bearer {api_key}"}) as fis:
        edited = next(s for s in fis.get("/staff").json() if s["username"])
        fis.patch(f"/staff/{edited['staff_id']}", json={"first_name": "Edited"}
                  ).raise_for_status()
        added = fis.post("/staff", json=staff_data(first_name="New", last_name="Hire",
                                                   email="new.hire@example.org"))
        assert added.status_code == 201, added.text
    wanted = {edited["username"]: "Edited", added.json()["username"]: "New"}
    with scview_of(fis_db) as scview:
        deadline = time.monotonic() + 30
        while (seen := given_names(scview, wanted)) != wanted:
            assert time.monotonic() < deadline, f"SCView shows {seen}, not {wanted}"
            time.sleep(0.1)


@contextmanager
def scview_of(fis_db: Path) -> Iterator[httpx.Client]:
    """A SCIM client on the demo's tenant, with the token FIS keeps for it."""
    engine = make_engine(sqlite_url(fis_db))
    with transaction(session_factory(engine)) as session:
        saved = third_party.connection(session)
    engine.dispose()
    assert saved is not None
    base = f"{saved.end_point}/{saved.database_name}/scim/v2"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {saved.token}"}) as http:
        yield http


def given_names(scview: httpx.Client, usernames: dict[str, str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for username in usernames:
        query = {"filter": f'userName eq "{username}"'}
        users = scview.get("/Users", params=query).raise_for_status().json()["Resources"]
        found[username] = users[0]["name"]["givenName"] if users else None
    return found

"""`staffsync sync all|user`: progress bar and summary table, exit code on failure."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from staffsync.cli import app
from staffsync.kit.db import transaction
from staffsync.sync import service
from tests.sync.conftest import LiveScim
from tests.sync.faults import answering, serving
from tests.sync_run.conftest import configure, point_at, seed_district

runner = CliRunner(env={"COLUMNS": "200"})  # Rich wraps tables at the width


def test_sync_all_prints_the_summary_and_records_the_run(
    fis_db: str, fis: sessionmaker[Session], live_scim: LiveScim
) -> None:
    point_at(fis, live_scim)
    count = seed_district(fis, 25)
    planned = runner.invoke(app, ["sync", "all", "--dry-run", "--db", fis_db])
    assert planned.exit_code == 0, planned.output
    assert "Sync plan" in planned.output and "Syncing users" not in planned.output
    rows = [[cell.strip() for cell in line.split("│")[1:-1]]
            for line in planned.output.splitlines() if line.count("│") == 4]  # 3 columns
    shown = {user: action for user, action, _ in rows}  # the header is drawn with ┃
    assert len(shown) == 20 and set(shown.values()) == {"create", "skipped"}
    assert {u for u, a in shown.items() if a == "create"} <= set(live_users_of(fis))
    assert f"and {count + 3 - 20} more" in planned.output  # 3: the system users, skipped
    assert live_scim.users() == []
    done = runner.invoke(app, ["sync", "all", "--db", fis_db])
    assert done.exit_code == 0, done.output
    assert "User sync to SCView" in done.output and f"{count} writes" in done.output
    assert len(live_scim.users()) == count
    with transaction(fis) as session:
        runs = service.list_runs(session, 5)
    assert [(r["trigger"], r["dry_run"]) for r in runs] == [("cli", False), ("cli", True)]


def test_sync_all_stopped_by_configuration_exits_non_zero_with_the_resolution(
    fis_db: str, fis: sessionmaker[Session], live_scim: LiveScim
) -> None:
    configure(fis, live_scim.end_point, live_scim.database, "not-the-token")
    seed_district(fis, 3)
    result = runner.invoke(app, ["sync", "all", "--db", fis_db])
    assert result.exit_code == 1
    assert "Token or Database name is incorrect" in result.output
    assert "Verify that the System > Directories > Third Party Configuration" in result.output


def test_sync_all_against_a_server_answering_500_exits_non_zero_with_one_clear_error(
    fis_db: str, fis: sessionmaker[Session]
) -> None:
    seed_district(fis, 3)
    with serving(answering(500, b"Internal Server Error")) as url:
        configure(fis, url, "district", "a-token")
        result = runner.invoke(app, ["sync", "all", "--db", fis_db])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # typer.Exit, not an escaped SyncError
    message = "Response status code does not indicate success: 500 (Internal Server Error)."
    assert message in result.output and "Traceback" not in result.output
    assert "Resolution: The site is down." in result.output
    with transaction(fis) as session:
        (run,) = service.list_runs(session, 5)
    assert run["status"] == "stopped" and run["error"]["code"] == "server_error"


def test_sync_user_prints_the_outcome(fis_db: str, fis: sessionmaker[Session],
                                      live_scim: LiveScim) -> None:
    point_at(fis, live_scim)
    seed_district(fis, 2)
    username = live_users_of(fis)[0]
    created = runner.invoke(app, ["sync", "user", username, "--db", fis_db])
    assert created.exit_code == 0 and f"{username}: created" in created.output
    skipped = runner.invoke(app, ["sync", "user", "CSIU", "--db", fis_db])
    assert skipped.exit_code == 1
    assert "User sync to SCView failed for: CSIU." in skipped.output
    unknown = runner.invoke(app, ["sync", "user", "nobody", "--db", fis_db])
    assert unknown.exit_code == 1


def test_sync_without_setup_says_where_to_set_it_up(fis_db: str) -> None:
    result = runner.invoke(app, ["sync", "all", "--db", fis_db])
    assert result.exit_code == 1
    assert "System > Directories > Third Party Configuration" in result.output


def live_users_of(factory: sessionmaker[Session]) -> list[str]:
    from staffsync.fis import users

    with transaction(factory) as session:
        return [u.username for u in users.search(session, None, 50, 0) if not u.is_system]

"""The ``staffsync`` command line: one program for FIS, SCView and the sync."""

from __future__ import annotations

from pathlib import Path

import typer

from staffsync.fis.cli import app as fis_app
from staffsync.kit.migrate import upgrade
from staffsync.scview.cli import app as scview_app
from staffsync.sync.cli import app as sync_app
from staffsync.sync.worker_cli import worker

app = typer.Typer(no_args_is_help=True, help=__doc__, pretty_exceptions_show_locals=False)
app.add_typer(fis_app, name="fis", help="FIS, the HR/Payroll system (the source of truth).")
app.add_typer(scview_app, name="scview", help="SCView, the SCIM 2.0 staff platform.")
app.add_typer(sync_app, name="sync", help="Run the user sync from FIS to SCView.")
app.command("worker")(worker)



@app.command()
def demo(
    data_dir: Path = typer.Option(None, "--data-dir", help="Default: STAFFSYNC_DATA_DIR, "
                                  "then ./staffsync-data."),
    staff: int = typer.Option(2000, "--staff", min=1, help="Staff to seed on the first run."),
    fis_port: int = typer.Option(8000, "--fis-port", help="FIS port (a free one if taken)."),
    scview_port: int = typer.Option(8001, "--scview-port",
                                    help="SCView port (a free one if taken)."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Exit after printing the logins."),
) -> None:
    """FIS and SCView on loopback with a sample district, synced: the main job."""
    from rich.console import Console

    from staffsync import demo as demo_module
    from staffsync.kit.settings import get_settings

    folder = (data_dir or get_settings().data_dir).resolve()
    run = demo_module.run(folder, staff, fis_port, scview_port, not no_wait, Console())
    if run["error"]:  # the initial sync was stopped (its catalogue entry is printed)
        raise typer.Exit(1)


db_app = typer.Typer(no_args_is_help=True, help="Database schema migrations.")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(
    db: str = typer.Option(..., "--db", help="Database URL, sqlite:///... or postgresql+psycopg://..."),
    system: str = typer.Option("fis", "--system", help="Which system's schema: fis or scview."),
) -> None:
    """Migrate a database to the newest schema."""
    if system not in ("fis", "scview"):
        raise typer.BadParameter("--system must be fis or scview")
    upgrade(db, system)  # type: ignore[arg-type]
    typer.echo(f"{system} database is at the newest schema.")

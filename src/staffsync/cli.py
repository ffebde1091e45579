"""The ``staffsync`` command line: one program for FIS, SCView and the sync."""

from __future__ import annotations

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

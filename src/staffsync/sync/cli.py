"""`staffsync sync ...` commands: Run Sync for all users or one user, from a terminal.

Both record the run in the FIS database's sync history, like the Run Sync buttons.
Exit code 1 when the sync could not run or a user failed; the catalogue's message and
resolution are printed.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import typer
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis.cli import DbOption, sessions
from staffsync.sync import service
from staffsync.sync.display import plan_steps_table, plan_table, progress_bar, report_table

app = typer.Typer(no_args_is_help=True)


def print_entry(console: Console, error: dict[str, Any]) -> None:
    console.print(f"[bold red]{error['message']}[/]")
    console.print(f"Resolution: {error['resolution']}")


@app.command("all")
def all_users(
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; write nothing."),
    db: str | None = DbOption,
) -> None:
    """Users > Run Sync: reconcile every FIS user with SCView (writes only what differs)."""
    console = Console()
    with sessions(db) as factory:
        run = run_all_with_bar(factory, console, dry_run)
    if run["error"]:
        raise typer.Exit(1)


def run_all_with_bar(factory: sessionmaker[Session], console: Console, dry_run: bool = False,
                     trigger: str = "cli") -> dict[str, Any]:
    """Sync all with the progress bar, then the summary (or plan) table, and the catalogue
    entry when a configuration error stopped the run (``run["error"]``)."""
    bar = nullcontext(None) if dry_run else progress_bar(console)  # a plan writes nothing
    with bar as progress:
        run, plan, report = service.run_all(factory, trigger, dry_run, progress)
    if dry_run:
        console.print(plan_table(plan))
        console.print(plan_steps_table(plan))
    else:
        console.print(report_table(report))
    console.print(f"Run {run['id']}: {run['status']}, {run['writes']} writes.")
    if run["error"]:
        print_entry(console, run["error"])
    return run


@app.command("user")
def one_user(
    username: str = typer.Argument(..., help="The FIS username (System > Directories > Users)."),
    db: str | None = DbOption,
) -> None:
    """Edit User > Run Sync: push one user to SCView now."""
    console = Console()
    with sessions(db) as factory:
        result = service.sync_user(factory, username, "cli")
    changed = f" ({', '.join(result['changed'])})" if result["changed"] else ""
    console.print(f"{result['username']}: {result['outcome']}{changed}")
    if result["error"]:
        print_entry(console, result["error"])
        raise typer.Exit(1)

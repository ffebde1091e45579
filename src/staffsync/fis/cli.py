"""`staffsync fis ...` commands: serve, create-api-key, create-admin, seed.

The database is ``--db``, else ``STAFFSYNC_FIS_DB``, else ``fis.db`` in the data folder.
An SQLite database is created and migrated on first use; a PostgreSQL one is migrated
explicitly with ``staffsync db upgrade --system fis``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import auth
from staffsync.fis import seed as seeding
from staffsync.fis.models import Role
from staffsync.kit.db import is_sqlite, make_engine, session_factory, transaction
from staffsync.kit.errors import StaffsyncError
from staffsync.kit.migrate import upgrade
from staffsync.kit.settings import get_settings

app = typer.Typer(no_args_is_help=True)
T = TypeVar("T")

DbOption = typer.Option(None, "--db", help="FIS database URL (default: STAFFSYNC_FIS_DB, "
                        "then fis.db in the data folder).")
ReconcileOption = typer.Option(
    None, "--reconcile-every", help="How often the sync worker runs a scheduled sync all, "
    "repairing drift in SCView: e.g. 24h, 30m, off (default: STAFFSYNC_RECONCILE_EVERY, "
    "then 24h).")


def database_url(db: str | None) -> str:
    """The FIS database URL, migrated first when it is SQLite (cheap when up to date)."""
    url = db or get_settings().fis_url()
    if is_sqlite(url):
        upgrade(url, "fis")
    return url


@app.command()
def serve(
    db: str | None = DbOption,
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    worker: bool = typer.Option(True, "--worker/--no-worker",
                                help="Run the sync worker in this process (SQLite's one "
                                     "worker; on PostgreSQL, run `staffsync worker`s)."),
    reconcile_every: str | None = ReconcileOption,
) -> None:
    """Run the FIS web application and JSON API (OpenAPI at /docs), and the sync worker."""
    from contextlib import nullcontext

    import uvicorn

    from staffsync.fis.app import create_app
    from staffsync.kit.http1 import OneWrite
    from staffsync.sync.worker import WorkerConfig, in_background
    from staffsync.sync.worker_cli import reconcile_interval

    config = WorkerConfig(reconcile_every=reconcile_interval(reconcile_every))
    url = database_url(db)
    with in_background(url, config) if worker else nullcontext():
        uvicorn.run(create_app(url), host=host, port=port, access_log=False, http=OneWrite)


@app.command("create-api-key")
def create_api_key(
    name: str = typer.Argument(..., help="A name for the key, e.g. the program that uses it."),
    role: str = typer.Option("hr", "--role", help="hr (staff endpoints) or sysadmin (all)."),
    db: str | None = DbOption,
) -> None:
    """Create an API key and print it once; only its hash is stored."""
    key = _run(db, lambda session: auth.create_api_key(session, name, role))
    typer.echo(key)


@app.command("create-admin")
def create_admin(
    username: str = typer.Option(..., prompt=True, help="Login name."),
    password: str = typer.Option(..., prompt=True, hide_input=True,
                                 confirmation_prompt=True, help="At least 8 characters."),
    role: Role = typer.Option(Role.sysadmin, "--role",
                              help="sysadmin (every screen) or hr (HR/Payroll screens only)."),
    db: str | None = DbOption,
) -> None:
    """Create an account for the FIS pages (password stored as an argon2id hash)."""
    _run(db, lambda session: auth.create_account(session, username, password, role.value))
    typer.echo(f"Account {username} ({role.value}) created.")


@app.command()
def seed(
    staff: int = typer.Option(..., "--staff", min=1, help="How many staff members to add."),
    random_seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same names)."),
    db: str | None = DbOption,
) -> None:
    """Add a plausible sample district: names, emails (about 95%), phones, a few inactive."""
    import random
    import time

    from rich.progress import Progress

    started = time.monotonic()
    with Progress(transient=True) as bar:
        task = bar.add_task("Seeding staff", total=staff)
        done = _run(db, lambda session: seeding.seed(
            session, staff, random.Random(random_seed), lambda n: bar.advance(task, n)))
    typer.echo(f"Seeded {done.staff} staff, {done.users} users and {done.phones} phones "
               f"in {time.monotonic() - started:.1f}s.")


@contextmanager
def sessions(db: str | None) -> Iterator[sessionmaker[Session]]:
    """A session factory on the FIS database; a ``StaffsyncError`` exits with its message."""
    engine = make_engine(database_url(db), hide_parameters=True)
    try:
        yield session_factory(engine)
    except StaffsyncError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(1) from error
    finally:
        engine.dispose()


def _run(db: str | None, work: Callable[[Session], T]) -> T:
    """Run ``work(session)`` in one transaction; a StaffsyncError exits with its message."""
    with sessions(db) as factory, transaction(factory) as session:
        return work(session)

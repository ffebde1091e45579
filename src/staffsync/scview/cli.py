"""`staffsync scview ...` commands: tenants, tokens, admin accounts, and the server."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import typer
import uvicorn
from sqlalchemy.orm import Session

from staffsync.kit.affinity import PIN_VARIABLE, pin_to_a_free_cpu
from staffsync.kit.db import is_sqlite, make_engine, session_factory, transaction
from staffsync.kit.errors import StaffsyncError
from staffsync.kit.http1 import OneWrite
from staffsync.kit.migrate import upgrade
from staffsync.kit.settings import get_settings
from staffsync.scview.admins import create_admin as create_admin_account
from staffsync.scview.tenants import create_tenant as create_tenant_record
from staffsync.scview.tenants import rotate_token as rotate_tenant_token

app = typer.Typer(no_args_is_help=True)
T = TypeVar("T")

DB_OPTION = typer.Option(None, "--db", help="Database URL (default: STAFFSYNC_SCVIEW_DB).")


def database_url(db: str | None) -> str:
    """The SCView database URL; an SQLite database is created and migrated on first use."""
    url = db or get_settings().scview_url()
    if is_sqlite(url):
        upgrade(url, "scview")
    return url


def _in_transaction(db: str | None, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one committed transaction; a known error is printed, not raised."""
    engine = make_engine(database_url(db))
    try:
        with transaction(session_factory(engine)) as session:
            return work(session)
    except StaffsyncError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


@app.command("create-tenant")
def create_tenant(name: str, db: str | None = DB_OPTION) -> None:
    """Create a database (tenant) and print its bearer token, once."""
    token = _in_transaction(db, lambda session: create_tenant_record(session, name))
    typer.echo(token)


@app.command("rotate-token")
def rotate_token(name: str, db: str | None = DB_OPTION) -> None:
    """Replace a database's bearer token and print the new one, once."""
    token = _in_transaction(db, lambda session: rotate_tenant_token(session, name))
    typer.echo(token)


@app.command("create-admin")
def create_admin(
    username: str = typer.Option(..., "--username", prompt=True),
    password: str = typer.Option(
        ..., "--password", prompt=True, hide_input=True, confirmation_prompt=True,
        envvar="STAFFSYNC_SCVIEW_ADMIN_PASSWORD",
    ),
    db: str | None = DB_OPTION,
) -> None:
    """Create an admin account for the Admin > Users pages (argon2id password hash)."""
    _in_transaction(db, lambda session: create_admin_account(session, username, password))
    typer.echo(f"Admin {username!r} created.")


@app.command("serve")
def serve(
    db: str | None = DB_OPTION,
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8001, "--port"),
    workers: int = typer.Option(1, "--workers", help="Server processes (they share nothing)."),
    pin_cpus: bool = typer.Option(False, "--pin-cpus",
                                  help="Pin each server process to a CPU of its own."),
) -> None:
    """Run the SCView server (SCIM 2.0 under /{database}/scim/v2)."""
    url = database_url(db)
    served: Any = "staffsync.scview.app:app_from_environment"
    if workers > 1:  # each process builds its own app from the environment
        os.environ["STAFFSYNC_SCVIEW_DB"] = url
        if pin_cpus:  # each worker pins itself (app_from_environment)
            os.environ[PIN_VARIABLE] = str(os.getpid())
    else:
        if pin_cpus:
            pin_to_a_free_cpu(os.getpid())
        from staffsync.scview.app import create_app

        served = create_app(url)
    # OneWrite: each response in one write to the socket (kit.http1)
    uvicorn.run(served, factory=workers > 1, workers=workers, host=host, port=port,
                access_log=False, log_level="warning", http=OneWrite)

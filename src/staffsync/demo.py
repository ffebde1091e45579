"""`staffsync demo`: the whole product on one machine, from a fresh clone.

A data folder holds SQLite databases for FIS and SCView (and the secret key). The first
run seeds a sample district, creates the SCView tenant and its token, saves FIS's Third
Party Configuration, and creates demo logins and an API key; later runs reuse all of it
(the token is kept encrypted in FIS; if it cannot be read, it is rotated). Then both
servers start on loopback, a sync all runs with a progress bar, the sync worker starts
(as in ``staffsync fis serve``: every later edit in FIS is pushed to SCView), and the
URLs and logins are printed until Ctrl-C, even when the sync all was stopped by an error.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import auth, seed, third_party
from staffsync.fis.app import create_app as create_fis
from staffsync.fis.models import Account, Staff
from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from staffsync.kit.server import ServerThread, free_port
from staffsync.kit.settings import sqlite_url
from staffsync.scview import admins, tenants
from staffsync.scview.app import create_app as create_scview
from staffsync.scview.models import AdminAccount, Tenant

TENANT = "demo"
CREDENTIALS = "demo-credentials.json"  # mode 0600: the demo's logins, shown on every run
ADMIN = "demo-admin"


@dataclass(frozen=True)
class Credentials:
    fis_password: str
    scview_password: str
    api_key: str

    @classmethod
    def new(cls) -> Credentials:
        return cls(secrets.token_urlsafe(12), secrets.token_urlsafe(12), "")


@dataclass
class Demo:
    data_dir: Path
    fis: sessionmaker[Session]
    scview: sessionmaker[Session]
    console: Console


def port_or_free(preferred: int) -> int:
    """``preferred`` when nothing listens there on loopback, else any free port."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
    return preferred


@contextmanager
def databases(data_dir: Path) -> Iterator[tuple[str, str]]:
    """The demo's FIS and SCView SQLite URLs, created and migrated."""
    urls = sqlite_url(data_dir / "fis.db"), sqlite_url(data_dir / "scview.db")
    upgrade(urls[0], "fis")
    upgrade(urls[1], "scview")
    yield urls


def seed_once(demo: Demo, staff: int) -> None:
    with transaction(demo.fis) as session:
        existing = session.scalar(select(func.count()).select_from(Staff)) or 0
        if existing:
            demo.console.print(f"Reusing the district in {demo.data_dir} ({existing} staff).")
            return
        done = seed.seed(session, staff, random.Random(1))
    demo.console.print(f"Seeded {done.staff} staff ({done.users} users with an email).")


def credentials(demo: Demo) -> Credentials:
    """The demo logins: read from the data folder, or created (accounts, API key) once."""
    path = demo.data_dir / CREDENTIALS
    if path.exists():
        return Credentials(**json.loads(path.read_text()))
    creds = Credentials.new()
    with transaction(demo.fis) as session:
        if session.scalar(select(Account.id).where(Account.username_key == ADMIN)) is None:
            auth.create_account(session, ADMIN, creds.fis_password)
        key = auth.create_api_key(session, f"demo-{secrets.token_hex(3)}", "sysadmin")
    with transaction(demo.scview) as session:
        if session.scalar(select(AdminAccount.id).where(AdminAccount.username == ADMIN)) is None:
            admins.create_admin(session, ADMIN, creds.scview_password)
    creds = Credentials(creds.fis_password, creds.scview_password, key)
    _write_private(path, json.dumps(asdict(creds)))
    return creds


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def connect(demo: Demo, scview_url: str) -> None:
    """Save the Third Party Configuration for the tenant at this run's SCView URL.

    The token is reused when FIS's stored one still opens the tenant; otherwise (first
    run, lost key, changed token) the tenant is created or its token rotated.
    """
    with transaction(demo.fis) as session:
        saved = third_party.connection(session, enabled_only=False)
    token = saved.token if saved is not None and _opens(demo, saved.token) else None
    if token is None:
        token = _new_token(demo)
    with transaction(demo.fis) as session:
        third_party.save(session, {"end_point": scview_url, "token": token,
                                   "database_name": TENANT, "enabled": True})


def _opens(demo: Demo, token: str) -> bool:
    with transaction(demo.scview) as session:
        try:
            tenants.authenticate(session, TENANT, f"Bearer {token}")
        except Exception:  # unknown tenant or wrong token: either way, not usable
            return False
    return True


def _new_token(demo: Demo) -> str:
    with transaction(demo.scview) as session:
        exists = session.scalar(select(Tenant.id).where(Tenant.name == TENANT)) is not None
        if exists:
            return tenants.rotate_token(session, TENANT)
        return tenants.create_tenant(session, TENANT)


def panel(fis_url: str, scview_url: str, creds: Credentials, data_dir: Path) -> Panel:
    lines = [
        f"[bold]FIS[/]     {fis_url}   (API docs: {fis_url}/docs)",
        f"  login {ADMIN} / {creds.fis_password}",
        f"  API key (sysadmin): {creds.api_key}",
        f"[bold]SCView[/]  {scview_url}   (SCIM: {scview_url}/{TENANT}/scim/v2)",
        f"  login {ADMIN} / {creds.scview_password}",
        f"Data folder: {data_dir}   Run again to reuse it.",
        "Edits made in FIS reach SCView by themselves (the sync worker runs here).",
        "Try: staffsync sync all   (with STAFFSYNC_DATA_DIR set to the data folder)",
    ]
    return Panel("\n".join(lines), title="staffsync demo", expand=False)


def run(data_dir: Path, staff: int, fis_port: int, scview_port: int, wait: bool,
        console: Console) -> dict[str, Any]:
    """The demo; returns the initial sync run. The worker and the servers stop when it
    returns (Ctrl-C when waiting)."""
    from staffsync.sync.cli import run_all_with_bar
    from staffsync.sync.worker import WorkerConfig, in_background
    from staffsync.sync.worker_cli import reconcile_interval

    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["STAFFSYNC_DATA_DIR"] = str(data_dir)  # the secret key file lives there
    with databases(data_dir) as (fis_db, scview_db), ExitStack() as stack:
        demo = Demo(data_dir, _sessions(stack, fis_db), _sessions(stack, scview_db), console)
        seed_once(demo, staff)
        creds = credentials(demo)
        scview = stack.enter_context(ServerThread(create_scview(scview_db),
                                                  port=port_or_free(scview_port)))
        fis = stack.enter_context(ServerThread(create_fis(fis_db), port=port_or_free(fis_port)))
        connect(demo, scview.url)
        sync_run = run_all_with_bar(demo.fis, console, trigger="demo")
        # From now on every edit made in FIS is pushed by the worker, as in `fis serve`
        # (started after the sync all, which has pushed the seeded users already).
        config = WorkerConfig(reconcile_every=reconcile_interval(None))
        stack.enter_context(in_background(fis_db, config))
        console.print(panel(fis.url, scview.url, creds, data_dir))
        if wait:
            _wait(console)
        return sync_run


def _sessions(stack: ExitStack, url: str) -> sessionmaker[Session]:
    engine = make_engine(url, hide_parameters=True)
    stack.callback(engine.dispose)
    return session_factory(engine)


def _wait(console: Console) -> None:
    console.print("Press Ctrl-C to stop.")
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        console.print("Stopping FIS and SCView.")

"""`staffsync worker`: the sync worker as its own process (any number of them on
PostgreSQL, sharing the outbox through leases); SIGTERM or SIGINT stops it cleanly after
the round in flight."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta

import typer

from staffsync.fis.cli import DbOption, ReconcileOption, sessions
from staffsync.kit.settings import get_settings
from staffsync.sync.worker import Worker, WorkerConfig

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> timedelta | None:
    """``"90s"``, ``"15m"``, ``"24h"``, ``"7d"`` (a bare number is seconds); ``"off"``/``"0"``
    is None: no scheduled reconciliation."""
    value = text.strip().lower()
    if value in ("off", "0", "never"):
        return None
    unit = value[-1] if value[-1] in UNITS else "s"
    number = value[:-1] if value[-1] in UNITS else value
    try:
        seconds = float(number) * UNITS[unit]
    except ValueError as exc:
        raise typer.BadParameter(f"not an interval: {text!r} (e.g. 24h, 30m, off)") from exc
    if seconds <= 0:
        raise typer.BadParameter("the interval must be positive (or off)")
    return timedelta(seconds=seconds)


def reconcile_interval(option: str | None) -> timedelta | None:
    """``--reconcile-every``, else ``STAFFSYNC_RECONCILE_EVERY``, else 24 hours."""
    return parse_interval(option or get_settings().reconcile_every)


def worker(
    db: str | None = DbOption,
    concurrency: int = typer.Option(8, "--concurrency", min=1, help="Pushes at a time."),
    lease_seconds: float = typer.Option(60.0, "--lease-seconds", min=1,
                                        help="How long a claim is this worker's."),
    batch: int = typer.Option(50, "--batch", min=1, help="Users claimed per round."),
    reconcile_every: str | None = ReconcileOption,
) -> None:
    """Push every FIS edit to SCView: claim due users, push them, retry failures."""
    config = WorkerConfig(concurrency=concurrency, batch=batch,
                          lease=timedelta(seconds=lease_seconds),
                          reconcile_every=reconcile_interval(reconcile_every))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with sessions(db) as factory:
        Worker(factory, config).run(stop)

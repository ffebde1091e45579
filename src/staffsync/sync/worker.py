"""The sync worker: drains the outbox (DESIGN.md "The sync state") into SCView.

One round (``Worker.run_once``):

1. a short transaction claims up to ``batch`` due rows as leases and reads each one's
   version and *current* snapshot (so ten edits made while SCView was down are one push
   of the latest values);
2. no transaction is open while the snapshots are pushed, ``concurrency`` at a time,
   each through the one push path (``push.push_user``);
3. a short transaction records each user's outcome, version-checked
   (``sync_state.record_many``: success clears ``dirty`` only if no newer edit arrived;
   a transient failure is due again after ``Backoff``; a permanent one is parked), and
   gives the leases back.

A configuration-level failure (SCView down, DNS, wrong token, database or End Point) is
the tenant's, not the user's: it opens the tenant's breaker (``breaker.Breaker``), is
logged once, and the rows are released untouched. While open, nothing is claimed; then
one probe push decides (half-open). A worker killed mid-push loses nothing: its rows
stay dirty, and are claimed again when the lease expires.

Between rounds an idle worker blocks: on PostgreSQL on ``LISTEN`` (``sync_state``
sends ``NOTIFY`` from the edit's transaction), on SQLite on a short sleep. It also runs
the scheduled reconciliation (``service.sync_all``, trigger ``schedule``) every
``reconcile_every``, one at a time across workers.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import sync_state
from staffsync.fis.models import SyncRun, utcnow
from staffsync.kit.db import transaction
from staffsync.sync import outbox, service
from staffsync.sync.breaker import Breaker, Health, Mode
from staffsync.sync.catalogue import ConfigurationError, SyncError
from staffsync.sync.outbox import Claim
from staffsync.sync.push import Outcome, Result, push_user
from staffsync.sync.scim_client import ScimClient, Target
from staffsync.sync.wakeup import Wakeup, wakeup_for

log = logging.getLogger("staffsync.worker")
Clock = Callable[[], datetime]
RECONCILE_LOCK = 0x5EA7_5C0E  # the PostgreSQL advisory lock key of the reconciliation
_LOCAL_RECONCILE = threading.Lock()


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """``lease``: how long a claim is ours; a push starts only in its first half, so it
    ends (client timeout 10 s per request) long before another worker may take it over.
    ``poll``: an idle SQLite worker's sleep; ``listen``: the longest an idle PostgreSQL
    worker blocks on LISTEN (so rows whose backoff ran out are picked up by then)."""

    concurrency: int = 8
    batch: int = 50
    lease: timedelta = timedelta(seconds=60)
    poll: float = 0.2
    listen: float = 2.0
    reconcile_every: timedelta | None = timedelta(hours=24)
    timeout: float = 10.0


def new_owner() -> str:
    """A lease owner name that says which process holds a row."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Round:
    """What one round did, for the loop and the tests."""

    claimed: int = 0
    recorded: int = 0
    tenant_error: dict[str, Any] | None = None
    outcomes: dict[str, int] = field(default_factory=dict)


class Worker:
    """Drains one FIS database's outbox into its configured SCView tenant."""

    def __init__(self, factory: sessionmaker[Session], config: WorkerConfig | None = None,
                 *, owner: str | None = None, clock: Clock = utcnow,
                 breaker: Breaker | None = None) -> None:
        self.factory = factory
        self.config = config or WorkerConfig()
        self.owner = owner or new_owner()
        self.clock = clock
        self.breaker = breaker or Breaker()
        self.health = Health()
        self._target: Target | None = None
        self._system_users: frozenset[str] = frozenset()
        self._client: ScimClient | None = None
        self._pool = ThreadPoolExecutor(self.config.concurrency, "staffsync-push")
        self._reconciler: threading.Thread | None = None
        self._started = clock()

    # -- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Rounds until ``stop`` is set; an idle worker blocks on its ``Wakeup``."""
        wakeup = wakeup_for(self.factory, self.config.poll, self.config.listen)
        log.info("sync worker %s started", self.owner)
        try:
            self._loop(stop, wakeup)
        finally:
            wakeup.close()
            self.close()
            log.info("sync worker %s stopped", self.owner)

    def _loop(self, stop: threading.Event, wakeup: Wakeup) -> None:
        while not stop.is_set():
            self.maybe_reconcile()
            try:
                done = self.run_once()
            except Exception:  # a database hiccup must not end the worker; try again
                log.exception("sync worker round failed")
                done = Round()
            if done.claimed < self.config.batch:
                wakeup.wait(stop)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._client is not None:
            self._client.close()
        if self._reconciler is not None:
            self._reconciler.join()

    # -- one round -----------------------------------------------------------------------

    def run_once(self) -> Round:
        """Claim, push, record: one batch (one probe when the breaker is half-open)."""
        client = self._tenant_client()
        mode = self.health.mode(self.clock())
        if client is None or mode is Mode.OPEN:
            return Round()
        limit = 1 if mode is Mode.HALF_OPEN else self.config.batch
        claims = self._claim(limit)
        if not claims:
            return Round()
        results = self._push_all(client, claims)
        return self._record(claims, results)

    def _tenant_client(self) -> ScimClient | None:
        """The client of the configured tenant (None: sync not set up, or a bad End
        Point, which is then the tenant's error). A changed configuration starts over
        with a closed breaker: fixing the token is how a person clears that error."""
        with transaction(self.factory) as session:
            try:
                settings = service._settings(session)
            except service.SyncNotSetUp:
                return None
        self._system_users = settings.system_users
        if settings.target != self._target:
            self._switch(settings.target)
        return self._client

    def _switch(self, target: Target) -> None:
        if self._client is not None:
            self._client.close()
        self._target, self._client, self.health = target, None, Health()
        try:
            self._client = ScimClient(target, timeout=self.config.timeout,
                                      max_connections=self.config.concurrency,
                                      user_agent=f"staffsync-worker/{self.owner}")
        except ConfigurationError as error:
            self._tenant_failed(error.as_dict())

    def _claim(self, limit: int) -> list[Claim]:
        with transaction(self.factory) as session:
            return outbox.claim(session, self.owner, self.clock(), self.config.lease, limit)

    def _push_all(self, client: ScimClient, claims: list[Claim]) -> list[Result | None]:
        """Each claim's result; None for a push not started because the lease ran short."""
        deadline = self.clock() + self.config.lease / 2
        return list(self._pool.map(lambda c: self._push(client, c, deadline), claims))

    def _push(self, client: ScimClient, claim: Claim, deadline: datetime) -> Result | None:
        if claim.snapshot is None:  # no staff record any more: nothing to send
            return Result("", Outcome.SKIPPED)
        if self.clock() >= deadline:
            return None
        try:
            return push_user(claim.snapshot, client, self._system_users)
        except SyncError as error:  # pragma: no cover - push_user returns its errors
            return Result(claim.snapshot.username, Outcome.FAILED, error=error)

    # -- recording -----------------------------------------------------------------------

    def _record(self, claims: list[Claim], results: list[Result | None]) -> Round:
        done = Round(claimed=len(claims))
        pushed = []
        for item, result in zip(claims, results, strict=True):
            if result is None:
                continue
            if isinstance(result.error, ConfigurationError):
                done.tenant_error = done.tenant_error or result.error.as_dict()
                continue
            pushed.append(sync_state.pushed_of(item.user_id, item.version, result))
            done.outcomes[result.outcome.value] = done.outcomes.get(result.outcome.value, 0) + 1
        with transaction(self.factory) as session:
            sync_state.record_many(session, pushed, self.clock())
            outbox.release(session, self.owner, [c.user_id for c in claims])
        done.recorded = len(pushed)
        self._judge(done)
        return done

    def _judge(self, done: Round) -> None:
        """A round where any push got an answer from SCView closes the breaker; a round
        where none did, and one failed for the tenant, counts against it."""
        if done.recorded:
            self._tenant_ok()
        elif done.tenant_error is not None:
            self._tenant_failed(done.tenant_error)

    def _tenant_ok(self) -> None:
        if self.health.open_until is not None:
            log.warning("SCView answers again: user sync resumed")
        self.health = self.breaker.succeeded(self.health)

    def _tenant_failed(self, error: dict[str, Any]) -> None:
        was_open = self.health.open_until is not None
        self.health = self.breaker.failed(self.health, self.clock(), error)
        if self.health.open_until is not None and not was_open:
            # Once per outage, not once per user: the Users list keeps each user pending.
            log.error("User sync paused: %s %s", error["message"], error["resolution"])

    # -- scheduled reconciliation --------------------------------------------------------

    def maybe_reconcile(self) -> None:
        """Start the scheduled sync all in the background when it is due."""
        every = self.config.reconcile_every
        if every is None or (self._reconciler and self._reconciler.is_alive()):
            return
        if self.clock() < self._next_reconcile():
            return
        self._reconciler = threading.Thread(target=self._reconcile, name="staffsync-reconcile")
        self._reconciler.start()

    def _next_reconcile(self) -> datetime:
        """``reconcile_every`` after the last scheduled run (or after this worker started)."""
        assert self.config.reconcile_every is not None
        with transaction(self.factory) as session:
            last = last_scheduled_run(session)
        return (last or self._started) + self.config.reconcile_every

    def _reconcile(self) -> None:
        try:
            with reconcile_lock(self.factory) as mine:
                if mine and self.clock() >= self._next_reconcile():
                    run = service.sync_all(self.factory, "schedule")
                    log.info("scheduled sync all: run %s %s", run["id"], run["status"])
        except service.SyncNotSetUp:
            self._started = self.clock()  # try again one interval later
        except Exception:
            log.exception("scheduled sync all failed")


def last_scheduled_run(session: Session) -> datetime | None:
    started = select(func.max(SyncRun.started_at)).where(SyncRun.trigger == "schedule")
    return session.scalar(started)


@contextmanager
def reconcile_lock(factory: sessionmaker[Session]) -> Iterator[bool]:
    """Yield True when this worker may run the reconciliation: a PostgreSQL session
    advisory lock, held (outside any transaction) on its own connection for the run.
    SQLite has one worker process (in ``fis serve``): a lock in this process suffices."""
    engine = factory.kw["bind"]
    if engine.dialect.name != "postgresql":
        with _LOCAL_RECONCILE:
            yield True
        return
    with engine.connect() as conn:
        mine = bool(conn.scalar(select(func.pg_try_advisory_lock(RECONCILE_LOCK))))
        conn.commit()  # the lock is the session's: no transaction stays open
        try:
            yield mine
        finally:
            if mine:
                conn.scalar(select(func.pg_advisory_unlock(RECONCILE_LOCK)))
                conn.commit()


@contextmanager
def in_background(url: str, config: WorkerConfig | None = None) -> Iterator[Worker]:
    """Run a worker on the FIS database ``url`` in a thread (``staffsync fis serve``);
    stopped, after its round in flight, on exit."""
    from staffsync.kit.db import make_engine, session_factory

    engine = make_engine(url, hide_parameters=True)
    worker, stop = Worker(session_factory(engine), config), threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="staffsync-worker")
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join()
        engine.dispose()

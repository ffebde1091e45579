"""The sync worker: drains the outbox (DESIGN.md "The sync state") into SCView.

One round (``Worker.run_once``):

1. a read-only check (no write lock on SQLite) reads the configuration and whether
   anything is due; an idle worker stops there;
2. a short transaction claims up to ``batch`` due rows as leases and reads each one's
   version and *current* snapshot (so ten edits made while SCView was down are one push
   of the latest values);
3. no transaction is open while the snapshots are pushed, ``concurrency`` at a time,
   each through the one push path (``push.push_user``); each answer is recorded as it
   arrives, in a short transaction, version-checked (``sync_state.record_many``), and
   the leases of pushes still in flight are renewed every third of a lease;
4. failures that may be the tenant's (configuration-level, or a 500) are judged
   together at the end of the round (``breaker.tenant_failure``): when most calls
   failed the same way, the tenant backs off as one (``breaker.Breaker``): the error is
   reported once (logged, and stored for the Users list and the API), the rows are
   released untouched, and one probe push decides later (half-open). Otherwise each is
   that user's own failure, retried with its own backoff: a poison user never holds
   up the tenant.

A round waits for its pushes at most ``patience`` seconds (the loop's rounds; a test's
``run_once()`` waits for all): pushes still running then finish in the background and
are recorded and judged there, so one slow user never holds up the next round. A
worker killed mid-push loses nothing: its rows stay dirty, and are claimed again when
the lease expires.

Between rounds an idle worker blocks: on PostgreSQL on ``LISTEN`` (``sync_state``
sends ``NOTIFY`` from the edit's transaction), on SQLite on a short sleep. It also runs
the scheduled reconciliation (``service.sync_all``, trigger ``schedule``) every
``reconcile_every``, one at a time across workers.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import sync_state
from staffsync.fis.models import SyncRun, utcnow
from staffsync.kit.db import read_only, transaction
from staffsync.sync import outbox, service
from staffsync.sync.breaker import Breaker, Health, Mode, tenant_failure
from staffsync.sync.catalogue import (
    ConfigurationError,
    MissingRequiredFields,
    ServerError,
    SyncError,
    SystemUser,
)
from staffsync.sync.outbox import Claim
from staffsync.sync.push import Outcome, Result, push_user
from staffsync.sync.scim_client import ScimClient, Target
from staffsync.sync.wakeup import Wakeup, wakeup_for

log = logging.getLogger("staffsync.worker")
Clock = Callable[[], datetime]
RECONCILE_LOCK = 0x5EA7_5C0E  # the PostgreSQL advisory lock key of the reconciliation
_LOCAL_RECONCILE = threading.Lock()
_ANSWERED = frozenset({Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED})
RECORD_EVERY = 0.05  # seconds: answers arriving together are recorded in one transaction


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """``lease``: how long a claim is ours (renewed every third of it while the push
    runs). ``poll``: an idle SQLite worker's sleep; ``listen``: the longest an idle
    PostgreSQL worker blocks on LISTEN (so rows whose backoff ran out are picked up by
    then). ``patience``: how long the loop's round waits for its slowest pushes.
    ``timeout``: of each HTTP request."""

    concurrency: int = 8
    batch: int = 50
    lease: timedelta = timedelta(seconds=60)
    poll: float = 0.2
    listen: float = 2.0
    reconcile_every: timedelta | None = timedelta(hours=24)
    timeout: float = 10.0
    patience: float = 0.25


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


@dataclass(frozen=True, slots=True)
class Peek:
    """The read-only look before a round: the settings, their generation, and whether
    any row is due."""

    settings: service.Settings
    generation: int
    due: bool


def _tenant_kind(result: Result) -> bool:
    """A failure that may be the tenant's rather than this user's."""
    return isinstance(result.error, ConfigurationError | ServerError)


def _answered(result: Result) -> bool:
    """SCView answered about this user (a refusal before sending is no answer)."""
    if result.outcome in _ANSWERED:
        return True
    error = result.error
    return error is not None and not isinstance(error, MissingRequiredFields | SystemUser)


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
        self._lock = threading.Lock()  # ``health``, shared with background rounds
        self._target: Target | None = None
        self._generation: int | None = None
        self._system_users: frozenset[str] = frozenset()
        self._client: ScimClient | None = None
        self._pool = ThreadPoolExecutor(self.config.concurrency, "staffsync-push")
        self._tails: list[threading.Thread] = []
        self._reconciler: threading.Thread | None = None
        self._reconcile_at: datetime | None = None
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
                done = self.run_once(self.config.patience)
            except Exception:  # a database hiccup must not end the worker; try again
                log.exception("sync worker round failed")
                done = Round()
            if done.claimed < self.config.batch:
                wakeup.wait(stop)

    def close(self) -> None:
        for tail in self._tails:
            tail.join()
        self._pool.shutdown(wait=True)
        if self._client is not None:
            self._client.close()
        if self._reconciler is not None:
            self._reconciler.join()

    # -- one round -----------------------------------------------------------------------

    def run_once(self, patience: float | None = None) -> Round:
        """Claim, push, record: one batch (one probe when the breaker is half-open).
        Waits for every push unless ``patience`` (seconds) runs out first."""
        self._tails = [tail for tail in self._tails if tail.is_alive()]
        peek = self._peek()
        if peek is None:
            return Round()
        client = self._tenant_client(peek)
        mode = self.health.mode(self.clock())
        if client is None or mode is Mode.OPEN or not peek.due:
            return Round()
        probe = mode is Mode.HALF_OPEN
        claims = self._claim(1 if probe else self.config.batch)
        if not claims:
            return Round()
        futures = {self._pool.submit(self._push, client, claim): claim for claim in claims}
        return self._finish(futures, peek.generation, probe=probe, patience=patience)

    def _peek(self) -> Peek | None:
        """None when User Sync is not set up."""
        with read_only(self.factory) as session:
            try:
                settings = service._settings(session)
            except service.SyncNotSetUp:
                return None
            generation = sync_state.health_generation(session)
            return Peek(settings, generation, outbox.any_due(session, self.clock()))

    def _tenant_client(self, peek: Peek) -> ScimClient | None:
        """The client of the configured tenant (None: a bad End Point or Database name,
        which is then the tenant's error). A saved configuration starts over with a
        closed breaker: fixing the token is how a person clears that error."""
        self._system_users = peek.settings.system_users
        if peek.settings.target != self._target or peek.generation != self._generation:
            self._switch(peek.settings.target, peek.generation)
        return self._client

    def _switch(self, target: Target, generation: int) -> None:
        with self._lock:
            self.health, self._generation = Health(), generation
        if target == self._target and self._client is not None:
            return
        if self._client is not None:
            self._client.close()
        self._target, self._client = target, None
        try:
            self._client = ScimClient(target, timeout=self.config.timeout,
                                      max_connections=self.config.concurrency,
                                      user_agent=f"staffsync-worker/{self.owner}")
        except ConfigurationError as error:
            self._report(error.as_dict(), generation)

    def _claim(self, limit: int) -> list[Claim]:
        with transaction(self.factory) as session:
            return outbox.claim(session, self.owner, self.clock(), self.config.lease, limit)

    def _push(self, client: ScimClient, claim: Claim) -> Result:
        if claim.snapshot is None:  # no staff record any more: nothing to send
            return Result("", Outcome.SKIPPED)
        try:
            return push_user(claim.snapshot, client, self._system_users)
        except SyncError as error:  # pragma: no cover - push_user returns its errors
            return Result(claim.snapshot.username, Outcome.FAILED, error=error)

    # -- collecting and recording --------------------------------------------------------

    def _finish(self, futures: dict[Future[Result], Claim], generation: int, *,
                probe: bool = False, patience: float | None = None,
                answered: int = 0) -> Round:
        """Record the answers as they arrive (grouped, at least every ``RECORD_EVERY``
        seconds); judge the tenant-kind failures together at the end. Pushes still
        running after ``patience`` are finished by a background round, which counts
        this round's ``answered`` calls as its own."""
        done = Round(claimed=len(futures))
        held: list[tuple[Claim, Result]] = []
        answers: list[tuple[Claim, Result]] = []
        pending, renew_every = set(futures), self.config.lease.total_seconds() / 3
        started = renewed = recorded = time.monotonic()
        give_up = math.inf if patience is None else started + patience
        while pending:
            now = time.monotonic()
            if now >= give_up:
                self._in_background({f: futures[f] for f in pending}, generation,
                                    probe, answered)
                break
            if now - renewed >= renew_every:
                self._renew([futures[f] for f in pending])
                renewed = now
            wake = min(give_up, renewed + renew_every,
                       recorded + RECORD_EVERY if answers else math.inf)
            finished, pending = wait(pending, max(0.0, wake - now), FIRST_COMPLETED)
            for future in finished:
                claim, result = futures[future], future.result()
                if _tenant_kind(result):
                    held.append((claim, result))
                else:
                    answers.append((claim, result))
                    answered += _answered(result)
            if answers and (not pending or time.monotonic() - recorded >= RECORD_EVERY):
                self._record(answers, done)
                answers, recorded = [], time.monotonic()
        self._record(answers, done)
        self._judge(held, answered, generation, probe, done)
        return done

    def _in_background(self, futures: dict[Future[Result], Claim], generation: int,
                       probe: bool, answered: int) -> None:
        def finish() -> None:
            try:
                self._finish(futures, generation, probe=probe, answered=answered)
            except Exception:  # the leases expire; the rows are pushed again
                log.exception("recording a slow push failed")

        tail = threading.Thread(target=finish, name="staffsync-slow-push")
        tail.start()
        self._tails.append(tail)

    def _renew(self, claims: list[Claim]) -> None:
        until = self.clock() + self.config.lease
        with transaction(self.factory) as session:
            outbox.renew(session, self.owner, [c.user_id for c in claims], until)

    def _record(self, answers: list[tuple[Claim, Result]], done: Round) -> None:
        """Record the answers (and give their leases back) in one short transaction."""
        if not answers:
            return
        pushed = [sync_state.pushed_of(c.user_id, c.version, r, c.snapshot) for c, r in answers]
        with transaction(self.factory) as session:
            sync_state.record_many(session, pushed, self.clock(), self.owner)
            outbox.release(session, self.owner, [c.user_id for c, _ in answers])
        done.recorded += len(pushed)
        for _, result in answers:
            done.outcomes[result.outcome.value] = done.outcomes.get(result.outcome.value, 0) + 1

    def _judge(self, held: list[tuple[Claim, Result]], answered: int, generation: int,
               probe: bool, done: Round) -> None:
        """The round's verdict on the tenant. Its tenant-kind failures are the tenant's
        when most calls failed the same way (released untouched, the breaker counts
        it), else each user's own; a round with answers and no tenant failure closes
        the breaker and clears the stored error."""
        calls = [None] * answered + [r.error.code for _, r in held if r.error]
        code = tenant_failure(calls, probe=probe)
        if code is None:
            self._record(held, done)
            if answered:
                self._tenant_ok()
            return
        error = next(r.error for _, r in held if r.error and r.error.code == code)
        done.tenant_error = error.as_dict()
        due = self._tenant_failed(done.tenant_error, generation)
        with transaction(self.factory) as session:
            outbox.release(session, self.owner, [c.user_id for c, _ in held], due)

    def _tenant_ok(self) -> None:
        with self._lock:
            if self.health.open_until is not None:
                log.warning("SCView answers again: user sync resumed")
            self.health = self.breaker.succeeded(self.health)
        with read_only(self.factory) as session:  # usually there is nothing to clear
            stored = sync_state.tenant_error(session)
        if stored is not None:
            with transaction(self.factory) as session:
                sync_state.clear_tenant_error(session)

    def _tenant_failed(self, error: dict[str, Any], generation: int) -> datetime | None:
        """Count a failing round against the tenant; when the breaker opens, report
        the error once. Returns when the tenant may be tried again (None: now)."""
        with self._lock:
            now = self.clock()
            if self.health.mode(now) is Mode.OPEN:  # a slow push of an earlier round
                return self.health.open_until
            was_open = self.health.open_until is not None
            self.health = self.breaker.failed(self.health, now, error)
            opened = self.health.open_until is not None and not was_open
            until = self.health.open_until
        if opened:
            self._report(error, generation)
        return until

    def _report(self, error: dict[str, Any], generation: int) -> None:
        # Once per outage, not once per user: the Users list keeps each user pending.
        log.error("User sync paused: %s %s", error["message"], error["resolution"])
        with transaction(self.factory) as session:
            sync_state.report_tenant_error(session, generation, error, self.clock())

    # -- scheduled reconciliation --------------------------------------------------------

    def maybe_reconcile(self) -> None:
        """Start the scheduled sync all in the background when it is due."""
        every = self.config.reconcile_every
        if every is None or (self._reconciler and self._reconciler.is_alive()):
            return
        if self._reconcile_at is not None and self.clock() < self._reconcile_at:
            return  # known not due: no database read on an idle loop
        self._reconcile_at = self._next_reconcile()
        if self.clock() < self._reconcile_at:
            return
        self._reconciler = threading.Thread(target=self._reconcile, name="staffsync-reconcile")
        self._reconciler.start()

    def _next_reconcile(self) -> datetime:
        """``reconcile_every`` after the last scheduled run (or after this worker started)."""
        assert self.config.reconcile_every is not None
        with read_only(self.factory) as session:
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

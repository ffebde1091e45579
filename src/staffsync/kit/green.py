"""Blocking database code run on the event loop: each request in a greenlet whose socket
waits go to the loop.

SCView's services are plain functions that take a ``Session`` and block on the database.
On PostgreSQL they used to run in a pool of threads: each request cost a hop to a thread
and back, and each round trip a GIL hand-off and a futex wake-up, which on two cores cost
more than the query. Here a request runs in a greenlet on the loop's own thread
(``spawn``), and a psycopg connection made by ``GreenConnection`` waits for its socket by
switching back to the loop (``add_reader``), which runs other requests meanwhile. Code
that is not in a spawned greenlet (the Admin pages' threads, the CLI, tests) blocks as
psycopg always does.

This is what SQLAlchemy's asyncio extension does one layer up (``greenlet_spawn``); at
the driver's ``wait`` it costs one future per round trip and no coroutine or lock per
statement. ``Coalesced`` lets requests in flight together share one statement, as a
group commit does; ``Gathered`` does the same for work that never waits on the loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import select
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, NamedTuple, TypeVar, cast

import psycopg
from greenlet import GreenletExit, getcurrent, greenlet
from psycopg import errors
from psycopg.pq import ConnStatus
from psycopg.waiting import Ready, Wait
from sqlalchemy import Engine, event

T = TypeVar("T")
R = TypeVar("R")
_READ, _WRITE = int(Wait.R), int(Wait.W)


class _Request(greenlet):
    """A greenlet that runs requests' work for ``spawn``, one after another: a new
    greenlet per request cost a fresh frame stack (an mmap and its page faults) and its
    teardown. Its waits go to the loop."""

    def run(self, work: Callable[[], Any]) -> None:
        while True:
            try:
                outcome = _Done(work(), None)
            except GreenletExit:
                raise
            except BaseException as exc:  # handed to spawn, which raises it
                outcome = _Done(None, exc)
            work = self.parent.switch(outcome)


class _Done(NamedTuple):
    """What a request's work returned or raised."""

    value: Any
    error: BaseException | None


_idle = threading.local()  # each thread's idle _Request greenlets (greenlets stay in theirs)


async def spawn(work: Callable[[], T]) -> T:
    """``work()`` run in a greenlet on this loop; each time it waits (``wait_for``), this
    coroutine awaits for it. It sees this task's context variables (a greenlet would
    otherwise keep those of the request before)."""
    idle: list[_Request] = _idle.__dict__.setdefault("greenlets", [])
    child = idle.pop() if idle else _Request()
    child.parent = getcurrent()  # its waits and its end come back here, not to its maker
    child.gr_context = contextvars.copy_context()
    result: Any = child.switch(work)
    while not isinstance(result, _Done):
        try:
            value = await result
        except BaseException as exc:
            result = child.throw(exc)
        else:
            result = child.switch(value)
    idle.append(child)
    if result.error is not None:
        raise result.error
    return cast(T, result.value)


def wait_for(awaitable: Awaitable[T]) -> T:
    """Await ``awaitable`` from inside a spawned greenlet (the loop runs meanwhile)."""
    current = getcurrent()
    return current.parent.switch(awaitable)


def in_request() -> bool:
    return isinstance(getcurrent(), _Request)


class GreenConnection(psycopg.Connection[Any]):
    """A psycopg connection whose waits, in a spawned greenlet, let the loop run, once it
    is ``cooperative``.

    Until then it blocks: SQLAlchemy sets a new connection up (its first one under a
    lock of the pool's) before it hands it out, and a greenlet that let the loop run
    while holding that lock would block the thread for good when the next one asked for
    a connection. ``kit.db.Units`` makes the connections it holds cooperative.
    """

    cooperative = False
    _watch: _Watch | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        if not (self.cooperative and isinstance(getcurrent(), _Request)):
            return super().wait(gen, interval=interval, timeout=timeout)
        fileno = self.pgconn.socket
        watch = self._watch
        if watch is None or watch.loop is not asyncio.get_running_loop():
            watch = self._watch = _Watch(asyncio.get_running_loop(), fileno)
        cancelled: asyncio.CancelledError | None = None
        try:
            state = next(gen)
            while True:
                if cancelled is not None:
                    state = gen.send(_ready_blocking(fileno, int(state)))
                    continue
                try:
                    state = gen.send(watch.ready(int(state)))
                except asyncio.CancelledError as exc:
                    # finish this exchange first: a connection left mid-query is unusable
                    cancelled = exc
        except StopIteration as done:
            if cancelled is not None:
                raise cancelled from None
            return done.value
        except OSError as exc:
            raise errors.OperationalError("connection socket closed") from exc
        finally:
            if self.pgconn.status != ConnStatus.OK:  # libpq may have closed the socket
                watch.stop()

    def close(self) -> None:
        if self._watch is not None:
            self._watch.stop()
        super().close()


class _Watch:
    """The loop's watch for one connection's socket becoming readable, kept from one
    wait to the next: adding and removing a reader per wait cost uvloop a new poll
    handle and about five ``epoll_ctl`` calls. Readable while nobody waits (a notice,
    or the server closing the connection), it stops, and the next wait starts it again;
    it stops too before its socket may be closed."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fileno: int) -> None:
        self.loop = loop
        self.fileno = fileno
        self.reading = False
        self.future: asyncio.Future[Ready] | None = None
        self.wanted = 0

    def ready(self, wanted: int) -> Ready:
        """Wait until the socket is ready for what ``wanted`` asks; say what it is ready for."""
        future = self.future = self.loop.create_future()
        self.wanted = wanted
        if wanted & _READ and not self.reading:
            self.loop.add_reader(self.fileno, self._readable)
            self.reading = True
        if wanted & _WRITE:
            self.loop.add_writer(self.fileno, self._wake, Ready.W)
        try:
            return wait_for(future)
        finally:
            self.future = None
            if wanted & _WRITE:
                self.loop.remove_writer(self.fileno)

    def _readable(self) -> None:
        if self.future is None or not self.wanted & _READ:
            self.stop()  # else, level-triggered, it would run again at every turn
        else:
            self._wake(Ready.R)

    def _wake(self, ready: Ready) -> None:
        if self.future is not None and not self.future.done():
            self.future.set_result(ready)

    def stop(self) -> None:
        if self.reading:
            self.reading = False
            if not self.loop.is_closed():
                self.loop.remove_reader(self.fileno)


class Coalesced(Generic[T, R]):
    """Items that concurrent requests hand in together, run as one batch: a client-side
    group commit. ``run(handle, items)`` gives each item's outcome, a value or the
    exception to raise for it.

    A request alone runs its item at once, on its own ``handle`` (its connection), so an
    idle server adds no delay. While ``in_flight`` batches run, the items that arrive
    wait; when a batch ends, the first waiting request runs every item waiting as the
    next batch. Each item still gets its own outcome: a batch's runner must not let one
    item's failure decide the others'. Code that is not in a spawned greenlet runs its
    item alone.
    """

    def __init__(self, run: Callable[[Any, list[T]], list[R | BaseException]],
                 in_flight: int = 1) -> None:
        self._run = run
        self._in_flight = in_flight
        self._flying = 0  # batches running, or handed to a request to run
        self._waiting: deque[_Item[T, R]] = deque()
        self.batches = 0  # batches run, and items in them (for tests and tuning)
        self.items = 0

    def submit(self, handle: Any, item: T) -> R:
        entry: _Item[T, R] = _Item(item)
        if not in_request():
            self._run_batch(handle, [entry])
        elif self._flying < self._in_flight:
            self._flying += 1
            self._lead(handle, entry)
        else:
            self._wait(handle, entry)
        if isinstance(entry.outcome, BaseException):
            raise entry.outcome
        return cast(R, entry.outcome)

    def _wait(self, handle: Any, entry: _Item[T, R]) -> None:
        """Wait in line; run the next batch if handed it (``_hand_on``)."""
        entry.future = asyncio.get_running_loop().create_future()
        self._waiting.append(entry)
        try:
            wait_for(entry.future)
        except BaseException:
            if entry in self._waiting:  # cancelled before any batch took it
                self._waiting.remove(entry)
            elif entry.leads:  # handed the next batch: hand it on
                self._flying -= 1
                self._hand_on()
            raise
        if entry.leads:
            self._lead(handle, entry)

    def _lead(self, handle: Any, entry: _Item[T, R]) -> None:
        """Run ``entry`` and every item waiting, as one batch counted in flight."""
        batch = [entry, *self._waiting]
        self._waiting.clear()
        try:
            self._run_batch(handle, batch)
        finally:
            self._flying -= 1
            self._hand_on()

    def _run_batch(self, handle: Any, batch: list[_Item[T, R]]) -> None:
        try:
            outcomes = self._run(handle, [entry.item for entry in batch])
        except BaseException as exc:  # the batch as a whole failed (its connection)
            outcomes = [exc] * len(batch)
        self.batches += 1
        self.items += len(batch)
        for index, (entry, outcome) in enumerate(zip(batch, outcomes, strict=True)):
            if index and isinstance(outcome, asyncio.CancelledError):
                # the running request was cancelled, not theirs; the batch may have run
                outcome = RuntimeError("the request running this batch was cancelled")
            entry.finish(outcome)

    def _hand_on(self) -> None:
        """Give the next batch to the first waiting request, counted as in flight now,
        so that one arriving meanwhile waits rather than runs beside it."""
        if self._waiting and self._flying < self._in_flight:
            entry = self._waiting.popleft()
            entry.leads = True
            self._flying += 1
            cast(asyncio.Future[None], entry.future).set_result(None)


class _Item(Generic[T, R]):
    """One request's item in ``Coalesced``: what it handed in, and its outcome."""

    def __init__(self, item: T) -> None:
        self.item = item
        self.outcome: R | BaseException | None = None
        self.future: asyncio.Future[None] | None = None  # set while it waits in line
        self.leads = False  # handed the next batch to run

    def finish(self, outcome: R | BaseException) -> None:
        self.outcome = outcome
        if self.future is not None and not self.future.done():
            self.future.set_result(None)


class Gathered(Generic[T, R]):
    """Items that requests hand in during one turn of the event loop, run together at
    the start of the next: a group commit for work that runs on the loop's thread one
    request at a time (SCView on SQLite), where nothing is in flight to wait behind as
    with ``Coalesced``. ``run(items)`` gives each item's outcome, a value or the
    exception to raise for it; if it raises, every item fails with that."""

    def __init__(self, run: Callable[[list[T]], Sequence[R | BaseException]]) -> None:
        self._run = run
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self.batches = 0  # batches run, and items in them (for tests and tuning)
        self.items = 0

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        if not self._pending:
            loop.call_soon(self._flush)  # after the requests already due in this turn
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        try:
            outcomes = self._run([item for item, _future in batch])
        except Exception as exc:
            outcomes = [exc] * len(batch)
        self.batches += 1
        self.items += len(batch)
        for (_item, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # its request was cancelled; its item ran all the same
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)


def _ready_blocking(fileno: int, wanted: int) -> Ready:
    readable, writable, _ = select.select([fileno] if wanted & _READ else [],
                                          [fileno] if wanted & _WRITE else [], [])
    return Ready((_READ if readable else 0) | (_WRITE if writable else 0))


def green_connections(engine: Engine) -> None:
    """Make ``engine``'s new PostgreSQL connections ``GreenConnection``s."""

    def connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> GreenConnection:
        return GreenConnection.connect(*cargs, **cparams)

    event.listen(engine, "do_connect", connect)

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
statement.
"""

from __future__ import annotations

import asyncio
import contextvars
import select
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from greenlet import getcurrent, greenlet
from psycopg import errors
from psycopg.waiting import Ready, Wait
from sqlalchemy import Engine, event

T = TypeVar("T")
_READ, _WRITE = int(Wait.R), int(Wait.W)


class _Request(greenlet):
    """A greenlet started by ``spawn``: its waits go to the loop."""


async def spawn(work: Callable[[], T]) -> T:
    """``work()`` run in a new greenlet on this loop; each time it waits (``wait_for``),
    this coroutine awaits for it. It sees this task's context variables (a new greenlet
    would start with none)."""
    child = _Request(work)
    child.gr_context = contextvars.copy_context()
    result: Any = child.switch()
    while not child.dead:
        try:
            value = await result
        except BaseException as exc:
            result = child.throw(exc)
        else:
            result = child.switch(value)
    return result


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

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        if not (self.cooperative and isinstance(getcurrent(), _Request)):
            return super().wait(gen, interval=interval, timeout=timeout)
        fileno = self.pgconn.socket
        loop = asyncio.get_running_loop()
        cancelled: asyncio.CancelledError | None = None
        try:
            state = next(gen)
            while True:
                if cancelled is not None:
                    state = gen.send(_ready_blocking(fileno, int(state)))
                    continue
                try:
                    state = gen.send(_ready(loop, fileno, int(state)))
                except asyncio.CancelledError as exc:
                    # finish this exchange first: a connection left mid-query is unusable
                    cancelled = exc
        except StopIteration as done:
            if cancelled is not None:
                raise cancelled from None
            return done.value
        except OSError as exc:
            raise errors.OperationalError("connection socket closed") from exc


def _ready(loop: asyncio.AbstractEventLoop, fileno: int, wanted: int) -> Ready:
    """Wait until the socket is ready for what ``wanted`` asks; say what it is ready for."""
    future: asyncio.Future[Ready] = loop.create_future()

    def wake(ready: Ready) -> None:
        if not future.done():
            future.set_result(ready)

    if wanted & _READ:
        loop.add_reader(fileno, wake, Ready.R)
    if wanted & _WRITE:
        loop.add_writer(fileno, wake, Ready.W)
    try:
        return wait_for(future)
    finally:
        if wanted & _READ:
            loop.remove_reader(fileno)
        if wanted & _WRITE:
            loop.remove_writer(fileno)


def _ready_blocking(fileno: int, wanted: int) -> Ready:
    readable, writable, _ = select.select([fileno] if wanted & _READ else [],
                                          [fileno] if wanted & _WRITE else [], [])
    return Ready((_READ if readable else 0) | (_WRITE if writable else 0))


def green_connections(engine: Engine) -> None:
    """Make ``engine``'s new PostgreSQL connections ``GreenConnection``s."""

    def connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> GreenConnection:
        return GreenConnection.connect(*cargs, **cparams)

    event.listen(engine, "do_connect", connect)

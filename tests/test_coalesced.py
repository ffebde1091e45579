"""``kit.green.Coalesced`` and ``Gathered``: items that concurrent requests hand in run
as one batch.

The runner here stands in for a database statement: it records each batch and waits
``NAP`` seconds on the loop, as a query's round trip would, so that other requests
arrive while a batch is in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from staffsync.kit.green import Coalesced, Gathered, spawn, wait_for

NAP = 0.05
T = TypeVar("T")


class Runner:
    """Each batch it ran, and on which handle; an item "bad" fails alone."""

    def __init__(self, fail_all: bool = False) -> None:
        self.batches: list[tuple[str, list[str]]] = []
        self.fail_all = fail_all

    def __call__(self, handle: str, items: list[str]) -> list[str | BaseException]:
        self.batches.append((handle, list(items)))
        wait_for(asyncio.sleep(NAP))
        if self.fail_all:
            raise ConnectionError("the connection broke")
        return [ValueError(item) if item == "bad" else item.upper() for item in items]


async def submit(coalesced: Coalesced[str, str], handle: str, item: str) -> str:
    return await spawn(lambda: coalesced.submit(handle, item))


def run(scenario: Coroutine[Any, Any, T]) -> T:
    """``scenario`` on a new loop in its own thread (the browser tests' loop may be
    running in this one)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, scenario).result()


async def within(gathering: asyncio.Future[list[Any]]) -> list[Any]:
    """The outcomes, or a failure if a request is left waiting for good."""
    return await asyncio.wait_for(gathering, timeout=5)


async def arriving(coalesced: Coalesced[str, str], items: list[str]) -> list[Any]:
    """Each item from its own request, all after the first one's batch has started."""
    first = asyncio.ensure_future(submit(coalesced, "h0", items[0]))
    await asyncio.sleep(NAP / 5)
    rest = [asyncio.ensure_future(submit(coalesced, f"h{index}", item))
            for index, item in enumerate(items[1:], 1)]
    return await within(asyncio.gather(first, *rest, return_exceptions=True))


def test_a_request_alone_runs_at_once_in_a_batch_of_its_own() -> None:
    runner = Runner()
    coalesced = Coalesced(runner)
    assert run(submit(coalesced, "h0", "a")) == "A"
    assert runner.batches == [("h0", ["a"])]


def test_requests_arriving_during_a_batch_go_together_in_the_next() -> None:
    runner = Runner()
    coalesced = Coalesced(runner)
    outcomes = run(arriving(coalesced, ["a", "b", "c", "d"]))
    assert outcomes == ["A", "B", "C", "D"]  # each request gets its own item's outcome
    # the second batch is run by the first request that waited, on its own handle
    assert runner.batches == [("h0", ["a"]), ("h1", ["b", "c", "d"])]
    assert (coalesced.batches, coalesced.items) == (2, 4)


def test_one_item_failing_fails_only_its_own_request() -> None:
    runner = Runner()
    outcomes = run(arriving(Coalesced(runner), ["a", "b", "bad", "d"]))
    assert outcomes[:2] == ["A", "B"] and outcomes[3] == "D"
    assert isinstance(outcomes[2], ValueError)


def test_a_failed_batch_fails_every_request_in_it() -> None:
    outcomes = run(arriving(Coalesced(Runner(fail_all=True)), ["a", "b", "c"]))
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)


def test_with_two_in_flight_a_second_request_runs_at_once() -> None:
    runner = Runner()
    outcomes = run(arriving(Coalesced(runner, in_flight=2), ["a", "b", "c", "d"]))
    assert outcomes == ["A", "B", "C", "D"]
    assert runner.batches[:2] == [("h0", ["a"]), ("h1", ["b"])]
    assert runner.batches[2] == ("h2", ["c", "d"])


def test_a_waiting_request_cancelled_is_left_out_and_the_others_still_run() -> None:
    runner = Runner()
    coalesced = Coalesced(runner)

    async def scenario() -> list[Any]:
        first = asyncio.ensure_future(submit(coalesced, "h0", "a"))
        await asyncio.sleep(NAP / 5)
        waiting = [asyncio.ensure_future(submit(coalesced, f"h{index}", item))
                   for index, item in enumerate(["b", "c", "d"], 1)]
        await asyncio.sleep(NAP / 5)
        waiting[0].cancel()  # "b": the one the next batch would have gone to
        return await within(asyncio.gather(first, *waiting, return_exceptions=True))

    outcomes = run(scenario())
    assert outcomes[0] == "A" and outcomes[2:] == ["C", "D"]
    assert isinstance(outcomes[1], asyncio.CancelledError)
    assert runner.batches == [("h0", ["a"]), ("h2", ["c", "d"])]  # "b" never ran


def test_a_request_cancelled_as_it_is_handed_the_next_batch_hands_it_on() -> None:
    tasks: list[asyncio.Future[str]] = []

    class Cancelling(Runner):
        def __call__(self, handle: str, items: list[str]) -> list[str | BaseException]:
            outcomes = super().__call__(handle, items)
            if items == ["a"]:  # "b" is cancelled in the turn that hands it the batch
                asyncio.get_running_loop().call_soon(tasks[1].cancel)
            return outcomes

    runner = Cancelling()
    coalesced = Coalesced(runner)

    async def scenario() -> list[Any]:
        tasks.append(asyncio.ensure_future(submit(coalesced, "h0", "a")))
        await asyncio.sleep(NAP / 5)
        tasks.extend(asyncio.ensure_future(submit(coalesced, f"h{index}", item))
                     for index, item in enumerate(["b", "c", "d"], 1))
        return await within(asyncio.gather(*tasks, return_exceptions=True))

    outcomes = run(scenario())
    assert outcomes[0] == "A" and outcomes[2:] == ["C", "D"]
    assert isinstance(outcomes[1], asyncio.CancelledError)
    # "b" left the line when it was handed the batch; "c" ran the rest
    assert runner.batches == [("h0", ["a"]), ("h2", ["c", "d"])]


def test_outside_a_request_each_item_runs_alone() -> None:
    runner = Runner()
    coalesced = Coalesced(lambda handle, items: [item.upper() for item in items])
    assert coalesced.submit("h", "a") == "A"
    with pytest.raises(ValueError):
        Coalesced(lambda handle, items: [ValueError(item) for item in items]).submit("h", "x")
    assert runner.batches == []


# --- Gathered: items handed in during one turn of the loop run together in the next ------


def test_items_handed_in_in_one_turn_run_together_each_with_its_outcome() -> None:
    batches: list[list[str]] = []

    def run_all(items: list[str]) -> list[str | BaseException]:
        batches.append(list(items))
        return [ValueError(item) if item == "bad" else item.upper() for item in items]

    gathered: Gathered[str, str] = Gathered(run_all)

    async def scenario() -> list[Any]:
        first = await within(asyncio.gather(
            *(gathered.submit(item) for item in ["a", "bad", "c"]), return_exceptions=True))
        return [*first, await gathered.submit("d")]  # a later turn: a batch of its own

    outcomes = run(scenario())
    assert outcomes[0] == "A" and outcomes[2:] == ["C", "D"]
    assert isinstance(outcomes[1], ValueError)
    assert batches == [["a", "bad", "c"], ["d"]]
    assert (gathered.batches, gathered.items) == (2, 4)


def test_a_gathered_batch_that_fails_fails_every_item_in_it() -> None:
    def broken(items: list[str]) -> list[str | BaseException]:
        raise ConnectionError("the database is gone")

    gathered: Gathered[str, str] = Gathered(broken)

    async def scenario() -> list[Any]:
        return await within(asyncio.gather(
            *(gathered.submit(item) for item in ["a", "b"]), return_exceptions=True))

    outcomes = run(scenario())
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)


def test_a_cancelled_request_does_not_stop_the_others_of_its_batch() -> None:
    ran: list[str] = []

    def run_all(items: list[str]) -> list[str | BaseException]:
        ran.extend(items)
        return [item.upper() for item in items]

    gathered: Gathered[str, str] = Gathered(run_all)

    async def scenario() -> list[Any]:
        tasks = [asyncio.ensure_future(gathered.submit(item)) for item in ["a", "b", "c"]]
        await asyncio.sleep(0)  # each has handed its item in
        tasks[1].cancel()
        return await within(asyncio.gather(*tasks, return_exceptions=True))

    outcomes = run(scenario())
    assert outcomes[0] == "A" and outcomes[2] == "C"
    assert isinstance(outcomes[1], asyncio.CancelledError)
    assert ran == ["a", "b", "c"]  # its item was already handed in: it ran all the same

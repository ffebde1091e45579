"""``kit.collector.fewer_collections``: the collector's thresholds are raised while any
run is on, and put back as they were when the last run ends, even on an error."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from staffsync.kit.collector import YOUNG, fewer_collections


@pytest.fixture
def thresholds() -> Iterator[tuple[int, ...]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*saved)


def test_raised_during_a_run_and_restored_after(thresholds: tuple[int, ...]) -> None:
    with fewer_collections():
        assert gc.get_threshold() == (YOUNG, 10, 10)
    assert gc.get_threshold() == thresholds


def test_restored_after_an_error(thresholds: tuple[int, ...]) -> None:
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("the run failed")
    assert gc.get_threshold() == thresholds


def test_overlapping_runs_restore_only_when_the_last_ends(thresholds: tuple[int, ...]) -> None:
    first_in, second_done, seen = threading.Event(), threading.Event(), []

    def other_run() -> None:
        with fewer_collections():
            first_in.set()
            second_done.wait(5)
            seen.append(gc.get_threshold())

    thread = threading.Thread(target=other_run)
    thread.start()
    first_in.wait(5)
    with fewer_collections():
        pass  # this run ends while the other is still on: nothing is restored yet
    assert gc.get_threshold()[0] == YOUNG
    second_done.set()
    thread.join(5)
    assert seen == [(YOUNG, 10, 10)] and gc.get_threshold() == thresholds


def test_a_sync_all_runs_with_fewer_collections(thresholds: tuple[int, ...],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from staffsync.sync import service

    during: list[tuple[int, ...]] = []
    monkeypatch.setattr(service, "_run_all",
                        lambda *args: during.append(gc.get_threshold()) or ({}, None, None))
    service.run_all(None, "test")  # type: ignore[arg-type]
    assert during == [(YOUNG, 10, 10)] and gc.get_threshold() == thresholds

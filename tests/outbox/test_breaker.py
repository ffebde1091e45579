"""The tenant circuit breaker as a table, on a fake clock and a fixed jitter
(``breaker.Breaker``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from staffsync.sync.backoff import Backoff
from staffsync.sync.breaker import Breaker, Health, Mode

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DOWN = {"code": "service_down", "message": "down", "resolution": "wait"}
BREAKER = Breaker(threshold=2, backoff=Backoff(base=1.0, cap=8.0), jitter=lambda: 1.0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# (events as (second, "fail"|"ok"), then: failures, trips, open for seconds after the last
# event or None when closed)
CASES = [
    ([], 0, 0, None),
    ([(0, "fail")], 1, 0, None),  # one failure is not an outage
    ([(0, "fail"), (1, "ok")], 0, 0, None),  # a success resets the count
    ([(0, "fail"), (1, "ok"), (2, "fail")], 1, 0, None),
    ([(0, "fail"), (0, "fail")], 2, 1, 1.0),  # threshold: open for base
    ([(0, "fail"), (0, "fail"), (1, "fail")], 3, 2, 2.0),  # the probe failed: doubled
    ([(0, "fail"), (0, "fail"), (1, "fail"), (3, "fail")], 4, 3, 4.0),
    ([(0, "fail")] * 2 + [(t, "fail") for t in range(1, 8)], 9, 8, 8.0),  # capped
    ([(0, "fail"), (0, "fail"), (1, "ok")], 0, 0, None),  # the probe got through
]


@pytest.mark.parametrize(("events", "failures", "trips", "open_for"), CASES)
def test_breaker_table(events: list[tuple[float, str]], failures: int, trips: int,
                       open_for: float | None) -> None:
    health = Health()
    for second, what in events:
        health = (BREAKER.failed(health, at(second), DOWN) if what == "fail"
                  else BREAKER.succeeded(health))
    assert (health.failures, health.trips) == (failures, trips)
    if open_for is None:
        assert health.open_until is None
        assert health.mode(at(100)) is Mode.CLOSED
    else:
        last = events[-1][0]
        assert health.open_until == at(last + open_for)
        assert health.error == DOWN


@pytest.mark.parametrize(("second", "mode"), [
    (0.0, Mode.OPEN), (0.99, Mode.OPEN), (1.0, Mode.HALF_OPEN), (50.0, Mode.HALF_OPEN),
])
def test_open_then_half_open_on_the_clock(second: float, mode: Mode) -> None:
    health = BREAKER.failed(BREAKER.failed(Health(), T0, DOWN), T0, DOWN)
    assert health.mode(at(second)) is mode


@pytest.mark.parametrize(("jitter", "trips", "open_for"), [
    (0.5, 1, 0.5), (0.0, 1, 0.0), (0.25, 3, 1.0), (0.5, 9, 4.0),  # full jitter of the ceiling
])
def test_the_wait_is_fully_jittered(jitter: float, trips: int, open_for: float) -> None:
    breaker = Breaker(threshold=1, backoff=Backoff(base=1.0, cap=8.0), jitter=lambda: jitter)
    health = Health()
    for _ in range(trips):
        health = breaker.failed(health, T0, DOWN)
    assert health.trips == trips and health.open_until == at(open_for)

"""The retry policy against a table of cases, with a fake clock and a fixed jitter."""

from datetime import UTC, datetime, timedelta

import pytest

from staffsync.sync.backoff import Backoff

NOW = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempt", "jitter", "retry_after", "expected"),
    [
        (1, 0.999, None, 0.999),  # first failure: at most base
        (1, 0.0, None, 0.0),  # full jitter may retry at once
        (2, 0.5, None, 1.0),  # ceiling doubles: 2 s
        (3, 0.5, None, 2.0),  # 4 s
        (9, 1.0, None, 256.0),  # 2**8
        (10, 1.0, None, 300.0),  # capped at 5 min
        (500, 0.5, None, 150.0),  # far past the cap: still capped, no overflow
        (1, 0.5, 30.0, 30.0),  # Retry-After is a floor
        (10, 0.5, 30.0, 150.0),  # ... but never lowers the backoff
    ],
)
def test_delay_table(
    attempt: int, jitter: float, retry_after: float | None, expected: float
) -> None:
    assert Backoff().delay(attempt, retry_after, jitter=lambda: jitter) == pytest.approx(expected)


def test_custom_base_and_cap() -> None:
    policy = Backoff(base=0.1, cap=2.0)
    assert [policy.ceiling(n) for n in range(1, 7)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 2.0])


def test_next_attempt_uses_the_clock_it_is_given() -> None:
    when = Backoff().next_attempt(NOW, attempt=3, jitter=lambda: 0.25)
    assert when == NOW + timedelta(seconds=1.0)


def test_attempt_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        Backoff().delay(0)

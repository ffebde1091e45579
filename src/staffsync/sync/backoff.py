"""When to try a failed push again: capped exponential backoff with full jitter."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Backoff:
    """Retry policy for transient failures (500, service down, DNS, timeout, 429).

    For the ``attempt``-th consecutive failure (1, 2, 3, ...)::

        ceiling = min(cap, base * 2 ** (attempt - 1))
        delay   = max(retry_after or 0, jitter() * ceiling)

    ``jitter()`` is uniform in [0, 1) ("full jitter"), so many users failing at the same
    moment do not come back at the same moment. A server's ``Retry-After`` is a floor:
    the server said not before then. Defaults: base 1 s, cap 5 min.
    """

    base: float = 1.0
    cap: float = 300.0

    def ceiling(self, attempt: int) -> float:
        if attempt < 1:
            raise ValueError("attempt counts failures and starts at 1")
        # 2**n overflows float only far past the cap; stop doubling once capped.
        exponent = min(attempt - 1, 64)
        return min(self.cap, self.base * 2.0**exponent)

    def delay(
        self,
        attempt: int,
        retry_after: float | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> float:
        return max(retry_after or 0.0, jitter() * self.ceiling(attempt))

    def next_attempt(
        self,
        now: datetime,
        attempt: int,
        retry_after: float | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> datetime:
        return now + timedelta(seconds=self.delay(attempt, retry_after, jitter))

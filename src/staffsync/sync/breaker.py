"""The tenant circuit breaker: when SCView fails as a whole, the tenant backs off together.

A configuration-level failure (``catalogue.ConfigurationError``: service down, DNS,
wrong token or database, wrong End Point) would fail every user the same way, so it is
the tenant's error, not each user's: the worker stops claiming, reports the error once,
and probes again later with one push (half-open) until a push gets through.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from staffsync.sync.backoff import Backoff

TENANT_BACKOFF = Backoff(base=1.0, cap=60.0)


class Mode(StrEnum):
    CLOSED = "closed"  # pushing normally
    OPEN = "open"  # waiting until ``open_until``; nothing is claimed
    HALF_OPEN = "half_open"  # the wait is over: one probe push decides


@dataclass(frozen=True, slots=True)
class Health:
    """The breaker's state for one tenant (an immutable value; ``Breaker`` makes the next)."""

    failures: int = 0  # consecutive configuration-level failures while closed
    trips: int = 0  # consecutive openings without a success between them
    open_until: datetime | None = None
    error: dict[str, Any] | None = None  # the catalogue entry that opened it

    def mode(self, now: datetime) -> Mode:
        if self.open_until is None:
            return Mode.CLOSED
        return Mode.OPEN if now < self.open_until else Mode.HALF_OPEN


@dataclass(frozen=True, slots=True)
class Breaker:
    """Pure transitions of ``Health``.

    - a success: ``Health()`` (closed, counters reset);
    - a configuration-level failure while closed: ``failures + 1``; at ``threshold``
      it opens: ``trips + 1`` and ``open_until = now + backoff.ceiling(trips)``;
    - any configuration-level failure while open or half-open (the probe failed):
      it opens again the same way (so waits grow ``base, 2 base, 4 base, ... cap``);
    - a per-user failure says nothing about the tenant: the health is unchanged.

    No jitter: one breaker per tenant per worker, nothing to spread out.
    """

    threshold: int = 2
    backoff: Backoff = TENANT_BACKOFF

    def succeeded(self, health: Health) -> Health:
        return Health()

    def failed(self, health: Health, now: datetime, error: dict[str, Any]) -> Health:
        failures = health.failures + 1
        if health.open_until is None and failures < self.threshold:
            return replace(health, failures=failures, error=error)
        trips = health.trips + 1
        wait = timedelta(seconds=self.backoff.ceiling(trips))
        return Health(failures=failures, trips=trips, open_until=now + wait, error=error)

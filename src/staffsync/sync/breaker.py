"""The tenant circuit breaker: when SCView fails as a whole, the tenant backs off together.

A round of pushes is judged as a whole (``tenant_failure``): when most of its calls
fail the same way (SCView down, DNS, timeouts, a storm of 500s, a wrong token), the
failure is the tenant's, not each user's: the worker stops claiming, reports the error
once, and probes again later with one push (half-open) until a push gets through. A
failure of a few users among answered calls is theirs alone (a poison user), retried
with its own backoff.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from staffsync.sync.backoff import Backoff

TENANT_BACKOFF = Backoff(base=1.0, cap=60.0)
# One call is enough to know these: no user can get through with them.
DECISIVE = frozenset({"token_or_database_incorrect", "end_point_incorrect"})


def tenant_failure(calls: Sequence[str | None], *, probe: bool = False) -> str | None:
    """The code the tenant is failing with, judged from one round, or None.

    ``calls`` has one entry per user whose push went over the wire: the catalogue code
    of a failure that may be the tenant's (configuration-level, or a 500), or None for
    any answer. With ``c`` the most common code and ``n`` its count::

        failing = 2 * n > len(calls) and n >= (1 if probe or c in DECISIVE else 2)

    So most calls must fail the same way, and one user alone (who may be a poison
    user) says nothing about the tenant, unless it is the half-open probe or a wrong
    token, database or End Point.
    """
    counts = Counter(code for code in calls if code is not None)
    if not counts:
        return None
    code, n = counts.most_common(1)[0]
    needed = 1 if probe or code in DECISIVE else 2
    return code if 2 * n > len(calls) and n >= needed else None


class Mode(StrEnum):
    CLOSED = "closed"  # pushing normally
    OPEN = "open"  # waiting until ``open_until``; nothing is claimed
    HALF_OPEN = "half_open"  # the wait is over: one probe push decides


@dataclass(frozen=True, slots=True)
class Health:
    """The breaker's state for one tenant (an immutable value; ``Breaker`` makes the next)."""

    failures: int = 0  # consecutive failing rounds while closed
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
    - a failing round while closed: ``failures + 1``; at ``threshold`` it opens:
      ``trips + 1`` and ``open_until = now + backoff.delay(trips, jitter)``;
    - a failing round while half-open (the probe failed): it opens again the same way
      (so the ceilings grow ``base, 2 base, 4 base, ... cap``);
    - a per-user failure says nothing about the tenant: the health is unchanged.

    Full jitter (``backoff.delay``): the workers of one tenant, and the tenants of one
    SCView, do not all probe at the same moment after an outage.
    """

    threshold: int = 2
    backoff: Backoff = TENANT_BACKOFF
    jitter: Callable[[], float] = random.random

    def succeeded(self, health: Health) -> Health:
        return Health()

    def failed(self, health: Health, now: datetime, error: dict[str, Any]) -> Health:
        failures = health.failures + 1
        if health.open_until is None and failures < self.threshold:
            return replace(health, failures=failures, error=error)
        trips = health.trips + 1
        wait = timedelta(seconds=self.backoff.delay(trips, jitter=self.jitter))
        return Health(failures=failures, trips=trips, open_until=now + wait, error=error)

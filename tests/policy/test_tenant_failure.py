"""When a round's failures are the tenant's and when they are each user's
(``breaker.tenant_failure``), against a table of cases."""

from __future__ import annotations

import pytest

from staffsync.sync.breaker import tenant_failure

DOWN, E500, TOKEN, DNS = "service_down", "server_error", "token_or_database_incorrect", \
    "name_not_resolved"


@pytest.mark.parametrize(("calls", "probe", "expected"), [
    ([], False, None),
    ([None, None], False, None),  # every call answered
    ([DOWN], False, None),  # one user alone may be a poison user
    ([DOWN], True, DOWN),  # ... unless it is the half-open probe
    ([TOKEN], False, TOKEN),  # a wrong token fails everyone: one call is enough
    ([DOWN, DOWN], False, DOWN),
    ([DOWN, None], False, None),  # half is not most: the others got answers
    ([DOWN, DOWN, None], False, DOWN),
    ([DOWN, None, None, None, None, None], False, None),  # a poison user among answers
    ([E500] * 5 + [None], False, E500),  # a storm of 500s is the tenant's
    ([E500, E500, DOWN, DOWN], False, None),  # not one way: each user's own
    ([DNS, DNS, DNS, E500, None], False, DNS),
    ([TOKEN, None, None], False, None),  # others got through: not the token
])
def test_tenant_failure_table(calls: list[str | None], probe: bool,
                              expected: str | None) -> None:
    assert tenant_failure(calls, probe=probe) == expected

"""Retry-After in both of its forms (RFC 9110 10.2.3), against a table, on a fixed clock."""

from datetime import UTC, datetime

import pytest

from staffsync.sync.scim_client import retry_after

NOW = datetime(2026, 12, 4, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "seconds"), [
    (None, None),
    ("30", 30.0),
    ("0", 0.0),
    ("-5", 0.0),  # never negative
    ("Fri, 04 Dec 2026 01:00:30 GMT", 30.0),  # the IMF-fixdate form
    ("Friday, 04-Dec-26 01:02:00 GMT", 120.0),  # the obsolete RFC 850 form
    ("Fri Dec  4 01:00:10 2026", 10.0),  # the obsolete asctime form (no zone: GMT)
    ("Fri, 04 Dec 2026 00:59:00 GMT", 0.0),  # already past: at once
    ("soon", None),
])
def test_retry_after_table(value: str | None, seconds: float | None) -> None:
    assert retry_after(value, NOW) == seconds

"""The pure rules behind the pages, as tables: session expiry, paging, which email and
phone a user's Details show, and where sign-in may send the browser next."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from staffsync.scview.admin_users import PAGE_SIZE, details, page_count, preferred
from staffsync.scview.pages import page_number, safe_next
from staffsync.scview.web_auth import (
    FAILURE_WINDOW,
    IDLE_TIMEOUT,
    MAX_AGE,
    MAX_FAILURES,
    session_expired,
    throttled,
    tokens_match,
)

T0 = datetime(2026, 1, 5, 8, 0)
MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("created", "last_seen", "moment", "expired"),
    [
        (T0, T0, T0, False),
        (T0, T0, T0 + IDLE_TIMEOUT, False),
        (T0, T0, T0 + IDLE_TIMEOUT + MINUTE, True),
        (T0, T0 + MAX_AGE - MINUTE, T0 + MAX_AGE, False),
        (T0, T0 + MAX_AGE, T0 + MAX_AGE + MINUTE, True),  # busy, but past the absolute limit
    ],
)
def test_session_expiry(created: datetime, last_seen: datetime, moment: datetime,
                        expired: bool) -> None:
    assert session_expired(created, last_seen, moment) is expired


@pytest.mark.parametrize(
    ("failures", "since_first", "refused"),
    [
        (0, timedelta(0), False),
        (MAX_FAILURES - 1, MINUTE, False),
        (MAX_FAILURES, MINUTE, True),
        (MAX_FAILURES + 3, FAILURE_WINDOW - MINUTE, True),
        (MAX_FAILURES, FAILURE_WINDOW, False),  # the window has passed
    ],
)
def test_sign_in_throttling(failures: int, since_first: timedelta, refused: bool) -> None:
    assert throttled(failures, T0, T0 + since_first) is refused


@pytest.mark.parametrize(
    ("total", "pages"),
    [(0, 1), (1, 1), (PAGE_SIZE, 1), (PAGE_SIZE + 1, 2), (PAGE_SIZE * 40, 40)],
)
def test_page_count(total: int, pages: int) -> None:
    assert page_count(total) == pages


@pytest.mark.parametrize(
    ("text", "number"),
    [("1", 1), ("3", 3), ("", 1), ("abc", 1), ("-2", 1), ("99999999999", 1)],
)
def test_page_number(text: str, number: int) -> None:
    assert page_number(text) == number


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/admin/users?db=x", "/admin/users?db=x"),
        ("", "/admin/users"),
        ("https://evil.example/", "/admin/users"),
        ("//evil.example/admin/", "/admin/users"),
        ("/Users", "/admin/users"),
    ],
)
def test_sign_in_only_returns_to_a_local_admin_page(target: str, safe: str) -> None:
    assert safe_next(target) == safe


@pytest.mark.parametrize(
    ("presented", "expected", "match"),
    [("abc", "abc", True), ("abc", "abd", False), ("", "", False), (None, "abc", False)],
)
def test_csrf_tokens_match(presented: str | None, expected: str, match: bool) -> None:
    assert tokens_match(presented, expected) is match


WORK = {"value": "w@x.org", "type": "work"}
HOME = {"value": "h@x.org", "type": "home"}
PRIMARY_HOME = {**HOME, "primary": True}


@pytest.mark.parametrize(
    ("values", "kind", "shown"),
    [
        ([WORK, PRIMARY_HOME], "work", PRIMARY_HOME),  # primary wins
        ([HOME, WORK], "work", WORK),  # else the wanted type
        ([HOME], "work", HOME),  # else the first
        ([], "work", {}),
        (None, "", {}),
    ],
)
def test_preferred_value(values: list[dict[str, Any]] | None, kind: str,
                         shown: dict[str, Any]) -> None:
    assert preferred(values, kind) == shown


def test_details_read_the_synced_fields_of_a_scim_user() -> None:
    resource = {
        "id": "u1",
        "userName": "mgarcia",
        "name": {"givenName": "Maria", "familyName": "Garcia"},
        "emails": [{"value": "mgarcia@district.example.org", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "+1 570-555-0142", "type": "mobile", "primary": True}],
        "active": False,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "E7"},
    }
    shown = details(resource)
    assert (shown.user_name, shown.first_name, shown.last_name) == ("mgarcia", "Maria", "Garcia")
    assert (shown.email, shown.phone) == ("mgarcia@district.example.org", "+1 570-555-0142")
    assert (shown.active, shown.employee_id) == (False, "E7")


def test_details_of_a_bare_user_leave_the_missing_values_empty() -> None:
    shown = details({"id": "u2", "userName": "bare"})
    assert (shown.first_name, shown.email, shown.phone, shown.employee_id) == ("", "", "", "")
    assert shown.active is True  # SCIM: active is true unless it says false

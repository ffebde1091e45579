"""Staff Search and System > Directories > Users page through a seeded district with
Previous/Next and say where they are ("Showing 51-100 of 130"); paging keeps the search."""

from __future__ import annotations

import random
from typing import Any

import pytest

from staffsync.fis import seed, staff, users
from staffsync.kit.db import transaction
from tests.conftest import screenshot
from tests.fis_pages.conftest import Site

# The group keeps a module on one xdist worker: one live server per module.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("fis_pages_long_lists")]
DASH = "\N{EN DASH}"
STAFF = 130  # three pages of 50


@pytest.fixture(scope="module")
def district(fis_site: Site) -> Site:
    with transaction(fis_site.sessions) as session:
        seed.seed(session, STAFF, random.Random(11))
    return fis_site


def _staff_names(site: Site, q: str | None, offset: int) -> list[str]:
    with transaction(site.sessions) as session:
        return [f"{s.last_name}, {s.first_name}" for s in staff.search(session, q, 50, offset)]


def _shown(page: Any) -> str:
    return str(page.get_by_test_id("showing").inner_text())


def test_staff_search_pages_through_every_staff_member(admin_page: Any, district: Site) -> None:
    page = admin_page
    page.goto(f"{district.url}/hr/staff")
    names = page.locator("tbody td:first-child")
    assert _shown(page) == f"Showing 1{DASH}50 of {STAFF}"
    assert names.all_inner_texts() == _staff_names(district, None, 0)
    assert page.get_by_role("link", name="Previous").count() == 0
    page.get_by_role("link", name="Next").click()
    assert _shown(page) == f"Showing 51{DASH}100 of {STAFF}"
    assert names.all_inner_texts() == _staff_names(district, None, 50)
    screenshot(page, "staff-search-page-2")
    page.get_by_role("link", name="Next").click()
    assert _shown(page) == f"Showing 101{DASH}{STAFF} of {STAFF}"
    assert names.count() == STAFF - 100
    assert page.get_by_role("link", name="Next").count() == 0
    page.get_by_role("link", name="Previous").click()
    assert _shown(page) == f"Showing 51{DASH}100 of {STAFF}"


def test_paging_keeps_the_search(admin_page: Any, district: Site) -> None:
    with transaction(district.sessions) as session:
        found = staff.count(session, "example.org")  # the seeded emails
    assert 50 < found < STAFF
    page = admin_page
    page.goto(f"{district.url}/hr/staff")
    page.get_by_label("Search by last name").fill("example.org")
    page.get_by_role("button", name="Search").click()
    assert _shown(page) == f"Showing 1{DASH}50 of {found}"
    page.get_by_role("link", name="Next").click()
    assert _shown(page) == f"Showing 51{DASH}100 of {found}"
    assert page.get_by_label("Search by last name").input_value() == "example.org"
    assert page.locator("tbody td:first-child").all_inner_texts() == _staff_names(
        district, "example.org", 50)


def test_users_list_pages_with_a_count(admin_page: Any, district: Site) -> None:
    with transaction(district.sessions) as session:
        total = users.count(session, None)
        second = [u.username for u in users.search(session, None, 50, 50)]
    assert total > 100
    page = admin_page
    page.goto(f"{district.url}/system/users")
    assert _shown(page) == f"Showing 1{DASH}50 of {total}"
    page.get_by_role("link", name="Next").click()
    assert _shown(page) == f"Showing 51{DASH}100 of {total}"
    assert page.get_by_test_id("users").locator("tbody td:first-child").all_inner_texts() == (
        second)
    page.get_by_label("Search by username").fill("s")
    page.get_by_role("button", name="Search").click()
    with transaction(district.sessions) as session:
        starting_with_s = users.count(session, "s")
    assert _shown(page).endswith(f" of {starting_with_s}") and starting_with_s < total

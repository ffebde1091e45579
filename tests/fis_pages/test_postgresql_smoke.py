"""The pages on PostgreSQL: sign in, add staff with an email, change the last name, add
a primary phone, and the clerk's 403 (the full walk-through runs on SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from staffsync.fis.models import Staff
from staffsync.kit.db import transaction
from tests.databases import fresh_database
from tests.fis_pages.conftest import Site, field, fill_add_staff, sign_in, start_site

# The group keeps a module on one xdist worker: one live server per module.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("fis_pages_postgresql_smoke")]


@pytest.fixture(scope="module")
def pg_site(_env: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with fresh_database("postgresql", tmp_path_factory.mktemp("pg"), "fis_pages") as url:
        yield from start_site(url)


def test_staff_screens_on_postgresql(page: Any, pg_site: Site) -> None:
    sign_in(page, pg_site, "clerk")
    page.goto(f"{pg_site.url}/hr/staff/add")
    fill_add_staff(page, **{"Last": "Pg", "First": "Paula",
                            "Email Address": "paula.pg@district.example"})
    page.get_by_role("button", name="Save").click()
    assert page.get_by_test_id("username").inner_text() == "ppg"
    page.get_by_role("button", name="Edit Last Name").click()
    dialog = page.get_by_role("dialog", name="Edit Last Name")
    field(dialog, "New Last Name").fill("Postgres")
    field(dialog, "Reason").fill("Correction")
    dialog.get_by_role("button", name="Save and Close").click()
    page.get_by_role("link", name="Staff Phone").click()
    page.get_by_role("link", name="Add", exact=True).click()
    field(page, "Phone").fill("5705550177")
    page.get_by_label("Primary Phone").check()
    page.get_by_role("button", name="Save").click()
    with transaction(pg_site.sessions) as session:
        member = session.scalars(select(Staff).where(Staff.last_name == "Postgres")).one()
        assert [(c.old_name, c.reason) for c in member.last_name_history] == [("Pg", "Correction")]
        assert [(p.phone, p.is_primary) for p in member.phones] == [("+15705550177", True)]
    assert page.goto(f"{pg_site.url}/system/users").status == 403

"""HR/PY > Staff > Directories > ZIP Codes in a real browser: an empty directory says
where to add ZIP codes; the ZIP Code select offers them by ZIP and city; a staff
member's ZIP removed from the directory still shows as selected."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import screenshot
from tests.fis_pages.conftest import Site, add_staff, field

# The group keeps a module on one xdist worker: one live server per module.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("fis_pages_zip_codes")]
DASH = "\N{EN DASH}"


def _add_zip(page: Any, zip_code: str, city: str) -> None:
    field(page, "ZIP Code").fill(zip_code)
    field(page, "City").fill(city)
    page.get_by_role("button", name="Add", exact=True).click()


def test_zip_code_directory_feeds_the_zip_code_select(clerk_page: Any, fis_site: Site) -> None:
    page = clerk_page
    page.goto(f"{fis_site.url}/hr/staff/add")
    assert page.locator("#zip_code option").all_inner_texts() == ["Select…"]
    assert page.locator("#zip_code-hint").inner_text().startswith("No ZIP codes yet")
    page.locator("#zip_code-hint").get_by_role("link").click()
    assert page.get_by_role("heading", name="ZIP Codes").is_visible()
    assert "No ZIP codes yet" in page.locator(".empty").inner_text()

    _add_zip(page, "1783", "Lewisburg")
    assert page.locator("#zip_code-error").inner_text() == "ZIP Code must be 5 or 9 digits"
    assert field(page, "City").input_value() == "Lewisburg"
    _add_zip(page, "17837", "Lewisburg")
    assert page.get_by_role("status").inner_text() == "ZIP Code added."
    _add_zip(page, "17837-1234", "Lewisburg")
    _add_zip(page, "17821", "Danville")
    _add_zip(page, "17821", "Danville")
    assert page.locator("#zip_code-error").inner_text() == (
        "That ZIP Code is already in the directory")
    rows = page.get_by_test_id("zip-codes").locator("tbody tr")
    assert [rows.nth(i).locator("td").all_inner_texts()[:3] for i in range(rows.count())] == [
        ["17821", "Danville", "PA"], ["17837", "Lewisburg", "PA"],
        ["17837-1234", "Lewisburg", "PA"]]
    screenshot(page, "zip-codes")

    page.goto(f"{fis_site.url}/hr/staff/add")
    assert page.locator("#zip_code option").all_inner_texts() == [
        "Select…", f"17821 {DASH} Danville, PA", f"17837 {DASH} Lewisburg, PA",
        f"17837-1234 {DASH} Lewisburg, PA"]
    staff_id, _ = add_staff(page, fis_site, **{"Last": "Zipper", "ZIP Code": "17821"})

    page.get_by_role("link", name="ZIP Codes", exact=True).click()
    page.get_by_role("button", name="Remove 17821").click()
    assert page.get_by_role("status").inner_text() == "ZIP Code removed."
    page.goto(f"{fis_site.url}/hr/staff/{staff_id}")
    assert field(page, "ZIP Code").input_value() == "17821"
    assert page.locator("#zip_code option:checked").inner_text() == (
        "17821 (not in the ZIP Code directory)")
    field(page, "First").fill("Zed")
    page.get_by_role("button", name="Save", exact=True).click()
    assert page.get_by_role("status").inner_text() == "Demographics saved."
    assert field(page, "ZIP Code").input_value() == "17821"

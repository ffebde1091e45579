"""Parameters, Staff Portal Username Parameters and Third Party Configuration screens."""

from __future__ import annotations

from typing import Any

import pytest

from staffsync.fis import parameters, third_party
from staffsync.kit.db import transaction
from tests.conftest import screenshot
from tests.fis_pages.conftest import Site, field, fill_add_staff, menu, new_ssn, open_add_staff

# The group keeps a module on one xdist worker: one live server per module.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("fis_pages_settings")]
SECRET_TOKEN = "tok-3c1f9e-never-shown"


def test_parameters_auto_assign_id_off_asks_for_the_staff_id(clerk_page: Any,
                                                              fis_site: Site) -> None:
    page = clerk_page
    menu(page, fis_site, "Parameters")
    assert page.get_by_label("Auto Assign ID").is_checked()
    screenshot(page, "parameters")
    page.get_by_label("Auto Assign ID").uncheck()
    page.get_by_role("button", name="Save").click()
    assert page.get_by_role("status").inner_text() == "Parameters saved."
    assert not page.get_by_label("Auto Assign ID").is_checked()
    open_add_staff(page, fis_site)
    fill_add_staff(page, **{"Staff ID": "", "Last": "Handid"})
    page.get_by_role("button", name="Save").click()
    assert page.locator("#staff_id-error").inner_text() == (
        "Staff ID is required (Auto Assign ID is false)")
    field(page, "Staff ID").fill("T-77")
    field(page, "SSN").fill(new_ssn())  # a refused Add Staff never shows the SSN again
    page.get_by_role("button", name="Save").click()
    assert page.get_by_test_id("staff-id").inner_text() == "T-77"
    menu(page, fis_site, "Parameters")
    page.get_by_label("Auto Assign ID").check()
    page.get_by_role("button", name="Save").click()
    with transaction(fis_site.sessions) as session:
        assert parameters.load(session).auto_assign_id is True


def test_username_parameters_pattern_and_hand_entered_usernames(clerk_page: Any,
                                                                fis_site: Site) -> None:
    page = clerk_page
    menu(page, fis_site, "Staff Portal Username Parameters")
    assert page.get_by_label("Auto Assign Staff Username").is_checked()
    field(page, "Username pattern").fill("{nickname}")
    page.get_by_role("button", name="Save").click()
    assert "nickname" in page.locator("#username_pattern-error").inner_text()
    assert field(page, "Username pattern").input_value() == "{nickname}"
    field(page, "Username pattern").fill("{last_name}{first_initial}")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_role("status").inner_text() == "Parameters saved."
    screenshot(page, "username-parameters")
    open_add_staff(page, fis_site)
    fill_add_staff(page, **{"Last": "Dubois", "First": "Luc",
                            "Email Address": "luc.dubois@district.example"})
    page.get_by_role("button", name="Save").click()
    assert page.get_by_test_id("username").inner_text() == "duboisl"
    menu(page, fis_site, "Staff Portal Username Parameters")
    page.get_by_label("Auto Assign Staff Username").uncheck()
    page.get_by_role("button", name="Save").click()
    open_add_staff(page, fis_site)
    fill_add_staff(page, **{"Last": "Sato", "First": "Ken", "Username": "kensato",
                            "Email Address": "ken.sato@district.example"})
    page.get_by_role("button", name="Save").click()
    assert page.get_by_test_id("username").inner_text() == "kensato"


def test_sync_before_it_is_set_up_says_how_to_set_it_up(admin_page: Any,
                                                        fis_site: Site) -> None:
    page = admin_page
    menu(page, fis_site, "Users")
    page.get_by_role("button", name="Run Sync").click()
    alert = page.get_by_test_id("sync-progress").get_by_role("alert")
    alert.wait_for(timeout=20_000)
    assert alert.inner_text().startswith("User Sync is not set up.")
    menu(page, fis_site, "Third Party Configuration")
    page.get_by_role("button", name="Test Connection").click()
    assert page.get_by_test_id("test-result").inner_text().startswith(
        "User Sync is not set up.")


def test_third_party_token_is_write_only(admin_page: Any, fis_site: Site) -> None:
    page = admin_page
    menu(page, fis_site, "Third Party Configuration")
    assert page.get_by_test_id("token-state").inner_text().startswith("No token is set")
    page.get_by_label("Enable User Sync").check()
    page.get_by_role("button", name="Save", exact=True).click()
    assert page.locator("#end_point-error").inner_text() == (
        "End Point is required to enable User Sync")
    assert page.locator("#token-error").inner_text() == "Token is required to enable User Sync"
    field(page, "End Point").fill("http://scview.invalid/")
    field(page, "Database name").fill("district1")
    field(page, "Token").fill(SECRET_TOKEN)
    page.get_by_role("button", name="Save", exact=True).click()
    assert page.get_by_role("status").inner_text() == "Third Party Configuration saved."
    assert page.get_by_test_id("token-state").inner_text().startswith("A token is set")
    assert field(page, "Token").input_value() == ""
    assert SECRET_TOKEN not in page.content()
    screenshot(page, "third-party-configuration")
    field(page, "Database name").fill("district2")
    page.get_by_role("button", name="Save", exact=True).click()  # blank Token keeps it
    with transaction(fis_site.sessions) as session:
        connection = third_party.connection(session)
    assert connection is not None
    assert (connection.token, connection.database_name) == (SECRET_TOKEN, "district2")


def test_test_connection_to_a_name_that_does_not_resolve(admin_page: Any,
                                                         fis_site: Site) -> None:
    with transaction(fis_site.sessions) as session:
        third_party.save(session, {"end_point": "http://scview.invalid/", "token": SECRET_TOKEN,
                                   "database_name": "district1", "enabled": True})
    page = admin_page
    menu(page, fis_site, "Third Party Configuration")
    page.get_by_role("button", name="Test Connection").click()
    result = page.get_by_test_id("test-result").inner_text()
    assert "The remote name could not be resolved: 'scview.invalid'" in result
    assert "The sync service or API is down." in result

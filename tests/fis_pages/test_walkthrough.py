"""The seed, step by step, in a real browser against live FIS and SCView servers:
set up User Sync, add staff with an email, edit the last name, add primary and
non-primary phones, Run Sync for one user and for all users, and a wrong token.

SCView's state is read over SCIM with the tenant's token, as any client would.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest

from staffsync.sync import service
from staffsync.sync.mapping import ENTERPRISE
from tests.conftest import screenshot
from tests.fis_pages.conftest import Scview, Site, add_staff, configure, field, run_sync_for

# The group keeps a module on one xdist worker: one live server per module.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("fis_pages_walkthrough")]
TOKEN_OR_DATABASE = ("Error when FIS Third Party Configuration Token or Database name "
                     "is incorrect.")


def test_test_connection_succeeds(admin_page: Any, fis_site: Site, set_up: None) -> None:
    admin_page.goto(f"{fis_site.url}/system/third-party")
    admin_page.get_by_role("button", name="Test Connection").click()
    assert admin_page.get_by_test_id("test-result").inner_text().startswith(
        "Connection succeeded.")
    screenshot(admin_page, "third-party-test-connection")


def test_added_staff_reaches_scview_with_the_employee_id(
        clerk_page: Any, admin_page: Any, fis_site: Site, scview: Scview, set_up: None) -> None:
    staff_id, username = add_staff(clerk_page, fis_site, **{
        "Last": "Haddad", "First": "Omar", "Email Address": "omar.haddad@district.example"})
    assert username == "ohaddad"
    outcome = run_sync_for(admin_page, fis_site, username)
    assert outcome.startswith("Sync created")
    screenshot(admin_page, "edit-user-run-sync")
    user = scview.user(username)
    assert user is not None
    assert user[ENTERPRISE]["employeeNumber"] == staff_id
    assert (user["name"]["givenName"], user["name"]["familyName"]) == ("Omar", "Haddad")
    assert user["emails"][0]["value"] == "omar.haddad@district.example"


def test_last_name_edit_reaches_scview(clerk_page: Any, admin_page: Any, fis_site: Site,
                                       scview: Scview, set_up: None) -> None:
    _, username = add_staff(clerk_page, fis_site, **{
        "Last": "Keller", "First": "Ines", "Email Address": "ines.keller@district.example"})
    run_sync_for(admin_page, fis_site, username)
    clerk_page.get_by_role("button", name="Edit Last Name").click()
    dialog = clerk_page.get_by_role("dialog", name="Edit Last Name")
    field(dialog, "New Last Name").fill("Keller-Brandt")
    field(dialog, "Reason").fill("Marriage")
    dialog.get_by_role("button", name="Save and Close").click()
    assert clerk_page.get_by_test_id("last-name").inner_text() == "Keller-Brandt"
    assert run_sync_for(admin_page, fis_site, username).startswith("Sync updated: Last Name.")
    user = scview.user(username)
    assert user is not None and user["name"]["familyName"] == "Keller-Brandt"


def test_primary_phone_syncs_and_a_non_primary_does_not(
        clerk_page: Any, admin_page: Any, fis_site: Site, scview: Scview, set_up: None) -> None:
    staff_id, username = add_staff(clerk_page, fis_site, **{
        "Last": "Moreau", "First": "Lea", "Email Address": "lea.moreau@district.example"})
    page = clerk_page
    page.goto(f"{fis_site.url}/hr/staff/{staff_id}/phones/add")
    field(page, "Phone").fill("(570) 555-0142")
    page.get_by_label("Primary Phone").check()
    page.get_by_role("button", name="Save").click()
    page.goto(f"{fis_site.url}/hr/staff/{staff_id}/phones/add")
    field(page, "Phone").fill("(570) 555-0199")
    field(page, "Type").select_option("work")
    page.get_by_role("button", name="Save").click()
    run_sync_for(admin_page, fis_site, username)
    user = scview.user(username)
    assert user is not None
    assert [p["value"] for p in user.get("phoneNumbers", [])] == ["+15705550142"]


def test_run_sync_for_all_users_shows_progress_then_the_summary(
        clerk_page: Any, admin_page: Any, fis_site: Site, scview: Scview, set_up: None) -> None:
    added = [add_staff(clerk_page, fis_site, **{
        "Last": f"Allsync{n}", "First": "Sam", "Email Address": f"sam{n}@district.example"})[1]
        for n in range(3)]
    page = admin_page
    page.goto(f"{fis_site.url}/system/users")
    assert page.get_by_test_id("users").get_by_text("Pending").count() >= 3
    screenshot(page, "users")
    page.get_by_role("button", name="Run Sync").click()
    page.wait_for_url("**/system/sync/jobs/*")
    summary = page.get_by_test_id("sync-progress").get_by_role("status")
    summary.wait_for(timeout=20_000)
    assert summary.inner_text().startswith("Sync finished.")
    screenshot(page, "run-sync-summary")
    for username in added:
        assert scview.user(username) is not None, username
    page.get_by_role("link", name="See each user's outcome").click()
    outcomes = page.get_by_test_id("outcomes")
    for username in added:
        assert outcomes.get_by_role("row").filter(has_text=username).get_by_text(
            "Created").count() == 1
    screenshot(page, "sync-run")
    page.goto(f"{fis_site.url}/system/users?q=allsync")
    assert page.get_by_test_id("users").get_by_text("Synced").count() == 3
    page.goto(f"{fis_site.url}/system/sync-history")
    assert page.get_by_test_id("runs").locator("tbody tr").count() >= 2
    screenshot(page, "sync-history")


def test_progress_is_live_while_the_run_goes_on(admin_page: Any, fis_site: Site,
                                               set_up: None) -> None:
    """A real sync_all whose progress callback waits at its first report until the test
    has seen the page show it; then the same page turns into the summary by itself."""
    reported, release = threading.Event(), threading.Event()

    def gated(progress: Callable[[int, int], None]) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            progress(done, total)
            reported.set()
            release.wait(timeout=20)
        return report

    job = fis_site.app.state.sync_jobs.start(lambda progress: service.sync_all(
        fis_site.sessions, "page", progress=gated(progress)))
    assert reported.wait(timeout=20)
    page = admin_page
    page.goto(f"{fis_site.url}/system/sync/jobs/{job.id}")
    box = page.get_by_test_id("sync-progress")
    assert re.search(r"\d+ of \d+ users done", box.inner_text())
    assert page.get_by_role("progressbar").is_visible()
    screenshot(page, "run-sync-progress")
    release.set()
    page.get_by_test_id("sync-progress").get_by_role("status").wait_for(timeout=20_000)
    assert page.get_by_test_id("sync-progress").inner_text().startswith("Sync finished.")


def test_a_system_user_is_never_synced(admin_page: Any, fis_site: Site, set_up: None) -> None:
    outcome = run_sync_for(admin_page, fis_site, "Admin")
    assert outcome.startswith("Sync skipped")
    assert "User sync to SCView failed for: Admin." in outcome
    assert "System users may include the following usersnames Admin, SCView, or CSIU" in outcome


def test_wrong_token_shows_the_seed_error(clerk_page: Any, admin_page: Any, fis_site: Site,
                                          scview: Scview, set_up: None) -> None:
    _, username = add_staff(clerk_page, fis_site, **{
        "Last": "Tokenless", "First": "Tia", "Email Address": "tia.t@district.example"})
    page = admin_page
    configure(page, fis_site, scview, "not-the-token")
    page.get_by_role("button", name="Test Connection").click()
    result = page.get_by_test_id("test-result").inner_text()
    assert TOKEN_OR_DATABASE in result
    assert "Verify that the System > Directories > Third Party Configuration Token" in result
    screenshot(page, "third-party-wrong-token")
    page.goto(f"{fis_site.url}/system/users")
    page.get_by_role("button", name="Run Sync").click()
    alert = page.get_by_test_id("sync-progress").get_by_role("alert")
    alert.wait_for(timeout=20_000)
    assert TOKEN_OR_DATABASE in alert.inner_text()
    assert TOKEN_OR_DATABASE in run_sync_for(page, fis_site, username)
    screenshot(page, "edit-user-failed")
    page.goto(f"{fis_site.url}/system/users?q={username}")
    status = page.get_by_test_id("users").locator("tbody tr").first.locator("td").last
    assert status.inner_text().startswith("Failed")
    assert TOKEN_OR_DATABASE in status.inner_text()
    assert "Verify that the System > Directories > Third Party Configuration" in status.inner_text()
    screenshot(page, "users-failed")
    configure(page, fis_site, scview, scview.token)
    assert run_sync_for(page, fis_site, username).startswith("Sync created")
    assert scview.user(username) is not None

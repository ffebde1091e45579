"""The seed, step by step, in a real browser against live FIS and SCView servers, on
SQLite and on PostgreSQL: set up User Sync, add staff with an email, edit the last name,
add primary and non-primary phones, Run Sync for one user and for all users, and a
wrong token.

FIS runs as ``staffsync fis serve`` does, with its sync worker in the process: adding
and editing staff reaches SCView with nobody pressing Run Sync. What SCView holds is
checked on its Admin > Users pages, in a second browser, signed in as an SCView admin;
waiting for a sync to land is done over SCIM with the tenant's token, as any client would.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from staffsync.sync import service
from staffsync.sync.mapping import ENTERPRISE
from tests.conftest import screenshot
from tests.fis_pages.conftest import (
    Scview,
    Site,
    add_staff,
    configure,
    eventually,
    field,
    fis_shows,
    menu,
    open_staff,
    open_user,
    run_sync_for,
    scview_shows,
    search,
    serve_fis,
)

# The group keeps a module on one xdist worker: one live server per module.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("fis_pages_walkthrough")]
TOKEN_OR_DATABASE = ("Error when FIS Third Party Configuration Token or Database name "
                     "is incorrect.")
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture(scope="module")
def fis_site(_env: None, pages_backend: str,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """FIS with its in-process sync worker, as ``staffsync fis serve`` runs it."""
    yield from serve_fis(pages_backend, tmp_path_factory, worker=True)


def synced(scview: Scview, username: str,
           check: Callable[[dict[str, Any]], bool] = lambda user: True) -> dict[str, Any]:
    """The SCView user once the worker has pushed it (and ``check`` holds)."""
    return eventually(lambda: (user := scview.user(username)) is not None and check(user)
                      and user, f"{username} synced to SCView")


def family_name_in_scview(scview: Scview, username: str, family: str) -> None:
    """Change a user's last name in SCView itself (another SCIM client), behind FIS's back."""
    user = scview.user(username)
    assert user is not None
    with scview.scim() as client:
        answer = client.patch(f"/Users/{user['id']}", json={"schemas": [PATCH_OP], "Operations": [
            {"op": "replace", "path": "name.familyName", "value": family}]})
    answer.raise_for_status()


def test_test_connection_succeeds(admin_page: Any, fis_site: Site, set_up: None) -> None:
    menu(admin_page, fis_site, "Third Party Configuration")
    admin_page.get_by_role("button", name="Test Connection").click()
    assert admin_page.get_by_test_id("test-result").inner_text().startswith(
        "Connection succeeded.")
    screenshot(admin_page, "third-party-test-connection")


def test_added_staff_reaches_scview_admin_users_by_itself(
        clerk_page: Any, admin_page: Any, scview_page: Any, fis_site: Site, scview: Scview,
        set_up: None) -> None:
    staff_id, username = add_staff(clerk_page, fis_site, **{
        "Last": "Haddad", "First": "Omar", "Email Address": "omar.haddad@district.example"})
    assert username == "ohaddad"
    user = synced(scview, username)  # nobody pressed Run Sync: the worker sent it
    assert user[ENTERPRISE]["employeeNumber"] == staff_id
    fis = fis_shows(clerk_page)
    assert fis == {"user-id": "ohaddad", "first-name": "Omar", "last-name": "Haddad",
                   "email": "omar.haddad@district.example", "employee-id": staff_id,
                   "phone": "Not provided"}
    assert scview_shows(scview_page, scview, username, "scview-added-staff") == fis
    open_user(admin_page, fis_site, username)
    assert admin_page.get_by_test_id("sync-status").inner_text().startswith("Synced at")
    screenshot(admin_page, "edit-user-synced")


def test_last_name_edit_reaches_scview_by_itself(
        clerk_page: Any, scview_page: Any, fis_site: Site, scview: Scview,
        set_up: None) -> None:
    _, username = add_staff(clerk_page, fis_site, **{
        "Last": "Keller", "First": "Ines", "Email Address": "ines.keller@district.example"})
    synced(scview, username)
    page = clerk_page
    open_staff(page, fis_site, "Keller", "Ines")
    page.get_by_role("button", name="Edit Last Name").click()
    dialog = page.get_by_role("dialog", name="Edit Last Name")
    field(dialog, "New Last Name").fill("Keller-Brandt")
    field(dialog, "Reason").fill("Marriage")
    dialog.get_by_role("button", name="Save and Close").click()
    assert page.get_by_test_id("last-name").inner_text() == "Keller-Brandt"
    synced(scview, username, lambda user: user["name"]["familyName"] == "Keller-Brandt")
    fis = fis_shows(page)
    assert fis["last-name"] == "Keller-Brandt"
    assert scview_shows(scview_page, scview, username, "scview-last-name-edited") == fis


def test_primary_phone_syncs_by_itself_and_a_non_primary_never_does(
        clerk_page: Any, scview_page: Any, fis_site: Site, scview: Scview,
        set_up: None) -> None:
    _, username = add_staff(clerk_page, fis_site, **{
        "Last": "Moreau", "First": "Lea", "Email Address": "lea.moreau@district.example"})
    synced(scview, username)
    page = clerk_page

    def add_phone(first: str, phone: str, kind: str, primary: bool) -> None:
        open_staff(page, fis_site, "Moreau", first)
        page.get_by_role("link", name="Staff Phone").click()
        page.get_by_role("link", name="Add", exact=True).click()
        field(page, "Phone").fill(phone)
        field(page, "Type").select_option(kind)
        if primary:
            page.get_by_label("Primary Phone").check()
        page.get_by_role("button", name="Save", exact=True).click()

    add_phone("Lea", "(570) 555-0199", "work", primary=False)
    # A later edit that does sync: once it is in SCView, the worker has pushed a snapshot
    # taken after the non-primary phone was added.
    open_staff(page, fis_site, "Moreau", "Lea")
    field(page, "First").fill("Léa")
    page.get_by_role("button", name="Save", exact=True).click()
    user = synced(scview, username, lambda user: user["name"]["givenName"] == "Léa")
    assert user.get("phoneNumbers", []) == []
    assert scview_shows(scview_page, scview, username, "scview-non-primary-phone")[
        "phone"] == "Not provided"

    add_phone("Léa", "(570) 555-0142", "cell", primary=True)
    user = synced(scview, username, lambda user: bool(user.get("phoneNumbers")))
    assert [p["value"] for p in user["phoneNumbers"]] == ["+15705550142"]
    open_staff(page, fis_site, "Moreau", "Léa")
    fis = fis_shows(page)
    screenshot(page, "staff-phone-primary")
    assert scview_shows(scview_page, scview, username, "scview-primary-phone") == fis


def test_run_sync_for_one_user_puts_back_what_was_changed_in_scview(
        clerk_page: Any, admin_page: Any, scview_page: Any, fis_site: Site, scview: Scview,
        set_up: None) -> None:
    _, username = add_staff(clerk_page, fis_site, **{
        "Last": "Novak", "First": "Ivo", "Email Address": "ivo.novak@district.example"})
    synced(scview, username)
    family_name_in_scview(scview, username, "Changed-in-SCView")
    assert scview_shows(scview_page, scview, username, "scview-changed")[
        "last-name"] == "Changed-in-SCView"
    assert run_sync_for(admin_page, fis_site, username).startswith("Sync updated: Last Name.")
    screenshot(admin_page, "edit-user-run-sync")
    assert scview_shows(scview_page, scview, username, "scview-after-run-sync")[
        "last-name"] == "Novak"
    assert run_sync_for(admin_page, fis_site, username).startswith("Sync unchanged")


def test_run_sync_for_all_users_shows_progress_then_the_summary(
        clerk_page: Any, admin_page: Any, fis_site: Site, scview: Scview, set_up: None) -> None:
    added = [add_staff(clerk_page, fis_site, **{
        "Last": f"Allsync{n}", "First": "Sam", "Email Address": f"sam{n}@district.example"})[1]
        for n in range(3)]
    for username in added:
        synced(scview, username)
    gone, changed, same = added
    with scview.scim() as client:  # SCView lost one user, and another was edited there
        client.delete(f"/Users/{scview.user(gone)['id']}").raise_for_status()  # type: ignore[index]
    family_name_in_scview(scview, changed, "Changed-in-SCView")
    page = admin_page
    menu(page, fis_site, "Users")
    search(page, "allsync")
    assert page.get_by_test_id("users").get_by_text("Synced").count() == 3
    screenshot(page, "users")
    page.get_by_role("button", name="Run Sync").click()
    page.wait_for_url("**/system/sync/jobs/*")
    summary = page.get_by_test_id("sync-progress").get_by_role("status")
    summary.wait_for(timeout=30_000)
    assert summary.inner_text().startswith("Sync finished.")
    screenshot(page, "run-sync-summary")
    assert scview.user(gone) is not None
    assert scview.user(changed)["name"]["familyName"] == "Allsync1"  # type: ignore[index]
    page.get_by_role("link", name="See each user's outcome").click()
    outcomes = page.get_by_test_id("outcomes")
    for username, outcome in ((gone, "Created"), (changed, "Updated"), (same, "Unchanged")):
        row = outcomes.get_by_role("row").filter(has_text=username)
        assert row.get_by_role("cell", name=outcome, exact=True).count() == 1, username
    screenshot(page, "sync-run")
    run = "#" + page.url.rsplit("/", 1)[1]
    menu(page, fis_site, "Sync history")
    row = page.get_by_test_id("runs").get_by_role("row").filter(
        has=page.get_by_role("link", name=run, exact=True)).locator("td").all_inner_texts()
    assert row[2:5] == ["All users", "FIS screen", "Completed"], row
    assert re.search(r"\bCreated: 1\b", row[5]) and re.search(r"\bUpdated: 1\b", row[5]), row
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
            release.wait(timeout=30)
        return report

    job = fis_site.app.state.sync_jobs.start(lambda progress: service.sync_all(
        fis_site.sessions, "page", progress=gated(progress)))
    assert reported.wait(timeout=30)
    page = admin_page
    page.goto(f"{fis_site.url}/system/sync/jobs/{job.id}")
    box = page.get_by_test_id("sync-progress")
    assert re.search(r"\d+ of \d+ users done", box.inner_text())
    assert page.get_by_role("progressbar").is_visible()
    screenshot(page, "run-sync-progress")
    release.set()
    page.get_by_test_id("sync-progress").get_by_role("status").wait_for(timeout=30_000)
    assert page.get_by_test_id("sync-progress").inner_text().startswith("Sync finished.")


def test_a_system_user_is_never_synced(admin_page: Any, fis_site: Site, set_up: None) -> None:
    outcome = run_sync_for(admin_page, fis_site, "Admin")
    assert outcome.startswith("Sync skipped")
    assert "User sync to SCView failed for: Admin." in outcome
    assert "System users may include the following usersnames Admin, SCView, or CSIU" in outcome


def test_wrong_token_shows_the_seed_error(clerk_page: Any, admin_page: Any, fis_site: Site,
                                          scview: Scview, set_up: None) -> None:
    page = admin_page
    configure(page, fis_site, scview, "not-the-token")
    page.get_by_role("button", name="Test Connection").click()
    result = page.get_by_test_id("test-result").inner_text()
    assert TOKEN_OR_DATABASE in result
    assert "Verify that the System > Directories > Third Party Configuration Token" in result
    screenshot(page, "third-party-wrong-token")
    _, username = add_staff(clerk_page, fis_site, **{
        "Last": "Tokenless", "First": "Tia", "Email Address": "tia.t@district.example"})
    menu(page, fis_site, "Users")
    page.get_by_role("button", name="Run Sync").click()
    alert = page.get_by_test_id("sync-progress").get_by_role("alert")
    alert.wait_for(timeout=30_000)
    assert TOKEN_OR_DATABASE in alert.inner_text()
    assert TOKEN_OR_DATABASE in run_sync_for(page, fis_site, username)
    screenshot(page, "edit-user-failed")
    menu(page, fis_site, "Users")
    search(page, username)
    status = page.get_by_test_id("users").locator("tbody tr").first.locator("td").last
    assert status.inner_text().startswith("Failed")
    assert TOKEN_OR_DATABASE in status.inner_text()
    assert "Verify that the System > Directories > Third Party Configuration" in status.inner_text()
    screenshot(page, "users-failed")
    assert scview.user(username) is None
    configure(page, fis_site, scview, scview.token)
    # Saving the corrected configuration queues the parked user again: the worker sends it
    # without anyone pressing Run Sync, and Run Sync then finds nothing left to change.
    synced(scview, username)
    assert run_sync_for(page, fis_site, username).startswith("Sync unchanged")

"""The Admin > Users pages in headless Chromium against a live SCView, on SQLite and
PostgreSQL: sign-in, search as you type, a user's Details and Payroll tab, deactivated
users, keyboard use and a narrow screen. Users are created over SCIM, as FIS does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from staffsync.scview.web_auth import IDLE_TIMEOUT
from tests.conftest import screenshot
from tests.scview_pages.conftest import ADMIN, PASSWORD, Site, age_sessions, unique

pytestmark = pytest.mark.browser
DB = "lincoln-sd"


def sign_in(page: Page, site: Site, password: str = PASSWORD) -> None:
    page.goto(f"{site.url}/admin/users?db={DB}")
    sign_in_here(page, password)


def sign_in_here(page: Page, password: str = PASSWORD) -> None:
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def results(page: Page) -> Any:
    return page.locator("#results a.user-link")


def search(page: Page, text: str) -> None:
    page.get_by_label("Username").press_sequentially(text)


def find(page: Page, name: str) -> None:
    """Type a whole username and wait until the list has narrowed to that one user."""
    search(page, name)
    expect(page.locator("#count")).to_contain_text(f"1 user matching '{name}'")
    expect(results(page)).to_have_text([name])


def test_signing_in_is_required_and_a_wrong_password_is_refused(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/admin/users")
    expect(page).to_have_url(f"{site.url}/admin/login?next=%2Fadmin%2Fusers")
    expect(page.get_by_role("heading", name="Sign in to SCView")).to_be_visible()
    screenshot(page, "scview-login")
    sign_in(page, site, password="wrong password!")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(page.get_by_label("Password")).to_be_visible()
    page.goto(f"{site.url}/admin/users")
    expect(page).to_have_url(f"{site.url}/admin/login?next=%2Fadmin%2Fusers")


def test_sign_in_opens_the_page_asked_for_and_sign_out_ends_it(page: Page, site: Site) -> None:
    sign_in(page, site)
    expect(page).to_have_url(f"{site.url}/admin/users?db={DB}")
    expect(page.get_by_label("Database")).to_have_value(DB)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    page.goto(f"{site.url}/admin/users")
    expect(page.get_by_role("heading", name="Sign in to SCView")).to_be_visible()


def test_the_list_narrows_as_you_type(page: Page, site: Site) -> None:
    prefix = unique("nar")
    for suffix in ("alice", "alina", "bob"):
        site.create_user(DB, f"{prefix}-{suffix}")
    sign_in(page, site)
    page.evaluate("window.notReloaded = true")
    search(page, prefix)
    expect(results(page)).to_have_text([f"{prefix}-alice", f"{prefix}-alina", f"{prefix}-bob"])
    search(page, "-ali")
    expect(results(page)).to_have_text([f"{prefix}-alice", f"{prefix}-alina"])
    search(page, "c")
    expect(results(page)).to_have_text([f"{prefix}-alice"])
    expect(page.locator("#count")).to_contain_text(f"1 user matching '{prefix}-alic'")
    screenshot(page, "scview-users")
    expect(page.get_by_role("status")).to_have_text(  # what a screen reader announces
        f"1 user matching '{prefix}-alic'")
    search(page, "xyz")
    expect(page.locator("#results")).to_contain_text(f"No users match '{prefix}-alicxyz'")
    expect(page.get_by_role("status")).to_have_text(f"No users match '{prefix}-alicxyz'.")
    assert page.evaluate("window.notReloaded") is True  # narrowed in place, never reloaded
    expect(page).to_have_url(f"{site.url}/admin/users?db={DB}&q={prefix}-alicxyz")


def test_details_and_payroll_show_the_values_synced_over_scim(page: Page, site: Site) -> None:
    name = unique("mgarcia")
    site.create_user(DB, name, given="Maria", family="Garcia", employee="E20417")
    sign_in(page, site)
    find(page, name)
    results(page).get_by_text(name).click()
    detail = page.locator("#detail")
    expect(detail.get_by_role("heading", name=name)).to_be_focused()
    for field, shown in [("user-id", name), ("first-name", "Maria"), ("last-name", "Garcia"),
                         ("email", f"{name}@district.example.org"),
                         ("phone", "+1 570-555-0142"), ("status", "Active")]:
        expect(detail.locator(f'[data-field="{field}"]')).to_have_text(shown)
    expect(detail.locator('[data-field="employee-id"]')).to_be_hidden()
    screenshot(page, "scview-user-details")
    detail.get_by_role("tab", name="Payroll").click()
    expect(detail.get_by_role("tab", name="Payroll")).to_have_attribute("aria-selected", "true")
    expect(detail.locator('[data-field="employee-id"]')).to_have_text("E20417")
    expect(detail.locator('[data-field="email"]')).to_be_hidden()
    screenshot(page, "scview-user-payroll")


def test_deactivated_users_are_listed_and_shown_as_deactivated(page: Page, site: Site) -> None:
    name = unique("left")
    created = site.create_user(DB, name)
    site.deactivate(DB, created["id"])
    sign_in(page, site)
    find(page, name)
    row = page.locator("#results li", has_text=name)
    expect(row.locator(".badge")).to_have_text("Deactivated")
    row.get_by_role("link", name=name).click()
    expect(page.locator('#detail [data-field="status"]')).to_have_text("Deactivated")
    screenshot(page, "scview-user-deactivated")


def test_typing_after_the_session_ended_leads_back_to_sign_in(page: Page, site: Site) -> None:
    sign_in(page, site)
    age_sessions(site.db_url, IDLE_TIMEOUT + timedelta(minutes=1))
    search(page, "a")
    expect(page.get_by_role("status")).to_contain_text("30 minutes without activity")
    sign_in_here(page)
    expect(page).to_have_url(f"{site.url}/admin/users?db={DB}&q=a")  # back where it was


def test_each_database_shows_only_its_own_users(page: Page, site: Site) -> None:
    name = unique("oak")
    site.create_user("oakwood-sd", name)
    sign_in(page, site)
    search(page, name)
    expect(page.locator("#results")).to_contain_text(f"No users match '{name}'")
    page.get_by_label("Database").select_option("oakwood-sd")
    expect(page).to_have_url(f"{site.url}/admin/users?db=oakwood-sd&q={name}")
    expect(results(page)).to_have_text([name])


def test_the_pages_work_from_the_keyboard(page: Page, site: Site) -> None:
    name = unique("kbd")
    site.create_user(DB, name, employee="E555")
    sign_in(page, site)
    page.get_by_label("Username").focus()
    page.keyboard.type(name)
    expect(page.locator("#count")).to_contain_text(f"1 user matching '{name}'")
    expect(results(page)).to_have_text([name])
    page.keyboard.press("Tab")  # the Show users button
    page.keyboard.press("Tab")  # the first user
    expect(results(page).first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=name)).to_be_focused()
    page.keyboard.press("Tab")  # the Details tab
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Payroll")).to_be_focused()
    expect(page.locator('[data-field="employee-id"]')).to_have_text("E555")


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    yield context.new_page()
    context.close()


def test_a_narrow_screen_stacks_the_details_under_the_list(phone: Page, site: Site) -> None:
    name = unique("narrow")
    site.create_user(DB, name, given="Sam", family="Okafor")
    sign_in(phone, site)
    find(phone, name)
    results(phone).get_by_text(name).click()
    expect(phone.locator('#detail [data-field="last-name"]')).to_have_text("Okafor")
    listing, detail = phone.locator("#results").bounding_box(), phone.locator(
        "#detail").bounding_box()
    assert listing is not None and detail is not None
    assert detail["y"] > listing["y"] + listing["height"]  # below, not beside
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    screenshot(phone, "scview-users-narrow")

"""Accessibility basics on every screen: each input has a label, the keyboard reaches
everything, and the pages fit a 1280x800 and a 390x844 (phone) screen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import screenshot
from tests.fis_pages.conftest import Site, field, fill_add_staff, open_add_staff, signed_in

# The group keeps a module on one xdist worker: one live server per module.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("fis_pages_accessibility")]

UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')).map(e => e.name)"""
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"
# Number every control a keyboard user must be able to reach (shown and enabled; a
# tabindex=-1 on a link or a button does not excuse it), and record each one that gets
# the focus from now on; returns their descriptions.
FOCUSABLE = """() => {
  const all = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), ' +
                                            'select, textarea, [tabindex]:not([tabindex="-1"])')]
    .filter(e => !e.disabled && e.checkVisibility({visibilityProperty: true}));
  all.forEach((e, i) => { e.dataset.kbd = String(i); });
  window.reached = new Set();
  document.addEventListener('focusin', e => window.reached.add(e.target.dataset.kbd));
  return all.map(e => `${e.tagName.toLowerCase()} ${e.name || e.textContent.trim()}`);
}"""
REACHED = "() => [...window.reached].filter(k => k !== undefined).map(Number)"


@pytest.fixture(scope="module")
def staff_id(admin_page: Any, fis_site: Site) -> str:
    page = admin_page
    open_add_staff(page, fis_site)
    fill_add_staff(page, **{"Last": "Access", "First": "Ada",
                            "Email Address": "ada.access@district.example"})
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Staff Phone").click()
    page.get_by_role("link", name="Add", exact=True).click()
    field(page, "Phone").fill("5705550199")
    page.get_by_role("button", name="Save").click()
    return str(page.get_by_test_id("staff-id").inner_text())


def screens(staff_id: str) -> list[str]:
    return ["/hr/staff", "/hr/staff/add", f"/hr/staff/{staff_id}",
            f"/hr/staff/{staff_id}/phones", f"/hr/staff/{staff_id}/phones/add",
            "/hr/parameters", "/hr/username-parameters", "/system/users",
            "/system/users/aaccess", "/system/third-party", "/system/sync-history"]


@pytest.fixture(scope="module")
def phone_page(browser: Any, fis_site: Site) -> Iterator[Any]:
    yield from signed_in(browser, fis_site, fis_site.admin,
                         viewport={"width": 390, "height": 844}, is_mobile=True)


def test_every_input_has_a_label_and_nothing_overflows(admin_page: Any, fis_site: Site,
                                                       staff_id: str) -> None:
    for path in screens(staff_id):
        response = admin_page.goto(f"{fis_site.url}{path}")
        assert response.status == 200, path
        assert admin_page.evaluate(UNLABELLED) == [], path
        assert admin_page.evaluate(OVERFLOW) <= 0, path


def test_narrow_screen_fits_without_sideways_scrolling(phone_page: Any, fis_site: Site,
                                                       staff_id: str) -> None:
    for path in screens(staff_id):
        phone_page.goto(f"{fis_site.url}{path}")
        assert phone_page.evaluate(OVERFLOW) <= 0, path
    phone_page.goto(f"{fis_site.url}/hr/staff/add")
    screenshot(phone_page, "narrow-add-staff")
    phone_page.goto(f"{fis_site.url}/hr/staff/{staff_id}")
    screenshot(phone_page, "narrow-personal")


def test_keyboard_alone_edits_the_last_name(admin_page: Any, fis_site: Site,
                                            staff_id: str) -> None:
    page = admin_page
    page.goto(f"{fis_site.url}/hr/staff/{staff_id}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    tab_to(page, "Edit Last Name")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.name") == "last_name"
    page.keyboard.type("Accessible")
    page.keyboard.press("Tab")
    page.keyboard.type("Correction")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**?done=renamed")
    assert page.get_by_test_id("last-name").inner_text() == "Accessible"


def tab_to(page: Any, text: str, presses: int = 60) -> None:
    """Press Tab until the element with this text has the focus."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == text:
            return
    pytest.fail(f"{presses} Tab presses never reached {text!r}")


def test_tab_reaches_everything_on_every_screen(admin_page: Any, fis_site: Site,
                                                staff_id: str) -> None:
    page = admin_page
    for path in screens(staff_id):
        page.goto(f"{fis_site.url}{path}")
        focusable = page.evaluate(FOCUSABLE)
        assert focusable, path
        for _ in range(2 * len(focusable) + 5):  # a date input takes a Tab per part
            page.keyboard.press("Tab")
        missed = set(range(len(focusable))) - set(page.evaluate(REACHED))
        assert [focusable[i] for i in sorted(missed)] == [], path

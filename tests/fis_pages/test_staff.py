"""HR/PY > Staff in a real browser, as a clerk follows the seed: Staff Search, Add Staff,
Personal (Edit Demographics, Edit Last Name) and the Staff Phone tab."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from staffsync.fis.models import Staff, SyncState, User
from staffsync.kit.db import transaction
from tests.conftest import screenshot
from tests.fis_pages.conftest import (
    Site,
    add_staff,
    field,
    fill_add_staff,
    menu,
    new_ssn,
    open_add_staff,
)

# The group keeps a module on one xdist worker: one live server per module.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("fis_pages_staff")]


def test_add_staff_with_email_shows_staff_id_and_username(clerk_page: Any,
                                                          fis_site: Site) -> None:
    page = clerk_page
    open_add_staff(page, fis_site)
    assert page.get_by_role("heading", name="Add Staff").is_visible()
    for label in ("SSN", "Last", "First", "Address 1", "ZIP Code", "Gender", "Race",
                  "Staff Status", "Employment Status", "Hire Date", "Act 29"):
        assert page.locator("label", has_text=label).first.locator(".req").count() == 1, label
    assert page.locator("label[for=email] .req").count() == 0
    screenshot(page, "add-staff")
    staff_id, _ = add_staff(page, fis_site, **{"Last": "Okafor", "First": "Chidi",
                                            "Email Address": "chidi.okafor@district.example"})
    assert staff_id.isdigit()
    assert page.get_by_role("status").inner_text() == (
        f"Staff added. Staff ID: {staff_id}. Username: cokafor.")
    assert page.get_by_test_id("username").inner_text() == "cokafor"
    screenshot(page, "personal-edit-demographics")
    with transaction(fis_site.sessions) as session:
        user = session.scalars(select(User).where(User.username == "cokafor")).one()
        assert user.staff is not None and user.staff.staff_id == staff_id
        assert session.get(SyncState, user.id) is not None  # due for sync


SELECTS = ("ZIP Code", "Gender", "Race", "Staff Status", "Employment Status", "Act 29")


def _tag(page: Any, label: str) -> str:
    return str(field(page, label).evaluate("e => e.tagName"))


def test_the_six_choice_fields_are_selects(clerk_page: Any, fis_site: Site) -> None:
    page = clerk_page
    add_staff(page, fis_site, **{"Last": "Selectmann", "First": "Sel"})
    assert [_tag(page, label) for label in SELECTS] == ["SELECT"] * 6  # Edit Demographics
    assert field(page, "ZIP Code").input_value() == "17837"
    page.goto(f"{fis_site.url}/hr/staff/add")
    assert [_tag(page, label) for label in SELECTS] == ["SELECT"] * 6  # Add Staff
    assert page.locator("#zip_code option:checked").inner_text() == "Select…"
    assert "17837 \N{EN DASH} Lewisburg, PA" in page.locator("#zip_code option").all_inner_texts()


def test_a_refused_add_staff_never_shows_the_ssn_again(clerk_page: Any, fis_site: Site) -> None:
    page = clerk_page
    page.goto(f"{fis_site.url}/hr/staff/add")
    typed = new_ssn()
    fill_add_staff(page, **{"SSN": f"{typed[:3]}-{typed[3:5]}-{typed[5:]}", "First": "",
                            "Last": "Ssnless"})
    page.get_by_role("button", name="Save").click()
    assert page.locator("#first_name-error").inner_text() == "First Name is required"
    assert field(page, "SSN").input_value() == ""
    assert page.locator("#ssn-hint").inner_text() == (
        "For privacy the SSN is not shown again: please re-enter it (9 digits).")
    html = page.content()
    assert typed not in html and f"{typed[:3]}-{typed[3:5]}-{typed[5:]}" not in html
    assert field(page, "Last").input_value() == "Ssnless"
    field(page, "First").fill("Sam")
    page.get_by_role("button", name="Save").click()
    assert page.locator("#ssn-error").inner_text() == "SSN is required"
    field(page, "SSN").fill(typed)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**?done=added")
    assert page.get_by_text("***-**-" + typed[5:]).is_visible()


def test_the_menu_nests_the_parameters_under_staff(clerk_page: Any, fis_site: Site) -> None:
    """HR/Payroll > Staff > Directories > Parameters and ... > Staff Portal > Staff Portal
    Username Parameters, as the seed reaches them."""
    page = clerk_page
    page.goto(f"{fis_site.url}/hr/staff")
    staff = page.get_by_role("navigation", name="FIS menu").locator("li").filter(
        has=page.get_by_role("link", name="Staff", exact=True)).first
    directories = staff.locator("li").filter(has_text="Directories").first
    portal = staff.locator("li").filter(has_text="Staff Portal").first
    assert directories.get_by_role("link").all_inner_texts() == ["Parameters", "ZIP Codes"]
    assert portal.get_by_role("link").all_inner_texts() == ["Staff Portal Username Parameters"]
    portal.get_by_role("link", name="Staff Portal Username Parameters").click()
    assert page.get_by_role("heading", name="Staff Portal Username Parameters").is_visible()
    page.get_by_role("link", name="Parameters", exact=True).click()
    assert page.get_by_role("heading", name="Parameters", exact=True).is_visible()


def test_add_staff_without_email_creates_no_user(clerk_page: Any, fis_site: Site) -> None:
    add_staff(clerk_page, fis_site, **{"Last": "Nomail", "First": "Nora"})
    assert clerk_page.get_by_test_id("username").inner_text().startswith("—")


def test_add_staff_errors_show_beside_each_field_and_keep_the_input(
        clerk_page: Any, fis_site: Site) -> None:
    page = clerk_page
    open_add_staff(page, fis_site)
    fill_add_staff(page, **{"SSN": "12345", "First": "", "Last": "Keepme",
                            "Email Address": "not-an-email"})
    page.get_by_role("button", name="Save").click()
    assert page.locator("#ssn-error").inner_text() == "SSN must be 9 digits"
    assert page.locator("#first_name-error").inner_text() == "First Name is required"
    assert page.locator("#email-error").inner_text() == "Enter a valid email address"
    assert field(page, "Last").input_value() == "Keepme"
    assert page.get_by_label("Race").input_value() == "hispanic_latino"
    assert page.get_by_label("SSN").get_attribute("aria-invalid") == "true"
    screenshot(page, "add-staff-errors")
    with transaction(fis_site.sessions) as session:
        assert session.scalars(select(Staff).where(Staff.last_name == "Keepme")).all() == []


def test_staff_search_finds_partial_names(clerk_page: Any, fis_site: Site) -> None:
    add_staff(clerk_page, fis_site, **{"Last": "Wojcik", "First": "Zofia"})
    add_staff(clerk_page, fis_site, **{"Last": "Keller-Brandt", "First": "Ute"})
    page = clerk_page
    menu(page, fis_site, "Staff")
    page.get_by_label("Search by last name").fill("woj")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_role("link", name="Wojcik, Zofia").is_visible()
    screenshot(page, "staff-search")
    page.get_by_label("Search by last name").fill("BRANDT")
    page.get_by_role("button", name="Search").click()
    assert page.locator("tbody td a").all_inner_texts() == ["Keller-Brandt, Ute"]
    assert page.get_by_test_id("showing").inner_text() == "Showing 1\N{EN DASH}1 of 1"
    page.get_by_label("Search by last name").fill("zzzz")
    page.get_by_role("button", name="Search").click()
    assert "No staff match" in page.locator(".empty").inner_text()
    page.get_by_label("Search by last name").fill("zof")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Wojcik, Zofia").click()
    assert page.get_by_role("heading", name="Edit Demographics").is_visible()


def test_edit_demographics_saves_first_name_and_email(clerk_page: Any, fis_site: Site) -> None:
    staff_id, _ = add_staff(clerk_page, fis_site, **{"Last": "Lindqvist", "First": "Per"})
    page = clerk_page
    field(page, "First").fill("Pelle")
    page.get_by_label("Email Address").fill("pelle.lindqvist@district.example")
    page.get_by_label("Staff Status").select_option("inactive")
    page.get_by_role("button", name="Save", exact=True).click()
    assert page.get_by_role("status").inner_text() == "Demographics saved."
    assert page.get_by_test_id("username").inner_text() == "plindqvist"
    assert page.get_by_label("Staff Status").input_value() == "inactive"
    page.get_by_label("Email Address").fill("")
    page.get_by_role("button", name="Save", exact=True).click()
    assert "cannot be removed" in page.locator("#email-error").inner_text()
    with transaction(fis_site.sessions) as session:
        member = session.scalars(select(Staff).where(Staff.staff_id == staff_id)).one()
        assert (member.first_name, member.email) == ("Pelle", "pelle.lindqvist@district.example")


def test_edit_last_name_with_a_reason_shows_in_history(clerk_page: Any, fis_site: Site) -> None:
    add_staff(clerk_page, fis_site, **{"Last": "Brown", "First": "Maya",
                                       "Email Address": "maya.brown@district.example"})
    page = clerk_page
    page.get_by_role("button", name="Edit Last Name").click()
    dialog = page.get_by_role("dialog", name="Edit Last Name")
    field(dialog, "New Last Name").fill("Brown-Ito")
    screenshot(page, "edit-last-name-dialog")
    dialog.get_by_role("button", name="Save and Close").click()
    dialog = page.get_by_role("dialog", name="Edit Last Name")
    assert dialog.locator("#reason-error").inner_text() == "Reason is required"
    assert field(dialog, "New Last Name").input_value() == "Brown-Ito"
    field(dialog, "Reason").fill("Marriage")
    dialog.get_by_role("button", name="Save and Close").click()
    assert page.get_by_role("status").inner_text() == "Last name changed."
    assert page.get_by_test_id("last-name").inner_text() == "Brown-Ito"
    row = page.get_by_test_id("name-history").locator("tbody tr").first
    assert row.locator("td").all_inner_texts()[1:] == ["Brown", "Brown-Ito", "Marriage", "clerk"]


def test_primary_and_non_primary_phones(clerk_page: Any, fis_site: Site) -> None:
    staff_id, _ = add_staff(clerk_page, fis_site, **{"Last": "Nguyen", "First": "Bao",
                                                  "Email Address": "bao.nguyen@district.example"})
    page = clerk_page
    page.get_by_role("link", name="Staff Phone").click()
    assert "No phone numbers yet" in page.locator(".empty").inner_text()
    page.get_by_role("link", name="Add", exact=True).click()
    assert field(page, "Type").input_value() == "cell"
    field(page, "Phone").fill("(570) 555-0101")
    page.get_by_label("Primary Phone").check()
    screenshot(page, "add-phone")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Add", exact=True).click()
    field(page, "Phone").fill("570-555-0102")
    field(page, "Type").select_option("home")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_role("status").inner_text() == "Phone added."
    rows = page.get_by_test_id("phones").locator("tbody tr")
    assert [rows.nth(i).locator("td").all_inner_texts() for i in range(2)] == [
        ["+15705550101", "Cell", "Yes"], ["+15705550102", "Home", "No"]]
    screenshot(page, "staff-phone")
    with transaction(fis_site.sessions) as session:
        member = session.scalars(select(Staff).where(Staff.staff_id == staff_id)).one()
        assert [(p.phone, p.is_primary) for p in member.phones] == [
            ("+15705550101", True), ("+15705550102", False)]


def test_phone_link_edits_with_save_and_save_and_close(clerk_page: Any, fis_site: Site) -> None:
    add_staff(clerk_page, fis_site, **{"Last": "Costa", "First": "Rui"})
    page = clerk_page
    page.get_by_role("link", name="Staff Phone").click()
    page.get_by_role("link", name="Add", exact=True).click()
    field(page, "Phone").fill("5705550111")
    page.get_by_role("button", name="Save").click()
    link = page.get_by_role("link", name="+15705550111")
    assert link.evaluate("e => getComputedStyle(e).color") == "rgb(11, 87, 208)"  # blue
    link.click()
    field(page, "Phone").fill("570 555 0112")
    page.get_by_role("button", name="Save", exact=True).click()
    assert page.get_by_role("status").inner_text() == "Phone saved."
    assert field(page, "Phone").input_value() == "+15705550112"
    screenshot(page, "edit-phone")
    field(page, "Phone").fill("12")
    page.get_by_role("button", name="Save & Close").click()
    assert page.locator("#phone-error").inner_text() == "Enter a valid phone number"
    field(page, "Phone").fill("570 555 0113")
    page.get_by_label("Primary Phone").check()
    page.get_by_role("button", name="Save & Close").click()
    page.wait_for_url("**/phones?done=phone_saved")
    assert page.get_by_test_id("phones").locator("tbody td").all_inner_texts() == [
        "+15705550113", "Cell", "Yes"]
    page.get_by_role("link", name="+15705550113").click()
    page.get_by_role("button", name="Delete this phone").click()
    assert page.get_by_role("status").inner_text() == "Phone deleted."
    assert "No phone numbers yet" in page.locator(".empty").inner_text()


def test_unknown_staff_is_a_404_page(clerk_page: Any, fis_site: Site) -> None:
    response = clerk_page.goto(f"{fis_site.url}/hr/staff/no-such-id")
    assert response.status == 404
    assert clerk_page.get_by_text("No staff member has that Staff ID.").is_visible()

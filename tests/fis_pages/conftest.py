"""FIS pages fixtures: one live FIS server per test module and backend (SQLite and
PostgreSQL), accounts for both roles, browser contexts that are already signed in, and
the seed's steps, taken through the FIS menu as a clerk would.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import auth
from staffsync.fis.app import create_app
from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from staffsync.kit.server import ServerThread
from staffsync.scview.admins import create_admin
from staffsync.scview.app import create_app as create_scview
from staffsync.scview.tenants import create_tenant
from staffsync.sync.worker import in_background
from tests.conftest import screenshot
from tests.databases import BACKENDS, fresh_database

SECRET_KEY = Fernet.generate_key().decode()
PASSWORD = "correct horse battery"
WAIT = 30.0  # seconds: the most a sync may take on a loaded CI machine
_ssns = itertools.count(200_000_001)
T = TypeVar("T")


def new_ssn() -> str:
    return str(next(_ssns))


@dataclass
class Site:
    """A live FIS server with one account per role."""

    url: str
    db_url: str
    sessions: sessionmaker[Session]
    app: Any = None
    hr: str = "clerk"
    admin: str = "boss"


@pytest.fixture(scope="module")
def _env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STAFFSYNC_SECRET_KEY", SECRET_KEY)
        patch.setenv("STAFFSYNC_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        yield


@pytest.fixture(autouse=True)
def _secrets(_env: None) -> None:
    """Module-scoped servers need the secret key for every test in the module."""


@pytest.fixture(scope="module", params=BACKENDS)
def pages_backend(request: pytest.FixtureRequest) -> str:
    """The database of a module's live servers: every module runs on both backends."""
    return str(request.param)


def serve_fis(backend: str, tmp_path_factory: pytest.TempPathFactory, *,
              worker: bool = False) -> Iterator[Site]:
    """A live FIS on a fresh database; ``worker``: with its in-process sync worker, as
    ``staffsync fis serve`` runs it."""
    with fresh_database(backend, tmp_path_factory.mktemp("fis"), "fis_pages") as db_url:
        upgrade(db_url, "fis")
        engine = make_engine(db_url, hide_parameters=True)
        sessions = session_factory(engine)
        with transaction(sessions) as session:
            auth.create_account(session, "clerk", PASSWORD, "hr")
            auth.create_account(session, "boss", PASSWORD, "sysadmin")
        app = create_app(db_url)
        with ServerThread(app) as server, in_background(db_url) if worker else nullcontext():
            yield Site(server.url, db_url, sessions, app)
        engine.dispose()


@pytest.fixture(scope="module")
def fis_site(_env: None, pages_backend: str,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from serve_fis(pages_backend, tmp_path_factory)


def sign_in(page: Any, site: Site, username: str) -> Any:
    page.set_default_timeout(10_000)  # generous for a loaded CI machine; fails fast enough
    page.goto(f"{site.url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/hr/staff")
    return page


def signed_in(browser: Any, site: Site, username: str, **options: Any) -> Iterator[Any]:
    """A page in its own browser context, signed in as ``username``."""
    context = browser.new_context(**({"viewport": {"width": 1280, "height": 800}} | options))
    yield sign_in(context.new_page(), site, username)
    context.close()


@pytest.fixture(scope="module")
def admin_page(browser: Any, fis_site: Site) -> Iterator[Any]:
    """A signed-in sysadmin page shared by a module's tests (signing in is argon2id work)."""
    yield from signed_in(browser, fis_site, fis_site.admin)


@pytest.fixture(scope="module")
def clerk_page(browser: Any, fis_site: Site) -> Iterator[Any]:
    yield from signed_in(browser, fis_site, fis_site.hr)


def named(label: str) -> re.Pattern[str]:
    """A field's label exactly, with or without the required-field asterisk."""
    return re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*$")


def field(page: Any, label: str) -> Any:
    return page.get_by_label(named(label))


def fill_add_staff(page: Any, **values: str) -> None:
    """Fill Add Staff; ``values`` override the defaults, ``""`` leaves a field empty.

    ZIP Code is a select of the ZIP Code directory: a ZIP the directory lacks (a new
    site's directory is empty) is first added on HR/PY > Staff > Directories > ZIP Codes.
    """
    fields = {"SSN": new_ssn(), "Last": "Rivera", "First": "Ana", "Address 1": "12 Oak St",
              "Hire Date": "2021-08-23", "Email Address": ""}
    selects = {"ZIP Code": "17837", "Gender": "female", "Race": "hispanic_latino",
               "Staff Status": "active", "Employment Status": "full_time", "Act 29": "new"}
    wanted = fields | selects | values
    zip_code = wanted["ZIP Code"]
    if zip_code and page.locator(f'#zip_code option[value="{zip_code}"]').count() == 0:
        back = page.url
        page.get_by_role("link", name="ZIP Codes", exact=True).click()
        field(page, "ZIP Code").fill(zip_code)
        field(page, "City").fill("Lewisburg")
        field(page, "State").fill("PA")
        page.get_by_role("button", name="Add", exact=True).click()
        page.wait_for_url("**/hr/zip-codes?done=added")
        page.goto(back)
    for label, value in wanted.items():
        target = field(page, label)
        if label in selects:
            target.select_option(value)
        else:
            target.fill(value)


# -- the seed's steps, through the FIS menu --------------------------------------------


def menu(page: Any, site: Site, name: str) -> None:
    """Click ``name`` in the FIS menu (found by its name wherever it is nested), opening
    FIS first when the page is elsewhere."""
    if not page.url.startswith(site.url):
        page.goto(f"{site.url}/hr/staff")
    nav = page.get_by_role("navigation", name="FIS menu")
    nav.get_by_role("link", name=name, exact=True).click()


def search(page: Any, text: str) -> None:
    """Type into the screen's search box and press its Search button."""
    page.get_by_role("search").get_by_role("searchbox").fill(text)
    page.get_by_role("search").get_by_role("button", name="Search").click()


def open_add_staff(page: Any, site: Site) -> None:
    """FIS > HR/PY > Staff, then the Add button (Add Staff)."""
    menu(page, site, "Staff")
    page.get_by_role("link", name="Add", exact=True).click()


def add_staff(page: Any, site: Site, **values: str) -> tuple[str, str]:
    """Add Staff, filled, then Save; returns (Staff ID, Username) as shown after Save, on
    the new staff member's Personal screen."""
    open_add_staff(page, site)
    fill_add_staff(page, **values)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**?done=added")
    return (str(page.get_by_test_id("staff-id").inner_text()),
            str(page.get_by_test_id("username").inner_text()))


def open_staff(page: Any, site: Site, last: str, first: str) -> None:
    """FIS > HR/PY > Staff > Staff Search > select a staff (their Personal screen)."""
    menu(page, site, "Staff")
    search(page, last)
    page.get_by_role("link", name=f"{last}, {first}", exact=True).click()


def open_user(page: Any, site: Site, username: str) -> None:
    """FIS > System > Directories > Users > select the user (Edit User)."""
    menu(page, site, "Users")
    search(page, username)
    page.get_by_role("link", name=username, exact=True).click()


def run_sync_for(page: Any, site: Site, username: str) -> str:
    """Edit User > Run Sync; returns the outcome text."""
    open_user(page, site, username)
    page.get_by_role("button", name="Run Sync").click()
    return str(page.get_by_test_id("outcome").inner_text())


def eventually(probe: Callable[[], T], what: str, timeout: float = WAIT) -> T:
    """``probe()`` once it is truthy (polled); fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f}s: {what}")
        time.sleep(0.2)
    return found


# -- a live SCView, and its Admin > Users pages ------------------------------------------

TENANT = "district1"
SCVIEW_ADMIN = "scview-admin"


@dataclass
class Scview:
    url: str
    token: str

    def user(self, username: str) -> dict[str, Any] | None:
        """The SCView user with this userName, read over SCIM (None when absent)."""
        with self.scim() as client:
            answer = client.get("/Users", params={"filter": f'userName eq "{username}"'})
        answer.raise_for_status()
        found = answer.json().get("Resources", [])
        return found[0] if found else None

    def scim(self) -> httpx.Client:
        """A SCIM client of the tenant, as any other SCView client would be."""
        return httpx.Client(base_url=f"{self.url}/{TENANT}/scim/v2",
                            headers={"Authorization": f"Bearer {self.token}"})


@pytest.fixture(scope="module")
def scview(pages_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scview]:
    """A live SCView on the module's backend, with one tenant and one admin account."""
    with fresh_database(pages_backend, tmp_path_factory.mktemp("scview"), "scview") as url:
        upgrade(url, "scview")
        engine = make_engine(url)
        with transaction(session_factory(engine)) as session:
            token = create_tenant(session, TENANT)
            create_admin(session, SCVIEW_ADMIN, PASSWORD)
        engine.dispose()
        app = create_scview(url)
        with ServerThread(app) as server:
            yield Scview(server.url, token)
        app.state.engine.dispose()


@pytest.fixture(scope="module")
def scview_page(browser: Any, scview: Scview) -> Iterator[Any]:
    """SCView > Admin > Users in a second browser context, signed in as its admin."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{scview.url}/admin/users")
    page.get_by_label("Username").fill(SCVIEW_ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Users").wait_for()
    yield page
    context.close()


def scview_shows(page: Any, scview: Scview, username: str, shot: str) -> dict[str, str]:
    """The seed's "Verify in SCView": Admin > Users, pick the database, type part of the
    username, click the name; returns the Details and the Payroll tab's Employee ID."""
    page.goto(f"{scview.url}/admin/users")
    page.get_by_label("Database").select_option(TENANT)
    page.get_by_label("Username").press_sequentially(username[:-2])  # a partial name
    page.locator("#results").get_by_role("link", name=username, exact=True).click()
    detail = page.locator("#detail")
    detail.get_by_role("heading", name=username).wait_for()
    shown = {name: str(detail.locator(f'[data-field="{name}"]').inner_text())
             for name in ("user-id", "first-name", "last-name", "email", "phone")}
    screenshot(page, f"{shot}-details")
    detail.get_by_role("tab", name="Payroll").click()
    employee_id = detail.locator('[data-field="employee-id"]')
    employee_id.wait_for()
    shown["employee-id"] = str(employee_id.inner_text())
    screenshot(page, f"{shot}-payroll")
    return shown


def fis_shows(page: Any) -> dict[str, str]:
    """What a staff member's Personal and Staff Phone screens show of the synced values,
    in SCView's terms (the page ends on the Staff Phone tab)."""
    shown = {"user-id": str(page.get_by_test_id("username").inner_text()),
             "first-name": str(field(page, "First").input_value()),
             "last-name": str(page.get_by_test_id("last-name").inner_text()),
             "email": str(field(page, "Email Address").input_value()),
             "employee-id": str(page.get_by_test_id("staff-id").inner_text())}
    page.get_by_role("link", name="Staff Phone").click()
    primary = page.locator("[data-testid=phones] tbody tr").filter(
        has=page.get_by_role("cell", name="Yes", exact=True))
    shown["phone"] = (str(primary.get_by_role("link").inner_text()) if primary.count()
                      else "Not provided")
    return shown


def configure(page: Any, site: Site, scview: Scview, token: str) -> None:
    """System > Directories > Third Party Configuration, as the seed's setup asks."""
    menu(page, site, "Third Party Configuration")
    field(page, "End Point").fill(scview.url + "/")
    field(page, "Database name").fill(TENANT)
    field(page, "Token").fill(token)
    page.get_by_label("Enable User Sync").check()
    page.get_by_role("button", name="Save", exact=True).click()
    assert page.get_by_role("status").inner_text() == "Third Party Configuration saved."


@pytest.fixture(scope="module")
def set_up(admin_page: Any, fis_site: Site, scview: Scview) -> None:
    configure(admin_page, fis_site, scview, scview.token)

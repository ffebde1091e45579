"""FIS pages fixtures: one live FIS server per test module, accounts for both roles,
and browser contexts that are already signed in.

The browser walk-through runs on SQLite (``fis_site``); ``test_postgresql_smoke`` runs
the same pages on PostgreSQL.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import auth
from staffsync.fis.app import create_app
from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from staffsync.kit.server import ServerThread
from staffsync.scview.app import create_app as create_scview
from staffsync.scview.tenants import create_tenant
from tests.databases import fresh_database

SECRET_KEY = Fernet.generate_key().decode()
PASSWORD = "correct horse battery"
_ssns = itertools.count(200_000_001)


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


def start_site(db_url: str) -> Iterator[Site]:
    upgrade(db_url, "fis")
    engine = make_engine(db_url, hide_parameters=True)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        auth.create_account(session, "clerk", PASSWORD, "hr")
        auth.create_account(session, "boss", PASSWORD, "sysadmin")
    app = create_app(db_url)
    with ServerThread(app) as server:
        yield Site(server.url, db_url, sessions, app)
    engine.dispose()


@pytest.fixture(scope="module")
def fis_site(_env: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with fresh_database("sqlite", tmp_path_factory.mktemp("fis"), "fis") as url:
        yield from start_site(url)


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


# -- a live SCView and the seed's steps that the walk-through modules share --------------

TENANT = "district1"


@dataclass
class Scview:
    url: str
    token: str

    def user(self, username: str) -> dict[str, Any] | None:
        """The SCView user with this userName, read over SCIM (None when absent)."""
        answer = httpx.get(f"{self.url}/{TENANT}/scim/v2/Users",
                           params={"filter": f'userName eq "{username}"'},
                           headers={"Authorization": f"Bearer {self.token}"})
        answer.raise_for_status()
        found = answer.json().get("Resources", [])
        return found[0] if found else None


@pytest.fixture(scope="module")
def scview(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scview]:
    with fresh_database("sqlite", tmp_path_factory.mktemp("scview"), "scview") as url:
        upgrade(url, "scview")
        engine = make_engine(url)
        with transaction(session_factory(engine)) as session:
            token = create_tenant(session, TENANT)
        engine.dispose()
        app = create_scview(url)
        with ServerThread(app) as server:
            yield Scview(server.url, token)
        app.state.engine.dispose()


def configure(page: Any, site: Site, scview: Scview, token: str) -> None:
    """System > Directories > Third Party Configuration, as the seed's setup asks."""
    page.goto(f"{site.url}/system/third-party")
    field(page, "End Point").fill(scview.url + "/")
    field(page, "Database name").fill(TENANT)
    field(page, "Token").fill(token)
    page.get_by_label("Enable User Sync").check()
    page.get_by_role("button", name="Save", exact=True).click()
    assert page.get_by_role("status").inner_text() == "Third Party Configuration saved."


@pytest.fixture(scope="module")
def set_up(admin_page: Any, fis_site: Site, scview: Scview) -> None:
    configure(admin_page, fis_site, scview, scview.token)


def add_staff(page: Any, site: Site, **values: str) -> tuple[str, str]:
    """Add Staff through the screens; returns (Staff ID, Username) as shown after Save."""
    page.goto(f"{site.url}/hr/staff/add")
    fill_add_staff(page, **values)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**?done=added")
    return (str(page.get_by_test_id("staff-id").inner_text()),
            str(page.get_by_test_id("username").inner_text()))


def run_sync_for(page: Any, site: Site, username: str) -> str:
    """Users > select the user (Edit User) > Run Sync; returns the outcome text."""
    page.goto(f"{site.url}/system/users?q={username}")
    page.get_by_role("link", name=username, exact=True).click()
    page.get_by_role("button", name="Run Sync").click()
    return str(page.get_by_test_id("outcome").inner_text())

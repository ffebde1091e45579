"""Login, roles, logout, idle timeout, cookie flags and CSRF, in a real browser (and,
for what a browser would never send, over plain HTTP)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from staffsync.fis import web_auth
from staffsync.fis.models import WebSession, utcnow
from staffsync.kit.db import transaction
from tests.conftest import screenshot
from tests.fis_pages.conftest import PASSWORD, Site, field, sign_in

# The group keeps a module on one xdist worker: one live server per module.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("fis_pages_login")]


def test_sign_in_page_and_wrong_password(page: Any, fis_site: Site) -> None:
    page.goto(f"{fis_site.url}/hr/staff")
    assert re.search(r"/login\?next=/hr/staff$", page.url)
    screenshot(page, "login")
    field(page, "Username").fill("boss")
    field(page, "Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "The username or password is incorrect."
    assert page.context.cookies() and all(c["name"] != "fis_session"
                                          for c in page.context.cookies())


def test_sign_in_sets_a_new_httponly_lax_session_and_sign_out_ends_it(
        page: Any, fis_site: Site) -> None:
    page.context.add_cookies([{"name": "fis_session", "value": "planted-by-an-attacker",
                               "url": fis_site.url}])
    sign_in(page, fis_site, "boss")
    cookie = next(c for c in page.context.cookies() if c["name"] == "fis_session")
    assert cookie["value"] != "planted-by-an-attacker"
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
    assert page.get_by_text("Signed in as boss").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login?signed_out=1")
    # The old cookie value no longer opens anything, even if a copy was kept.
    jar = httpx.Cookies({"fis_session": cookie["value"]})
    answer = httpx.get(f"{fis_site.url}/hr/staff", cookies=jar, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_hr_clerk_sees_no_system_menu_and_gets_403_there(page: Any, fis_site: Site) -> None:
    sign_in(page, fis_site, "clerk")
    menu = page.get_by_role("navigation", name="FIS menu")
    assert menu.get_by_role("link", name="Staff", exact=True).is_visible()
    assert menu.get_by_role("link", name="Users").count() == 0
    for path in ("/system/users", "/system/third-party", "/system/sync-history"):
        response = page.goto(f"{fis_site.url}{path}")
        assert response.status == 403, path
        assert page.get_by_role("heading", name="Access denied").is_visible()
    screenshot(page, "forbidden-403")


def test_sysadmin_sees_the_system_screens(admin_page: Any, fis_site: Site) -> None:
    menu = admin_page.get_by_role("navigation", name="FIS menu")
    for name in ("Users", "Third Party Configuration", "Sync history", "Parameters"):
        assert menu.get_by_role("link", name=name, exact=True).is_visible(), name
    menu.get_by_role("link", name="Users").click()
    assert admin_page.get_by_role("heading", name="Users").is_visible()


def _session_row(page: Any) -> Any:
    value = next(c["value"] for c in page.context.cookies() if c["name"] == "fis_session")
    return WebSession.id_hash == web_auth.digest(value)


def test_idle_session_times_out(page: Any, fis_site: Site) -> None:
    sign_in(page, fis_site, "clerk")
    mine = _session_row(page)
    with transaction(fis_site.sessions) as session:
        session.execute(update(WebSession).where(mine)
                        .values(last_seen_at=utcnow() - timedelta(minutes=31)))
    page.goto(f"{fis_site.url}/hr/staff")
    assert "expired=1" in page.url
    assert "timed out" in page.get_by_role("alert").inner_text()
    sign_in(page, fis_site, "clerk")  # a new session; the expired row is purged
    with transaction(fis_site.sessions) as session:
        assert session.scalars(select(WebSession.id_hash).where(mine)).all() == []


def test_recent_activity_keeps_the_session(page: Any, fis_site: Site) -> None:
    sign_in(page, fis_site, "clerk")
    with transaction(fis_site.sessions) as session:
        session.execute(update(WebSession).where(_session_row(page))
                        .values(last_seen_at=utcnow() - timedelta(minutes=29)))
    page.goto(f"{fis_site.url}/hr/staff")
    assert page.url.endswith("/hr/staff")
    with transaction(fis_site.sessions) as session:
        seen = session.scalar(select(WebSession.last_seen_at).where(_session_row(page)))
    assert seen is not None and utcnow() - seen < timedelta(minutes=1)


def test_a_form_without_the_csrf_token_is_refused(page: Any, fis_site: Site) -> None:
    sign_in(page, fis_site, "boss")
    page.goto(f"{fis_site.url}/hr/parameters")
    page.locator("#main input[name=csrf_token]").evaluate("e => e.value = 'forged'")
    page.get_by_label("Next Staff ID").fill("5000")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_role("heading", name="Access denied").is_visible()
    assert "did not come from FIS" in page.content()
    page.goto(f"{fis_site.url}/hr/parameters")
    assert page.get_by_label("Next Staff ID").input_value() != "5000"


def test_a_cross_site_post_with_the_session_cookie_is_refused(page: Any, fis_site: Site) -> None:
    """What a forged cross-site form would send: the cookie, but not the token."""
    sign_in(page, fis_site, "boss")
    cookie = next(c for c in page.context.cookies() if c["name"] == "fis_session")
    with httpx.Client(base_url=fis_site.url, cookies={"fis_session": cookie["value"]}) as client:
        forged = client.post("/system/third-party", data={"end_point": "http://evil.invalid/",
                                                          "database_name": "x"})
        assert forged.status_code == 403
        login_forged = client.post("/login", data={"username": "boss", "password": PASSWORD})
        assert login_forged.status_code == 403
        assert client.get("/system/third-party").text.count("evil.invalid") == 0

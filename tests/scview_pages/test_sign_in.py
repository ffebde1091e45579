"""Sign-in, sessions and CSRF over plain HTTP, on SQLite and PostgreSQL: what a browser
receives (redirects, cookies, headers) and what SCView refuses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from html import unescape

import httpx
import pytest
from sqlalchemy import select

from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.scview.admin_users import PAGE_SIZE
from staffsync.scview.admins import create_admin
from staffsync.scview.models import LoginFailure
from staffsync.scview.web_auth import (
    COOKIE,
    FAILURE_WINDOW,
    IDLE_TIMEOUT,
    LOGIN_CSRF_COOKIE,
    MAX_FAILURES,
)
from tests.scview_pages.conftest import ADMIN, PASSWORD, Site, age_sessions, sign_in, unique


@pytest.fixture
def client(site: Site) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.url) as client:
        yield client


def csrf_of(page_html: str) -> str:
    marker = 'name="csrf" value="'
    start = page_html.index(marker) + len(marker)
    return page_html[start : page_html.index('"', start)]


def test_pages_redirect_to_sign_in_when_signed_out(client: httpx.Client) -> None:
    response = client.get("/admin/users?db=lincoln-sd")
    assert response.status_code == 303
    assert response.headers["location"] == (
        "/admin/login?next=%2Fadmin%2Fusers%3Fdb%3Dlincoln-sd"
    )
    assert client.get("/admin/users/results?db=lincoln-sd").status_code == 401
    assert client.get("/admin/users/detail?db=lincoln-sd&user=x").status_code == 401


def test_wrong_password_is_refused_without_a_session(client: httpx.Client) -> None:
    response = sign_in(client, password="not the password")
    assert response.status_code == 401
    assert "Wrong username or password." in response.text
    assert COOKIE not in response.cookies
    assert client.get("/admin/users").status_code == 303


def test_unknown_admin_is_refused_like_a_wrong_password(client: httpx.Client) -> None:
    response = sign_in(client, username="nobody")
    assert response.status_code == 401
    assert "Wrong username or password." in response.text


def test_repeated_wrong_passwords_lock_the_username_for_a_while(
    site: Site, client: httpx.Client
) -> None:
    name = unique("guessed")
    _create_admin(site.db_url, name)
    for _ in range(MAX_FAILURES):
        assert sign_in(client, username=name, password="guess guess guess").status_code == 401
    refused = sign_in(client, username=name, password=PASSWORD)  # even the right one, for now
    assert refused.status_code == 429
    assert "Too many wrong passwords for this username." in refused.text
    assert sign_in(client).status_code == 303  # other admins are not affected
    _age_failures(site.db_url, FAILURE_WINDOW)
    assert sign_in(client, username=name, password=PASSWORD).status_code == 303


def _create_admin(db_url: str, name: str) -> None:
    engine = make_engine(db_url)
    with transaction(session_factory(engine)) as session:
        create_admin(session, name, PASSWORD)
    engine.dispose()


def _age_failures(db_url: str, by: timedelta) -> None:
    engine = make_engine(db_url)
    with transaction(session_factory(engine)) as session:
        for row in session.scalars(select(LoginFailure)):
            row.window_start -= by
    engine.dispose()


def test_sign_in_without_the_form_token_is_refused(client: httpx.Client) -> None:
    response = client.post("/admin/login", data={"username": "clerk", "password": "x" * 20})
    assert response.status_code == 400
    assert "expired" in response.text
    assert COOKIE not in response.cookies


def test_session_cookie_is_http_only_and_same_site_lax(client: httpx.Client) -> None:
    response = sign_in(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/users"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; set behind TLS
    assert client.get("/admin/users").status_code == 200


def test_behind_tls_both_cookies_are_secure(site: Site) -> None:
    # a TLS-terminating proxy on this host says so; uvicorn trusts 127.0.0.1 by default.
    # The client talks plain HTTP to it, so it holds back Secure cookies: send them by hand.
    proxied = {"X-Forwarded-Proto": "https"}
    with httpx.Client(base_url=site.url, headers=proxied) as behind_tls:
        form = behind_tls.get("/admin/login")
        assert "Secure" in form.headers["set-cookie"]
        response = behind_tls.post(
            "/admin/login",
            data={"username": ADMIN, "password": PASSWORD, "csrf": csrf_of(form.text)},
            headers={"Cookie": f"{LOGIN_CSRF_COOKIE}={csrf_of(form.text)}"},
        )
    assert response.status_code == 303
    session_cookie = next(value for value in response.headers.get_list("set-cookie")
                          if value.startswith(f"{COOKIE}="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie


def test_search_text_is_escaped_in_the_page(client: httpx.Client) -> None:
    sign_in(client)
    attack = "<img src=x onerror=alert(1)>"
    page = client.get("/admin/users", params={"db": "lincoln-sd", "q": attack})
    assert attack not in page.text
    assert "No users match '&lt;img src=x onerror=alert(1)&gt;'." in page.text


def test_pages_are_not_cached_framed_or_scripted_from_elsewhere(client: httpx.Client) -> None:
    sign_in(client)
    headers = client.get("/admin/users").headers
    assert headers["cache-control"] == "no-store"
    assert headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in headers["content-security-policy"]


def test_sign_out_needs_the_page_token_and_ends_the_session(
    site: Site, client: httpx.Client
) -> None:
    sign_in(client)
    page = client.get("/admin/users")
    refused = client.post("/admin/logout", data={"csrf": "forged"})
    assert refused.status_code == 400
    assert client.get("/admin/users").status_code == 200  # still signed in
    cookie = client.cookies[COOKIE]
    response = client.post("/admin/logout", data={"csrf": csrf_of(page.text)})
    assert response.headers["location"] == "/admin/login?signed_out=1"
    replayed = httpx.get(f"{site.url}/admin/users", cookies={COOKIE: cookie})
    assert replayed.status_code == 303  # the old cookie no longer works anywhere


def test_idle_session_ends_after_the_timeout(site: Site, client: httpx.Client) -> None:
    sign_in(client)
    assert client.get("/admin/users").status_code == 200
    age_sessions(site.db_url, IDLE_TIMEOUT + timedelta(minutes=1))
    response = client.get("/admin/users")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login?next=")
    assert "ended=1" in response.headers["location"]
    notice = client.get(response.headers["location"])
    assert "30 minutes without activity" in notice.text


def test_a_page_of_users_never_holds_more_than_the_page_size(
    site: Site, client: httpx.Client
) -> None:
    prefix = unique("pg")
    with site.scim("oakwood-sd") as scim:
        for number in range(PAGE_SIZE + 3):
            body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": f"{prefix}-{number:03d}"}
            assert scim.post("/Users", json=body).status_code == 201
    sign_in(client)
    first = client.get("/admin/users/results", params={"db": "oakwood-sd", "q": prefix})
    assert first.text.count('class="user-link"') == PAGE_SIZE
    assert f"Showing 1\N{EN DASH}{PAGE_SIZE} of {PAGE_SIZE + 3} users" in first.text
    assert f"{prefix}-000" in first.text and f"{prefix}-{PAGE_SIZE:03d}" not in first.text
    second = client.get("/admin/users/results",
                        params={"db": "oakwood-sd", "q": prefix, "page": "2"})
    assert second.text.count('class="user-link"') == 3
    assert f"{prefix}-{PAGE_SIZE + 2:03d}" in second.text and "Page 2 of 2" in second.text
    past_the_end = client.get("/admin/users/results",
                              params={"db": "oakwood-sd", "q": prefix, "page": "99"})
    assert "Page 2 of 2" in past_the_end.text  # clamped to the last page


def test_search_text_is_matched_literally(site: Site, client: httpx.Client) -> None:
    prefix = unique("lit")
    site.create_user("lincoln-sd", f"{prefix}_a%b")
    site.create_user("lincoln-sd", f"{prefix}xaxb")
    sign_in(client)
    response = client.get("/admin/users/results", params={"db": "lincoln-sd", "q": "_a%"})
    assert f"{prefix}_a%b" in response.text
    assert f"{prefix}xaxb" not in response.text  # _ and % are not wildcards


def test_a_user_is_shown_only_under_its_own_database(site: Site, client: httpx.Client) -> None:
    created = site.create_user("oakwood-sd", unique("own"), employee="E-OAK")
    sign_in(client)
    own = client.get("/admin/users/detail", params={"db": "oakwood-sd", "user": created["id"]})
    assert own.status_code == 200 and "E-OAK" in own.text
    other = client.get("/admin/users/detail", params={"db": "lincoln-sd", "user": created["id"]})
    assert other.status_code == 404 and "E-OAK" not in other.text


def test_unknown_database_and_user_get_a_helpful_message(client: httpx.Client) -> None:
    sign_in(client)
    page = client.get("/admin/users", params={"db": "no-such-district"})
    assert "There is no database named 'no-such-district'." in unescape(page.text)
    detail = client.get("/admin/users/detail", params={"db": "lincoln-sd", "user": "gone"})
    assert detail.status_code == 404
    assert "This user is not in database 'lincoln-sd' any more." in unescape(detail.text)

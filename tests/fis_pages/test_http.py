"""What a browser test cannot see: the cookie's Secure flag behind TLS, and the headers
that keep pages with personal data out of caches and frames (no browser needed).

TLS is terminated by a proxy in front of FIS; uvicorn trusts the loopback proxy's
``X-Forwarded-Proto``, so these requests look to FIS exactly as proxied HTTPS ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from staffsync.fis.pages.login import LOGIN_CSRF
from tests.fis_pages.conftest import PASSWORD, Site

pytestmark = pytest.mark.xdist_group("fis_pages_http")
BEHIND_TLS = {"X-Forwarded-Proto": "https"}


@pytest.fixture
def client(fis_site: Site) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fis_site.url, headers=BEHIND_TLS) as client:
        yield client


def _set_cookie(response: httpx.Response, name: str) -> str:
    """The response's Set-Cookie header for ``name``."""
    return next(h for h in response.headers.get_list("set-cookie") if h.startswith(name + "="))


def _cookie(name: str, value: str) -> dict[str, str]:
    """Sent by hand: a client must not send a Secure cookie over the plain loopback hop."""
    return {"Cookie": f"{name}={value}"}


def _login_form(client: httpx.Client, username: str, next_path: str) -> dict[str, str]:
    token = _set_cookie(client.get("/login"), LOGIN_CSRF).split(";")[0].split("=", 1)[1]
    return {"username": username, "password": PASSWORD, "next": next_path, "csrf_token": token}


def _sign_in(client: httpx.Client, username: str) -> httpx.Response:
    form = _login_form(client, username, "/hr/staff")
    answer = client.post("/login", data=form, headers=_cookie(LOGIN_CSRF, form["csrf_token"]))
    assert answer.status_code == 303
    return answer


def test_session_cookie_is_secure_behind_tls(client: httpx.Client) -> None:
    cookie = _set_cookie(_sign_in(client, "clerk"), "fis_session").lower()
    assert cookie.startswith("fis_session=")
    assert "; secure" in cookie and "; httponly" in cookie and "samesite=lax" in cookie


def test_pages_are_not_cached_or_framed(client: httpx.Client) -> None:
    cookie = _set_cookie(_sign_in(client, "boss"), "fis_session")
    session = cookie.split(";")[0].split("=", 1)[1]
    answer = client.get("/hr/staff", headers=_cookie("fis_session", session))
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-frame-options"] == "DENY"


def test_next_never_leaves_the_site(client: httpx.Client) -> None:
    form = _login_form(client, "clerk", "//evil.invalid/")
    answer = client.post("/login", data=form, headers=_cookie(LOGIN_CSRF, form["csrf_token"]))
    assert answer.headers["location"] == "/hr/staff"

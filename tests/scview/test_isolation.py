"""Tenant isolation: every endpoint with its own, another tenant's, a bad, and no token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.scview.conftest import CORE, LiveScview, create_user, patch_body, user_body

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

# (method, path, body builder, status with its own token). "{id}" is one of alpha's users.
ENDPOINTS: list[tuple[str, str, Callable[[], Any] | None, int]] = [
    ("GET", "/Users", None, 200),
    ("POST", "/Users", user_body, 201),
    ("GET", "/Users/{id}", None, 200),
    ("PUT", "/Users/{id}", lambda: user_body(), 200),
    ("PATCH", "/Users/{id}", lambda: patch_body({"op": "add", "path": "title", "value": "T"}), 200),
    ("DELETE", "/Users/{id}", None, 204),
    ("POST", "/Users/.search", lambda: {"filter": "userName pr"}, 200),
    ("POST", "/Bulk", lambda: {"Operations": []}, 200),
    ("GET", "/ServiceProviderConfig", None, 200),
    ("GET", "/Schemas", None, 200),
    ("GET", "/ResourceTypes", None, 200),
    ("GET", f"/Schemas/{CORE}", None, 200),
    ("GET", "/ResourceTypes/User", None, 200),
    # a bad request is refused for its token before its content is even read
    ("GET", "/Users?filter=((", None, 400),
    ("POST", "/Users", lambda: {"schemas": [], "nickName": 5}, 400),
    ("POST", "/Users/.search", lambda: {"filter": "(("}, 400),
    ("GET", "/Users/{id}?attributes=noSuchAttribute[", None, 400),
]
CREDENTIALS = {
    "own token": lambda live: live.tokens["alpha"],
    "other tenant's token": lambda live: live.tokens["beta"],
    "bad token": lambda live: "not-a-token",
    "no token": lambda live: None,
}


def _call(live: LiveScview, method: str, path: str, body: Any, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    with httpx.Client(base_url=live.base("alpha"), headers=headers) as client:
        return client.request(method, path, json=body)


@pytest.mark.parametrize("credential", list(CREDENTIALS))
@pytest.mark.parametrize(("method", "path", "body", "own_status"), ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_endpoint_answers_only_its_own_tenant(
    live: LiveScview, alpha: httpx.Client, credential: str, method: str, path: str,
    body: Callable[[], Any] | None, own_status: int,
) -> None:
    victim = create_user(alpha)
    token = CREDENTIALS[credential](live)
    response = _call(live, method, path.format(id=victim["id"]), body() if body else None, token)
    if credential == "own token":
        assert response.status_code == own_status, response.text
        return
    assert response.status_code == 401
    assert response.json()["schemas"] == [ERROR]
    assert victim["userName"] not in response.text
    # the refused request changed nothing
    assert alpha.get(f"/Users/{victim['id']}").json() == victim


def test_another_tenants_users_are_invisible(live: LiveScview, alpha: httpx.Client) -> None:
    victim = create_user(alpha)
    with live.client("beta") as beta:
        assert beta.get(f"/Users/{victim['id']}").status_code == 404
        listed = beta.get("/Users", params={"filter": f'userName eq "{victim["userName"]}"'})
        assert listed.json()["totalResults"] == 0
        patched = beta.patch(f"/Users/{victim['id']}", json=patch_body(
            {"op": "replace", "path": "active", "value": False}))
        assert patched.status_code == 404
        assert beta.delete(f"/Users/{victim['id']}").status_code == 404
    assert alpha.get(f"/Users/{victim['id']}").json() == victim


def test_two_tenants_may_hold_the_same_user_name(live: LiveScview, alpha: httpx.Client) -> None:
    first = create_user(alpha)
    with live.client("beta") as beta:
        second = create_user(beta, user_name=first["userName"])
    assert second["id"] != first["id"]

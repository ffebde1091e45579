"""The steps of Okta's SCIM 2.0 spec test (its Runscope suite), one small test each."""

from __future__ import annotations

import uuid

import httpx

from tests.scview.conftest import create_user, found_ids, patch_body, unique, user_body

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def test_users_endpoint_lists_with_paging(alpha: httpx.Client) -> None:
    create_user(alpha)
    response = alpha.get("/Users", params={"count": 1, "startIndex": 1})
    body = response.json()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/scim+json")
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["startIndex"] == 1 and body["itemsPerPage"] == 1 and len(body["Resources"]) == 1
    assert body["totalResults"] >= 1


def test_filter_on_an_unknown_user_name_finds_nothing(alpha: httpx.Client) -> None:
    response = alpha.get("/Users", params={"filter": f'userName eq "{unique("nobody")}"'})
    assert response.status_code == 200
    assert response.json()["totalResults"] == 0
    assert response.json()["Resources"] == []


def test_random_user_id_is_a_scim_404(alpha: httpx.Client) -> None:
    response = alpha.get(f"/Users/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["schemas"] == [ERROR]
    assert response.json()["status"] == "404"


def test_create_user_with_realistic_values(alpha: httpx.Client) -> None:
    body = user_body()
    response = alpha.post("/Users", json=body)
    created = response.json()
    assert response.status_code == 201
    assert response.headers["location"] == created["meta"]["location"]
    assert created["id"] and created["active"] is True
    assert created["userName"] == body["userName"]
    assert created["name"] == body["name"]
    assert created["emails"] == body["emails"]


def test_get_created_user_by_id(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    response = alpha.get(f"/Users/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created
    assert response.headers["etag"] == created["meta"]["version"]


def test_recreating_the_same_user_is_a_uniqueness_conflict(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    response = alpha.post("/Users", json=user_body(created["userName"]))
    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"


def test_user_name_filter_is_case_insensitive(alpha: httpx.Client) -> None:
    created = create_user(alpha, user_name=unique("MixedCase"))
    assert found_ids(alpha, f'userName eq "{created["userName"].upper()}"') == {created["id"]}


def test_get_user_by_user_name_filter(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    response = alpha.get("/Users", params={"filter": f'userName eq "{created["userName"]}"'})
    assert response.json()["totalResults"] == 1
    assert response.json()["Resources"][0] == created


def test_update_user_with_put(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    body = user_body(created["userName"], name={"givenName": "Babs", "familyName": "Jensen"})
    response = alpha.put(f"/Users/{created['id']}", json=body)
    assert response.status_code == 200
    assert response.json()["name"]["givenName"] == "Babs"
    assert response.json()["meta"]["version"] == 'W/"2"'
    assert response.json()["meta"]["created"] == created["meta"]["created"]
    assert alpha.get(f"/Users/{created['id']}").json()["name"]["givenName"] == "Babs"


def test_deactivate_user_with_patch_active_false(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    operation = {"op": "replace", "value": {"active": False}}
    response = alpha.patch(f"/Users/{created['id']}", json=patch_body(operation))
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert alpha.get(f"/Users/{created['id']}").json()["active"] is False


def test_deactivated_user_is_still_found_by_user_name(alpha: httpx.Client) -> None:
    created = create_user(alpha, active=False)
    assert found_ids(alpha, f'userName eq "{created["userName"]}"') == {created["id"]}


def test_delete_user_then_it_is_gone(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    assert alpha.delete(f"/Users/{created['id']}").status_code == 204
    assert alpha.get(f"/Users/{created['id']}").status_code == 404

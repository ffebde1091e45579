"""Limits and error shapes: 413, count cap, filter bounds, unknown database, no stack traces."""

from __future__ import annotations

import httpx

from staffsync.scview.filters import MAX_DEPTH, MAX_LENGTH
from staffsync.scview.resources import MAX_OPERATIONS, MAX_PAYLOAD, MAX_RESULTS
from tests.scview.conftest import CORE, LiveScview, create_user, unique, user_body

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def test_body_over_one_mebibyte_is_413(alpha: httpx.Client) -> None:
    body = user_body(title="x" * (MAX_PAYLOAD + 1))
    response = alpha.post("/Users", json=body)
    assert response.status_code == 413
    assert response.json()["schemas"] == [ERROR]


def test_chunked_body_over_the_limit_is_413_too(alpha: httpx.Client) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(MAX_PAYLOAD // 65536 + 2):
            yield b" " * 65536

    response = alpha.post("/Users", content=chunks())
    assert response.status_code == 413


def test_count_above_the_cap_is_capped_and_the_cap_is_advertised(alpha: httpx.Client) -> None:
    config = alpha.get("/ServiceProviderConfig").json()
    assert config["filter"] == {"supported": True, "maxResults": MAX_RESULTS}
    # more users than the cap, in one Bulk, so that the cap is what stops the page
    operations = [{"method": "POST", "path": "/Users", "bulkId": f"cap{index}",
                   "data": {"schemas": [CORE], "userName": unique("cap")}}
                  for index in range(MAX_RESULTS + 1)]
    created = alpha.post("/Bulk", json={"schemas": [BULK_REQUEST], "Operations": operations},
                         timeout=120)
    assert {result["status"] for result in created.json()["Operations"]} == {"201"}
    response = alpha.get("/Users", params={"count": MAX_RESULTS * 10}, timeout=60)
    assert response.status_code == 200
    page = response.json()
    assert page["itemsPerPage"] == len(page["Resources"]) == MAX_RESULTS
    assert page["totalResults"] > MAX_RESULTS


def test_count_zero_gives_only_the_total(alpha: httpx.Client) -> None:
    create_user(alpha)
    body = alpha.get("/Users", params={"count": 0}).json()
    assert body["totalResults"] >= 1 and body["Resources"] == []


def test_filter_longer_than_the_bound_is_invalid_filter(alpha: httpx.Client) -> None:
    long_filter = 'userName eq "' + "a" * MAX_LENGTH + '"'
    response = alpha.get("/Users", params={"filter": long_filter})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_filter_nested_deeper_than_the_bound_is_invalid_filter(alpha: httpx.Client) -> None:
    deep = "(" * (MAX_DEPTH + 1) + "userName pr" + ")" * (MAX_DEPTH + 1)
    response = alpha.get("/Users", params={"filter": deep})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_unknown_database_is_a_scim_404(live: LiveScview) -> None:
    with httpx.Client(base_url=live.base("no-such-district")) as client:
        response = client.get("/Users", headers={"Authorization": f"Bearer {live.tokens['alpha']}"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/scim+json")
    assert response.json()["schemas"] == [ERROR]


def test_a_path_outside_scim_is_a_plain_404(live: LiveScview) -> None:
    """How the sync tells a wrong End Point (this) from a wrong Database name (above)."""
    response = httpx.get(f"{live.url}/not/the/scim/root")
    assert response.status_code == 404
    assert not response.headers["content-type"].startswith("application/scim+json")


def test_unknown_scim_endpoint_is_a_scim_404(alpha: httpx.Client) -> None:
    response = alpha.get("/Groups")
    assert response.status_code == 404
    assert response.json()["schemas"] == [ERROR]


def test_missing_token_is_401_with_a_bearer_challenge(live: LiveScview) -> None:
    response = httpx.get(f"{live.base('alpha')}/Users")
    assert response.status_code == 401
    assert response.json()["schemas"] == [ERROR]
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_malformed_json_is_invalid_syntax_without_a_traceback(alpha: httpx.Client) -> None:
    headers = {"Content-Type": "application/scim+json"}
    response = alpha.post("/Users", content=b"{not json", headers=headers)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidSyntax"
    assert "Traceback" not in response.text


def test_missing_user_name_is_a_scim_400(alpha: httpx.Client) -> None:
    body = user_body()
    del body["userName"]
    response = alpha.post("/Users", json=body)
    assert response.status_code == 400
    assert response.json()["schemas"] == [ERROR]


def test_bulk_limits_are_advertised_and_enforced(alpha: httpx.Client) -> None:
    bulk = alpha.get("/ServiceProviderConfig").json()["bulk"]
    assert bulk == {
        "supported": True, "maxOperations": MAX_OPERATIONS, "maxPayloadSize": MAX_PAYLOAD
    }
    operations = [{"method": "DELETE", "path": "/Users/x"}] * (MAX_OPERATIONS + 1)
    response = alpha.post("/Bulk", json={"Operations": operations})
    assert response.status_code == 413


def test_service_provider_config_is_truthful(alpha: httpx.Client) -> None:
    config = alpha.get("/ServiceProviderConfig").json()
    assert config["patch"]["supported"] is True
    assert config["etag"]["supported"] is True
    assert config["sort"]["supported"] is False
    assert config["changePassword"]["supported"] is False


def test_nul_characters_are_refused_by_name_and_nothing_is_written(alpha: httpx.Client) -> None:
    """PostgreSQL's text and jsonb cannot hold NUL; SQLite could. Both refuse it alike."""
    body = user_body(name={"givenName": "Barbara", "familyName": "Jen\u0000sen"})
    body["phoneNumbers"][0]["value"] = "+1-570-555-0100\u0000"
    answer = alpha.post("/Users", json=body)
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert error["scimType"] == "invalidValue"
    assert "name.familyName" in error["detail"] and "phoneNumbers[0].value" in error["detail"]
    found = alpha.get("/Users", params={"filter": f'userName eq "{body["userName"]}"'})
    assert found.json()["totalResults"] == 0
    user = create_user(alpha)
    replaced = {**user_body(user["userName"]), "displayName": "B\u0000"}
    answer = alpha.put(f"/Users/{user['id']}", json=replaced)
    assert answer.status_code == 400 and "displayName" in answer.json()["detail"]
    assert alpha.get(f"/Users/{user['id']}").json() == user


def test_a_literal_backslash_u_0000_is_text_not_a_nul(alpha: httpx.Client) -> None:
    user = create_user(alpha, displayName="C:\\u0000\\dir")
    assert user["displayName"] == "C:\\u0000\\dir"

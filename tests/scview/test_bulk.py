"""SCIM Bulk: bulkId references, failOnErrors, one transaction, per-operation outcomes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.scview.conftest import create_user, found_ids, patch_body, unique, user_body

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def bulk(
    client: httpx.Client, *operations: dict[str, Any], fail_on_errors: int | None = None
) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"schemas": [BULK], "Operations": list(operations)}
    if fail_on_errors is not None:
        body["failOnErrors"] = fail_on_errors
    response = client.post("/Bulk", json=body)
    assert response.status_code == 200, response.text
    return list(response.json()["Operations"])


def test_bulk_creates_then_patches_through_a_bulk_id(alpha: httpx.Client) -> None:
    name = unique()
    results = bulk(
        alpha,
        {"method": "POST", "path": "/Users", "bulkId": "u1", "data": user_body(name)},
        {"method": "PATCH", "path": "/Users/bulkId:u1",
         "data": patch_body({"op": "replace", "path": "active", "value": False})},
    )
    assert [r["status"] for r in results] == ["201", "200"]
    assert results[0]["bulkId"] == "u1"
    user = alpha.get(results[0]["location"]).json()
    assert user["userName"] == name and user["active"] is False
    assert results[1]["version"] == user["meta"]["version"] == 'W/"2"'


def test_bulk_put_and_delete(alpha: httpx.Client) -> None:
    first, second = create_user(alpha), create_user(alpha)
    results = bulk(
        alpha,
        {"method": "PUT", "path": f"/Users/{first['id']}",
         "data": user_body(first["userName"], title="Clerk")},
        {"method": "DELETE", "path": f"/Users/{second['id']}"},
    )
    assert [r["status"] for r in results] == ["200", "204"]
    assert alpha.get(f"/Users/{first['id']}").json()["title"] == "Clerk"
    assert alpha.get(f"/Users/{second['id']}").status_code == 404


def test_a_failed_operation_reports_its_scim_error_and_others_still_apply(
    alpha: httpx.Client,
) -> None:
    taken = create_user(alpha)["userName"]
    fresh = unique()
    results = bulk(
        alpha,
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": user_body(taken)},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": user_body(fresh)},
    )
    assert results[0]["status"] == "409"
    assert results[0]["response"]["scimType"] == "uniqueness"
    assert results[1]["status"] == "201"
    assert found_ids(alpha, f'userName eq "{fresh}"')


def test_fail_on_errors_stops_processing(alpha: httpx.Client) -> None:
    skipped = unique()
    results = bulk(
        alpha,
        {"method": "DELETE", "path": "/Users/no-such-id"},
        {"method": "POST", "path": "/Users", "bulkId": "late", "data": user_body(skipped)},
        fail_on_errors=1,
    )
    assert [r["status"] for r in results] == ["404"]
    assert found_ids(alpha, f'userName eq "{skipped}"') == set()


def test_unknown_bulk_id_reference_is_an_error(alpha: httpx.Client) -> None:
    results = bulk(alpha, {"method": "DELETE", "path": "/Users/bulkId:nowhere"})
    assert results[0]["status"] == "400"


def test_bulk_of_many_creates_commits_them_all(alpha: httpx.Client) -> None:
    prefix = unique("many")
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": str(i), "data": user_body(f"{prefix}-{i}")}
        for i in range(50)
    ]
    results = bulk(alpha, *operations)
    assert {r["status"] for r in results} == {"201"}
    listed = alpha.get("/Users", params={"filter": f'userName sw "{prefix}"', "count": 0})
    assert listed.json()["totalResults"] == 50


def test_a_batch_of_posts_refuses_a_user_name_repeated_within_it(alpha: httpx.Client) -> None:
    name = unique()
    results = bulk(
        alpha,
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": user_body(name)},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": user_body(name.upper())},
        {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"userName": 5}},
        {"method": "POST", "path": "/Users", "bulkId": "d", "data": user_body()},
        {"method": "PATCH", "path": "/Users/bulkId:d",
         "data": patch_body({"op": "add", "path": "title", "value": "Coach"})},
    )
    assert [r["status"] for r in results] == ["201", "409", "400", "201", "200"]
    assert results[1]["response"]["scimType"] == "uniqueness"
    assert alpha.get(results[3]["location"]).json()["title"] == "Coach"
    assert found_ids(alpha, f'userName eq "{name}"') == {results[0]["location"].rsplit("/", 1)[1]}

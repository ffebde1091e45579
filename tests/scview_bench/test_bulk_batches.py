"""Bulk POSTs run as one batch, and failOnErrors still stops at the exact operation."""

from __future__ import annotations

import httpx

from tests.scview.conftest import alpha, create_user, found_ids, live, unique, user_body
from tests.scview.test_bulk import bulk

__all__ = ["alpha", "live"]  # the live server fixtures, one per backend for this module


def _post(bulk_id: str, data: object) -> dict[str, object]:
    return {"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": data}


def test_fail_on_errors_cuts_a_batch_of_posts_at_the_last_allowed_error(
    alpha: httpx.Client,
) -> None:
    taken = create_user(alpha)["userName"]
    first, third, never = unique(), unique(), unique()
    results = bulk(
        alpha,
        _post("1", user_body(first)), _post("2", user_body(taken)), _post("3", user_body(third)),
        _post("4", {"userName": 5}), _post("5", user_body(never)),
        fail_on_errors=2,
    )
    assert [r["status"] for r in results] == ["201", "409", "201", "400"]
    assert found_ids(alpha, f'userName eq "{first}"') and found_ids(alpha, f'userName eq "{third}"')
    assert found_ids(alpha, f'userName eq "{never}"') == set()


def test_fail_on_errors_of_one_writes_nothing_after_the_first_error(alpha: httpx.Client) -> None:
    name, later = unique(), unique()
    results = bulk(
        alpha, _post("a", user_body(name)), _post("b", user_body(name.upper())),
        _post("c", user_body(later)), fail_on_errors=1,
    )
    assert [r["status"] for r in results] == ["201", "409"]
    assert found_ids(alpha, f'userName eq "{later}"') == set()


def test_a_thousand_posts_with_fail_on_errors_all_commit(alpha: httpx.Client) -> None:
    prefix = unique("batch")
    operations = [_post(str(i), user_body(f"{prefix}-{i}")) for i in range(1000)]
    results = bulk(alpha, *operations, fail_on_errors=1)
    assert [r["status"] for r in results] == ["201"] * 1000
    listed = alpha.get("/Users", params={"filter": f'userName sw "{prefix}"', "count": 0})
    assert listed.json()["totalResults"] == 1000

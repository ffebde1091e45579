"""meta.version as an ETag, If-Match (412), meta.lastModified, and userName uniqueness."""

from __future__ import annotations

from typing import Any

import httpx

from tests.scview.conftest import create_user, found_ids, patch_body, user_body

TITLE = {"op": "replace", "path": "title", "value": "Principal"}


def test_every_change_is_a_new_version(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    assert created["meta"]["version"] == 'W/"1"'
    patched = alpha.patch(f"/Users/{created['id']}", json=patch_body(TITLE))
    assert patched.json()["meta"]["version"] == 'W/"2"'
    assert patched.headers["etag"] == 'W/"2"'
    assert patched.json()["meta"]["lastModified"] >= created["meta"]["lastModified"]


def test_a_patch_that_changes_nothing_keeps_the_version(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    alpha.patch(f"/Users/{created['id']}", json=patch_body(TITLE))
    again = alpha.patch(f"/Users/{created['id']}", json=patch_body(TITLE))
    assert again.json()["meta"]["version"] == 'W/"2"'


def test_if_match_with_the_current_version_writes(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    response = alpha.patch(f"/Users/{created['id']}", json=patch_body(TITLE),
                           headers={"If-Match": created["meta"]["version"]})
    assert response.status_code == 200


def test_if_match_with_a_stale_version_is_412_and_writes_nothing(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    alpha.patch(f"/Users/{created['id']}", json=patch_body(TITLE))
    stale = {"If-Match": created["meta"]["version"]}
    body = user_body(created["userName"], title="Nurse")
    assert alpha.put(f"/Users/{created['id']}", json=body, headers=stale).status_code == 412
    assert alpha.delete(f"/Users/{created['id']}", headers=stale).status_code == 412
    response = alpha.patch(f"/Users/{created['id']}", json=patch_body(TITLE), headers=stale)
    assert response.status_code == 412
    assert response.json()["status"] == "412"
    assert alpha.get(f"/Users/{created['id']}").json()["title"] == "Principal"


def test_if_match_star_always_matches(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    response = alpha.delete(f"/Users/{created['id']}", headers={"If-Match": "*"})
    assert response.status_code == 204


def test_last_modified_filter_finds_recent_changes(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    since = created["meta"]["lastModified"]
    assert created["id"] in found_ids(alpha, f'meta.lastModified ge "{since}"')
    assert created["id"] not in found_ids(alpha, f'meta.lastModified lt "{since}"')


def test_last_modified_filters_on_a_users_own_published_value(alpha: httpx.Client) -> None:
    """The stored time is the published one, to the millisecond: eq finds the user, gt not.

    Checked after the create and again after a PATCH (the two ways a time is written).
    """
    created = create_user(alpha)
    _own_time_selects_the_user(alpha, created)
    patched = alpha.patch(f"/Users/{created['id']}", json=patch_body(TITLE)).json()
    _own_time_selects_the_user(alpha, patched)


def _own_time_selects_the_user(alpha: httpx.Client, user: dict[str, Any]) -> None:
    own = user["meta"]["lastModified"]
    assert user["id"] in found_ids(alpha, f'meta.lastModified eq "{own}"')
    assert user["id"] in found_ids(alpha, f'meta.lastModified le "{own}"')
    assert user["id"] in found_ids(alpha, f'meta.lastModified ge "{own}"')
    assert user["id"] not in found_ids(alpha, f'meta.lastModified gt "{own}"')
    assert user["id"] not in found_ids(alpha, f'meta.lastModified ne "{own}"')


def test_a_put_that_changes_nothing_keeps_the_version(alpha: httpx.Client) -> None:
    created = create_user(alpha)
    body = {k: v for k, v in created.items() if k not in ("id", "meta")}
    again = alpha.put(f"/Users/{created['id']}", json=body)
    assert again.status_code == 200
    assert again.json()["meta"] == created["meta"]


def test_a_put_answers_what_get_then_returns_with_id_and_created_kept(
    alpha: httpx.Client,
) -> None:
    created = create_user(alpha)
    body = user_body(created["userName"], title="Principal", phoneNumbers=[])
    put = alpha.put(f"/Users/{created['id']}", json=body)
    assert put.status_code == 200 and put.headers["etag"] == 'W/"2"'
    got = alpha.get(f"/Users/{created['id']}")
    assert got.json() == put.json()
    assert got.json()["id"] == created["id"]
    assert got.json()["meta"]["created"] == created["meta"]["created"]
    assert got.json()["title"] == "Principal" and "phoneNumbers" not in got.json()


def test_a_put_to_a_taken_user_name_is_409_and_writes_nothing(alpha: httpx.Client) -> None:
    taken, user = create_user(alpha), create_user(alpha)
    response = alpha.put(f"/Users/{user['id']}", json=user_body(taken["userName"].upper()))
    assert response.status_code == 409 and response.json()["scimType"] == "uniqueness"
    assert alpha.get(f"/Users/{user['id']}").json() == user


def test_a_put_that_changes_the_email_moves_the_email_filter(alpha: httpx.Client) -> None:
    user = create_user(alpha)
    old, new = user["emails"][0]["value"], f"moved-{user['userName']}@example.org"
    body = user_body(user["userName"], emails=[{"value": new, "type": "work"}])
    assert alpha.put(f"/Users/{user['id']}", json=body).status_code == 200
    assert found_ids(alpha, f'emails.value eq "{old}"') == set()
    assert found_ids(alpha, f'emails.value eq "{new}"') == {user["id"]}


def test_a_put_to_an_unknown_id_is_404(alpha: httpx.Client) -> None:
    response = alpha.put("/Users/00000000-0000-0000-0000-000000000000", json=user_body())
    assert response.status_code == 404

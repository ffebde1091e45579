"""Concurrent writes to one user: none is lost, and its e-mail rows follow its last state.

A single-user write reads the user and writes it back only if it is still at the version
read, else reads it again (``users._rewrite``); on PostgreSQL each write is one statement
in autocommit. These tests send many writes to the same user at once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.scview.conftest import (
    LiveScview,
    create_user,
    found_ids,
    patch_body,
    unique,
    user_body,
)

WRITERS = 12


def test_concurrent_patches_that_add_a_phone_each_keep_every_phone(live: LiveScview) -> None:
    with live.client() as client:
        user = create_user(client, phoneNumbers=[])
    numbers = [f"+1-570-555-{index:04d}" for index in range(WRITERS)]

    def add(number: str) -> httpx.Response:
        with live.client() as client:
            operation = {"op": "add", "path": "phoneNumbers",
                         "value": [{"value": number, "type": "work"}]}
            return client.patch(f"/Users/{user['id']}", json=patch_body(operation))

    with ThreadPoolExecutor(WRITERS) as pool:
        answers = list(pool.map(add, numbers))
    assert [answer.status_code for answer in answers] == [200] * WRITERS
    # each write got its own version: none overwrote another's
    versions = sorted(int(answer.json()["meta"]["version"][3:-1]) for answer in answers)
    assert versions == list(range(2, WRITERS + 2))
    with live.client() as client:
        final = client.get(f"/Users/{user['id']}").json()
    assert sorted(phone["value"] for phone in final["phoneNumbers"]) == numbers
    assert final["meta"]["version"] == f'W/"{WRITERS + 1}"'


def test_concurrent_puts_leave_the_email_rows_of_the_last_state(live: LiveScview) -> None:
    with live.client() as client:
        user = create_user(client)
    addresses = [f"{user['userName']}-{index}@example.org" for index in range(WRITERS)]

    def put(address: str) -> int:
        body = user_body(user["userName"], emails=[{"value": address, "type": "work"}])
        with live.client() as client:
            return client.put(f"/Users/{user['id']}", json=body).status_code

    with ThreadPoolExecutor(WRITERS) as pool:
        assert list(pool.map(put, addresses)) == [200] * WRITERS
    with live.client() as client:
        final = client.get(f"/Users/{user['id']}").json()
        last = final["emails"][0]["value"]
        for address in addresses:
            found = client.get("/Users", params={"filter": f'emails.value eq "{address}"'})
            expected = 1 if address == last else 0
            assert found.json()["totalResults"] == expected, address


# --- POSTs arriving together -------------------------------------------------------------
# The new users of POSTs that arrive together share one write (``test_posts_together``);
# each request still gets its own answer, and each user lands in its own tenant.


def post_all(live: LiveScview, bodies: list[tuple[str, dict[str, Any]]]) -> list[httpx.Response]:
    """Each (tenant, body) POSTed from its own thread, all at once."""
    def post(job: tuple[str, dict[str, Any]]) -> httpx.Response:
        with live.client(job[0]) as client:
            return client.post("/Users", json=job[1])

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, bodies))


def test_posts_together_each_create_their_user_with_its_email(live: LiveScview) -> None:
    bodies = [user_body() for _ in range(2 * WRITERS)]
    answers = post_all(live, [("alpha", body) for body in bodies])
    assert [answer.status_code for answer in answers] == [201] * len(bodies)
    with live.client() as client:
        for body, answer in zip(bodies, answers, strict=True):
            created = answer.json()
            assert created["userName"] == body["userName"]
            assert client.get(f"/Users/{created['id']}").json() == created
            address = body["emails"][0]["value"]
            assert found_ids(client, f'emails.value eq "{address}"') == {created["id"]}


def test_posts_together_of_one_user_name_create_it_once(live: LiveScview) -> None:
    name = unique()
    bodies = [user_body(name.upper() if index % 2 else name) for index in range(WRITERS)]
    answers = post_all(live, [("alpha", body) for body in bodies])
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [409] * (WRITERS - 1)
    assert {answer.json()["scimType"] for answer in answers if answer.status_code == 409} == {
        "uniqueness"}
    with live.client() as client:
        assert len(found_ids(client, f'userName eq "{name}"')) == 1


def test_posts_together_to_two_tenants_land_each_in_its_own(live: LiveScview) -> None:
    names = [unique() for _ in range(WRITERS)]
    jobs = [(tenant, user_body(name)) for name in names for tenant in ("alpha", "beta")]
    answers = post_all(live, jobs)
    assert [answer.status_code for answer in answers] == [201] * len(jobs)
    for tenant in ("alpha", "beta"):
        own = {answer.json()["id"] for (made_in, _), answer in zip(jobs, answers, strict=True)
               if made_in == tenant}
        with live.client(tenant) as client:
            listed = set().union(*(found_ids(client, f'userName eq "{name}"') for name in names))
        assert listed == own


def test_a_value_too_long_fails_only_its_own_post(live: LiveScview) -> None:
    bodies = [user_body() for _ in range(WRITERS)]
    bodies[3]["name"]["familyName"] = "J" * 301
    bodies[3]["emails"][0]["type"] = "w" * 51
    answers = post_all(live, [("alpha", body) for body in bodies])
    statuses = [answer.status_code for answer in answers]
    assert statuses == [201] * 3 + [400] + [201] * (WRITERS - 4)
    refused = answers[3].json()
    assert refused["scimType"] == "invalidValue"
    assert "name.familyName (at most 300" in refused["detail"]
    assert "emails[0].type (at most 50" in refused["detail"]
    with live.client() as client:
        assert found_ids(client, f'userName eq "{bodies[3]["userName"]}"') == set()

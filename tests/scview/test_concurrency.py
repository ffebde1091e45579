"""Concurrent writes to one user: none is lost, and its e-mail rows follow its last state.

A single-user write reads the user and writes it back only if it is still at the version
read, else reads it again (``users._rewrite``); on PostgreSQL each write is one statement
in autocommit. These tests send many writes to the same user at once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.scview.conftest import LiveScview, create_user, patch_body, user_body

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

"""POSTs that arrive together share one write: one statement on PostgreSQL
(``users.create``), one transaction on SQLite (``scim.create_together``).

Here they arrive truly together: each is a task on the app's own event loop, all
started in one turn, as a server's loop starts the requests it read in one wake-up.
(Requests from threads of the test process reach the server one at a time.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from staffsync.scview.app import create_app
from staffsync.scview.tenants import create_tenant
from tests.databases import BACKENDS, fresh_database
from tests.scview.conftest import unique, user_body

TOGETHER = 20


@pytest.fixture(params=BACKENDS)
def app_and_token(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, str]]:
    with fresh_database(str(request.param), tmp_path, "together") as url:
        upgrade(url, "scview")
        engine = make_engine(url)
        with transaction(session_factory(engine)) as session:
            token = create_tenant(session, "alpha")
        engine.dispose()
        app = create_app(url)
        yield app, token
        app.state.units.close()
        app.state.engine.dispose()


def send_together(app: Any, token: str, requests: list[tuple[str, str, Any]]) -> list[Any]:
    """Each (method, path, body) as its own task on one new loop; the answers."""
    async def scenario() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://scview/alpha/scim/v2",
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            return await asyncio.gather(*(client.request(method, path, json=body)
                                          for method, path, body in requests))

    with ThreadPoolExecutor(1) as thread:  # the browser tests' loop may run in this one
        return thread.submit(asyncio.run, scenario()).result()


def writes_so_far(app: Any) -> tuple[int, int]:
    """(writes, new users in them) so far, on either backend."""
    batchers = [app.state.creates, *app.state.units.coalesced.values()]
    return (sum(batcher.batches for batcher in batchers),
            sum(batcher.items for batcher in batchers))


def test_posts_arriving_together_share_writes_and_each_gets_its_own_answer(
    app_and_token: tuple[Any, str],
) -> None:
    app, token = app_and_token
    names = [unique() for _ in range(TOGETHER)]
    bodies = [user_body(name) for name in names]
    clash = user_body(names[0].upper())  # the same userName, compared case-insensitively
    too_long = user_body(unique(), name={"givenName": "B", "familyName": "J" * 301})
    answers = send_together(app, token, [("POST", "/Users", body)
                                         for body in [*bodies, clash, too_long]])
    assert [answer.status_code for answer in answers] == [201] * TOGETHER + [409, 400]
    assert answers[TOGETHER].json()["scimType"] == "uniqueness"
    assert "name.familyName" in answers[TOGETHER + 1].json()["detail"]
    writes, users = writes_so_far(app)
    assert users >= TOGETHER + 1  # the clash too (and, on SQLite, the refused one)
    assert writes < TOGETHER / 2  # on average more than two new users a write
    created = [answer.json() for answer in answers[:TOGETHER]]
    got = send_together(app, token, [("GET", f"/Users/{user['id']}", None) for user in created])
    assert [answer.json() for answer in got] == created
    assert [user["userName"] for user in created] == names

"""The SCIM client against any conforming server: discovery, paging, degraded filters."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from staffsync.sync import catalogue as c
from staffsync.sync.mapping import EMPLOYEE_NUMBER, to_scim
from staffsync.sync.push import Outcome, push_user
from staffsync.sync.scim_client import Capabilities, ScimClient, Target, throttle_wait
from tests.sync.conftest import LiveScim
from tests.sync.factories import snapshot
from tests.sync.faults import Proxy, serving


def test_reads_the_service_provider_config(make_live_scim: Callable[..., LiveScim]) -> None:
    live = make_live_scim(bulk={"maxOperations": 50, "maxPayloadSize": 9999},
                          filter={"maxResults": 25})
    with live.client() as client:
        caps = client.check()
    assert caps == Capabilities(patch=True, bulk=True, max_operations=50,
                                max_payload_size=9999, filter=True, max_results=25, etag=True)


def test_pages_through_every_user(make_live_scim: Callable[..., LiveScim]) -> None:
    live = make_live_scim(filter={"maxResults": 7})
    with live.http() as http:
        for n in range(23):
            http.post("/Users", json=to_scim(snapshot(n))).raise_for_status()
    with live.client() as client:
        names = [user["userName"] for user in client.iter_users()]
    assert sorted(names) == sorted(f"user{n}" for n in range(23))


class ShortPages(Proxy):
    """A server that returns fewer users than asked on every page after the first (RFC
    7644 allows it), and counts the discovery requests it forwards."""

    discoveries = 0

    async def forward(self, scope, receive):  # type: ignore[no-untyped-def]
        status, body, headers = await super().forward(scope, receive)
        query = scope["query_string"].decode()
        if scope["path"].endswith("/ServiceProviderConfig"):
            self.discoveries += 1
        elif scope["path"].endswith("/Users") and "startIndex=1&" not in query:
            page = json.loads(body)
            page["Resources"] = page.get("Resources", [])[:3]
            page["itemsPerPage"] = len(page["Resources"])
            body = json.dumps(page).encode()
        return status, body, headers


def test_pages_shorter_than_asked_still_yield_every_user_once(
    make_live_scim: Callable[..., LiveScim],
) -> None:
    live = make_live_scim(filter={"maxResults": 7})
    with live.http() as http:
        for n in range(23):
            http.post("/Users", json=to_scim(snapshot(n))).raise_for_status()
    with serving(ShortPages(live.end_point)) as url, ScimClient(
        Target(url, live.database, live.token)
    ) as client:
        names = [user["userName"] for user in client.iter_users()]
    assert sorted(names) == sorted(f"user{n}" for n in range(23))


def test_discovery_is_shared_by_clients_of_a_tenant_but_test_connection_asks_again(
    live_scim: LiveScim,
) -> None:
    proxy = ShortPages(live_scim.end_point)
    with serving(proxy) as url:
        target = Target(url, live_scim.database, live_scim.token)
        for _ in range(3):
            with ScimClient(target) as client:
                client.capabilities()
        assert proxy.discoveries == 1
        with ScimClient(target) as client:
            client.check()
        assert proxy.discoveries == 2
        with ScimClient(Target(url, live_scim.database, "another-token")) as client:
            with pytest.raises(c.SyncError):
                client.check()
        assert proxy.discoveries == 3


def test_the_token_never_shows() -> None:
    target = Target("https://api.myscview.com/", "district", "tok-123")
    client = ScimClient(target)
    assert "tok-123" not in f"{target!r} {client!r}"
    assert client.base_url == "https://api.myscview.com/district/scim/v2"
    client.close()


def test_an_empty_database_name_is_a_configuration_error() -> None:
    with pytest.raises(c.TokenOrDatabaseIncorrect):
        ScimClient(Target("https://api.myscview.com/", "", "tok"))


def adopt_through(url: str, live: LiveScim) -> Outcome:
    existing = {**to_scim(snapshot()), "externalId": None, "userName": "someone"}
    with live.http() as http:
        http.post("/Users", json=existing).raise_for_status()
    with ScimClient(Target(url, live.database, live.token)) as client:
        return push_user(snapshot(), client).outcome


def test_a_server_that_refuses_the_employee_number_filter_still_adopts(
    live_scim: LiveScim,
) -> None:
    """Some providers only filter core attributes: a 400 there falls back to a scan."""
    refuse = lambda method, target: 400 if f"filter={EMPLOYEE_NUMBER}" in target else None  # noqa: E731
    with serving(Proxy(live_scim.end_point, before=refuse)) as url:
        assert adopt_through(url, live_scim) is Outcome.UPDATED
    (user,) = live_scim.users()
    assert user["externalId"] == "key-1"


def test_a_server_without_filters_still_adopts(make_live_scim: Callable[..., LiveScim]) -> None:
    live = make_live_scim(filter={"supported": False})
    assert adopt_through(live.end_point, live) is Outcome.UPDATED
    assert len(live.users()) == 1


def test_a_server_that_ignores_filters_matches_nothing_wrong(live_scim: LiveScim) -> None:
    """A filter the server silently ignores returns everyone; the client re-checks."""
    drop = lambda method, target: None  # noqa: E731
    with live_scim.http() as http:
        http.post("/Users", json=to_scim(snapshot(2))).raise_for_status()

    class IgnoresFilters(Proxy):
        async def forward(self, scope, receive):  # type: ignore[no-untyped-def]
            query = b"&".join(
                p for p in scope["query_string"].split(b"&") if not p.startswith(b"filter=")
            )
            return await super().forward(dict(scope, query_string=query), receive)

    with serving(IgnoresFilters(live_scim.end_point, before=drop)) as url, ScimClient(
        Target(url, live_scim.database, live_scim.token)
    ) as client:
        assert push_user(snapshot(1), client).outcome is Outcome.CREATED
    assert len(live_scim.users()) == 2


@pytest.mark.parametrize(
    ("retry_after", "attempt", "wait"),
    [
        (None, 0, 0.25),
        (None, 1, 0.5),
        (None, 2, None),
        (3.0, 0, 3.0),
        (0.0, 1, 0.0),
        (60.0, 0, None),
    ],
)
def test_throttle_wait(retry_after: float | None, attempt: int, wait: float | None) -> None:
    assert throttle_wait(retry_after, attempt) == wait


def test_a_throttled_request_is_retried_after_retry_after(live_scim: LiveScim) -> None:
    calls = {"n": 0}

    def throttle_twice(method: str, target: str) -> int | None:
        calls["n"] += 1
        return 429 if calls["n"] <= 2 else None

    with serving(Proxy(live_scim.end_point, before=throttle_twice)) as url, ScimClient(
        Target(url, live_scim.database, live_scim.token)
    ) as client:
        assert push_user(snapshot(), client).outcome is Outcome.CREATED
    assert len(live_scim.users()) == 1


def test_throttling_that_persists_is_reported_with_retry_after(live_scim: LiveScim) -> None:
    always = lambda method, target: 429  # noqa: E731
    with serving(Proxy(live_scim.end_point, before=always)) as url, ScimClient(
        Target(url, live_scim.database, live_scim.token)
    ) as client:
        result = push_user(snapshot(), client)
    assert isinstance(result.error, c.RateLimited)
    assert result.error.retry_after == 0.0 and result.error.retryable

"""GET /Users paged through (RFC 7644 3.4.2.4): every user exactly once, in one order
that holds from page to page (SCView's is userName, the tenant's unique index)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.scview.conftest import LiveScview, create_user, unique


def paged(client: httpx.Client, count: int, **params: Any) -> tuple[list[str], set[int]]:
    """The userNames of every page in turn, and the totalResults each page gave."""
    names: list[str] = []
    totals: set[int] = set()
    while True:
        query = {"startIndex": len(names) + 1, "count": count, **params}
        body = client.get("/Users", params=query).json()
        totals.add(body["totalResults"])
        names += [user["userName"] for user in body["Resources"]]
        if not body["Resources"]:
            return names, totals


def test_paging_returns_every_user_once_in_username_order(live: LiveScview) -> None:
    with live.client("alpha") as alpha, live.client("beta") as beta:
        made = [create_user(alpha, user_name=f"{unique(letter)}")["userName"]
                for letter in "qbxamk"]
        create_user(alpha, user_name=unique("inactive"), active=False)
        create_user(beta, user_name=unique("a"))  # another tenant's user is never listed
        names, totals = paged(alpha, 2, attributes="userName")
        assert len(names) == len(set(names)) == totals.pop() == len(made) + 1 and not totals
        assert names == sorted(names, key=str.lower) and set(made) < set(names)
        active, _ = paged(alpha, 4, filter="active eq true")
        assert active == sorted(made, key=str.lower)

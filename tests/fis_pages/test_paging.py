"""The paging rule under long lists: which page is shown, its "Showing" text (an en dash
between the numbers, written "-" in the table), and the Previous/Next links, which keep
the search."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from staffsync.fis.pages.common import paging


def _request(query: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/hr/staff",
                    "query_string": query.encode(), "headers": []})


@pytest.mark.parametrize(("query", "total", "text", "previous", "next_"), [
    ("", 2027, "Showing 1-50 of 2,027", None, "/hr/staff?page=2"),
    ("page=2", 2027, "Showing 51-100 of 2,027", "/hr/staff?page=1", "/hr/staff?page=3"),
    ("q=ann&page=41", 2027, "Showing 2,001-2,027 of 2,027", "/hr/staff?q=ann&page=40", None),
    ("q=ann&page=99", 2027, "Showing 2,001-2,027 of 2,027", "/hr/staff?q=ann&page=40", None),
    ("page=0", 120, "Showing 1-50 of 120", None, "/hr/staff?page=2"),
    ("page=-3", 120, "Showing 1-50 of 120", None, "/hr/staff?page=2"),
    ("page=two", 120, "Showing 1-50 of 120", None, "/hr/staff?page=2"),
    ("page=2", 100, "Showing 51-100 of 100", "/hr/staff?page=1", None),
    ("", 50, "Showing 1-50 of 50", None, None),
    ("", 1, "Showing 1-1 of 1", None, None),
])
def test_page_text_and_links(query: str, total: int, text: str, previous: str | None,
                             next_: str | None) -> None:
    pages = paging(_request(query), total)
    shown = pages.text.replace("\N{EN DASH}", "-")
    assert (shown, pages.link(pages.number - 1), pages.link(pages.number + 1)) == (
        text, previous, next_)
    assert pages.offset == (pages.number - 1) * 50

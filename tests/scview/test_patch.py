"""PATCH request preparation: Entra's value-path keys become operations with paths."""

from __future__ import annotations

from typing import Any

import pytest

from staffsync.scview.errors import SCIMException
from staffsync.scview.patch import expand_value_paths, parse_patch

WORK = 'emails[type eq "work"].value'

CASES: list[tuple[list[Any], list[Any]]] = [
    ([{"op": "add", "path": "title", "value": "T"}], [{"op": "add", "path": "title", "value": "T"}]
     ),
    ([{"op": "add", "value": {"title": "T"}}], [{"op": "add", "value": {"title": "T"}}]),
    ([{"op": "Add", "value": {WORK: "a@b.org"}}], [{"op": "Add", "path": WORK, "value": "a@b.org"}]
     ),
    (
        [{"op": "Add", "value": {WORK: "a@b.org", "title": "T"}}],
        [{"op": "Add", "path": WORK, "value": "a@b.org"}, {"op": "Add", "value": {"title": "T"}}],
    ),
    ([{"op": "remove", "path": WORK}], [{"op": "remove", "path": WORK}]),
    (["not an object"], ["not an object"]),
]


@pytest.mark.parametrize(("operations", "expected"), CASES)
def test_expand_value_paths(operations: list[Any], expected: list[Any]) -> None:
    assert expand_value_paths({"Operations": operations}) == {"Operations": expected}


@pytest.mark.parametrize("body", [
    [],
    {"Operations": []},
    {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
     "Operations": [{"op": "move", "path": "title"}]},
    {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
     "Operations": [{"op": "add", "path": "noSuchAttribute", "value": 1}]},
])
def test_malformed_patch_bodies_are_scim_400s(body: Any) -> None:
    with pytest.raises(SCIMException) as caught:
        parse_patch(body)
    assert caught.value.status == 400

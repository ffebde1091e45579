"""SCView's fast ``attributes`` projection (what the sync's paged listing asks for) is
held equal to the scim2-models projection it short-cuts, over generated users and
attribute lists."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from scim2_models import Context

from staffsync.scview.fastuser import ENTERPRISE, project_common
from staffsync.scview.resources import project, read_user, response_parameters
from staffsync.sync.mapping import SYNCED_ATTRIBUTES

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
OPTIONAL: dict[str, Any] = {
    "externalId": "key-1",
    "displayName": "Ada L",
    "title": "Teacher",
    "name": {"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace"},
    "active": False,
    "emails": [{"value": "ada@district.example.org", "type": "work", "primary": True}],
    "phoneNumbers": [{"value": "+15705550100", "type": "mobile", "primary": True}],
    ENTERPRISE: {"employeeNumber": "1001", "department": "Science"},
}
PATHS = ["userName", "externalId", "displayName", "title", "name", "active", "emails",
         "phoneNumbers", f"{ENTERPRISE}:employeeNumber", f"{ENTERPRISE}:department",
         "name.givenName", "meta", "nickName", "groups"]


def stored(present: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [CORE], "userName": "ada",
                            **{k: OPTIONAL[k] for k in present}}
    if ENTERPRISE in body:
        body["schemas"].append(ENTERPRISE)
    resource = read_user(body, Context.RESOURCE_CREATION_REQUEST)
    meta = {"resourceType": "User", "created": "2026-01-01T00:00:00Z",
            "lastModified": "2026-01-01T00:00:00Z", "version": 'W/"1"',
            "location": "http://127.0.0.1/d/scim/v2/Users/abc"}
    return {**resource, "id": "abc", "meta": meta}


def case_of(draw: st.DrawFn, path: str) -> str:
    return path.upper() if draw(st.booleans()) else path


@st.composite
def attribute_lists(draw: st.DrawFn) -> list[str]:
    chosen = draw(st.lists(st.sampled_from(PATHS), min_size=1, max_size=6, unique=True))
    return [case_of(draw, path) for path in chosen]


@settings(max_examples=150, deadline=None)
@given(present=st.lists(st.sampled_from(sorted(OPTIONAL)), unique=True),
       attributes=attribute_lists())
def test_fast_projection_equals_scim2_models(present: list[str], attributes: list[str]) -> None:
    resource = stored(present)
    fast = project_common(resource, attributes)
    params = response_parameters(",".join(attributes), None)
    slow = resource_dump(resource, params)
    assert fast is None or fast == slow
    assert project(resource, params) == slow


def resource_dump(resource: dict[str, Any], params: Any) -> dict[str, Any]:
    from staffsync.scview.resources import load_user

    dumped: dict[str, Any] = load_user(resource).model_dump(
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=params)
    return dumped


def test_the_sync_listing_takes_the_fast_path() -> None:
    resource = stored(sorted(OPTIONAL))
    assert project_common(resource, SYNCED_ATTRIBUTES.split(",")) is not None

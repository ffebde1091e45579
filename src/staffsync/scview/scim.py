"""SCIM 2.0 routes of one tenant, under ``/{database}/scim/v2`` (RFC 7644).

Routes are thin: read the request, call one service inside one transaction, and
publish the result. Errors are raised as SCIM exceptions; the app turns them into
SCIM error JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from scim2_models import Context

from staffsync.scview import bulk, users
from staffsync.scview.errors import (
    InvalidValueException,
    MethodNotAllowed,
    NotFoundException,
)
from staffsync.scview.filters import condition
from staffsync.scview.http import (
    ScimResponse,
    authorize,
    base_url,
    blocking,
    parse_json,
    published,
    read_body,
    resource_response,
    tenant_session,
)
from staffsync.scview.patch import parse_patch
from staffsync.scview.resources import (
    MAX_RESULTS,
    RESOURCE_TYPES,
    SCHEMAS,
    SERVICE_PROVIDER_CONFIG,
    located,
    project,
    read_user,
    response_parameters,
)

ENDPOINTS = frozenset({"Users", "Bulk", "ServiceProviderConfig", "Schemas", "ResourceTypes"})
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

router = APIRouter(prefix="/{database}/scim/v2")


@router.post("/Users")
@blocking
def create_user(database: str, request: Request, body: bytes = Depends(read_body)) -> Any:
    with tenant_session(request, database) as (session, tenant):
        user = read_user(parse_json(body), Context.RESOURCE_CREATION_REQUEST)
        created = users.create(session, tenant, user)
    return resource_response(published(created, base_url(request, database)), 201)


@router.get("/Users/{user_id}")
@blocking
def get_user(database: str, user_id: str, request: Request) -> Any:
    with tenant_session(request, database) as (session, tenant):
        params = _projection(request)
        row = users.get(session, tenant, user_id)
    resource = published(row.resource, base_url(request, database))
    return resource_response(resource, body=project(resource, params))


@router.get("/Users")
@blocking
def list_users(database: str, request: Request) -> Any:
    def query() -> Search:
        given = request.query_params
        return given.get("filter"), given.get("startIndex"), given.get("count"), _projection(
            request
        )

    return _search(request, database, query)


@router.post("/.search")  # Users are the only resource type, so the root search is theirs
@router.post("/Users/.search")
@blocking
def search_users(database: str, request: Request, body: bytes = Depends(read_body)) -> Any:
    def query() -> Search:
        search = parse_json(body)
        if not isinstance(search, dict):
            raise InvalidValueException(detail="A search request is a JSON object.")
        params = response_parameters(
            _joined(search.get("attributes")), _joined(search.get("excludedAttributes"))
        )
        return search.get("filter"), search.get("startIndex"), search.get("count"), params

    return _search(request, database, query)


def _joined(value: Any) -> str | None:
    return ",".join(value) if isinstance(value, list) else value


# (filter, startIndex, count, response parameters) of a search, as the client sent them
Search = tuple[Any, Any, Any, Any]


def _search(request: Request, database: str, read_query: Callable[[], Search]) -> ScimResponse:
    """A ListResponse; the query is read only once the tenant is authenticated."""
    with tenant_session(request, database) as (session, tenant):
        filter_text, start, count, params = read_query()
        start_index, page_size = paging(start, count)
        where = condition(filter_text if isinstance(filter_text, str) else None)
        total, found = users.search(session, tenant, where, start_index, page_size)
    base = base_url(request, database)
    return ScimResponse({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(found),
        "Resources": [project(published(item, base), params) for item in found],
    })


def paging(start: Any, count: Any) -> tuple[int, int]:
    """(startIndex, count) per RFC 7644 §3.4.2.4: start < 1 is 1, count is in [0, MAX_RESULTS]."""
    try:
        start_index = max(1, int(start)) if start not in (None, "") else 1
        page_size = int(count) if count not in (None, "") else MAX_RESULTS
    except (TypeError, ValueError):
        raise InvalidValueException(detail="startIndex and count are integers.") from None
    return start_index, min(max(page_size, 0), MAX_RESULTS)


def _projection(request: Request) -> Any:
    query = request.query_params
    return response_parameters(query.get("attributes"), query.get("excludedAttributes"))


@router.put("/Users/{user_id}")
@blocking
def replace_user(
    database: str, user_id: str, request: Request, body: bytes = Depends(read_body)
) -> Any:
    with tenant_session(request, database) as (session, tenant):
        user = read_user(parse_json(body), Context.RESOURCE_REPLACEMENT_REQUEST)
        saved = users.replace(session, tenant, user_id, user, request.headers.get("if-match"))
    return resource_response(published(saved, base_url(request, database)))


@router.patch("/Users/{user_id}")
@blocking
def patch_user(
    database: str, user_id: str, request: Request, body: bytes = Depends(read_body)
) -> Any:
    with tenant_session(request, database) as (session, tenant):
        patch_op, params = parse_patch(parse_json(body)), _projection(request)
        saved = users.patch(session, tenant, user_id, patch_op, request.headers.get("if-match"))
    resource = published(saved, base_url(request, database))
    return resource_response(resource, body=project(resource, params))


@router.delete("/Users/{user_id}")
@blocking
def delete_user(database: str, user_id: str, request: Request) -> Any:
    with tenant_session(request, database) as (session, tenant):
        users.remove(session, tenant, user_id, request.headers.get("if-match"))
    return ScimResponse(None, status_code=204)


@router.post("/Bulk")
@blocking
def bulk_request(database: str, request: Request, body: bytes = Depends(read_body)) -> Any:
    with tenant_session(request, database) as (session, tenant):
        answer = bulk.run(session, tenant, parse_json(body), base_url(request, database))
    return ScimResponse(answer)


@router.get("/ServiceProviderConfig")
@blocking
def service_provider_config(database: str, request: Request) -> Any:
    return _discovery(request, database, SERVICE_PROVIDER_CONFIG)


@router.get("/Schemas")
@blocking
def list_schemas(database: str, request: Request) -> Any:
    return _discovery_list(request, database, SCHEMAS)


@router.get("/Schemas/{schema_id}")
@blocking
def get_schema(database: str, schema_id: str, request: Request) -> Any:
    return _discovery(request, database, _find(SCHEMAS, schema_id))


@router.get("/ResourceTypes")
@blocking
def list_resource_types(database: str, request: Request) -> Any:
    return _discovery_list(request, database, RESOURCE_TYPES)


@router.get("/ResourceTypes/{type_id}")
@blocking
def get_resource_type(database: str, type_id: str, request: Request) -> Any:
    return _discovery(request, database, _find(RESOURCE_TYPES, type_id))


def _find(documents: list[dict[str, Any]], wanted: str) -> dict[str, Any] | None:
    return next((doc for doc in documents if doc["id"] == wanted), None)


def _discovery(request: Request, database: str, document: dict[str, Any] | None) -> Any:
    authorize(request, database)  # discovery is per tenant, so it needs the tenant's token
    if document is None:
        raise NotFoundException(detail="No such discovery document.")
    return ScimResponse(located(document, base_url(request, database)))


def _discovery_list(request: Request, database: str, documents: list[dict[str, Any]]) -> Any:
    authorize(request, database)
    base = base_url(request, database)
    return ScimResponse({
        "schemas": [LIST_RESPONSE],
        "totalResults": len(documents),
        "startIndex": 1,
        "itemsPerPage": len(documents),
        "Resources": [located(doc, base) for doc in documents],
    })


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@blocking
def unknown_endpoint(database: str, rest: str, request: Request) -> Any:
    authorize(request, database)
    if rest.split("/")[0] in ENDPOINTS:
        raise MethodNotAllowed(detail=f"{request.method} is not allowed on /{rest}.")
    raise NotFoundException(detail=f"SCView has no SCIM endpoint /{rest}.")

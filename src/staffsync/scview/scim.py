"""SCIM 2.0 routes of one tenant, under ``/{database}/scim/v2`` (RFC 7644).

Routes are thin: read the request, call one service inside one transaction, and
publish the result. Errors are raised as SCIM exceptions; the app turns them into
SCIM error JSON. They are plain Starlette routes (``ROUTES``), not FastAPI ones:
FastAPI's dependency injection and parameter validation cost about a fifth of a
filtered GET, and these routes read their few parameters themselves.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import orjson
from scim2_models import Context, SCIMException
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from staffsync.kit.db import Units
from staffsync.scview import bulk, users
from staffsync.scview.errors import (
    InvalidValueException,
    MethodNotAllowed,
    NotFoundException,
)
from staffsync.scview.fastfilter import equality
from staffsync.scview.filters import condition
from staffsync.scview.http import (
    ScimResponse,
    authorize,
    base_url,
    blocking,
    error_response,
    parse_json,
    published,
    read_body,
    resource_response,
    tenant_session,
)
from staffsync.scview.patch import parse_patch
from staffsync.scview.projection import json_projection
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

PREFIX = "/{database}/scim/v2"


def create_user(request: Request, database: str, body: bytes) -> Any:
    with tenant_session(request, database, autocommit=True) as (session, tenant):
        user = read_user(parse_json(body), Context.RESOURCE_CREATION_REQUEST)
        created = users.create(session, tenant, user)
    return resource_response(published(created, base_url(request, database)), 201)


async def create_user_endpoint(request: Request) -> Any:
    """POST /Users. On SQLite, the new users of the POSTs that arrive in one turn of the
    loop are written in one transaction (``kit.green.Gathered``, ``create_together``),
    each with its own outcome; on PostgreSQL, see ``users.create``."""
    state = request.app.state
    if not state.inline:
        return await _create_user(request)
    database = request.path_params["database"]
    body = await read_body(request)
    with tenant_session(request, database, reading=True) as (_session, tenant):
        user = read_user(parse_json(body), Context.RESOURCE_CREATION_REQUEST)
    created = await state.creates.submit((tenant, user))
    return resource_response(published(created, base_url(request, database)), 201)


def create_together(
    units: Units, items: list[tuple[int, dict[str, Any]]]
) -> list[dict[str, Any] | SCIMException]:
    """SQLite: new users (tenant id, stored form) in one transaction; each one's outcome,
    so a taken userName refuses only its own POST. Any other failure rolls them all back
    and fails them all."""
    outcomes: list[dict[str, Any] | SCIMException] = []
    with units.unit() as session:
        for tenant, user in items:
            try:
                outcomes.append(users.create(session, tenant, user))
            except SCIMException as refused:
                outcomes.append(refused)
    return outcomes


def get_user(request: Request, database: str, user_id: str) -> Any:
    with tenant_session(request, database, reading=True) as (session, tenant):
        params = _projection(request)
        row = users.get(session, tenant, user_id)
    resource = published(row.resource, base_url(request, database))
    return resource_response(resource, body=project(resource, params))


def list_users(request: Request, database: str) -> Any:
    def query() -> Search:
        given = request.query_params
        return given.get("filter"), given.get("startIndex"), given.get("count"), _projection(
            request
        )

    return _search(request, database, query)


# Users are the only resource type, so the root search (/.search) is theirs
def search_users(request: Request, database: str, body: bytes) -> Any:
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
    with tenant_session(request, database, reading=True) as (session, tenant):
        filter_text, start, count, params = read_query()
        start_index, page_size = paging(start, count)
        text = filter_text if isinstance(filter_text, str) else None
        shown = json_projection(session.get_bind().dialect.name, params)
        if shown is not None and equality(text) is None:  # the sync's listing
            total, texts = users.search_json(session, tenant, condition(text), start_index,
                                             page_size, shown)
            return ScimResponse(_list_response(total, start_index, texts))
        total, found = _found(session, tenant, text, start_index, page_size)
    base = base_url(request, database)
    return ScimResponse({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(found),
        "Resources": [project(published(item, base), params) for item in found],
    })


def _list_response(total: int, start_index: int, resources: list[str]) -> bytes:
    """A ListResponse around resources that are JSON text already."""
    head = orjson.dumps({"schemas": [LIST_RESPONSE], "totalResults": total,
                         "startIndex": start_index, "itemsPerPage": len(resources)})
    return b"%s,\"Resources\":[%s]}" % (head[:-1], ",".join(resources).encode())


def _found(
    session: Session, tenant: int, text: str | None, start_index: int, page_size: int
) -> tuple[int, list[dict[str, Any]]]:
    """users.search on a filter; the usual ``userName eq "..."`` takes the fast path."""
    equal = equality(text)
    if equal is not None:
        return users.search_equal(session, tenant, *equal, start_index, page_size)
    return users.search(session, tenant, condition(text), start_index, page_size)


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


def replace_user(request: Request, database: str, user_id: str, body: bytes) -> Any:
    with tenant_session(request, database, autocommit=True) as (session, tenant):
        user = read_user(parse_json(body), Context.RESOURCE_REPLACEMENT_REQUEST)
        saved = users.replace(session, tenant, user_id, user, request.headers.get("if-match"))
    return resource_response(published(saved, base_url(request, database)))


def patch_user(request: Request, database: str, user_id: str, body: bytes) -> Any:
    with tenant_session(request, database, autocommit=True) as (session, tenant):
        patch_op, params = parse_patch(parse_json(body)), _projection(request)
        saved = users.patch(session, tenant, user_id, patch_op, request.headers.get("if-match"))
    resource = published(saved, base_url(request, database))
    return resource_response(resource, body=project(resource, params))


def delete_user(request: Request, database: str, user_id: str) -> Any:
    with tenant_session(request, database) as (session, tenant):
        users.remove(session, tenant, user_id, request.headers.get("if-match"))
    return ScimResponse(None, status_code=204)


def bulk_request(request: Request, database: str, body: bytes) -> Any:
    with tenant_session(request, database) as (session, tenant):
        answer = bulk.run(session, tenant, parse_json(body), base_url(request, database))
    return ScimResponse(answer)


def service_provider_config(request: Request, database: str) -> Any:
    return _discovery(request, database, SERVICE_PROVIDER_CONFIG)


def list_schemas(request: Request, database: str) -> Any:
    return _discovery_list(request, database, SCHEMAS)


def get_schema(request: Request, database: str, schema_id: str) -> Any:
    return _discovery(request, database, _find(SCHEMAS, schema_id))


def list_resource_types(request: Request, database: str) -> Any:
    return _discovery_list(request, database, RESOURCE_TYPES)


def get_resource_type(request: Request, database: str, type_id: str) -> Any:
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


def unknown_endpoint(request: Request, database: str, rest: str) -> Any:
    authorize(request, database)
    if rest.split("/")[0] in ENDPOINTS:
        raise MethodNotAllowed(detail=f"{request.method} is not allowed on /{rest}.")
    raise NotFoundException(detail=f"SCView has no SCIM endpoint /{rest}.")


def _endpoint(handler: Callable[..., Any]) -> Callable[..., Any]:
    """The endpoint of a handler; one with a ``body`` parameter gets the request body."""
    return blocking(handler, "body" in inspect.signature(handler).parameters)


_create_user = _endpoint(create_user)


def _route(path: str, handler: Callable[..., Any], method: str) -> Route:
    """A route under ``PREFIX``."""
    return Route(PREFIX + path, _endpoint(handler), methods=[method])


ROUTES: list[BaseRoute] = [
    Route(PREFIX + "/Users", create_user_endpoint, methods=["POST"]),
    _route("/Users/{user_id}", get_user, "GET"),
    _route("/Users", list_users, "GET"),
    _route("/.search", search_users, "POST"),
    _route("/Users/.search", search_users, "POST"),
    _route("/Users/{user_id}", replace_user, "PUT"),
    _route("/Users/{user_id}", patch_user, "PATCH"),
    _route("/Users/{user_id}", delete_user, "DELETE"),
    _route("/Bulk", bulk_request, "POST"),
    _route("/ServiceProviderConfig", service_provider_config, "GET"),
    _route("/Schemas", list_schemas, "GET"),
    _route("/Schemas/{schema_id}", get_schema, "GET"),
    _route("/ResourceTypes", list_resource_types, "GET"),
    _route("/ResourceTypes/{type_id}", get_resource_type, "GET"),
    *(_route("/{rest:path}", unknown_endpoint, method)
      for method in ("GET", "POST", "PUT", "PATCH", "DELETE")),
]


# The /Users routes of ROUTES, by (method, whether the path names a user), for ``serve_hot``
_HOT = {
    ("POST", False): create_user_endpoint,
    ("GET", False): _endpoint(list_users),
    ("GET", True): _endpoint(get_user),
    ("PUT", True): _endpoint(replace_user),
    ("PATCH", True): _endpoint(patch_user),
    ("DELETE", True): _endpoint(delete_user),
}


async def serve_hot(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer a request to ``/{database}/scim/v2/Users[/{user_id}]`` (what provisioning
    clients send) straight from its ROUTES handler, without Starlette's and FastAPI's
    middleware and routing (about a sixth of a filtered GET); False for anything else,
    which the app routes as usual. Errors get the same SCIM answer as the app gives."""
    if scope["type"] != "http" or scope.get("root_path"):
        return False
    parts = scope["path"].split("/")  # "", database, "scim", "v2", "Users"[, user_id]
    if not 5 <= len(parts) <= 6 or parts[2:5] != ["scim", "v2", "Users"] or not all(parts[1:]):
        return False
    endpoint = _HOT.get((scope["method"], len(parts) == 6))
    if endpoint is None:
        return False
    params = {"database": parts[1]}
    if len(parts) == 6:
        params["user_id"] = parts[5]
    scope["app"] = app
    scope["path_params"] = params
    try:
        response = await endpoint(Request(scope, receive))
    except Exception as exc:
        response = error_response(exc)
    await response(scope, receive, send)
    return True

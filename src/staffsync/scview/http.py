"""HTTP plumbing shared by the SCIM routes: bodies, responses, the per-request unit of work."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from staffsync.kit.db import Units
from staffsync.kit.green import spawn
from staffsync.scview.errors import (
    InvalidSyntaxException,
    InvalidValueException,
    PayloadTooLargeException,
    error_body,
)
from staffsync.scview.resources import MAX_PAYLOAD
from staffsync.scview.tenants import authenticate

SCIM_JSON = "application/scim+json"


def blocking(route: Callable[..., Any], reads_body: bool = False) -> Callable[..., Any]:
    """A Starlette endpoint calling ``route(request, **path_params[, body=...])``.

    The route blocks on the database. On SQLite it runs inline: SQLite is in-process and
    never waits on a network, so anything else costs more than it overlaps. On
    PostgreSQL it runs in a greenlet on the loop (``kit.green``), whose socket waits let
    the loop serve other requests; each request in flight holds its own connection
    (``kit.db.Units``). A pool of threads instead cost a hop per request and a GIL
    hand-off per round trip.
    """

    @functools.wraps(route)
    async def endpoint(request: Request) -> Any:
        kwargs = dict(request.path_params)
        if reads_body:
            kwargs["body"] = await read_body(request)
        state = request.app.state
        if state.inline:
            return route(request, **kwargs)
        work = functools.partial(route, request, **kwargs)
        return await spawn(functools.partial(state.units.run, work))

    return endpoint


class ScimResponse(Response):
    media_type = SCIM_JSON

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        if isinstance(content, bytes):  # JSON already
            return content
        return orjson.dumps(content)


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 past ``MAX_PAYLOAD`` bytes (before reading it)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_PAYLOAD:
        raise PayloadTooLargeException(detail=f"The body is over {MAX_PAYLOAD} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_PAYLOAD:
            raise PayloadTooLargeException(detail=f"The body is over {MAX_PAYLOAD} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    """The JSON of a body; one with a NUL character (``\\u0000``, which PostgreSQL's
    text and jsonb refuse) is refused on both backends, naming where each one is."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidSyntaxException(detail="The body is not valid JSON.") from exc
    if b"\\u0000" in body:  # JSON writes a NUL only so: no other body needs the walk
        found = _with_nul(parsed, "")
        if found:
            raise InvalidValueException(
                detail=f"NUL characters (\\u0000) are not allowed: {', '.join(found)}.")
    return parsed


def _with_nul(value: Any, path: str) -> list[str]:
    """The paths (``emails[0].value``) of the strings and keys in ``value`` that hold NUL."""
    if isinstance(value, str):
        return [path or "the body"] if "\x00" in value else []
    if isinstance(value, list):
        return [found for index, item in enumerate(value)
                for found in _with_nul(item, f"{path}[{index}]")]
    if isinstance(value, dict):
        found: list[str] = []
        for key, item in value.items():
            inner = f"{path}.{key}" if path else key
            found += [inner] if "\x00" in key else _with_nul(item, inner)
        return found
    return []


@contextmanager
def tenant_session(
    request: Request, database: str, reading: bool = False, autocommit: bool = False
) -> Iterator[tuple[Session, int]]:
    """One transaction for one request (a ``kit.db.Units`` unit on one of its held
    connections), opened by authenticating its tenant. A ``reading`` one (GET, search)
    takes no write lock on SQLite, so reads neither queue behind writers nor pay a write
    transaction's begin and commit, and runs in autocommit on PostgreSQL; so does an
    ``autocommit`` one, whose every write is one statement."""
    state = request.app.state
    units: Units = state.units
    with units.unit(reading, autocommit) as session:
        tenant_id = authenticate(session, database, request.headers.get("authorization"),
                                 state.tokens)
        yield session, tenant_id


def authorize(request: Request, database: str) -> None:
    """Refuse the request unless it carries the token of ``database`` (404/401 otherwise)."""
    with tenant_session(request, database):  # lazy: a remembered token needs no query
        pass


def base_url(request: Request, database: str) -> str:
    """``{scheme}://{host}{root_path}/{database}/scim/v2``: Starlette's ``request.base_url``
    without building and parsing a URL object on every request."""
    host = request.headers.get("host")
    if not host:
        return f"{str(request.base_url).rstrip('/')}/{database}/scim/v2"
    scope = request.scope
    root = scope.get("app_root_path", scope.get("root_path", "")).rstrip("/")
    return f"{scope['scheme']}://{host}{root}/{database}/scim/v2"


def published(resource: dict[str, Any], base: str) -> dict[str, Any]:
    """A stored resource as sent: ``meta.location`` added."""
    meta = {**resource["meta"], "location": f"{base}/Users/{resource['id']}"}
    return {**resource, "meta": meta}


def resource_response(
    resource: dict[str, Any], status: int = 200, body: dict[str, Any] | None = None
) -> ScimResponse:
    """A published resource (or ``body``, a projection of it) with its ETag and Location."""
    headers = {"ETag": resource["meta"]["version"]}
    if status == 201:
        headers["Location"] = resource["meta"]["location"]
    return ScimResponse(resource if body is None else body, status_code=status, headers=headers)


def error_response(exc: Exception) -> ScimResponse:
    """The SCIM error answer to any exception (``errors.error_body`` logs unexpected ones)."""
    status, body = error_body(exc)
    # RFC 7644 §2 / RFC 6750: a 401 names the scheme the client must use
    headers = {"WWW-Authenticate": 'Bearer realm="SCView"'} if status == 401 else None
    return ScimResponse(body, status_code=status, headers=headers)

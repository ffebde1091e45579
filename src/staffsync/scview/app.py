"""SCView's web application: ``create_app(db_url)``.

One place turns every error into SCIM error JSON: a SCIM exception keeps its status and
scimType; anything unexpected is logged with its traceback and answered with a bare 500.
Paths outside ``/{database}/scim/v2/`` answer a plain (non-SCIM) 404, so a client can
tell a wrong End Point from a wrong Database name.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from staffsync.kit.affinity import PIN_VARIABLE, pin_to_a_free_cpu
from staffsync.kit.db import Units, is_sqlite, make_engine, session_factory
from staffsync.kit.green import Gathered, green_connections
from staffsync.kit.settings import get_settings
from staffsync.scview import pages, scim
from staffsync.scview.errors import InvalidValueException, SCIMException
from staffsync.scview.http import error_response
from staffsync.scview.tenants import TokenCache

# connections kept open per process on PostgreSQL (its default max_connections is 100)
POOL_SIZE = 20


class ScviewApp(FastAPI):
    """FastAPI, with the SCIM /Users requests served first by ``scim.serve_hot``."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not await scim.serve_hot(self, scope, receive, send):
            await super().__call__(scope, receive, send)


def create_app(db_url: str) -> FastAPI:
    engine = make_engine(db_url, **_pool(db_url))
    if not is_sqlite(db_url):
        green_connections(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.units.close()
        _hold(app, engine)  # a server may be started again on this app (the tests do)

    app = ScviewApp(title="SCView", docs_url=None, redoc_url=None, openapi_url=None,
                    lifespan=lifespan)
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.inline = is_sqlite(db_url)  # see http.blocking
    _hold(app, engine)
    app.state.tokens = TokenCache()  # see tenants: a rotated token lives on up to its TTL
    app.router.routes.extend(scim.ROUTES)
    app.add_exception_handler(SCIMException, _scim_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _scim_error)
    pages.mount(app)  # the Admin > Users pages
    return app


def _hold(app: FastAPI, engine: Engine) -> None:
    # the SCIM routes' transactions, each on a held connection (see kit.db.Units)
    app.state.units = units = Units(engine, limit=POOL_SIZE)
    app.state.creates = Gathered(functools.partial(scim.create_together, units))  # SQLite


def _pool(db_url: str) -> dict[str, int]:
    """On PostgreSQL, keep up to ``POOL_SIZE`` connections open: the SCIM routes hold
    up to that many (``kit.db.Units``, one per request in flight), opened as they are
    first needed; the Admin pages take theirs from the overflow, opened and closed per
    use. SQLite routes run inline and hold one."""
    if is_sqlite(db_url):
        return {}
    return {"pool_size": POOL_SIZE, "max_overflow": POOL_SIZE}


def app_from_environment() -> FastAPI:
    """The app on ``STAFFSYNC_SCVIEW_DB`` (for ``serve --workers N``, one per process),
    its process pinned to a CPU of its own if ``serve`` was asked to (``--pin-cpus``)."""
    group = os.environ.get(PIN_VARIABLE)
    if group:
        pin_to_a_free_cpu(int(group))
    return create_app(get_settings().scview_url())


async def _scim_error(_request: Request, exc: Exception) -> Response:
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if "/scim/v2" not in request.url.path:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    error = SCIMException(detail=str(exc.detail))
    error.status = exc.status_code
    return await _scim_error(request, error)


async def _validation_error(request: Request, exc: Exception) -> Response:
    return await _scim_error(request, InvalidValueException(detail="Invalid request parameters."))

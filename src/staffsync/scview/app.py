"""SCView's web application: ``create_app(db_url)``.

One place turns every error into SCIM error JSON: a SCIM exception keeps its status and
scimType; anything unexpected is logged with its traceback and answered with a bare 500.
Paths outside ``/{database}/scim/v2/`` answer a plain (non-SCIM) 404, so a client can
tell a wrong End Point from a wrong Database name.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from staffsync.kit.db import is_sqlite, make_engine, session_factory
from staffsync.kit.settings import get_settings
from staffsync.scview import pages, scim
from staffsync.scview.errors import InvalidValueException, SCIMException, error_body
from staffsync.scview.http import ScimResponse
from staffsync.scview.tenants import TokenCache

# connections kept open per process on PostgreSQL (its default max_connections is 100)
POOL_SIZE = 20


def create_app(db_url: str) -> FastAPI:
    engine = make_engine(db_url, **_pool(db_url))
    app = FastAPI(title="SCView", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.inline = is_sqlite(db_url)  # see http.blocking
    app.state.tokens = TokenCache()  # see tenants: a rotated token lives on up to its TTL
    app.router.routes.extend(scim.ROUTES)
    app.add_exception_handler(SCIMException, _scim_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _scim_error)
    pages.mount(app)  # the Admin > Users pages
    return app


def _pool(db_url: str) -> dict[str, int]:
    """On PostgreSQL, keep up to ``POOL_SIZE`` connections open: SQLAlchemy's default
    keeps 5 and closes the rest after each use, so with more requests in flight than
    that (16 in the benchmark) many paid for a new PostgreSQL connection. They are
    opened only as requests need them; up to as many again (anyio's threadpool has 40
    threads) are opened and closed per use. SQLite routes run inline and need one."""
    if is_sqlite(db_url):
        return {}
    return {"pool_size": POOL_SIZE, "max_overflow": POOL_SIZE}


def app_from_environment() -> FastAPI:
    """The app on ``STAFFSYNC_SCVIEW_DB`` (for ``serve --workers N``, one per process)."""
    return create_app(get_settings().scview_url())


async def _scim_error(_request: Request, exc: Exception) -> Response:
    status, body = error_body(exc)
    # RFC 7644 §2 / RFC 6750: a 401 names the scheme the client must use
    headers = {"WWW-Authenticate": 'Bearer realm="SCView"'} if status == 401 else None
    return ScimResponse(body, status_code=status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if "/scim/v2" not in request.url.path:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    error = SCIMException(detail=str(exc.detail))
    error.status = exc.status_code
    return await _scim_error(request, error)


async def _validation_error(request: Request, exc: Exception) -> Response:
    return await _scim_error(request, InvalidValueException(detail="Invalid request parameters."))

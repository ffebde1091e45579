"""The FIS web application: ``create_app(db_url)``.

One handler turns every ``StaffsyncError`` into ``{"code", "message", "fields"?}`` with
the error's status; FastAPI's own request validation errors get the same 422 shape.
Neither ever echoes the submitted values (an SSN must not come back in an error).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from staffsync.fis import api, pages
from staffsync.kit.db import make_engine, session_factory
from staffsync.kit.errors import Conflict, InvalidInput, StaffsyncError


class ConcurrentChange(Conflict):
    """Another change to the same record was saved at the same moment. Try again."""


def create_app(db_url: str, *, echo: bool = False) -> FastAPI:
    """FIS on an already migrated database. SQL parameters are never logged
    (``hide_parameters``), so an SSN digest or a token cannot reach a log line."""
    engine = make_engine(db_url, echo=echo, hide_parameters=True)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(title="FIS", version="1", lifespan=lifespan,
                  description="FIS HR/Payroll: staff, phones, users and settings.")
    app.state.sessions = session_factory(engine)
    app.include_router(api.router)
    pages.mount(app)
    app.add_exception_handler(StaffsyncError, _staffsync_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(IntegrityError, _integrity_error)  # type: ignore[arg-type]
    return app


def error_body(error: StaffsyncError) -> dict[str, object]:
    body: dict[str, object] = {"code": error.code, "message": error.message}
    if isinstance(error, InvalidInput):
        body["fields"] = error.fields
    return body


async def _staffsync_error(_: Request, error: StaffsyncError) -> JSONResponse:
    return JSONResponse(error_body(error), status_code=error.status)


async def _validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
    fields = {_field_name(e["loc"]): _message(e) for e in error.errors()}
    return await _staffsync_error(_, InvalidInput(fields))


async def _integrity_error(request: Request, _: IntegrityError) -> JSONResponse:
    """The services check uniqueness first, so a unique violation means a concurrent
    transaction won a race (e.g. two adds generating the same username on PostgreSQL).
    The database's detail is dropped: it can quote the conflicting value."""
    return await _staffsync_error(request, ConcurrentChange())


def _field_name(loc: tuple[object, ...]) -> str:
    """``("body", "ssn")`` -> ``ssn``; a whole-body problem is ``body``."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _message(error: dict[str, object]) -> str:
    if error.get("type") == "extra_forbidden":
        return "Unknown field"
    return str(error.get("msg", "Invalid value"))

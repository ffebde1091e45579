"""SCIM errors: each class carries its HTTP status and ``scimType`` (RFC 7644 §3.12).

The classes are scim2-models' own exceptions, so a class's meaning is defined once;
SCView adds the few the RFC leaves to the service provider. ``error_body`` is the one
converter from any exception to SCIM error JSON; the app calls it for every route.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from scim2_models import (
    Error,
    InvalidFilterException,
    InvalidSyntaxException,
    InvalidValueException,
    NotFoundException,
    NotImplementedException,
    PayloadTooLargeException,
    PreconditionFailedException,
    SCIMException,
    TooManyException,
    UnauthorizedException,
    UniquenessException,
)

__all__ = [
    "InvalidFilterException",
    "InvalidSyntaxException",
    "InvalidValueException",
    "MethodNotAllowed",
    "NotFoundException",
    "NotImplementedException",
    "PayloadTooLargeException",
    "PreconditionFailedException",
    "SCIMException",
    "TooManyException",
    "UnauthorizedException",
    "UniquenessException",
    "UnknownDatabase",
    "error_body",
    "from_validation_error",
]

log = logging.getLogger(__name__)


class UnknownDatabase(NotFoundException):
    """No SCView database has that name: check the Database name."""


class MethodNotAllowed(SCIMException):
    """That method is not allowed on this endpoint."""

    status = 405


def from_validation_error(exc: ValidationError) -> SCIMException:
    """The SCIM exception for the first problem pydantic found in a request body."""
    return SCIMException.from_error(Error.from_validation_errors(exc)[0])


def error_body(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """(status, SCIM error JSON) for any exception; unexpected ones are logged, never shown."""
    if isinstance(exc, SCIMException):
        return exc.status, exc.to_error().model_dump()
    log.error("unexpected error while serving a SCIM request", exc_info=exc)
    return 500, Error(status=500, detail="Internal server error").model_dump()

"""The base of every error a person can see.

An error class carries its meaning: an HTTP status, a stable ``code``, and a docstring
that is its default message. Each system adds its own subclasses; one handler per app
turns them into a response, so routes never build error bodies by hand.
"""

from __future__ import annotations

from typing import ClassVar


class StaffsyncError(Exception):
    """Something went wrong."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "error"

    def __init__(self, message: str | None = None) -> None:
        # A docstring wrapped over lines is still one sentence to show.
        self.message = message or " ".join((self.__doc__ or "").split())
        super().__init__(self.message)


class NotFound(StaffsyncError):
    """Not found."""

    status = 404
    code = "not_found"


class Conflict(StaffsyncError):
    """That conflicts with existing data."""

    status = 409
    code = "conflict"


class InvalidInput(StaffsyncError):
    """Some fields are not valid. Correct them and save again."""

    status = 422
    code = "invalid_input"

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        self.fields = dict(fields)
        super().__init__(message)

    def __str__(self) -> str:
        named = "; ".join(f"{name}: {why}" for name, why in self.fields.items())
        return f"{self.message} ({named})"

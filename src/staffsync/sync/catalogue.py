"""The error catalogue of the user sync (seed: "Potential Errors"), and its pure rules.

Every failure a person sees is one ``Entry``: the seed's message and resolution, whether
retrying can help, and whether it stops a whole run (a configuration-level cause that
would fail every user the same way) or concerns one user only. Each exception class
carries its entry, so code that catches one knows what to do next without parsing text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from staffsync.kit.errors import StaffsyncError
from staffsync.sync.snapshot import UserSnapshot

SUPPORT = "You may need to contact CSIU Support for assistance: 570-246-5970."
CHECK_EMPLOYEE_ID = (
    "The username is associated with a FIS or SCView system admin user. System users may "
    "include the following usersnames Admin, SCView, or CSIU and are not synced to SCView. "
    "If you receive this error for an actual username, you may want to verify that the "
    "Employee ID is correct in FIS and SCView"
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of the catalogue; ``message`` is a ``str.format`` template."""

    code: str
    message: str
    resolution: str
    retryable: bool
    stops_run: bool


SYSTEM_USER = Entry(
    "system_user", "User sync to SCView failed for: {username}.", CHECK_EMPLOYEE_ID, False, False
)
USERNAME_CONFLICT = replace(SYSTEM_USER, code="username_conflict")
MISSING_FIELDS = Entry(
    "missing_required_fields",
    "Missing Required fields: {fields}",
    "Update the appropriate fields and save again or run the sync again.",
    False,
    False,
)
SERVER_ERROR = Entry(
    "server_error",
    "Response status code does not indicate success: {status} ({reason}).",
    f"The site is down. {SUPPORT}",
    True,
    False,
)
REJECTED = Entry(
    "rejected",
    "Response status code does not indicate success: {status} ({reason}).",
    "SCView refused this user's values. Update the appropriate fields and save again "
    "or run the sync again.",
    False,
    False,
)
SERVICE_DOWN = Entry(
    "service_down",
    "Error when their service is down.",
    f"The sync service or API is down. {SUPPORT}",
    True,
    True,
)
RATE_LIMITED = replace(SERVICE_DOWN, code="rate_limited", stops_run=False)
TOKEN_OR_DATABASE = Entry(
    "token_or_database_incorrect",
    "Error when FIS Third Party Configuration Token or Database name is incorrect.",
    "Verify that the System > Directories > Third Party Configuration Token and/or "
    "Database name is correct.",
    False,
    True,
)
NAME_NOT_RESOLVED = Entry(
    "name_not_resolved",
    "The remote name could not be resolved: '{host}'",
    f"The sync service or API is down. {SUPPORT}",
    True,
    True,
)
END_POINT = Entry(
    "end_point_incorrect",
    "Error when FIS Third Party Configuration End Point is incorrect.",
    "Verify that the System > Directories > Third Party Configuration End Point is correct. "
    "It's typically, https://api.myscview.com/.",
    False,
    True,
)
CATALOGUE: tuple[Entry, ...] = (
    SYSTEM_USER,
    USERNAME_CONFLICT,
    MISSING_FIELDS,
    SERVER_ERROR,
    REJECTED,
    SERVICE_DOWN,
    RATE_LIMITED,
    TOKEN_OR_DATABASE,
    NAME_NOT_RESOLVED,
    END_POINT,
)


class SyncError(StaffsyncError):
    """The user sync to SCView failed."""

    status = 502
    entry: ClassVar[Entry]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "entry" in cls.__dict__:
            cls.code = cls.entry.code

    def __init__(self, detail: str = "", **params: Any) -> None:
        self.detail = detail  # what happened on the wire; never holds the token
        self.params = params
        super().__init__(self.entry.message.format(**params))

    @property
    def resolution(self) -> str:
        return self.entry.resolution

    @property
    def retryable(self) -> bool:
        return self.entry.retryable

    @property
    def stops_run(self) -> bool:
        return self.entry.stops_run

    def as_dict(self) -> dict[str, Any]:
        """The catalogue entry as an API or a sync-run record shows it."""
        return {
            "code": self.code,
            "message": self.message,
            "resolution": self.resolution,
            "retryable": self.retryable,
            "detail": self.detail,
        }

    def __str__(self) -> str:
        return f"{self.message} ({self.detail})" if self.detail else self.message


class UserError(SyncError):
    """This one user cannot be synced; the rest of a run goes on."""

    status = 409


class SystemUser(UserError):
    entry = SYSTEM_USER

    def __init__(self, username: str) -> None:
        super().__init__("system users are never synced", username=username)


class UsernameConflict(UserError):
    entry = USERNAME_CONFLICT

    def __init__(self, username: str, detail: str = "") -> None:
        super().__init__(detail or "SCView holds this username for another Employee ID",
                         username=username)


class MissingRequiredFields(UserError):
    entry = MISSING_FIELDS
    status = 422

    def __init__(self, fields: Iterable[str]) -> None:
        self.fields = tuple(fields)
        super().__init__(fields=", ".join(self.fields))


class ServerError(UserError):
    entry = SERVER_ERROR
    status = 502  # SCView failed, not this request

    def __init__(self, status: int, reason: str, detail: str = "") -> None:
        super().__init__(detail, status=status, reason=reason)


class Rejected(UserError):
    entry = REJECTED
    status = 422

    def __init__(self, status: int, reason: str, detail: str = "") -> None:
        super().__init__(detail, status=status, reason=reason)


class RateLimited(UserError):
    entry = RATE_LIMITED
    status = 503

    def __init__(self, retry_after: float | None, detail: str = "") -> None:
        self.retry_after = retry_after
        super().__init__(detail or "429 Too Many Requests")


class UserGone(UserError):
    """SCView no longer holds the user we matched (deleted meanwhile); push it again."""

    entry = replace(SERVICE_DOWN, code="user_gone", stops_run=False)


class ConfigurationError(SyncError):
    """Every user would fail the same way: the run stops once, with this error."""


class ServiceDown(ConfigurationError):
    entry = SERVICE_DOWN
    status = 503


class TokenOrDatabaseIncorrect(ConfigurationError):
    entry = TOKEN_OR_DATABASE


class NameNotResolved(ConfigurationError):
    entry = NAME_NOT_RESOLVED

    def __init__(self, host: str, detail: str = "") -> None:
        super().__init__(detail, host=host)


class EndPointIncorrect(ConfigurationError):
    entry = END_POINT


DEFAULT_SYSTEM_USERS: frozenset[str] = frozenset({"admin", "scview", "csiu"})

# Seed order of the Missing Required fields check: attribute -> the name a person reads.
REQUIRED_FIELDS: tuple[tuple[str, str], ...] = (
    ("username", "Username"),
    ("staff_id", "Staff ID"),
    ("first_name", "First Name"),
    ("last_name", "Last Name"),
    ("email", "Email Address"),
)


def is_system_user(username: str, system_users: Iterable[str] = DEFAULT_SYSTEM_USERS) -> bool:
    """True when ``username`` (trimmed, case-insensitive) is in ``system_users``."""
    names = _folded(system_users) if isinstance(system_users, frozenset) else _fold(system_users)
    return username.strip().casefold() in names


def _fold(names: Iterable[str]) -> frozenset[str]:
    return frozenset(name.strip().casefold() for name in names)


_folded = functools.lru_cache(maxsize=16)(_fold)  # a sync all asks once per user


def missing_fields(snapshot: UserSnapshot) -> tuple[str, ...]:
    """The names of the required fields that are empty or blank, in the seed's order."""
    return tuple([
        label for attr, label in REQUIRED_FIELDS if not (getattr(snapshot, attr) or "").strip()
    ])


def precheck(
    snapshot: UserSnapshot, system_users: Iterable[str] = DEFAULT_SYSTEM_USERS
) -> UserError | None:
    """The error that forbids sending this user at all, or None when it may be sent."""
    if is_system_user(snapshot.username or "", system_users):
        return SystemUser(snapshot.username)
    missing = missing_fields(snapshot)
    return MissingRequiredFields(missing) if missing else None

"""Sync one user: an idempotent upsert of one snapshot into SCView, pure of FIS storage.

The result is created, updated, unchanged, skipped (a system user) or failed with its
catalogue entry. A retry after a lost answer finds the user by externalId, so it never
creates a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from staffsync.sync.catalogue import (
    DEFAULT_SYSTEM_USERS,
    SyncError,
    SystemUser,
    UserError,
    UserGone,
    precheck,
)
from staffsync.sync.mapping import (
    EMPLOYEE_NUMBER,
    comparable_of_snapshot,
    differing,
    patch_operations,
    to_scim,
)
from staffsync.sync.matching import Remote, choose, remote_of
from staffsync.sync.scim_client import ScimClient
from staffsync.sync.snapshot import UserSnapshot


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Result:
    """One user's outcome; ``changed`` names the synced fields that were written."""

    username: str
    outcome: Outcome
    changed: tuple[str, ...] = ()
    error: SyncError | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "outcome": self.outcome.value,
            "changed": list(self.changed),
            "error": self.error.as_dict() if self.error else None,
        }


def refused(snapshot: UserSnapshot, error: UserError) -> Result:
    """A user that must not be sent: system users are skipped, the rest failed."""
    outcome = Outcome.SKIPPED if isinstance(error, SystemUser) else Outcome.FAILED
    return Result(snapshot.username, outcome, error=error)


def push_user(
    snapshot: UserSnapshot,
    client: ScimClient,
    system_users: Iterable[str] = DEFAULT_SYSTEM_USERS,
) -> Result:
    """Make SCView hold ``snapshot``; every failure comes back as a catalogue entry."""
    blocked = precheck(snapshot, system_users)
    if blocked is not None:
        return refused(snapshot, blocked)
    try:
        try:
            return upsert(snapshot, client)
        except UserGone:  # deleted in SCView between our read and our write
            return upsert(snapshot, client)
    except SyncError as error:
        return Result(snapshot.username, Outcome.FAILED, error=error)


def upsert(snapshot: UserSnapshot, client: ScimClient) -> Result:
    remote = find_remote(snapshot, client)
    if remote is None:
        client.create(to_scim(snapshot))
        return Result(snapshot.username, Outcome.CREATED)
    changed = differing(comparable_of_snapshot(snapshot), remote.values)
    if not changed:
        return Result(snapshot.username, Outcome.UNCHANGED)
    update(client, remote.id, snapshot, changed)
    return Result(snapshot.username, Outcome.UPDATED, changed)


def find_remote(snapshot: UserSnapshot, client: ScimClient) -> Remote | None:
    """Look up by externalId, then Employee ID, then userName, stopping at the first hit."""
    by_external = _first(client.search("externalId", snapshot.staff_key))
    if by_external is not None:
        return by_external
    by_employee = _first(client.search(EMPLOYEE_NUMBER, snapshot.staff_id or ""))
    by_username = _first(client.search("userName", snapshot.username))
    return choose(snapshot, None, by_employee, by_username)


def _first(users: list[dict[str, Any]]) -> Remote | None:
    return remote_of(users[0]) if users else None


def update(
    client: ScimClient, user_id: str, snapshot: UserSnapshot, changed: tuple[str, ...]
) -> None:
    """PATCH only what differs when the server can; else PUT the whole mapped user."""
    if client.capabilities().patch:
        client.patch(user_id, patch_operations(snapshot, changed), snapshot.username)
    else:
        client.replace(user_id, {"id": user_id, **to_scim(snapshot)})

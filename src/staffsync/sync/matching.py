"""Which SCView user is this FIS user? One pure rule, shared by sync-one and sync-all.

Match by externalId (our staff key), then by Employee ID, then by userName (DESIGN.md
"The sync state"). An existing user with our Employee ID is adopted; a user that holds
our userName but belongs to another Employee ID (or another staff key) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from staffsync.sync.catalogue import UsernameConflict
from staffsync.sync.mapping import Comparable, comparable_of_scim
from staffsync.sync.snapshot import UserSnapshot


@dataclass(frozen=True, slots=True)
class Remote:
    """A SCView user as the sync remembers it: its id and its synced values only."""

    id: str
    values: Comparable


def remote_of(user: dict[str, Any]) -> Remote:
    return Remote(str(user["id"]), comparable_of_scim(user))


def _belongs_to(remote: Remote, snapshot: UserSnapshot) -> bool:
    """No other staff key and no other Employee ID claims ``remote``."""
    values = remote.values
    return values.external_id in (None, snapshot.staff_key) and values.employee_number in (
        None,
        snapshot.staff_id,
    )


def choose(
    snapshot: UserSnapshot,
    by_external: Remote | None,
    by_employee: Remote | None,
    by_username: Remote | None,
) -> Remote | None:
    """The user to update (None: create one), or raise ``UsernameConflict``.

    ``by_username`` is the user holding ``snapshot.username``; it must be this same
    user or nobody, else writing would take another employee's userName.
    """
    chosen = by_external or by_employee or by_username
    if chosen is not None and chosen is not by_external and not _belongs_to(chosen, snapshot):
        raise UsernameConflict(
            snapshot.username, "SCView holds this user for another Employee ID"
        )
    if by_username is not None and (chosen is None or by_username.id != chosen.id):
        raise UsernameConflict(snapshot.username)
    return chosen

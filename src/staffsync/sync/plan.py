"""Sync all as a reconciliation: the pure plan of what to write, from both sides' state.

Given FIS's snapshots and SCView's users (paged), each FIS user becomes one ``Step``:
create, update (naming the fields that differ), unchanged, conflict, skipped (a system
user) or invalid (Missing Required fields). SCView users that no FIS user matches are
reported as unknown and never deleted. Only the synced values of SCView's users are
kept (``Remote``), never whole resources, so memory is a few small strings per user.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from staffsync.sync.catalogue import (
    DEFAULT_SYSTEM_USERS,
    SystemUser,
    UserError,
    UsernameConflict,
    precheck,
)
from staffsync.sync.mapping import comparable_of_snapshot, differing
from staffsync.sync.matching import Remote, choose, remote_of
from staffsync.sync.snapshot import UserSnapshot


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"
    SKIPPED = "skipped"
    INVALID = "invalid"


WRITES = frozenset({Action.CREATE, Action.UPDATE})


@dataclass(frozen=True, slots=True)
class Step:
    """What to do for one FIS user; ``snapshot`` is kept only when there is a write."""

    username: str
    action: Action
    changed: tuple[str, ...] = ()
    remote_id: str | None = None
    snapshot: UserSnapshot | None = None
    error: UserError | None = None

    def as_dict(self) -> dict[str, Any]:
        """The step as a dry run shows it (never the snapshot's values)."""
        return {"username": self.username, "action": self.action.value,
                "changed": list(self.changed),
                "error": self.error.as_dict() if self.error else None}


class RemoteIndex:
    """SCView's users by id, with lookups by externalId, Employee ID and userName."""

    def __init__(self, users: Iterable[dict[str, Any]] = ()) -> None:
        self.by_id: dict[str, Remote] = {}
        self.by_external: dict[str, str] = {}
        self.by_employee: dict[str, str] = {}
        self.by_username: dict[str, str] = {}  # casefolded: userName is caseExact=false
        for user in users:
            self.add(remote_of(user))

    def add(self, remote: Remote) -> None:
        self.by_id[remote.id] = remote
        values = remote.values
        for index, key in (
            (self.by_external, values.external_id),
            (self.by_employee, values.employee_number),
            (self.by_username, (values.user_name or "").casefold()),
        ):
            if key:
                index.setdefault(key, remote.id)

    def _get(self, index: dict[str, str], key: str | None) -> Remote | None:
        found = index.get(key) if key else None
        return self.by_id[found] if found else None

    def lookup(self, snapshot: UserSnapshot) -> tuple[Remote | None, Remote | None, Remote | None]:
        """The users matching by externalId, by Employee ID and by userName."""
        return (
            self._get(self.by_external, snapshot.staff_key),
            self._get(self.by_employee, snapshot.staff_id),
            self._get(self.by_username, snapshot.username.casefold()),
        )


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # SCView userNames FIS does not know

    @property
    def writes(self) -> list[Step]:
        return [step for step in self.steps if step.action in WRITES]

    @property
    def changes(self) -> list[Step]:
        """Every step but "unchanged": what a dry run lists, user by user."""
        return [step for step in self.steps if step.action is not Action.UNCHANGED]

    def counts(self) -> Counter[str]:
        return Counter(step.action.value for step in self.steps)


def plan_user(
    snapshot: UserSnapshot, index: RemoteIndex, system_users: Iterable[str]
) -> tuple[Step, str | None]:
    """The step for one FIS user and the id of the SCView user it claims (if any)."""
    blocked = precheck(snapshot, system_users)
    if blocked is not None:
        action = Action.SKIPPED if isinstance(blocked, SystemUser) else Action.INVALID
        return Step(snapshot.username, action, error=blocked), None
    try:
        remote = choose(snapshot, *index.lookup(snapshot))
    except UsernameConflict as conflict:
        return Step(snapshot.username, Action.CONFLICT, error=conflict), None
    if remote is None:
        return Step(snapshot.username, Action.CREATE, snapshot=snapshot), None
    changed = differing(comparable_of_snapshot(snapshot), remote.values)
    if not changed:
        return Step(snapshot.username, Action.UNCHANGED, remote_id=remote.id), remote.id
    return Step(snapshot.username, Action.UPDATE, changed, remote.id, snapshot), remote.id


def make_plan(
    snapshots: Iterable[UserSnapshot],
    remote_users: RemoteIndex | Iterable[dict[str, Any]],
    system_users: Iterable[str] = DEFAULT_SYSTEM_USERS,
    system_accounts: Iterable[str] = (),
) -> Plan:
    """The reconciliation plan.

    ``system_accounts`` are FIS's own system users (they have no staff record, so no
    snapshot): each is a skipped step, never sent. SCView users that no snapshot claims
    end up in ``unknown``, except SCView's own system users (they are never synced, so
    they are not news).
    """
    index = remote_users if isinstance(remote_users, RemoteIndex) else RemoteIndex(remote_users)
    names = frozenset(name.casefold() for name in system_users)
    plan, claimed = Plan(), set()
    plan.steps += [Step(name, Action.SKIPPED, error=SystemUser(name)) for name in system_accounts]
    for snapshot in snapshots:
        step, remote_id = plan_user(snapshot, index, names)
        plan.steps.append(step)
        claimed.add(remote_id)
    plan.unknown = sorted(
        remote.values.user_name or remote.id
        for remote in index.by_id.values()
        if remote.id not in claimed and (remote.values.user_name or "").casefold() not in names
    )
    return plan

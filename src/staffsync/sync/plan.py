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
    return matched(snapshot, remote), remote.id


def matched(snapshot: UserSnapshot, remote: Remote) -> Step:
    """The step for a FIS user whose SCView user is ``remote``: unchanged or update."""
    changed = differing(comparable_of_snapshot(snapshot), remote.values)
    if not changed:
        return Step(snapshot.username, Action.UNCHANGED, remote_id=remote.id)
    return Step(snapshot.username, Action.UPDATE, changed, remote.id, snapshot)


class Planner:
    """``make_plan`` fed as SCView's pages arrive, so little is left when the last one does.

    Feed it SCView's users (``add_remote``) and, whenever it is read, FIS's snapshots
    (``add_fis``), in either order. Once both are there, an arriving SCView user whose
    externalId is a FIS user's staff key and who also holds that user's userName is that
    user's match whatever the later pages hold (the index keeps the first user of each
    key, and ``choose`` takes the externalId match when it also holds the userName), so
    that FIS user is decided at once. ``plan()`` decides the rest against the full index;
    the plan is the one ``make_plan`` makes from the same users.
    """

    def __init__(self, system_users: Iterable[str] = DEFAULT_SYSTEM_USERS,
                 system_accounts: Iterable[str] = (), index: RemoteIndex | None = None) -> None:
        self.index = index if index is not None else RemoteIndex()
        self.names = frozenset(name.casefold() for name in system_users)
        self.accounts = list(system_accounts)
        self.snapshots: list[UserSnapshot] | None = None
        self.by_key: dict[str, int] = {}  # staff key -> position in ``snapshots``
        self.decided: dict[int, Step] = {}
        self.waiting: list[Remote] = []  # SCView users that arrived before FIS was read

    def add_remote(self, user: dict[str, Any]) -> None:
        remote = remote_of(user)
        self.index.add(remote)
        if self.snapshots is None:
            self.waiting.append(remote)
        else:
            self._decide(remote)

    def add_fis(self, snapshots: list[UserSnapshot]) -> None:
        self.snapshots = snapshots
        self.by_key = {snap.staff_key: i for i, snap in enumerate(snapshots) if snap.staff_key}
        for remote in self.waiting:
            self._decide(remote)
        self.waiting = []

    def _decide(self, remote: Remote) -> None:
        assert self.snapshots is not None
        key = remote.values.external_id or ""
        position = self.by_key.get(key)
        if position is None:
            return
        snapshot = self.snapshots[position]
        index = self.index
        if (index.by_external.get(key) != remote.id
                or index.by_username.get(snapshot.username.casefold()) != remote.id
                or precheck(snapshot, self.names) is not None):
            return  # not the sure case: decided with the full index
        self.decided[position] = matched(snapshot, remote)

    def plan(self) -> Plan:
        """The plan, once every SCView user and FIS's snapshots are in."""
        plan, claimed = Plan(), set()
        plan.steps += [Step(name, Action.SKIPPED, error=SystemUser(name))
                       for name in self.accounts]
        for position, snapshot in enumerate(self.snapshots or ()):
            step = self.decided.get(position)
            if step is None:
                step, remote_id = plan_user(snapshot, self.index, self.names)
            else:
                remote_id = step.remote_id
            plan.steps.append(step)
            claimed.add(remote_id)
        plan.unknown = sorted(
            remote.values.user_name or remote.id
            for remote in self.index.by_id.values()
            if remote.id not in claimed
            and (remote.values.user_name or "").casefold() not in self.names
        )
        return plan


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
    given = remote_users if isinstance(remote_users, RemoteIndex) else None
    planner = Planner(system_users, system_accounts, given)
    planner.add_fis(list(snapshots))
    for user in () if isinstance(remote_users, RemoteIndex) else remote_users:
        planner.add_remote(user)
    return planner.plan()

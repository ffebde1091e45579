"""The reconciliation plan and the /Bulk batching rule, as pure functions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staffsync.sync import catalogue as c
from staffsync.sync.catalogue import DEFAULT_SYSTEM_USERS
from staffsync.sync.executor import BULK_ENVELOPE, batches
from staffsync.sync.mapping import ENTERPRISE, to_scim
from staffsync.sync.plan import Action, Plan, Planner, RemoteIndex, make_plan, plan_user
from tests.sync.factories import snapshot


def scview(n: int, **changes: Any) -> dict[str, Any]:
    """SCView's copy of ``snapshot(n)``, with an id and optional drift."""
    user = {"id": f"id-{n}", **to_scim(snapshot(n)), **changes}
    return {k: v for k, v in user.items() if v is not None}


def test_every_kind_of_step() -> None:
    fis = [
        snapshot(1),  # in SCView, same values
        snapshot(2, first_name="Grace"),  # in SCView, drifted
        snapshot(3),  # not in SCView
        snapshot(4, username="taken"),  # its userName belongs to another employee
        snapshot(5, username="Admin"),  # a system user
        snapshot(6, email=None),  # cannot be sent
        snapshot(7),  # in SCView under its Employee ID only: adopted
    ]
    remote = [
        scview(1),
        scview(2),
        scview(40, userName="taken"),
        scview(7, externalId=None, userName="old7"),
        scview(8, userName="stranger"),
        scview(9, userName="scview"),  # SCView's own system user: not reported
    ]
    plan = make_plan(fis, remote)
    assert [(s.username, s.action) for s in plan.steps] == [
        ("user1", Action.UNCHANGED),
        ("user2", Action.UPDATE),
        ("user3", Action.CREATE),
        ("taken", Action.CONFLICT),
        ("Admin", Action.SKIPPED),
        ("user6", Action.INVALID),
        ("user7", Action.UPDATE),
    ]
    assert plan.steps[1].changed == ("given_name",)
    assert plan.steps[6].changed == ("external_id", "user_name")
    assert plan.steps[6].remote_id == "id-7"
    assert isinstance(plan.steps[3].error, c.UsernameConflict)
    assert plan.unknown == ["stranger", "taken"]
    assert [s.username for s in plan.writes] == ["user2", "user3", "user7"]


def test_employee_id_held_under_another_staff_key_is_a_conflict() -> None:
    plan = make_plan([snapshot(1)], [scview(1, externalId="key-other", userName="x")])
    assert plan.steps[0].action is Action.CONFLICT


def test_username_matches_case_insensitively() -> None:
    remote = scview(1, externalId=None, userName="USER1")
    remote[ENTERPRISE] = {}
    plan = make_plan([snapshot(1)], [remote])
    assert plan.steps[0].action is Action.UPDATE
    assert plan.steps[0].remote_id == "id-1"


def test_only_unchanged_means_no_writes() -> None:
    plan = make_plan([snapshot(n) for n in range(5)], [scview(n) for n in range(5)])
    assert plan.writes == []
    assert plan.counts() == {"unchanged": 5}


@pytest.mark.parametrize(
    ("sizes", "max_ops", "max_bytes", "expected"),
    [
        ([10, 10, 10], 2, 0, [[0, 1], [2]]),
        ([10] * 4, 10, BULK_ENVELOPE + 22, [[0, 1], [2, 3]]),
        ([10, 10_000, 10], 10, BULK_ENVELOPE + 100, [[0], [1], [2]]),
        ([], 5, 0, []),
        ([1] * 3, 1000, 0, [[0, 1, 2]]),
    ],
)
def test_bulk_batches(sizes: list[int], max_ops: int, max_bytes: int, expected: list) -> None:
    sized = [(i, size) for i, size in enumerate(sizes)]
    assert list(batches(sized, max_ops, max_bytes)) == expected


# -- the plan made as pages arrive ------------------------------------------------------

pool = st.sampled_from
remote_users = st.lists(
    st.fixed_dictionaries({
        "externalId": st.one_of(st.none(), pool([f"key-{n}" for n in range(4)])),
        "userName": pool(["user0", "user1", "USER2", "user3", "other", "admin"]),
        "givenName": pool(["Ada", "Grace"]),
        "employeeNumber": st.one_of(st.none(), pool([f"{10000 + n}" for n in range(4)])),
    }),
    max_size=8,
)
fis_users = st.lists(
    st.tuples(st.integers(0, 3), pool([None, "user1", "other", "Admin"]),
              pool([None, "key-2"])),
    max_size=5,
)


def as_scim(n: int, user: dict[str, Any]) -> dict[str, Any]:
    """A SCView user of the strategy above, with the values of no snapshot in particular."""
    base = to_scim(snapshot(0))
    enterprise = {"employeeNumber": user["employeeNumber"]} if user["employeeNumber"] else {}
    found = {**base, "id": f"id-{n}", "userName": user["userName"],
             "externalId": user["externalId"], ENTERPRISE: enterprise,
             "name": {**base["name"], "givenName": user["givenName"]}}
    return {k: v for k, v in found.items() if v}


def described(plan: Plan) -> tuple[list[tuple[Any, ...]], list[str]]:
    steps = [(s.username, s.action, s.changed, s.remote_id, s.snapshot,
              s.error.as_dict() if s.error else None) for s in plan.steps]
    return steps, plan.unknown


@settings(max_examples=300, deadline=None)
@given(remote_users, fis_users, st.integers(0, 8))
def test_planning_as_pages_arrive_makes_the_plan_of_the_whole_listing(
    remote: list[dict[str, Any]], fis: list[tuple[int, str | None, str | None]], fis_at: int
) -> None:
    listed = [as_scim(n, user) for n, user in enumerate(remote)]
    snaps = [snapshot(n, **({"username": name} if name else {}),
                      **({"staff_key": key} if key else {})) for n, name, key in fis]
    index = RemoteIndex(listed)  # the reference: every user decided on the full index
    names = frozenset(name.casefold() for name in DEFAULT_SYSTEM_USERS)
    whole = Plan([plan_user(s, index, names)[0] for s in snaps])
    claimed = {plan_user(s, index, names)[1] for s in snaps}
    whole.unknown = sorted(r.values.user_name or r.id for r in index.by_id.values()
                           if r.id not in claimed
                           and (r.values.user_name or "").casefold() not in names)
    planner = Planner()  # FIS read after ``fis_at`` SCView users arrived
    for position, user in enumerate(listed):
        if position == fis_at:
            planner.add_fis(snaps)
        planner.add_remote(user)
    if planner.snapshots is None:
        planner.add_fis(snaps)
    assert described(planner.plan()) == described(whole)

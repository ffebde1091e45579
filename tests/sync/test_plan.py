"""The reconciliation plan and the /Bulk batching rule, as pure functions."""

from __future__ import annotations

from typing import Any

import pytest

from staffsync.sync import catalogue as c
from staffsync.sync.executor import BULK_ENVELOPE, batches
from staffsync.sync.mapping import ENTERPRISE, to_scim
from staffsync.sync.plan import Action, make_plan
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

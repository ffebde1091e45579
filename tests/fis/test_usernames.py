"""The username pattern policy: a pure function checked against a table."""

from __future__ import annotations

import pytest

from staffsync.fis import usernames

PATTERN = "{first_initial}{last_name}"


@pytest.mark.parametrize(
    ("pattern", "first", "last", "expected"),
    [
        (PATTERN, "Jane", "Smith", "jsmith"),
        (PATTERN, "José", "Núñez", "jnunez"),
        (PATTERN, "Mary", "O'Brien-Watts", "mobrienwatts"),
        (PATTERN, " Ann ", " de la Cruz ", "adelacruz"),
        (PATTERN, "Zoë", "Ångström", "zangstrom"),
        ("{first_name}.{last_name}", "Jane", "Smith", "janesmith"),
        ("{last_name}{first_initial}", "Jane", "Smith", "smithj"),
        ("{first_initial}{last_initial}", "Jane", "Smith", "js"),
        (PATTERN, "李", "王", usernames.FALLBACK),
        (PATTERN, "A", "B" * 100, "a" + "b" * (usernames.MAX_LENGTH - 5)),
    ],
)
def test_base_fills_folds_and_cuts(pattern: str, first: str, last: str, expected: str) -> None:
    assert usernames.base(pattern, first, last) == expected


@pytest.mark.parametrize(
    ("taken", "expected"),
    [
        (set(), "jsmith"),
        ({"jsmith"}, "jsmith2"),
        ({"jsmith", "jsmith2"}, "jsmith3"),
        ({"jsmith", "jsmith3"}, "jsmith2"),
        ({"jsmith2"}, "jsmith"),
        ({"jsmithson"}, "jsmith"),
    ],
)
def test_pick_free_appends_the_smallest_free_number(taken: set[str], expected: str) -> None:
    assert usernames.pick_free("jsmith", taken) == expected


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        (PATTERN, None),
        ("{last_name}{first_initial}", None),
        ("{nickname}", "Unknown placeholder {nickname}"),
        ("staff", "Pattern must use at least one name placeholder"),
        ("{first_name", "Pattern has an unbalanced brace"),
    ],
)
def test_check_pattern(pattern: str, problem: str | None) -> None:
    why = usernames.check_pattern(pattern)
    assert (why is None) if problem is None else (why is not None and why.startswith(problem))


@pytest.mark.parametrize(
    ("username", "ok"),
    [("jsmith", True), ("j.smith@district", True), ("a" * 64, True), ("a" * 65, False),
     ("", False), ("-jsmith", False), ("j smith", False)],
)
def test_hand_entered_usernames(username: str, ok: bool) -> None:
    assert (usernames.check_hand_entered(username) is None) is ok

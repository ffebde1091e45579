"""Staff Search finds partial names (inside a name too) and counts what it finds, on both
backends; the Users search counts as well. The database does the matching."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session

from staffsync.fis import staff, users
from tests.fis.conftest import create_staff


def _names(found: list[staff.Staff]) -> list[str]:
    return [f"{s.last_name}, {s.first_name}" for s in found]


def test_a_part_inside_a_name_matches_case_insensitively(session: Session) -> None:
    create_staff(session, last_name="Keller-Brandt", first_name="Ursula")
    create_staff(session, last_name="Brandt", first_name="Otto")
    create_staff(session, last_name="Kellerman", first_name="Anne")
    assert _names(staff.search(session, "brandt", 10, 0)) == [
        "Brandt, Otto", "Keller-Brandt, Ursula"]
    assert _names(staff.search(session, " BRANDT ", 10, 0)) == [
        "Brandt, Otto", "Keller-Brandt, Ursula"]
    assert _names(staff.search(session, "ller", 10, 0)) == [
        "Keller-Brandt, Ursula", "Kellerman, Anne"]
    assert _names(staff.search(session, "rsul", 10, 0)) == ["Keller-Brandt, Ursula"]
    assert staff.count(session, "brandt") == 2


def test_like_wildcards_in_the_search_are_plain_characters(session: Session) -> None:
    create_staff(session, last_name="Percent", first_name="Paula")
    create_staff(session, last_name="Under_Score", first_name="Uma")
    assert _names(staff.search(session, "%", 10, 0)) == []
    assert _names(staff.search(session, "r_s", 10, 0)) == ["Under_Score, Uma"]
    assert staff.count(session, "%") == 0


def test_search_also_matches_staff_id_and_email(session: Session) -> None:
    member = create_staff(session, last_name="Okoro", email="ngozi.okoro@district.example")
    assert _names(staff.search(session, "NGOZI", 10, 0)) == ["Okoro, Jane"]
    assert _names(staff.search(session, member.staff_id, 10, 0)) == ["Okoro, Jane"]


def test_count_and_pages_agree_with_the_search(session: Session) -> None:
    for n in range(7):
        create_staff(session, last_name=f"Pagetest{n}", first_name="Pat")
    create_staff(session, last_name="Other", first_name="Olga")
    everyone = staff.count(session, None)
    assert staff.count(session, "pagetest") == 7
    assert staff.count(session, "") == everyone == len(staff.search(session, None, 1000, 0))
    pages = [_names(staff.search(session, "pagetest", 3, offset)) for offset in (0, 3, 6)]
    assert pages == [[f"Pagetest{n}, Pat" for n in range(3)],
                     [f"Pagetest{n}, Pat" for n in range(3, 6)], ["Pagetest6, Pat"]]


@contextmanager
def _statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_the_database_matches_and_limits(session: Session) -> None:
    """One SELECT with LIKE and LIMIT finds the page: no rows are filtered in Python."""
    create_staff(session, last_name="Keller-Brandt")
    session.flush()
    with _statements(session) as seen:
        staff.search(session, "brandt", 50, 0)
    main = seen[0].upper()
    assert "LIKE" in main and "LIMIT" in main and "LOWER(" in main


def test_users_count_matches_users_search(session: Session) -> None:
    for n in range(4):
        create_staff(session, last_name=f"Countme{n}", email=f"c{n}@district.example")
    create_staff(session, last_name="Countme-noemail")  # no email: no user
    assert users.count(session, "countme") == 4
    assert len(users.search(session, "countme", 50, 0)) == 4
    assert users.count(session, None) == len(users.search(session, None, 1000, 0))

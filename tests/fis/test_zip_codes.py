"""HR/PY > Staff > Directories > ZIP Codes: the directory the ZIP Code select offers,
on both backends, and its migration."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from staffsync.fis import staff, zip_codes
from staffsync.kit.db import make_engine
from staffsync.kit.errors import InvalidInput
from staffsync.kit.migrate import alembic_config, upgrade
from tests.databases import fresh_database
from tests.fis.conftest import create_staff, staff_data


def test_added_zip_codes_are_listed_in_zip_order(session: Session) -> None:
    zip_codes.add(session, {"zip_code": "17870", "city": "Selinsgrove", "state": "pa"})
    zip_codes.add(session, {"zip_code": "17837-1234", "city": " Lewisburg ", "state": "PA"})
    zip_codes.add(session, {"zip_code": "17837", "city": "Lewisburg", "state": "PA"})
    assert [(z.zip_code, z.city, z.state) for z in zip_codes.directory(session)] == [
        ("17837", "Lewisburg", "PA"), ("178371234", "Lewisburg", "PA"),
        ("17870", "Selinsgrove", "PA")]


def test_every_bad_field_is_named_and_nothing_is_added(session: Session) -> None:
    with pytest.raises(InvalidInput) as refused:
        zip_codes.add(session, {"zip_code": "1783", "city": "", "state": "Penn"})
    assert refused.value.fields == {
        "zip_code": "ZIP Code must be 5 or 9 digits", "city": "City is required",
        "state": "State must be the two-letter abbreviation, e.g. PA"}
    assert zip_codes.directory(session) == []


def test_a_zip_code_is_in_the_directory_once(session: Session) -> None:
    zip_codes.add(session, {"zip_code": "17837", "city": "Lewisburg", "state": "PA"})
    with pytest.raises(InvalidInput) as refused:
        zip_codes.add(session, {"zip_code": "17837", "city": "Other", "state": "PA"})
    assert refused.value.fields == {"zip_code": "That ZIP Code is already in the directory"}


def test_remove_leaves_the_staff_who_have_it(session: Session) -> None:
    zip_codes.add(session, {"zip_code": "17821", "city": "Danville", "state": "PA"})
    member = create_staff(session, zip_code="17821")
    zip_codes.remove(session, "17821")
    assert zip_codes.directory(session) == []
    assert staff.get(session, member.staff_id).zip_code == "17821"
    with pytest.raises(zip_codes.ZipCodeNotFound):
        zip_codes.remove(session, "17821")


def test_choices_are_labelled_with_zip_and_city_and_keep_a_removed_current_zip(
        session: Session) -> None:
    zip_codes.add_missing(session, [("17837", "Lewisburg", "PA"),
                                    ("178371234", "Lewisburg", "PA")])
    both = [("17837", "17837 \N{EN DASH} Lewisburg, PA"),
            ("178371234", "17837-1234 \N{EN DASH} Lewisburg, PA")]
    assert zip_codes.choices(session, None) == both
    assert zip_codes.choices(session, "17837") == both
    assert zip_codes.choices(session, "19104") == [
        ("19104", "19104 (not in the ZIP Code directory)"), *both]


def test_add_missing_adds_only_what_is_not_there(session: Session) -> None:
    zip_codes.add(session, {"zip_code": "17837", "city": "Lewisburg", "state": "PA"})
    added = zip_codes.add_missing(session, [("17837", "Changed", "PA"),
                                            ("17801", "Sunbury", "PA")])
    assert added == 1
    assert [(z.zip_code, z.city) for z in zip_codes.directory(session)] == [
        ("17801", "Sunbury"), ("17837", "Lewisburg")]


def test_staff_zip_code_keeps_its_format_check_only(session: Session) -> None:
    """The JSON API's contract: any 5 or 9 digits, whether or not in the directory."""
    assert zip_codes.directory(session) == []
    assert create_staff(session, zip_code="19104-6789").zip_code == "191046789"
    with pytest.raises(InvalidInput) as refused:
        staff.add(session, staff_data(zip_code="1910"))
    assert refused.value.fields == {"zip_code": "ZIP Code must be 5 or 9 digits"}


def test_migration_creates_and_drops_the_directory(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path, "fis") as url:
        upgrade(url, "fis", "0002")
        engine = make_engine(url)
        try:
            assert not inspect(engine).has_table("zip_code")
            upgrade(url, "fis", "0004")
            columns = {c["name"]: c for c in inspect(engine).get_columns("zip_code")}
            assert sorted(columns) == ["city", "state", "zip_code"]
            assert inspect(engine).get_pk_constraint("zip_code")["constrained_columns"] == [
                "zip_code"]
            command.downgrade(alembic_config(url, "fis"), "0004-1")
            assert not inspect(engine).has_table("zip_code")
        finally:
            engine.dispose()

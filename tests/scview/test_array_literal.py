"""The e-mail columns go to PostgreSQL as array literals (``users._array``): PostgreSQL
must read back exactly the values written, whatever characters they hold."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from staffsync.kit.db import make_engine
from staffsync.scview.users import _array
from tests.databases import fresh_database

AWKWARD = ['plain@example.org', 'quote"d@example.org', "back\\slash@example.org",
           "{braces},comma@example.org", " spaced ", "", "NULL", "ünïcödé@exämple.org", None]


def test_postgresql_reads_the_array_literals_back_as_written(tmp_path: Path) -> None:
    with fresh_database("postgresql", tmp_path, "arrays") as url:
        engine = make_engine(url)
        with engine.connect() as conn:
            strings = conn.execute(text("SELECT CAST(:a AS VARCHAR[])"),
                                   {"a": _array(AWKWARD)}).scalar()
            flags = conn.execute(text("SELECT CAST(:a AS BOOLEAN[])"),
                                 {"a": _array([True, False, None])}).scalar()
            empty = conn.execute(text("SELECT CAST(:a AS VARCHAR[])"), {"a": _array([])}).scalar()
        engine.dispose()
    assert strings == AWKWARD
    assert flags == [True, False, None]
    assert empty == []

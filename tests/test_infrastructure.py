"""The test infrastructure itself: both databases and the browser are really there."""

from pathlib import Path

from sqlalchemy import create_engine, text

from tests.conftest import screenshot
from tests.databases import fresh_database


def test_fresh_database_is_usable_and_isolated(backend: str, tmp_path: Path) -> None:
    with (
        fresh_database(backend, tmp_path, "a") as url_a,
        fresh_database(backend, tmp_path, "b") as url_b,
    ):
        assert url_a != url_b
        engine_a, engine_b = create_engine(url_a), create_engine(url_b)
        with engine_a.begin() as conn:
            conn.execute(text("create table t (x int)"))
        with engine_b.connect() as conn:
            tables = conn.dialect.get_table_names(conn)
        assert "t" not in tables
        engine_a.dispose()
        engine_b.dispose()


def test_browser_renders_a_page(page) -> None:  # type: ignore[no-untyped-def]
    page.set_content("<button id=b onclick=\"this.textContent='clicked'\">click me</button>")
    page.click("#b")
    assert page.text_content("#b") == "clicked"
    assert screenshot(page, "infrastructure-smoke").stat().st_size > 0

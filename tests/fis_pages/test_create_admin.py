"""`staffsync fis create-admin --role`: who may sign in to the pages, and as what."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from staffsync.cli import app
from staffsync.fis.models import Account
from staffsync.kit.db import make_engine, session_factory

pytestmark = pytest.mark.xdist_group("fis_pages_create_admin")
runner = CliRunner()


def _roles(db_url: str) -> dict[str, str]:
    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        roles = {a.username: a.role for a in session.scalars(select(Account))}
    engine.dispose()
    return roles


def test_create_admin_takes_a_role(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'fis.sqlite'}"
    for username, extra in (("Boss", []), ("Clerk", ["--role", "hr"])):
        result = runner.invoke(app, ["fis", "create-admin", "--username", username,
                                     "--password", "correct horse", "--db", db_url, *extra])
        assert result.exit_code == 0, result.output
    assert _roles(db_url) == {"Boss": "sysadmin", "Clerk": "hr"}
    refused = runner.invoke(app, ["fis", "create-admin", "--username", "Root", "--password",
                                  "correct horse", "--role", "root", "--db", db_url])
    assert refused.exit_code == 2 and "root" in refused.output
    assert "Root" not in _roles(db_url)

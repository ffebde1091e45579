"""The `staffsync scview` commands, token storage, and the migration matching the models."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from typer.testing import CliRunner

from staffsync.cli import app
from staffsync.kit.db import make_engine
from staffsync.kit.migrate import upgrade
from staffsync.kit.server import ServerThread
from staffsync.scview.app import create_app
from staffsync.scview.models import AdminAccount, Base, Tenant
from tests.databases import fresh_database

runner = CliRunner()


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database(backend, tmp_path) as url:
        upgrade(url, "scview")
        yield url


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_migration_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert differences == []


def test_create_tenant_prints_a_strong_token_once_and_stores_only_its_hash(db_url: str) -> None:
    token = run("scview", "create-tenant", "district-7", "--db", db_url)
    assert len(token) >= 43  # token_urlsafe(32): 256 bits
    engine = make_engine(db_url)
    with engine.connect() as conn:
        stored = conn.execute(select(Tenant.token_hash).where(Tenant.name == "district-7")).scalar()
    engine.dispose()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(stored)


def test_create_tenant_twice_fails(db_url: str) -> None:
    run("scview", "create-tenant", "twice", "--db", db_url)
    result = runner.invoke(app, ["scview", "create-tenant", "twice", "--db", db_url])
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_rotate_token_replaces_the_token(db_url: str) -> None:
    old = run("scview", "create-tenant", "rotating", "--db", db_url)
    new = run("scview", "rotate-token", "rotating", "--db", db_url)
    assert new != old
    app_ = create_app(db_url)
    with ServerThread(app_) as server:
        base = f"{server.url}/rotating/scim/v2/Users"
        assert httpx.get(base, headers={"Authorization": f"Bearer {old}"}).status_code == 401
        assert httpx.get(base, headers={"Authorization": f"Bearer {new}"}).status_code == 200
    app_.state.engine.dispose()


def test_create_admin_stores_an_argon2id_hash(db_url: str) -> None:
    out = run("scview", "create-admin", "--username", "root", "--password",
              "a long passphrase", "--db", db_url)
    assert "root" in out
    engine = make_engine(db_url)
    with engine.connect() as conn:
        stored = conn.execute(select(AdminAccount.password_hash)).scalar()
    engine.dispose()
    assert str(stored).startswith("$argon2id$")


def test_create_admin_refuses_a_short_password(db_url: str) -> None:
    result = runner.invoke(app, ["scview", "create-admin", "--username", "root",
                                 "--password", "short", "--db", db_url])
    assert result.exit_code == 1
    assert "password" in result.output


def test_verify_admin_accepts_only_the_right_password(db_url: str) -> None:
    from staffsync.kit.db import session_factory, transaction
    from staffsync.scview.admins import create_admin, verify_admin

    engine = make_engine(db_url)
    factory = session_factory(engine)
    with transaction(factory) as session:
        create_admin(session, "ada", "correct horse battery")
    with transaction(factory) as session:
        assert verify_admin(session, "ada", "correct horse battery")
        assert not verify_admin(session, "ada", "wrong horse battery")
        assert not verify_admin(session, "nobody", "correct horse battery")
    engine.dispose()

"""The server's tenant token cache: fewer queries, and still correct after a rotation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from staffsync.scview.errors import UnauthorizedException, UnknownDatabase
from staffsync.scview.tenants import TokenCache, authenticate, create_tenant, rotate_token
from tests.databases import fresh_database

TTL = 0.3


@pytest.fixture
def sessions(backend: str, tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], list[str]]]:
    """A session factory on a migrated database, and the list of statements it runs."""
    with fresh_database(backend, tmp_path, "tokens") as url:
        upgrade(url, "scview")
        engine = make_engine(url)
        statements: list[str] = []
        event.listen(engine, "before_cursor_execute",
                     lambda *args: statements.append(str(args[2])))
        yield session_factory(engine), statements
        engine.dispose()


def _auth(factory: sessionmaker[Session], name: str, token: str, cache: TokenCache) -> int:
    with transaction(factory) as session:
        return authenticate(session, name, f"Bearer {token}", cache)


def _queries(statements: list[str]) -> int:
    return sum("tenants" in statement for statement in statements)


def test_a_remembered_token_needs_no_query(sessions) -> None:  # type: ignore[no-untyped-def]
    factory, statements = sessions
    with transaction(factory) as session:
        token = create_tenant(session, "cached")
    cache = TokenCache(TTL)
    first = _auth(factory, "cached", token, cache)
    before = _queries(statements)
    assert _auth(factory, "cached", token, cache) == first
    assert _queries(statements) == before


def test_a_rotated_token_works_at_once_and_the_old_one_dies_within_the_ttl(
    sessions,  # type: ignore[no-untyped-def]
) -> None:
    factory, _ = sessions
    with transaction(factory) as session:
        old = create_tenant(session, "rotating")
    cache = TokenCache(TTL)
    tenant_id = _auth(factory, "rotating", old, cache)
    with transaction(factory) as session:  # as `staffsync scview rotate-token` does elsewhere
        new = rotate_token(session, "rotating")
    assert _auth(factory, "rotating", new, cache) == tenant_id
    time.sleep(TTL + 0.1)
    with pytest.raises(UnauthorizedException):
        _auth(factory, "rotating", old, cache)


def test_wrong_and_foreign_tokens_are_refused_even_when_cached(
    sessions,  # type: ignore[no-untyped-def]
) -> None:
    factory, _ = sessions
    with transaction(factory) as session:
        mine, theirs = create_tenant(session, "mine"), create_tenant(session, "theirs")
    cache = TokenCache(TTL)
    _auth(factory, "mine", mine, cache)
    _auth(factory, "theirs", theirs, cache)
    for token in (theirs, "not-a-token", ""):
        with pytest.raises(UnauthorizedException):
            _auth(factory, "mine", token, cache)
    with pytest.raises(UnknownDatabase):
        _auth(factory, "nobody", mine, cache)

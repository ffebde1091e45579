"""Login sessions on both backends: timestamps, idle expiry, purge, logout, roles, CSRF."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from staffsync.fis import auth, web_auth
from staffsync.fis.models import Role, WebSession, utcnow
from staffsync.kit.db import make_engine, session_factory, transaction
from staffsync.kit.migrate import upgrade
from tests.databases import BACKENDS, fresh_database
from tests.fis_pages.conftest import PASSWORD

pytestmark = pytest.mark.xdist_group("fis_pages_web_auth")
IDLE = timedelta(minutes=30)


@pytest.fixture(scope="module", params=BACKENDS)
def sessions(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    with fresh_database(request.param, tmp_path_factory.mktemp("auth"), "web_auth") as url:
        upgrade(url, "fis")
        engine = make_engine(url)
        factory = session_factory(engine)
        with transaction(factory) as session:
            auth.create_account(session, "Clerk", PASSWORD, Role.hr.value)
        yield factory
        engine.dispose()


def _sign_in(sessions: sessionmaker[Session]) -> str:
    with transaction(sessions) as session:
        session_id = web_auth.sign_in(session, "clerk", PASSWORD, IDLE)
    assert session_id is not None
    return session_id


def _age(sessions: sessionmaker[Session], session_id: str, by: timedelta) -> None:
    with transaction(sessions) as session:
        session.execute(update(WebSession)
                        .where(WebSession.id_hash == web_auth.digest(session_id))
                        .values(last_seen_at=utcnow() - by))


def _current(sessions: sessionmaker[Session], session_id: str | None) -> web_auth.Login:
    with transaction(sessions) as session:
        return web_auth.current(session, session_id, IDLE)


def test_a_new_session_is_a_login_with_its_own_csrf_token(sessions: sessionmaker[Session]) -> None:
    first, second = _sign_in(sessions), _sign_in(sessions)
    assert first != second
    one, two = _current(sessions, first), _current(sessions, second)
    assert (one.username, one.role, one.is_sysadmin) == ("Clerk", "hr", False)
    assert one.csrf_token != two.csrf_token
    with transaction(sessions) as session:  # only the digest is stored
        stored = set(session.scalars(select(WebSession.id_hash)))
    assert first not in stored and web_auth.digest(first) in stored


def test_wrong_password_gives_no_session(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        assert web_auth.sign_in(session, "clerk", "wrong password", IDLE) is None
        assert web_auth.sign_in(session, "nobody", PASSWORD, IDLE) is None


@pytest.mark.parametrize(("idle_for", "valid"), [
    (timedelta(minutes=0), True),
    (timedelta(minutes=29, seconds=50), True),
    (timedelta(minutes=30), False),
    (timedelta(days=2), False),
])
def test_idle_expiry(sessions: sessionmaker[Session], idle_for: timedelta, valid: bool) -> None:
    session_id = _sign_in(sessions)
    _age(sessions, session_id, idle_for)
    if valid:
        assert _current(sessions, session_id).username == "Clerk"
    else:
        with pytest.raises(web_auth.LoginRequired, match="timed out"):
            _current(sessions, session_id)


def test_use_moves_last_seen_forward(sessions: sessionmaker[Session]) -> None:
    session_id = _sign_in(sessions)
    _age(sessions, session_id, timedelta(minutes=20))
    _current(sessions, session_id)
    _age(sessions, session_id, timedelta(minutes=15))  # 35 minutes after sign-in
    assert _current(sessions, session_id).username == "Clerk"


def test_sign_in_purges_expired_sessions_and_sign_out_deletes(
        sessions: sessionmaker[Session]) -> None:
    expired, live = _sign_in(sessions), _sign_in(sessions)
    _age(sessions, expired, timedelta(hours=1))
    newest = _sign_in(sessions)
    with transaction(sessions) as session:
        stored = set(session.scalars(select(WebSession.id_hash)))
        web_auth.sign_out(session, newest)
    assert web_auth.digest(expired) not in stored and web_auth.digest(live) in stored
    for gone in (newest, "never-issued", None):
        with pytest.raises(web_auth.LoginRequired):
            _current(sessions, gone)


@pytest.mark.parametrize(("role", "screen", "allowed"), [
    ("hr", Role.hr, True), ("hr", Role.sysadmin, False),
    ("sysadmin", Role.hr, True), ("sysadmin", Role.sysadmin, True),
])
def test_roles(role: str, screen: Role, allowed: bool) -> None:
    login = web_auth.Login(1, "x", role, "token")
    if allowed:
        web_auth.require_role(login, screen)
    else:
        with pytest.raises(web_auth.WrongRole):
            web_auth.require_role(login, screen)


@pytest.mark.parametrize("submitted", [None, "", "other", "tokeN", "token "])
def test_csrf_refuses_anything_but_the_token(submitted: str | None) -> None:
    web_auth.check_csrf("token", "token")
    with pytest.raises(web_auth.CsrfRejected):
        web_auth.check_csrf("token", submitted)

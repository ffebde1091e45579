"""Admin sign-in for SCView's pages: server-side sessions, idle timeout, CSRF tokens.

The session cookie carries a random token (256 bits); the database keeps only its
SHA-256, so the table cannot be replayed. A session ends on sign-out, after
``IDLE_TIMEOUT`` without a request, or ``MAX_AGE`` after sign-in, whichever comes first.
Every function takes a ``Session`` and never commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from staffsync.kit.errors import StaffsyncError
from staffsync.scview.admins import verify_admin
from staffsync.scview.models import AdminAccount, AdminSession, LoginFailure
from staffsync.scview.tenants import now

COOKIE = "scview_session"
LOGIN_CSRF_COOKIE = "scview_login_csrf"
IDLE_TIMEOUT = timedelta(minutes=30)
MAX_AGE = timedelta(hours=12)
# last_seen is rewritten at most this often, so browsing is not one write per request
TOUCH_EVERY = timedelta(minutes=1)
# password guessing: after MAX_FAILURES wrong passwords for one username inside
# FAILURE_WINDOW, that username cannot sign in until the window has passed
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)


class TooManyAttempts(StaffsyncError):
    """Too many wrong passwords for this username. Wait 15 minutes, then try again."""

    status = 429
    code = "too_many_attempts"


@dataclass(frozen=True)
class SignedIn:
    admin: str
    csrf_token: str


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_match(presented: str | None, expected: str | None) -> bool:
    """Constant-time equality of two CSRF tokens; a missing one never matches."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def session_expired(created: datetime, last_seen: datetime, moment: datetime) -> bool:
    """Expired when ``moment - last_seen > IDLE_TIMEOUT`` or ``moment - created > MAX_AGE``."""
    return moment - last_seen > IDLE_TIMEOUT or moment - created > MAX_AGE


def throttled(failures: int, window_start: datetime, moment: datetime) -> bool:
    """``failures >= MAX_FAILURES and moment - window_start < FAILURE_WINDOW``."""
    return failures >= MAX_FAILURES and moment - window_start < FAILURE_WINDOW


def sign_in(session: Session, username: str, password: str) -> str | None:
    """A new session's cookie token when the password is right, else None (and the
    failure is counted); ``TooManyAttempts`` while the username is throttled."""
    key = username[:100]
    failure = session.get(LoginFailure, key, with_for_update=True)  # no lost counts on PG
    if failure is not None and throttled(failure.count, failure.window_start, now()):
        raise TooManyAttempts
    if not verify_admin(session, username, password):
        _count_failure(session, failure, key)
        return None
    if failure is not None:
        session.delete(failure)
    return _open_session(session, username)


def _count_failure(session: Session, failure: LoginFailure | None, key: str) -> None:
    """One more failure in the current window, or the first of a new window."""
    moment = now()
    if failure is not None and moment - failure.window_start < FAILURE_WINDOW:
        failure.count += 1
    elif failure is not None:
        failure.window_start, failure.count = moment, 1
    else:
        try:
            with session.begin_nested():  # a concurrent first failure may insert it first
                session.add(LoginFailure(username=key, window_start=moment, count=1))
        except IntegrityError:
            pass
    session.flush()


def _open_session(session: Session, username: str) -> str:
    admin_id = session.scalar(select(AdminAccount.id).where(AdminAccount.username == username))
    moment = now()
    session.execute(delete(AdminSession).where(AdminSession.last_seen < moment - IDLE_TIMEOUT))
    token = new_token()
    session.add(AdminSession(token_hash=_hash(token), admin_id=admin_id,
                             csrf_token=new_token(), created=moment, last_seen=moment))
    session.flush()
    return token


def current(session: Session, token: str | None) -> SignedIn | None:
    """Who holds the session ``token``, touching its idle clock; None if it has ended."""
    if not token:
        return None
    row = session.get(AdminSession, _hash(token))
    if row is None:
        return None
    moment = now()
    if session_expired(row.created, row.last_seen, moment):
        return None  # the row goes with the next sign-in's sweep of idle sessions
    if moment - row.last_seen > TOUCH_EVERY:
        row.last_seen = moment
    admin = session.scalar(select(AdminAccount.username).where(AdminAccount.id == row.admin_id))
    return SignedIn(admin=str(admin), csrf_token=row.csrf_token)


def sign_out(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(AdminSession).where(AdminSession.token_hash == _hash(token)))

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
from sqlalchemy.orm import Session

from staffsync.scview.admins import verify_admin
from staffsync.scview.models import AdminAccount, AdminSession
from staffsync.scview.tenants import now

COOKIE = "scview_session"
LOGIN_CSRF_COOKIE = "scview_login_csrf"
IDLE_TIMEOUT = timedelta(minutes=30)
MAX_AGE = timedelta(hours=12)
# last_seen is rewritten at most this often, so browsing is not one write per request
TOUCH_EVERY = timedelta(minutes=1)


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


def sign_in(session: Session, username: str, password: str) -> str | None:
    """A new session's cookie token when the password is right, else None."""
    if not verify_admin(session, username, password):
        return None
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

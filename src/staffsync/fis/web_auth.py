"""Login sessions for the FIS pages: server-side sessions with a per-session CSRF token.

The cookie holds 32 random bytes; the database keeps only their SHA-256 (``WebSession``),
so a copy of the database cannot be replayed as a login. A session is valid while
``now - last_seen_at < idle``; each request that uses it moves ``last_seen_at`` forward.
Logging in always issues a new session id (no fixation); logging out deletes the row.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as random
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from staffsync.fis import auth
from staffsync.fis.models import Account, Role, WebSession, utcnow
from staffsync.kit.errors import StaffsyncError

COOKIE = "fis_session"
# Only refresh last_seen_at when it is this old, so a page full of requests is one write.
TOUCH_EVERY = timedelta(seconds=30)


class WebSettings(BaseSettings):
    """``STAFFSYNC_FIS_IDLE_MINUTES``: minutes of inactivity after which a login ends."""

    model_config = SettingsConfigDict(env_prefix="STAFFSYNC_", extra="ignore")

    fis_idle_minutes: float = 30


class LoginRequired(StaffsyncError):
    """Please sign in to continue."""

    status = 401
    code = "login_required"


class WrongRole(StaffsyncError):
    """You do not have access to this screen. Ask a system administrator if you need it."""

    status = 403
    code = "forbidden"


class CsrfRejected(StaffsyncError):
    """This form has expired or did not come from FIS. Go back, reload the page and try again."""

    status = 403
    code = "csrf_rejected"


@dataclass(frozen=True)
class Login:
    """Who is signed in, and the token their forms must carry."""

    account_id: int
    username: str
    role: str
    csrf_token: str

    @property
    def is_sysadmin(self) -> bool:
        return self.role == Role.sysadmin.value


def digest(session_id: str) -> str:
    """What the database keeps of a session id: ``sha256(session_id)`` in hex."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def sign_in(session: Session, username: str, password: str, idle: timedelta) -> str | None:
    """A new session id for a correct username and password (argon2id), else None.
    Sessions idle for ``idle`` or longer are purged here, so expired rows do not pile up."""
    account = auth.verify_login(session, username, password)
    if account is None:
        return None
    session.execute(delete(WebSession).where(WebSession.last_seen_at <= utcnow() - idle))
    session_id = random.token_urlsafe(32)
    session.add(WebSession(id_hash=digest(session_id), account_id=account.id,
                           csrf_token=random.token_urlsafe(32)))
    session.flush()
    return session_id


def sign_out(session: Session, session_id: str | None) -> None:
    if session_id:
        session.execute(delete(WebSession).where(WebSession.id_hash == digest(session_id)))


def current(session: Session, session_id: str | None, idle: timedelta,
            now: datetime | None = None) -> Login:
    """The login of a session cookie; an unknown or idle-expired one raises LoginRequired
    (the expired row is left for the next sign-in to purge: this request rolls back)."""
    now = now or utcnow()
    row = session.execute(
        select(WebSession, Account).join(Account, Account.id == WebSession.account_id)
        .where(WebSession.id_hash == digest(session_id or ""))
    ).one_or_none()
    if row is None:
        raise LoginRequired()
    web, account = row
    if now - web.last_seen_at >= idle:
        raise LoginRequired("Your session timed out. Please sign in again.")
    if now - web.last_seen_at >= TOUCH_EVERY:
        web.last_seen_at = now
    return Login(account.id, account.username, account.role, web.csrf_token)


def require_role(login: Login, role: Role) -> None:
    """``sysadmin`` may open every screen, ``hr`` only the HR/Payroll ones."""
    if role == Role.sysadmin and not login.is_sysadmin:
        raise WrongRole()


def check_csrf(expected: str, submitted: str | None) -> None:
    """Constant-time comparison of a form's ``csrf_token`` with the session's."""
    if not submitted or not hmac.compare_digest(expected.encode(), submitted.encode()):
        raise CsrfRejected()


def new_token() -> str:
    """A token for the sign-in form (double-submit: a cookie and a hidden field)."""
    return random.token_urlsafe(32)

"""Who may call FIS: API keys for the JSON API, accounts for the pages.

An API key is 32 random bytes (urlsafe base64), shown once; only its SHA-256 is stored,
which is enough because the key itself has 256 bits of entropy. Account passwords are
argon2id hashes.
"""

from __future__ import annotations

import hashlib
import secrets as random

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from staffsync.fis.models import Account, ApiKey, Role
from staffsync.kit.errors import Conflict, InvalidInput, StaffsyncError

_hasher = PasswordHasher()  # argon2id with the library's current recommended costs


class Unauthorized(StaffsyncError):
    """Send a valid API key as ``Authorization: Bearer <key>``."""

    status = 401
    code = "unauthorized"


class Forbidden(StaffsyncError):
    """This API key's role may not use this endpoint."""

    status = 403
    code = "forbidden"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, name: str, role: str) -> str:
    """Store a new key under ``name`` and return the key (the only time it exists)."""
    if role not in {r.value for r in Role}:
        raise InvalidInput({"role": "Role must be one of: hr, sysadmin"})
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise Conflict(f"An API key named {name!r} already exists")
    key = random.token_urlsafe(32)
    session.add(ApiKey(name=name, role=role, key_hash=_digest(key)))
    session.flush()
    return key


def authenticate(session: Session, authorization: str | None) -> ApiKey:
    """The API key named by an ``Authorization: Bearer <key>`` header."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized()
    api_key = session.scalar(select(ApiKey).where(ApiKey.key_hash == _digest(key.strip())))
    if api_key is None:
        raise Unauthorized()
    return api_key


def require(api_key: ApiKey, *roles: Role) -> None:
    """``sysadmin`` may do everything; other roles only what ``roles`` lists."""
    if api_key.role != Role.sysadmin and api_key.role not in roles:
        raise Forbidden()


def create_account(session: Session, username: str, password: str,
                   role: str = Role.sysadmin.value) -> Account:
    """An account for the FIS pages; the password (at least 8 characters) is hashed."""
    problems = {}
    if not username.strip():
        problems["username"] = "Username is required"
    if len(password) < 8:
        problems["password"] = "Password must be at least 8 characters"
    if problems:
        raise InvalidInput(problems)
    if session.scalar(select(Account.id).where(Account.username_key == username.lower())):
        raise Conflict(f"An account named {username!r} already exists")
    account = Account(username=username.strip(), password_hash=_hasher.hash(password), role=role)
    session.add(account)
    session.flush()
    return account


def verify_login(session: Session, username: str, password: str) -> Account | None:
    """The account if the password matches, else None (same answer for unknown users)."""
    account = session.scalar(select(Account).where(Account.username_key == username.lower()))
    if account is None:
        _hasher.hash(password)  # spend the same time, so timing does not reveal names
        return None
    try:
        _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return account

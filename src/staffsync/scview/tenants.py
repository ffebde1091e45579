"""Tenants ("Database names") and their bearer tokens.

A token is ``secrets.token_urlsafe(32)`` (256 bits). Only its SHA-256 is stored: a
slow hash adds nothing for a random secret of that size, and it keeps authentication
to one indexed lookup. Hashes are compared with ``hmac.compare_digest``.

A server remembers each tenant's (id, token hash) for ``TOKEN_TTL`` seconds
(``TokenCache``), which saves a query per request. A presented token that does not match
the remembered hash is always checked against the database, so a new token works at
once; an old token stays accepted for at most ``TOKEN_TTL`` seconds after ``rotate-token``
(which runs in another process, so it cannot reach the servers' caches).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from staffsync.kit.errors import Conflict, InvalidInput, NotFound
from staffsync.scview.errors import UnauthorizedException, UnknownDatabase
from staffsync.scview.models import Tenant

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
TOKEN_TTL = 1.0  # seconds a server trusts a tenant's remembered token hash
BY_NAME = select(Tenant.id, Tenant.token_hash).where(Tenant.name == bindparam("name"))


class TenantExists(Conflict):
    """A database with that name already exists."""


class TenantNotFound(NotFound):
    """No database has that name."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def now() -> datetime:
    """The current UTC time, naive, as every SCView timestamp column stores it."""
    return datetime.now(UTC).replace(tzinfo=None)


def create_tenant(session: Session, name: str) -> str:
    """Create a tenant and return its bearer token (shown once, never stored)."""
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidInput({"name": "letters, digits, '.', '_' or '-', at most 100"})
    if session.scalar(select(Tenant.id).where(Tenant.name == name)) is not None:
        raise TenantExists(f"A database named {name!r} already exists.")
    token = secrets.token_urlsafe(32)
    session.add(Tenant(name=name, token_hash=token_hash(token), created=now()))
    session.flush()
    return token


def rotate_token(session: Session, name: str) -> str:
    """Replace a tenant's token. The new one works at once; a running server may still
    accept the old one for up to ``TOKEN_TTL`` (1 s), the time it remembers a token hash."""
    tenant = session.scalar(select(Tenant).where(Tenant.name == name))
    if tenant is None:
        raise TenantNotFound(f"No database is named {name!r}.")
    token = secrets.token_urlsafe(32)
    tenant.token_hash = token_hash(token)
    session.flush()
    return token


class TokenCache:
    """name -> (tenant id, token hash, expiry on the monotonic clock), for one database."""

    def __init__(self, ttl: float = TOKEN_TTL) -> None:
        self.ttl = ttl
        self.entries: dict[str, tuple[int, str, float]] = {}

    def lookup(self, name: str) -> tuple[int, str] | None:
        entry = self.entries.get(name)
        if entry is None or entry[2] < time.monotonic():
            return None
        return entry[0], entry[1]

    def remember(self, name: str, tenant_id: int, hashed: str) -> None:
        self.entries[name] = (tenant_id, hashed, time.monotonic() + self.ttl)


def authenticate(
    session: Session, name: str, authorization: str | None, cache: TokenCache | None = None
) -> int:
    """The id of tenant ``name`` if ``authorization`` is ``Bearer <its token>``.

    Unknown name: 404 (so a client can tell a wrong Database name from a wrong token);
    missing, malformed or wrong token, including another tenant's: 401. A token matching
    ``cache``'s remembered hash needs no query; any other is checked in the database.
    """
    scheme, _, token = (authorization or "").partition(" ")
    presented = token_hash(token.strip()) if scheme.lower() == "bearer" else ""
    remembered = cache.lookup(name) if cache is not None else None
    if remembered is not None and hmac.compare_digest(presented, remembered[1]):
        return remembered[0]
    row = session.connection().execute(BY_NAME, {"name": name}).first()
    if row is None:
        raise UnknownDatabase(detail=f"No SCView database is named {name!r}.")
    if cache is not None:
        cache.remember(name, int(row.id), row.token_hash)
    if not hmac.compare_digest(presented, row.token_hash):
        raise UnauthorizedException(detail="Missing or invalid bearer token for this database.")
    return int(row.id)

"""Tenants ("Database names") and their bearer tokens.

A token is ``secrets.token_urlsafe(32)`` (256 bits). Only its SHA-256 is stored: a
slow hash adds nothing for a random secret of that size, and it keeps authentication
to one indexed lookup. Hashes are compared with ``hmac.compare_digest``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from staffsync.kit.errors import Conflict, InvalidInput, NotFound
from staffsync.scview.errors import UnauthorizedException, UnknownDatabase
from staffsync.scview.models import Tenant

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


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
    """Replace a tenant's token; the old one stops working at once."""
    tenant = session.scalar(select(Tenant).where(Tenant.name == name))
    if tenant is None:
        raise TenantNotFound(f"No database is named {name!r}.")
    token = secrets.token_urlsafe(32)
    tenant.token_hash = token_hash(token)
    session.flush()
    return token


def authenticate(session: Session, name: str, authorization: str | None) -> int:
    """The id of tenant ``name`` if ``authorization`` is ``Bearer <its token>``.

    Unknown name: 404 (so a client can tell a wrong Database name from a wrong token);
    missing, malformed or wrong token, including another tenant's: 401.
    """
    row = session.connection().execute(
        select(Tenant.id, Tenant.token_hash).where(Tenant.name == name)
    ).first()
    if row is None:
        raise UnknownDatabase(detail=f"No SCView database is named {name!r}.")
    scheme, _, token = (authorization or "").partition(" ")
    presented = token_hash(token.strip()) if scheme.lower() == "bearer" else ""
    if not hmac.compare_digest(presented, row.token_hash):
        raise UnauthorizedException(detail="Missing or invalid bearer token for this database.")
    return int(row.id)

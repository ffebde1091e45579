"""SCView admin accounts (for the Admin > Users pages): argon2id password hashes."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from staffsync.kit.errors import Conflict, InvalidInput
from staffsync.scview.models import AdminAccount
from staffsync.scview.tenants import now

HASHER = PasswordHasher()  # argon2id with argon2-cffi's RFC 9106 low-memory profile
MIN_PASSWORD = 12


class AdminExists(Conflict):
    """An admin account with that username already exists."""


def create_admin(session: Session, username: str, password: str) -> None:
    if not username.strip():
        raise InvalidInput({"username": "required"})
    if len(password) < MIN_PASSWORD:
        raise InvalidInput({"password": f"at least {MIN_PASSWORD} characters"})
    if session.scalar(select(AdminAccount.id).where(AdminAccount.username == username)):
        raise AdminExists(f"An admin named {username!r} already exists.")
    session.add(AdminAccount(username=username, password_hash=HASHER.hash(password), created=now()))
    session.flush()


def verify_admin(session: Session, username: str, password: str) -> bool:
    """True when the password is right for that admin (same cost for unknown names)."""
    stored = session.scalar(
        select(AdminAccount.password_hash).where(AdminAccount.username == username)
    )
    try:
        return HASHER.verify(stored or _DUMMY, password) and stored is not None
    except VerificationError:
        return False


_DUMMY = HASHER.hash("not a password of anyone")

"""Secrets at rest: the Third Party Configuration token and the SSN.

The key is ``STAFFSYNC_SECRET_KEY`` (a Fernet key, urlsafe base64 of 32 bytes) or, when
that is unset, the file ``secret.key`` in the data folder, created with mode 0600 on
first use. Losing the key makes stored tokens and SSNs unreadable, and SSN uniqueness
checks stop matching older rows: back the key up with the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet

from staffsync.kit.settings import get_settings

KEY_FILE = "secret.key"


@dataclass(frozen=True)
class Secrets:
    """Encrypts, decrypts and digests with one Fernet key."""

    key: bytes

    def encrypt(self, value: str) -> str:
        return Fernet(self.key).encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        return Fernet(self.key).decrypt(token.encode()).decode()

    def digest(self, value: str) -> str:
        """``HMAC-SHA256(key, value)`` in hex: equal values match, the value cannot be guessed
        from the digest without the key (a plain hash of a 9-digit SSN could)."""
        return hmac.new(self.key, value.encode(), hashlib.sha256).hexdigest()


def current() -> Secrets:
    """The secrets for the current settings (environment, then key file)."""
    settings = get_settings()
    if settings.secret_key:
        return _from_key(settings.secret_key.encode())
    return _from_file(settings.data_dir.resolve() / KEY_FILE)


@lru_cache(maxsize=8)
def _from_key(key: bytes) -> Secrets:
    if len(base64.urlsafe_b64decode(key)) != 32:
        raise ValueError("STAFFSYNC_SECRET_KEY must be a Fernet key (urlsafe base64, 32 bytes)")
    return Secrets(key)


@lru_cache(maxsize=8)
def _from_file(path: Path) -> Secrets:
    if not path.exists():
        _create_key_file(path)
    return _from_key(path.read_bytes().strip())


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as handle:
        handle.write(Fernet.generate_key())

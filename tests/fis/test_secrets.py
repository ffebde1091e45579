"""Where the secrets key comes from, and what it protects."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from staffsync.fis import secrets


def test_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key()
    monkeypatch.setenv("STAFFSYNC_SECRET_KEY", key.decode())
    box = secrets.current()
    assert Fernet(key).decrypt(box.encrypt("tok").encode()) == b"tok"


def test_key_file_is_created_once_with_mode_0600(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.delenv("STAFFSYNC_SECRET_KEY")
    monkeypatch.setenv("STAFFSYNC_DATA_DIR", str(tmp_path / "fresh-data"))
    sealed = secrets.current().encrypt("tok")
    key_file = tmp_path / "fresh-data" / secrets.KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    secrets._from_file.cache_clear()
    assert secrets.current().decrypt(sealed) == "tok"


def test_digest_is_keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = secrets.Secrets(Fernet.generate_key()), secrets.Secrets(Fernet.generate_key())
    assert one.digest("123456789") == one.digest("123456789") != two.digest("123456789")


def test_a_bad_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAFFSYNC_SECRET_KEY", "c2hvcnQ=")
    with pytest.raises(ValueError, match="Fernet key"):
        secrets.current()

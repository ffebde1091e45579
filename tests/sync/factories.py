"""Plain factory functions for the sync tests."""

from __future__ import annotations

from typing import Any

from staffsync.sync.snapshot import UserSnapshot


def snapshot(n: int = 1, **overrides: Any) -> UserSnapshot:
    """A complete, syncable FIS user; ``n`` makes its keys unique."""
    values: dict[str, Any] = {
        "staff_key": f"key-{n}",
        "username": f"user{n}",
        "staff_id": f"{10000 + n}",
        "first_name": "Ada",
        "last_name": f"Lovelace{n}",
        "email": f"user{n}@district.example",
        "phone": f"+1570555{n:04d}",
        "phone_type": "cell",
        "active": True,
    }
    values.update(overrides)
    return UserSnapshot(**values)

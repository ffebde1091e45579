"""System > Directories > Third Party Configuration: End Point, Token, Database name,
enabled. The token is Fernet-encrypted at rest and write-only: nothing shows it again,
only whether one is set. Saving clears the tenant's sync error and makes the users
parked by a configuration-level error due again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from staffsync.fis import checks, secrets, sync_state
from staffsync.fis.models import ThirdPartyConfig
from staffsync.kit.errors import InvalidInput


@dataclass(frozen=True)
class Connection:
    """What the sync needs to reach SCView (decrypted; keep it out of logs)."""

    end_point: str
    token: str
    database_name: str

    def __repr__(self) -> str:
        return f"Connection(end_point={self.end_point!r}, database_name={self.database_name!r})"


def load(session: Session) -> ThirdPartyConfig:
    config = session.get(ThirdPartyConfig, 1)
    if config is None:
        raise LookupError("the third party row is missing: run `staffsync db upgrade`")
    return config


def view(config: ThirdPartyConfig) -> dict[str, Any]:
    """The configuration as screens and the API show it: the token only as ``token_set``."""
    return {"end_point": config.end_point, "database_name": config.database_name,
            "enabled": config.enabled, "token_set": config.token_encrypted is not None}


def connection(session: Session, *, enabled_only: bool = True) -> Connection | None:
    """The decrypted settings when User Sync is set up (enabled and complete), else None.

    ``enabled_only=False`` (Test Connection) accepts complete settings not yet enabled.
    """
    config = load(session)
    if not ((config.enabled or not enabled_only) and config.end_point
            and config.token_encrypted and config.database_name):
        return None
    token = secrets.current().decrypt(config.token_encrypted)
    return Connection(config.end_point, token, config.database_name)


def _end_point(raw: Any) -> str:
    value = checks.text_of(300, "End Point")(raw)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise checks.Bad("End Point must be an http(s) URL such as https://api.myscview.com/")
    return value


CHECKS: dict[str, checks.Check] = {
    "end_point": _end_point,
    "token": checks.text_of(500, "Token"),
    "database_name": checks.text_of(100, "Database name"),
    "enabled": checks.boolean,
}


def save(session: Session, data: Mapping[str, Any]) -> ThirdPartyConfig:
    """Change the given fields. An absent ``token`` keeps the stored one; ``null`` or
    ``""`` clears it. Enabling requires End Point, Token and Database name."""
    config = load(session)
    values, problems = checks.clean(data, CHECKS)
    merged = view(config) | values
    token_after = values["token"] if "token" in values else config.token_encrypted
    if merged.get("enabled"):
        for name, label in (("end_point", "End Point"), ("database_name", "Database name")):
            if not merged.get(name):
                problems.setdefault(name, f"{label} is required to enable User Sync")
        if not token_after:
            problems.setdefault("token", "Token is required to enable User Sync")
    if problems:
        raise InvalidInput(problems)
    _apply(config, values)
    sync_state.configuration_saved(session)  # a fix re-queues what the old settings parked
    return config


def _apply(config: ThirdPartyConfig, values: dict[str, Any]) -> None:
    for name in ("end_point", "database_name", "enabled"):
        if name in values:
            setattr(config, name, values[name] if name != "enabled" else bool(values[name]))
    if "token" in values:
        token = values["token"]
        config.token_encrypted = secrets.current().encrypt(token) if token else None

"""Configuration from the environment (``STAFFSYNC_*``) with file-based defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STAFFSYNC_", extra="ignore")

    data_dir: Path = Path("staffsync-data")
    fis_db: str | None = None
    scview_db: str | None = None
    # Key for secrets at rest (Fernet, urlsafe base64). When unset, a key file
    # in the data folder is created on first use.
    secret_key: str | None = None
    # How often the sync worker runs a scheduled sync all (24h, 30m, off, ...).
    reconcile_every: str = "24h"
    # Seconds the sync waits for SCView to answer one request before "service is down".
    scim_timeout: float = 10.0

    def fis_url(self) -> str:
        return self.fis_db or sqlite_url(self.data_dir / "fis.db")

    def scview_url(self) -> str:
        return self.scview_db or sqlite_url(self.data_dir / "scview.db")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def get_settings() -> Settings:
    return Settings()

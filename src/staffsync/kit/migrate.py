"""Alembic, driven from code: each system (``fis``, ``scview``) has its own
migration folder, ``staffsync/<system>/migrations``, and its own database.

A system's ``migrations/env.py`` is just::

    from staffsync.kit.migrate import run_env
    from staffsync.fis.models import Base
    run_env(Base.metadata)
"""

from __future__ import annotations

from typing import Literal

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData

from staffsync.kit.db import is_sqlite, make_engine

System = Literal["fis", "scview"]


def alembic_config(url: str, system: System) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", f"staffsync.{system}:migrations")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, system: System, revision: str = "head") -> None:
    command.upgrade(alembic_config(url, system), revision)


def run_env(target_metadata: MetaData) -> None:
    """Body of every ``env.py``: online migrations on the configured URL."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is set by alembic_config()"
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=is_sqlite(url),
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
    finally:
        engine.dispose()

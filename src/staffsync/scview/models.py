"""SCView's database: tenants ("Database names"), their SCIM users, and admin accounts.

A user row keeps the whole SCIM resource as JSON (what GET returns) plus one indexed
column per filterable attribute, so that every SCIM filter becomes a plain SQL query.
Case-insensitive attributes are stored lower-cased in their filter column.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # SHA-256 hex of the bearer token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), index=True)
    created: Mapped[datetime] = mapped_column(DateTime)


class ScimUser(Base):
    __tablename__ = "scim_users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_name", name="uq_scim_users_tenant_user_name"),
        Index("ix_scim_users_tenant_external_id", "tenant_id", "external_id"),
        Index("ix_scim_users_tenant_employee_number", "tenant_id", "employee_number"),
        Index("ix_scim_users_tenant_family_name", "tenant_id", "family_name"),
        Index("ix_scim_users_tenant_last_modified", "tenant_id", "last_modified"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_name: Mapped[str] = mapped_column(String(300))  # lower-cased
    external_id: Mapped[str | None] = mapped_column(String(300))
    employee_number: Mapped[str | None] = mapped_column(String(300))  # lower-cased
    family_name: Mapped[str | None] = mapped_column(String(300))  # lower-cased
    active: Mapped[bool] = mapped_column(Boolean)
    created: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    last_modified: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    version: Mapped[int] = mapped_column(Integer)
    resource: Mapped[dict[str, Any]] = mapped_column(JSON)


class ScimEmail(Base):
    __tablename__ = "scim_emails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("scim_users.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[str | None] = mapped_column(String(300), index=True)  # lower-cased
    type: Mapped[str | None] = mapped_column(String(50))  # lower-cased
    primary: Mapped[bool] = mapped_column(Boolean)


class AdminAccount(Base):
    __tablename__ = "admin_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    created: Mapped[datetime] = mapped_column(DateTime)


class AdminSession(Base):
    """A signed-in admin's browser session (the Admin > Users pages).

    The cookie holds a random token; only its SHA-256 is stored, so a leaked table
    cannot be replayed. ``last_seen`` drives the idle timeout.
    """

    __tablename__ = "admin_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    admin_id: Mapped[int] = mapped_column(
        ForeignKey("admin_accounts.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    last_seen: Mapped[datetime] = mapped_column(DateTime, index=True)  # naive UTC


class LoginFailure(Base):
    """Failed sign-ins per admin username in the current window (see ``web_auth``)."""

    __tablename__ = "login_failures"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    count: Mapped[int] = mapped_column(Integer)


# Core tables for the lean queries of the SCIM hot path.
users: Table = ScimUser.__table__  # type: ignore[assignment]
emails: Table = ScimEmail.__table__  # type: ignore[assignment]

"""The FIS database: every table, on one declarative ``Base``.

Selects on the Add Staff screen are enumerations stored as their string value, so
adding a value never needs a schema migration. The SSN is never stored in the clear:
``ssn_digest`` (a keyed HMAC) enforces uniqueness, ``ssn_encrypted`` (Fernet) keeps the
value, and ``ssn_last4`` is all that a screen or an API response ever shows.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_key() -> str:
    """A staff member's stable internal key: a random UUID, never reused, never the SSN."""
    return str(uuid.uuid4())


class Gender(StrEnum):
    female = "female"
    male = "male"
    nonbinary = "nonbinary"


class Race(StrEnum):
    """The federal race and ethnicity categories, plus two or more races."""

    american_indian_alaska_native = "american_indian_alaska_native"
    asian = "asian"
    black_african_american = "black_african_american"
    hispanic_latino = "hispanic_latino"
    native_hawaiian_pacific_islander = "native_hawaiian_pacific_islander"
    white = "white"
    multiracial = "multiracial"


class StaffStatus(StrEnum):
    active = "active"
    inactive = "inactive"


class EmploymentStatus(StrEnum):
    full_time = "full_time"
    part_time = "part_time"
    substitute = "substitute"
    temporary = "temporary"
    seasonal = "seasonal"


class Act29(StrEnum):
    """Act 29 (Pennsylvania background clearances): a new or an existing clearance."""

    new = "new"
    existing = "existing"


class PhoneType(StrEnum):
    cell = "cell"
    home = "home"
    work = "work"


# The Add Staff screen's selects, by API field name.
CHOICES: dict[str, type[StrEnum]] = {
    "gender": Gender, "race": Race, "staff_status": StaffStatus,
    "employment_status": EmploymentStatus, "act29": Act29, "phone_type": PhoneType,
}


class Role(StrEnum):
    """API key roles: ``hr`` may use the staff endpoints, ``sysadmin`` everything."""

    hr = "hr"
    sysadmin = "sysadmin"


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC when read, on SQLite too.

    SQLite keeps no zone, so values are converted to UTC on write and tagged UTC on read;
    the worker can then compare them with ``utcnow()`` on either backend.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo:
            return value
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(36), unique=True, default=new_key)
    staff_id: Mapped[str] = mapped_column(String(20), unique=True)
    ssn_digest: Mapped[str] = mapped_column(String(64), unique=True)
    ssn_encrypted: Mapped[str] = mapped_column(Text)
    ssn_last4: Mapped[str] = mapped_column(String(4))
    last_name: Mapped[str] = mapped_column(String(60), index=True)
    first_name: Mapped[str] = mapped_column(String(60))
    address1: Mapped[str] = mapped_column(String(120))
    zip_code: Mapped[str] = mapped_column(String(9))
    gender: Mapped[str] = mapped_column(String(20))
    race: Mapped[str] = mapped_column(String(40))
    staff_status: Mapped[str] = mapped_column(String(10))
    employment_status: Mapped[str] = mapped_column(String(20))
    hire_date: Mapped[date] = mapped_column(Date)
    act29: Mapped[str] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User | None] = relationship(back_populates="staff", uselist=False)
    phones: Mapped[list[StaffPhone]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", order_by="StaffPhone.id"
    )
    last_name_history: Mapped[list[LastNameChange]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", order_by="LastNameChange.id"
    )


class ZipCode(Base):
    """HR/PY > Staff > Directories > ZIP Codes: the district's ZIP codes, offered as the
    ZIP Code select on Add Staff and Edit Demographics. ``zip_code`` is 5 or 9 digits."""

    __tablename__ = "zip_code"

    zip_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    city: Mapped[str] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(2))


class StaffPhone(Base):
    __tablename__ = "staff_phone"
    __table_args__ = (
        # The database, not only the code, allows one primary phone per staff member.
        Index(
            "uq_staff_phone_one_primary",
            "staff_pk",
            unique=True,
            sqlite_where=text("is_primary"),
            postgresql_where=text("is_primary"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_pk: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    type: Mapped[str] = mapped_column(String(10), default=PhoneType.cell.value)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)

    staff: Mapped[Staff] = relationship(back_populates="phones")


class LastNameChange(Base):
    __tablename__ = "last_name_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_pk: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    old_name: Mapped[str] = mapped_column(String(60))
    new_name: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by: Mapped[str] = mapped_column(String(100))

    staff: Mapped[Staff] = relationship(back_populates="last_name_history")


class User(Base):
    """System > Directories > Users: one row per username.

    ``username_key`` is the lowercased username; its unique constraint makes usernames
    unique case-insensitively on every backend without an expression index.
    """

    __tablename__ = "fis_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    username_key: Mapped[str] = mapped_column(String(64), unique=True)
    staff_pk: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="RESTRICT"), unique=True
    )
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    staff: Mapped[Staff | None] = relationship(back_populates="user")
    sync_state: Mapped[SyncState | None] = relationship(
        back_populates="user", uselist=False, cascade="all, delete-orphan"
    )

    @validates("username")
    def _fold(self, _key: str, value: str) -> str:
        self.username_key = value.lower()
        return value


class Parameters(Base):
    """The HR/Payroll parameters: a single row (id 1), inserted by the first migration."""

    __tablename__ = "parameters"

    id: Mapped[int] = mapped_column(primary_key=True)
    auto_assign_id: Mapped[bool] = mapped_column(Boolean, default=True)
    next_staff_id: Mapped[int] = mapped_column(Integer, default=1001)
    auto_assign_username: Mapped[bool] = mapped_column(Boolean, default=True)
    username_pattern: Mapped[str] = mapped_column(String(100), default="{first_initial}{last_name}")
    # Usernames that are never synced (compared case-insensitively).
    system_usernames: Mapped[list[str]] = mapped_column(JSON, default=list)


class ThirdPartyConfig(Base):
    """System > Directories > Third Party Configuration: a single row (id 1)."""

    __tablename__ = "third_party_config"

    id: Mapped[int] = mapped_column(primary_key=True)
    end_point: Mapped[str | None] = mapped_column(String(300))
    token_encrypted: Mapped[str | None] = mapped_column(Text)
    database_name: Mapped[str | None] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)


class SyncState(Base):
    """One user's sync outbox row (DESIGN.md, "The sync state").

    ``version`` grows on every dirty mark; a worker that pushed ``version`` v marks the
    row clean only if ``version`` is still v, so an edit made during a push is not lost.
    """

    __tablename__ = "sync_state"
    __table_args__ = (
        # Makes "claim the due dirty rows" an index range scan over dirty rows only.
        Index(
            "ix_sync_state_due",
            "next_attempt_at",
            sqlite_where=text("dirty"),
            postgresql_where=text("dirty"),
        ),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("fis_user.id", ondelete="CASCADE"), primary_key=True
    )
    dirty: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    pushed_version: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    last_error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_synced_at: Mapped[datetime | None]
    last_synced: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    scview_id: Mapped[str | None] = mapped_column(String(100))
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="sync_state")


class SyncHealth(Base):
    """The tenant's health as the sync workers last judged it: a single row (id 1).

    ``error`` is the catalogue entry of a tenant-wide failure (SCView down, wrong
    token, database or End Point), shown once on the Users list and in the API until a
    push gets through again or the configuration is saved. Saving bumps
    ``generation``; a worker records an error only for the generation it read, so a
    failure of the old settings never reappears after a fix.
    """

    __tablename__ = "sync_health"

    id: Mapped[int] = mapped_column(primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    since: Mapped[datetime | None]


class ApiKey(Base):
    """An API key; only the SHA-256 of the key is stored."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Account(Base):
    """A person who signs in to the FIS pages; the password is an argon2id hash."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    username_key: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default=Role.sysadmin.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @validates("username")
    def _fold(self, _key: str, value: str) -> str:
        self.username_key = value.lower()
        return value


class SyncRun(Base):
    """One run of the user sync (all users, or one user), kept as sync history.

    ``summary`` holds the counts per outcome and the SCView users FIS does not know
    (reported, never deleted); ``error`` is the catalogue entry that stopped the run.
    """

    __tablename__ = "sync_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))  # "all" or "one"
    trigger: Mapped[str] = mapped_column(String(20))  # cli, api, page, schedule
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="running")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    total: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    outcomes: Mapped[list[SyncRunUser]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="SyncRunUser.id"
    )


class SyncRunUser(Base):
    """One user's outcome in a run: created, updated, unchanged, skipped or failed."""

    __tablename__ = "sync_run_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("sync_run.id", ondelete="CASCADE"), index=True
    )
    username: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(20))
    changed: Mapped[list[str] | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    run: Mapped[SyncRun] = relationship(back_populates="outcomes")


class WebSession(Base):
    """A signed-in browser session for the FIS pages.

    Only the SHA-256 of the session cookie's value is stored, so a leaked database
    cannot be replayed as a login; logout deletes the row, idle expiry compares
    ``last_seen_at``. ``csrf_token`` is the per-session token every form must echo.
    """

    __tablename__ = "web_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

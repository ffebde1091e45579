"""FIS core: staff, phones, users, parameters, sync state

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYSTEM_USERNAMES = ("Admin", "SCView", "CSIU")


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("username_key", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username_key"),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "parameters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("auto_assign_id", sa.Boolean(), nullable=False),
        sa.Column("next_staff_id", sa.Integer(), nullable=False),
        sa.Column("auto_assign_username", sa.Boolean(), nullable=False),
        sa.Column("username_pattern", sa.String(length=100), nullable=False),
        sa.Column("system_usernames", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=36), nullable=False),
        sa.Column("staff_id", sa.String(length=20), nullable=False),
        sa.Column("ssn_digest", sa.String(length=64), nullable=False),
        sa.Column("ssn_encrypted", sa.Text(), nullable=False),
        sa.Column("ssn_last4", sa.String(length=4), nullable=False),
        sa.Column("last_name", sa.String(length=60), nullable=False),
        sa.Column("first_name", sa.String(length=60), nullable=False),
        sa.Column("address1", sa.String(length=120), nullable=False),
        sa.Column("zip_code", sa.String(length=9), nullable=False),
        sa.Column("gender", sa.String(length=20), nullable=False),
        sa.Column("race", sa.String(length=40), nullable=False),
        sa.Column("staff_status", sa.String(length=10), nullable=False),
        sa.Column("employment_status", sa.String(length=20), nullable=False),
        sa.Column("hire_date", sa.Date(), nullable=False),
        sa.Column("act29", sa.String(length=10), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        sa.UniqueConstraint("ssn_digest"),
        sa.UniqueConstraint("staff_id"),
    )
    op.create_index(op.f("ix_staff_last_name"), "staff", ["last_name"], unique=False)
    op.create_table(
        "third_party_config",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("end_point", sa.String(length=300), nullable=True),
        sa.Column("token_encrypted", sa.Text(), nullable=True),
        sa.Column("database_name", sa.String(length=100), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "fis_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("username_key", sa.String(length=64), nullable=False),
        sa.Column("staff_pk", sa.Integer(), nullable=True),
        sa.Column("is_system", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["staff_pk"], ["staff.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("staff_pk"),
        sa.UniqueConstraint("username_key"),
    )
    op.create_table(
        "last_name_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_pk", sa.Integer(), nullable=False),
        sa.Column("old_name", sa.String(length=60), nullable=False),
        sa.Column("new_name", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["staff_pk"], ["staff.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_last_name_change_staff_pk"), "last_name_change", ["staff_pk"], unique=False
    )
    op.create_table(
        "staff_phone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_pk", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["staff_pk"], ["staff.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_staff_phone_staff_pk"), "staff_phone", ["staff_pk"], unique=False)
    op.create_index(
        "uq_staff_phone_one_primary",
        "staff_phone",
        ["staff_pk"],
        unique=True,
        sqlite_where=sa.text("is_primary"),
        postgresql_where=sa.text("is_primary"),
    )
    op.create_table(
        "sync_state",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("dirty", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("pushed_version", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.JSON(), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_synced", sa.JSON(), nullable=True),
        sa.Column("scview_id", sa.String(length=100), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["fis_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_index(
        "ix_sync_state_due",
        "sync_state",
        ["next_attempt_at"],
        unique=False,
        sqlite_where=sa.text("dirty"),
        postgresql_where=sa.text("dirty"),
    )
    _seed_rows()


def _seed_rows() -> None:
    """The single parameters and third-party rows, and the system users, which exist
    from the first migration on and never sync."""
    now = datetime.now(UTC)
    op.bulk_insert(
        sa.table(
            "parameters",
            sa.column("id", sa.Integer),
            sa.column("auto_assign_id", sa.Boolean),
            sa.column("next_staff_id", sa.Integer),
            sa.column("auto_assign_username", sa.Boolean),
            sa.column("username_pattern", sa.String),
            sa.column("system_usernames", sa.JSON),
        ),
        [
            {
                "id": 1,
                "auto_assign_id": True,
                "next_staff_id": 1001,
                "auto_assign_username": True,
                "username_pattern": "{first_initial}{last_name}",
                "system_usernames": list(SYSTEM_USERNAMES),
            }
        ],
    )
    op.bulk_insert(
        sa.table(
            "third_party_config",
            sa.column("id", sa.Integer),
            sa.column("enabled", sa.Boolean),
        ),
        [{"id": 1, "enabled": False}],
    )
    op.bulk_insert(
        sa.table(
            "fis_user",
            sa.column("username", sa.String),
            sa.column("username_key", sa.String),
            sa.column("is_system", sa.Boolean),
            sa.column("created_at", sa.DateTime(timezone=True)),
        ),
        [
            {"username": name, "username_key": name.lower(), "is_system": True, "created_at": now}
            for name in SYSTEM_USERNAMES
        ],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_sync_state_due",
        table_name="sync_state",
        sqlite_where=sa.text("dirty"),
        postgresql_where=sa.text("dirty"),
    )
    op.drop_table("sync_state")
    op.drop_index(
        "uq_staff_phone_one_primary",
        table_name="staff_phone",
        sqlite_where=sa.text("is_primary"),
        postgresql_where=sa.text("is_primary"),
    )
    op.drop_index(op.f("ix_staff_phone_staff_pk"), table_name="staff_phone")
    op.drop_table("staff_phone")
    op.drop_index(op.f("ix_last_name_change_staff_pk"), table_name="last_name_change")
    op.drop_table("last_name_change")
    op.drop_table("fis_user")
    op.drop_table("third_party_config")
    op.drop_index(op.f("ix_staff_last_name"), table_name="staff")
    op.drop_table("staff")
    op.drop_table("parameters")
    op.drop_table("api_key")
    op.drop_table("account")

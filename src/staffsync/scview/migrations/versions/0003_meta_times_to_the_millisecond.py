"""meta times stored to the millisecond that meta.created and meta.lastModified publish

Users written before this kept microseconds, so a filter on a user's own published
lastModified missed it (eq) or found it (gt). New writes store milliseconds already.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE scim_users SET created = date_trunc('milliseconds', created), "
                   "last_modified = date_trunc('milliseconds', last_modified)")
    else:  # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff'
        op.execute("UPDATE scim_users SET created = substr(created, 1, 23) || '000', "
                   "last_modified = substr(last_modified, 1, 23) || '000'")


def downgrade() -> None:
    pass  # the lost microseconds cannot come back, and nothing needs them

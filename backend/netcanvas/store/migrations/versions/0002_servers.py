"""Several API servers on one database: the servers table, and each run's owner and stop request.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "servers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # Plain ALTER TABLE ... ADD COLUMN, also on SQLite: a batch operation would copy the runs table, and dropping
    # the old one would delete every run's events with it (ON DELETE CASCADE).
    op.add_column("runs", sa.Column("owner", sa.String(length=32), nullable=True))
    op.add_column("runs", sa.Column("stop_requested", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_runs_owner", "runs", ["owner"])


def downgrade() -> None:
    op.drop_index("ix_runs_owner", table_name="runs")
    op.drop_column("runs", "stop_requested")  # SQLite 3.35+ drops columns in place
    op.drop_column("runs", "owner")
    op.drop_table("servers")

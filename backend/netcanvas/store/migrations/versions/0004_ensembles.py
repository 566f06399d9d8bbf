"""Ensembles and their members (ensembles, ensemble_members).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ensembles",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("graph", sa.JSON(), nullable=False),
        sa.Column("dataset", sa.JSON(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("combiner", sa.JSON(), nullable=True),
        sa.Column("sample_weights", sa.JSON(), nullable=True),
        sa.Column("test_metrics", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ensembles") as batch:
        batch.create_index("ix_ensembles_status", ["status"])
    op.create_table(
        "ensemble_members",
        sa.Column("ensemble_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Double(), nullable=True),
        sa.Column("error", sa.Double(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ensemble_id"], ["ensembles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ensemble_id", "number"),
    )


def downgrade() -> None:
    op.drop_table("ensemble_members")
    with op.batch_alter_table("ensembles") as batch:
        batch.drop_index("ix_ensembles_status")
    op.drop_table("ensembles")

"""Each running study's owner: the one server that drives it (search_studies.owner).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD COLUMN, also on SQLite: a batch operation would copy the table, and dropping the
    # old one would delete every study's trials with it (ON DELETE CASCADE).
    op.add_column("search_studies", sa.Column("owner", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("search_studies", "owner")  # SQLite 3.35+ drops columns in place

"""feed cursors (how far each service feed has been applied) and pending decisions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 18:30:00.000000
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
        "feed_cursors",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("synced_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("source", "connection_id"),
    )
    op.create_table(
        "pending_decisions",
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("rematch", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id"),
    )


def downgrade() -> None:
    op.drop_table("pending_decisions")
    op.drop_table("feed_cursors")

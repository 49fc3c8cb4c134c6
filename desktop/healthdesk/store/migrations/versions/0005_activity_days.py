"""activity per day: events by connection, UTC day and outcome, with the range of their
seqs (filled from the stored events)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 20:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity_days",
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("day", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("min_seq", sa.Integer(), nullable=False),
        sa.Column("max_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "day", "outcome"),
    )
    # A database of an earlier version: count what it holds, once.
    op.execute(
        """
        INSERT INTO activity_days (connection_id, day, outcome, count, min_seq, max_seq)
        SELECT connection_id, substr(at, 1, 10), outcome, COUNT(*), MIN(seq), MAX(seq)
        FROM events GROUP BY 1, 2, 3
        """
    )


def downgrade() -> None:
    op.drop_table("activity_days")

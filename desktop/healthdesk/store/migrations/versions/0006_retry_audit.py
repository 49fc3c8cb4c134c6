"""retry audit: the retries an agent asked of the sync service (who, when, which group,
how many, which connection), shown in the timeline

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 20:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retry_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("at", sa.Text(), nullable=False),
        sa.Column("agent", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("already_queued", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.Column("service_url", sa.Text(), nullable=False),
        sa.Column("request_key", sa.Text(), nullable=False),
        sa.Column("after_seq", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_retry_audit_timeline", "retry_audit", ["connection_id", "after_seq"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_retry_audit_timeline", table_name="retry_audit")
    op.drop_table("retry_audit")

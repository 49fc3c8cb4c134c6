"""maintained counts: contacts by status, reason and failure group; events by target and
outcome (filled from the stored contacts and events); line digests of records, mappings
and events (a re-import skips the lines a row already holds); covering indexes for a
record's latest write and a b-record's pair

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 18:45:00.000000
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
        "contact_counts",
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("failure_app", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "status", "reason", "failure_app", "fingerprint"),
    )
    op.create_table(
        "event_counts",
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "target", "outcome"),
    )
    for table in ("records", "mappings", "events"):
        op.add_column(table, sa.Column("digest", sa.Integer(), nullable=True))
        op.add_column(table, sa.Column("line", sa.Integer(), nullable=True))
        # Partial: rows from a service page have no line, and stay out of these indexes.
        op.create_index(
            f"ix_{table}_digest",
            table,
            ["digest"],
            unique=False,
            sqlite_where=sa.text("digest IS NOT NULL"),
        )
        op.create_index(
            f"ix_{table}_line",
            table,
            ["line", "digest"],
            unique=False,
            sqlite_where=sa.text("digest IS NOT NULL"),
        )
    # Covering indexes: a record's latest write and a b-record's pair, from the index.
    op.drop_index("ix_events_record", table_name="events")
    op.create_index(
        "ix_events_record",
        "events",
        ["connection_id", "app", "ext_id", "seq", "outcome"],
        unique=False,
    )
    op.drop_index("ix_mappings_b", table_name="mappings")
    op.create_index("ix_mappings_b", "mappings", ["connection_id", "b_id", "a_id"], unique=False)
    # A database of an earlier version: count what it holds, once.
    op.execute(
        """
        INSERT INTO contact_counts (connection_id, status, reason, failure_app, fingerprint,
            count)
        SELECT connection_id, status, COALESCE(reason, ''), COALESCE(failure_app, ''),
            COALESCE(fingerprint, ''), COUNT(*)
        FROM contacts GROUP BY 1, 2, 3, 4, 5
        """
    )
    op.execute(
        """
        INSERT INTO event_counts (connection_id, target, outcome, count)
        SELECT connection_id, target, outcome, COUNT(*) FROM events GROUP BY 1, 2, 3
        """
    )


def downgrade() -> None:
    op.drop_index("ix_mappings_b", table_name="mappings")
    op.create_index("ix_mappings_b", "mappings", ["connection_id", "b_id"], unique=False)
    op.drop_index("ix_events_record", table_name="events")
    op.create_index(
        "ix_events_record", "events", ["connection_id", "app", "ext_id", "seq"], unique=False
    )
    for table in ("events", "mappings", "records"):
        op.drop_index(f"ix_{table}_line", table_name=table)
        op.drop_index(f"ix_{table}_digest", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("line")
            batch.drop_column("digest")
    op.drop_table("event_counts")
    op.drop_table("contact_counts")

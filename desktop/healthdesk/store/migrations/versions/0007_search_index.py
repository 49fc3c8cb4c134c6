"""search index: each contact's search text (search_docs), its FTS5 trigram index
(search_fts) and the characters it holds (search_chars); filled
from the stored contacts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite's NOCASE has no namesake on PostgreSQL (see 0001): there the search orders by
    # the folded name (store.dialect.nocase).
    nocase = "NOCASE" if op.get_bind().dialect.name == "sqlite" else None
    op.create_table(
        "search_docs",
        sa.Column("rid", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("unnamed", sa.Boolean(), nullable=False),
        sa.Column("name", sa.Text(collation=nocase), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("rid"),
    )
    op.create_index(
        "ix_search_docs_order",
        "search_docs",
        ["connection_id", "unnamed", "name", "rid"],
        unique=False,
    )
    op.create_index(
        "ix_search_docs_connection", "search_docs", ["connection_id", "rid"], unique=False
    )
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return  # FTS5 and the text function are SQLite's; other databases search their way
    from healthdesk.store.search_index import FTS_DDL, index_all

    for statement in FTS_DDL:
        op.execute(statement)
    dbapi = bind.connection.driver_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        index_all(cursor)
    finally:
        cursor.close()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS search_fts")
        op.execute("DROP TABLE IF EXISTS search_chars")
    op.drop_index("ix_search_docs_connection", table_name="search_docs")
    op.drop_index("ix_search_docs_order", table_name="search_docs")
    op.drop_table("search_docs")

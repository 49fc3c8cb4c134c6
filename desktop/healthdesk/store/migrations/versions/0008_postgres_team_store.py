"""postgres team store: on PostgreSQL only, text compared by bytes, 64-bit integers,
trigram search and case-folded list order indexes (nothing changes on SQLite)

- every text column gets collation "C": PostgreSQL then compares and sorts text by its
  UTF-8 bytes, as SQLite does (BINARY), whatever the database's own locale;
- every integer column becomes BIGINT: SQLite's integers have 64 bits (line digests use
  63 of them);
- pg_trgm's GIN index on the search texts (search_docs.text, folded already) and an
  index on (connection, unnamed, folded name, rid) serve the search (store.team_search),
  and an index on (connection, status, folded name, rid) the status lists sorted by name
  (store.dialect.nocase); the texts of contacts stored before are written.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 21:00:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _postgres():
        return
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        for column in inspector.get_columns(table):
            name = column["name"]
            kind = column["type"]
            if isinstance(kind, sa.Integer) and not isinstance(kind, sa.BigInteger):
                op.execute(f'ALTER TABLE {table} ALTER COLUMN "{name}" TYPE BIGINT')
            elif isinstance(kind, sa.String):
                op.execute(f'ALTER TABLE {table} ALTER COLUMN "{name}" TYPE TEXT COLLATE "C"')
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_search_docs_text ON search_docs USING gin (text gin_trgm_ops)")
    op.execute(
        "CREATE INDEX ix_search_docs_folded ON search_docs "
        '(connection_id, unnamed, lower(name COLLATE "C"), rid)'
    )
    op.execute(
        "CREATE INDEX ix_contacts_name ON contacts "
        # NULLS FIRST: the lists' order (SQLite's), so that the index serves it both ways.
        '(connection_id, status, lower(name COLLATE "C") NULLS FIRST, rid)'
    )
    from healthdesk.store.dialect import PgCursor
    from healthdesk.store.search_index import index_all

    dbapi = bind.connection.driver_connection
    assert dbapi is not None
    cursor: Any = PgCursor(dbapi.cursor())  # search_index takes either database's cursor
    try:
        index_all(cursor)
    finally:
        cursor.close()


def downgrade() -> None:
    if not _postgres():
        return
    op.execute("DROP INDEX IF EXISTS ix_contacts_name")
    op.execute("DROP INDEX IF EXISTS ix_search_docs_folded")
    op.execute("DROP INDEX IF EXISTS ix_search_docs_text")

"""postgres team store: on PostgreSQL only, text compared by bytes, 64-bit integers,
trigram search and case-folded list order indexes (nothing changes on SQLite)

- every text column gets collation "C": PostgreSQL then compares and sorts text by its
  UTF-8 bytes, as SQLite does (BINARY), whatever the database's own locale;
- every integer column becomes BIGINT: SQLite's integers have 64 bits (line digests use
  63 of them);
- pg_trgm's GIN index on the folded name, email and app id of records serves the search
  (store.team_search), and an index on (connection, status, folded name, rid) the status
  lists sorted by name (store.dialect.nocase).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_SEARCHED = ("name", "email", "ext_id")


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
    folded = ", ".join(f'lower({column} COLLATE "C") gin_trgm_ops' for column in _SEARCHED)
    op.execute(f"CREATE INDEX ix_records_search ON records USING gin ({folded})")
    op.execute(
        "CREATE INDEX ix_contacts_name ON contacts "
        # NULLS FIRST: the lists' order (SQLite's), so that the index serves it both ways.
        '(connection_id, status, lower(name COLLATE "C") NULLS FIRST, rid)'
    )


def downgrade() -> None:
    if not _postgres():
        return
    op.execute("DROP INDEX IF EXISTS ix_contacts_name")
    op.execute("DROP INDEX IF EXISTS ix_records_search")

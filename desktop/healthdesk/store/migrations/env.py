"""Alembic environment: migrations run on the connection that store.db passes in."""

from __future__ import annotations

from alembic import context

from healthdesk.store.schema import Base, is_declared

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
    include_name=is_declared,
)
with context.begin_transaction():
    context.run_migrations()

"""Where each service feed stands locally, and applying one page of it with its cursor.

A page of a connection's feed and the cursor that follows it are written in one
transaction: the stored cursor always says exactly which items the database holds, so a
sync that stops at any moment (crash, lost network, Ctrl+C) resumes from it with no item
missing and none applied twice. Items go through store.ingest, the same path as imports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from healthdesk.core.model import Connection
from healthdesk.feed.items import FeedError, parse_item
from healthdesk.feed.reader import Located
from healthdesk.store.db import raw_transaction
from healthdesk.store.ingest import Ingestor, IngestReport


@dataclass(frozen=True, slots=True)
class FeedCursor:
    """How far one connection's feed from one service has been applied."""

    source: str
    connection_id: str
    cursor: str
    #: When the page this cursor follows was applied (canonical UTC).
    synced_at: str


def _now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def get_cursor(engine: Engine, source: str, connection_id: str) -> str | None:
    """The cursor to resume `connection_id`'s feed from `source` with (None: from the start)."""
    with engine.connect() as db:
        row = db.exec_driver_sql(
            "SELECT cursor FROM feed_cursors WHERE source = ? AND connection_id = ?",
            (source, connection_id),
        ).first()
    return None if row is None else str(row[0])


def list_cursors(engine: Engine, source: str | None = None) -> list[FeedCursor]:
    """Every stored cursor (of one service, when `source` is given), by source and id."""
    sql = "SELECT source, connection_id, cursor, synced_at FROM feed_cursors"
    params: tuple[str, ...] = ()
    if source is not None:
        sql += " WHERE source = ?"
        params = (source,)
    with engine.connect() as db:
        rows = db.exec_driver_sql(sql + " ORDER BY source, connection_id", params).all()
    return [FeedCursor(*row) for row in rows]


def apply_page(
    engine: Engine,
    *,
    source: str,
    connection_id: str,
    items: Sequence[Any],
    next_cursor: str,
    page_url: str | None = None,
    decide: bool = True,
) -> IngestReport:
    """Apply one page of `connection_id`'s feed from `source` and store `next_cursor`, atomically.

    `items` are the decoded JSON objects of the page, in feed order. Every one is validated
    first; an invalid one, or one of another connection, raises FeedError naming
    `page_url` (default: `source`) and the item's 1-based position in the page, and the
    database is left exactly as it was, cursor included. An empty page just moves the
    cursor.

    With `decide=False` (a page that more pages follow) the statuses are not decided: the
    connection is left pending, and the first page applied with `decide=True` decides it
    whole, which costs far less than deciding page by page.
    """
    where = page_url or source
    located = [
        _locate(raw, position, where, connection_id) for position, raw in enumerate(items, 1)
    ]
    try:
        # Bulk: the page that decides a first pull builds the indexes the earlier pages
        # left (store.ingest), and their sorts belong in temporary files, not in memory.
        with raw_transaction(engine, bulk=True) as cursor:
            ingestor = Ingestor(cursor=cursor, source=source, decide=decide)
            for entry in located:
                ingestor.add(entry)
            report = ingestor.finish(also=[connection_id])
            cursor.execute(
                """
                INSERT INTO feed_cursors (source, connection_id, cursor, synced_at)
                VALUES (?, ?, ?, ?)
                ON CONFLICT (source, connection_id) DO UPDATE SET cursor = excluded.cursor,
                    synced_at = excluded.synced_at
                """,
                (source, connection_id, next_cursor, _now()),
            )
    except FeedError as exc:
        # The ingest locates an item by (source, line): say "item N" as validation does.
        if exc.line:
            raise FeedError(
                exc.problem, source=f"{exc.source}: item {exc.line}", key=exc.key
            ) from None
        raise
    return report


def _locate(raw: Any, position: int, where: str, connection_id: str) -> Located:
    try:
        item = parse_item(raw)
    except FeedError as exc:
        raise FeedError(exc.problem, source=f"{where}: item {position}", key=exc.key) from None
    if isinstance(item, Connection):
        owner, key = item.id, "id"
    else:
        owner, key = item.connection, "connection"
    if owner != connection_id:
        raise FeedError(
            f"belongs to connection {owner!r}, but this is the feed of {connection_id!r}",
            source=f"{where}: item {position}",
            key=key,
        )
    return Located(where, position, item)

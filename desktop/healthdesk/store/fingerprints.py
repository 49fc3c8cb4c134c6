"""Stored fingerprints kept in step with the rules that compute them.

Each failed event's fingerprint is computed once, at import (``core.fingerprint``), and
stored with the event; the contacts table copies the fingerprint of the failure it shows,
so that the failure tree and the counts group in SQL. When the masking rules change
(``FINGERPRINT_VERSION``), fingerprints stored by an older Health Desk would no longer
group with new ones, so opening the database recomputes them from the raw errors that the
events keep whole, and records the version in ``store_meta``. A database whose version is
current is left alone; a new one records the version without work.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection as SAConnection

from healthdesk.core.fingerprint import FINGERPRINT_VERSION, fingerprint
from healthdesk.store.counts import RECOUNT_ALL_CONTACTS

VERSION_KEY = "fingerprint_version"
_BATCH = 5_000


def stored_version(connection: SAConnection) -> str | None:
    row = connection.exec_driver_sql(
        "SELECT value FROM store_meta WHERE key = ?", (VERSION_KEY,)
    ).first()
    return None if row is None else str(row[0])


def refresh_fingerprints(connection: SAConnection) -> int:
    """Recompute stored fingerprints if they follow older rules; the number changed.

    Runs in the caller's transaction: the new fingerprints and the version are committed
    together or not at all.
    """
    if stored_version(connection) == str(FINGERPRINT_VERSION):
        return 0
    changed = 0
    cache: dict[tuple[str, str], str] = {}
    after: tuple[Any, ...] = ("", -1)
    while True:
        rows = connection.exec_driver_sql(
            "SELECT connection_id, seq, error_code, error_message, fingerprint FROM events "
            "WHERE error_message IS NOT NULL AND (connection_id, seq) > (?, ?) "
            "ORDER BY connection_id, seq LIMIT ?",
            (*after, _BATCH),
        ).fetchall()
        if not rows:
            break
        updates = []
        for cid, seq, code, message, old in rows:
            key = (code or "", message)
            new = cache.get(key)
            if new is None:
                new = cache[key] = fingerprint(*key)
            if new != old:
                updates.append((new, cid, seq))
        if updates:
            connection.exec_driver_sql(
                "UPDATE events SET fingerprint = ? WHERE connection_id = ? AND seq = ?", updates
            )
            changed += len(updates)
        after = (rows[-1][0], rows[-1][1])
        if len(cache) > 100_000:
            cache.clear()
    if changed:
        connection.exec_driver_sql(
            "UPDATE contacts SET fingerprint = (SELECT e.fingerprint FROM events e "
            "WHERE e.connection_id = contacts.connection_id AND e.seq = contacts.failure_seq) "
            "WHERE failure_seq IS NOT NULL"
        )
        # The maintained counts are keyed by fingerprint: count them again.
        connection.exec_driver_sql("DELETE FROM contact_counts")
        connection.exec_driver_sql(RECOUNT_ALL_CONTACTS)
    connection.exec_driver_sql(
        "INSERT INTO store_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (VERSION_KEY, str(FINGERPRINT_VERSION)),
    )
    return changed

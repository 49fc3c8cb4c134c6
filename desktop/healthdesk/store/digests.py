"""Line digests: a re-import skips, without parsing it, each line a row already holds.

Every record, mapping and event row keeps the digest of the snapshot line it was last
written from (a 63-bit BLAKE2b of the line's bytes). A line whose digest a row of its kind
holds would write exactly that row again: applying it changes nothing, so it is skipped.
One exception: when this import has already changed that row's key (an earlier line of
the file wrote the record, or moved the mapping's a- or b-record), the row no longer
holds what the line says, and the line is applied as usual. Events are never changed
(a repeated seq is ignored), so an event line held by a row is always skipped.

The odds that two different lines share a digest among millions are about 1e-6 per
million-contact import pair; the digest is a check of the whole line, not of a part.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from hashlib import blake2b

from healthdesk.core.model import Item, MappingItem, Record

_CHUNK = 900
#: How an item line of our own writers begins; other lines are never skipped, only parsed.
_PREFIXES = (
    (b'{"type":"record"', "records"),
    (b'{"type":"event"', "events"),
    (b'{"type":"mapping"', "mappings"),
)


def line_digest(data: bytes) -> int:
    """The digest of a line, as a non-negative SQLite integer."""
    return int.from_bytes(blake2b(data, digest_size=8).digest(), "little") >> 1


class UnchangedLines:
    """Finds the lines of an import that rows of the database already hold.

    Use: `held(batch)` for each batch of (digest, line bytes) before parsing it, then for
    each line in order `skips(digest, found)`, and `touch(item)` for each item applied.
    """

    def __init__(self, *, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor
        # Keys this import has written: (connection, app, id) of records; (connection,
        # side, id) of the records whose mappings it changed.
        self._records: set[tuple[str, str, str]] = set()
        self._mapped: set[tuple[str, str, str]] = set()
        #: Lines skipped, by table ("records", "mappings", "events").
        self.skipped: dict[str, int] = {"records": 0, "mappings": 0, "events": 0}

    def held(self, lines: Sequence[tuple[int, bytes]]) -> dict[int, tuple[str, ...]]:
        """Digest -> the key of the row that holds it, for the lines of `lines` held.

        The key: ("records", connection, app, id), ("mappings", connection, a, b) or
        ("events",).
        """
        by_table: dict[str, list[int]] = {}
        for digest, data in lines:
            for prefix, table in _PREFIXES:
                if data.startswith(prefix):
                    by_table.setdefault(table, []).append(digest)
                    break
        found: dict[int, tuple[str, ...]] = {}
        for table, digests in by_table.items():
            columns = {
                "records": "digest, connection_id, app, ext_id",
                "mappings": "digest, connection_id, a_id, b_id",
                "events": "digest",
            }[table]
            for chunk in _chunks(digests):
                marks = ",".join("?" * len(chunk))
                for digest, *key in self._cursor.execute(
                    f"SELECT {columns} FROM {table} WHERE digest IN ({marks})", chunk
                ):
                    found[digest] = (table, *key)
        return found

    def skips(self, digest: int, held: dict[int, tuple[str, ...]]) -> bool:
        """Whether the line of `digest` changes nothing (see the module's docstring)."""
        key = held.get(digest)
        if key is None:
            return False
        table = key[0]
        if table == "records":
            if (key[1], key[2], key[3]) in self._records:
                return False
        elif table == "mappings":
            connection = key[1]
            mapped = self._mapped
            if (connection, "a", key[2]) in mapped or (connection, "b", key[3]) in mapped:
                return False
        self.skipped[table] += 1
        return True

    def touch(self, item: Item) -> None:
        """Note the keys an applied item writes."""
        if type(item) is Record:
            self._records.add((item.connection, item.app.value, item.id))
        elif type(item) is MappingItem:
            self._mapped.add((item.connection, "a", item.a))
            if item.b:
                self._mapped.add((item.connection, "b", item.b))


def _chunks(values: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]

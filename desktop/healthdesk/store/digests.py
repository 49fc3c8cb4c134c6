"""Line digests: a re-import skips, without parsing it, each line a row already holds.

Every record, mapping and event row keeps the digest of the snapshot line it was last
written from. A line whose digest a row holds would write exactly that row again: applying
it changes nothing, so it is skipped.

One exception: a row this import changes no longer holds its old line. So, before the
lines of a batch are skipped, the lines that will be applied are parsed and the digests
their keys' rows hold now (a record's own row; for a mapping, the rows of its a- and
b-record) are set aside as stale for the rest of the import: a line of a stale digest is
applied as usual. Applying a line that changes nothing is always right, so setting aside
too much is harmless. Events are never changed (a repeated seq is ignored).

The digest is a 63-bit XXH3 of the line's bytes: a re-import hashes every line, and XXH3
takes a seventh of BLAKE2b's time on feed lines. Two different lines share a digest with
odds of about 1e-6 in a million-contact import. XXH3 is not built to resist forgery: a line
crafted to collide could be skipped, leaving the row of its own key as it was; skipping
never writes, so no other row can be touched that way. Digests stored before XXH3 (they
were BLAKE2b) match no line: the first re-import after it applies every line once.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import cast

import xxhash

from healthdesk.core.model import Item, MappingItem, Record

_first = itemgetter(0)

_CHUNK = 900
#: How an item line of our own writers begins (17 bytes), and the table of its rows;
#: other lines are never skipped, only parsed.
_KINDS = {
    b'{"type":"record",': "records",
    b'{"type":"event","': "events",
    b'{"type":"mapping"': "mappings",
}
#: After this many lines, an import that found fewer than 1 in 100 of them held (a new
#: file) stops looking: the look-ups would cost more than they save.
_TRIAL_LINES = 20_000


_xxh3 = xxhash.xxh3_64_intdigest


def line_digest(data: bytes) -> int:
    """The digest of a line, as a non-negative SQLite integer."""
    return _xxh3(data) >> 1


def line_digests(lines: Iterable[bytes]) -> list[int]:
    """`line_digest` of each line (one loop in a comprehension: this runs per line)."""
    xxh3 = _xxh3
    return [xxh3(data) >> 1 for data in lines]


class UnchangedLines:
    """Finds the lines of an import that rows of the database already hold.

    Use, per batch of lines: `held(numbers, digests, lines)`; parse the lines not held and
    pass their items to `applying(items)`; then apply, in order, the lines not held and
    those `applied_anyway(digests, held)` names; skip the others.
    """

    def __init__(self, *, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor
        self._stale: set[int] = set()
        self._looked = 0
        self._found = 0
        #: Lines skipped, by table ("records", "mappings", "events").
        self.skipped: dict[str, int] = {"records": 0, "mappings": 0, "events": 0}

    @property
    def looking(self) -> bool:
        return self._looked < _TRIAL_LINES or self._found * 100 >= self._looked

    def held(
        self, numbers: Sequence[int], digests: Sequence[int], lines: Sequence[bytes]
    ) -> dict[int, str]:
        """Digest -> table, for the lines (numbers, digests, bytes) whose digest a row of
        that table holds.

        A re-import finds most at the same line numbers (one range read per table); the
        others are looked up by digest.
        """
        kinds = _KINDS
        tables = [kinds.get(line[:17]) for line in lines]
        present = set(tables)
        other_lines = None in present  # a connection's, or a writer's not our own
        present.discard(None)
        cursor = self._cursor
        around: set[int] = set()
        for table in present:
            around.update(
                map(
                    _first,
                    cursor.execute(
                        f"SELECT digest FROM {table} WHERE line BETWEEN ? AND ? "
                        "AND digest IS NOT NULL",
                        (numbers[0], numbers[-1]),
                    ),
                )
            )
        # Set and dict operations in C: this runs over every line of a re-import.
        if other_lines:
            kind_of = {digest: kind for digest, kind in zip(digests, tables, strict=True) if kind}
        else:  # every line is a record's, a mapping's or an event's: no None among `tables`
            kind_of = dict(zip(digests, cast(list[str], tables), strict=True))
        at_line = around.intersection(kind_of)
        found = dict(zip(at_line, map(kind_of.__getitem__, at_line), strict=True))
        missing: dict[str, list[int]] = {}
        for digest in kind_of.keys() - at_line:
            missing.setdefault(kind_of[digest], []).append(digest)
        for table, values in missing.items():
            for chunk in _chunks(sorted(values)):
                marks = ",".join("?" * len(chunk))
                found.update(
                    (digest, table)
                    for (digest,) in cursor.execute(
                        f"SELECT digest FROM {table} WHERE digest IN ({marks})", chunk
                    )
                )
        self._looked += len(lines)
        self._found += len(found)
        return found

    def applying(self, items: Iterable[Item]) -> None:
        """Set aside the digests that the rows these items write hold now."""
        records: dict[tuple[str, str], list[str]] = {}
        mapped: dict[str, tuple[list[str], list[str]]] = {}
        for item in items:
            if type(item) is Record:
                records.setdefault((item.connection, item.app.value), []).append(item.id)
            elif type(item) is MappingItem:
                a_ids, b_ids = mapped.setdefault(item.connection, ([], []))
                a_ids.append(item.a)
                if item.b:
                    b_ids.append(item.b)
        cursor = self._cursor
        stale = self._stale
        for (connection, app), ids in records.items():
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                stale.update(
                    digest
                    for (digest,) in cursor.execute(
                        f"SELECT digest FROM records WHERE connection_id = ? AND app = ? "
                        f"AND ext_id IN ({marks}) AND digest IS NOT NULL",
                        (connection, app, *chunk),
                    )
                )
        for connection, (a_ids, b_ids) in mapped.items():
            for column, ids in (("a_id", a_ids), ("b_id", b_ids)):
                for chunk in _chunks(ids):
                    marks = ",".join("?" * len(chunk))
                    stale.update(
                        digest
                        for (digest,) in cursor.execute(
                            f"SELECT digest FROM mappings WHERE connection_id = ? "
                            f"AND {column} IN ({marks}) AND digest IS NOT NULL",
                            (connection, *chunk),
                        )
                    )

    def applied_anyway(self, digests: Sequence[int], held: dict[int, str]) -> list[int]:
        """The positions of held lines to apply all the same (their digest is stale), in
        order; every other held line is counted as skipped. Call after `applying`."""
        stale = self._stale.intersection(held) if self._stale else None
        again = [i for i, digest in enumerate(digests) if digest in stale] if stale else []
        # Counted in C (map, Counter): this runs over every line of a re-import.
        tally = Counter(map(held.get, digests))
        for position in again:
            tally[held[digests[position]]] -= 1
        skipped = self.skipped
        for table in skipped:
            skipped[table] += tally[table]
        return again


def _chunks(values: Sequence[object]) -> Iterable[list[object]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])

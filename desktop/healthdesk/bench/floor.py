"""The bare floor of an import: what any import of a snapshot file must at least cost.

Read every line (through ISA-L's gzip, as the import does), parse it with orjson, insert
it into one table in one transaction (executemany in 10k batches, WAL, synchronous=OFF).
No validation, no index, no deciding: the least work that still reads and stores
everything.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
from isal import igzip


def floor(snapshot: Path | str, db_path: Path | str) -> int:
    """Read, parse and insert every line of `snapshot` into one table; return the lines."""
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("CREATE TABLE items (line INTEGER, type TEXT, connection TEXT, key TEXT, body TEXT)")
    db.execute("BEGIN")
    batch: list[tuple[object, ...]] = []
    count = 0
    with igzip.open(snapshot, "rb") as lines:
        for number, line in enumerate(lines, 1):
            item = orjson.loads(line)
            batch.append(
                (
                    number,
                    item.get("type"),
                    item.get("connection"),
                    str(item.get("id") or item.get("seq") or item.get("a") or ""),
                    line,
                )
            )
            if len(batch) >= 10_000:
                db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?)", batch)
                count += len(batch)
                batch.clear()
    db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?)", batch)
    count += len(batch)
    db.execute("COMMIT")
    db.close()
    return count

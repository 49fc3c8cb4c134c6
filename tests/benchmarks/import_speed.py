"""Import benchmark: Health Desk's import of a generated snapshot against the bare floor.

    .venv/bin/python -m tests.benchmarks.import_speed --contacts 1000000

The floor, measured in the same process on the same file: read every line, parse it
with orjson, insert it into one table in one transaction (executemany in 10k batches,
WAL, synchronous=OFF), which is the least any import of that file can cost. The figures
the README's performance table quotes come from this script; nothing asserts them.
"""

from __future__ import annotations

import argparse
import gzip
import resource
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import orjson

from healthdesk.feed.generate import generate
from healthdesk.store.db import open_db
from healthdesk.store.imports import import_snapshots
from healthdesk.store.queries import counts, list_connections

T = TypeVar("T")


def timed(label: str, action: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  {label:<44} {seconds:8.2f} s   (peak RSS so far {peak:,.0f} MiB)", flush=True)
    return result, seconds


def floor(path: Path, db_path: Path) -> int:
    """Read, parse and insert every line into one table, in one transaction."""
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("CREATE TABLE items (line INTEGER, type TEXT, connection TEXT, key TEXT, body TEXT)")
    db.execute("BEGIN")
    batch: list[tuple[object, ...]] = []
    count = 0
    with gzip.open(path, "rb") as lines:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep the files")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="healthdesk-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    snapshot = work / f"bench-{args.contacts}.healthsnap"
    print(f"Import benchmark, {args.contacts:,} contacts, in {work}")
    if not snapshot.exists():
        timed(
            "generate the snapshot",
            lambda: generate(snapshot, contacts=args.contacts, seed=args.seed),
        )
    with gzip.open(snapshot, "rb") as handle:
        lines = sum(1 for _ in handle)
    size = snapshot.stat().st_size / 2**20
    print(f"  snapshot: {lines:,} lines, {size:,.1f} MiB gzip")

    for stale in work.glob("*.sqlite3*"):
        stale.unlink()
    _, floor_s = timed(
        "floor: read + parse + insert, one table",
        lambda: floor(snapshot, work / "floor.sqlite3"),
    )
    engine = open_db(work / "healthdesk.sqlite3")
    phases: dict[str, float] = {}
    started = time.perf_counter()

    def progress(_done: int, _total: int, phase: str) -> None:
        phases.setdefault(phase, time.perf_counter() - started)

    report, import_s = timed(
        "healthdesk import (new database)",
        lambda: import_snapshots(engine, [snapshot], on_progress=progress),
    )
    _, again_s = timed(
        "healthdesk import again (nothing changes)",
        lambda: import_snapshots(engine, [snapshot]),
    )
    total = sum(sum(counts(engine, c.id).values()) for c in list_connections(engine))
    engine.dispose()
    db_size = (work / "healthdesk.sqlite3").stat().st_size / 2**20
    read_s = phases.get("deciding", import_s)

    print()
    print(f"  items {report.items:,}; visible contacts {total:,}; database {db_size:,.0f} MiB")
    print(
        f"  import / floor        {import_s / floor_s:5.2f}x  ({import_s:.1f} s vs {floor_s:.1f} s)"
    )
    print(f"    read, check, write  {read_s:6.1f} s")
    print(f"    decide, index       {import_s - read_s:6.1f} s")
    print(f"  re-import / floor     {again_s / floor_s:5.2f}x  ({again_s:.1f} s)")
    print(f"  import throughput     {lines / import_s:,.0f} lines/s")


if __name__ == "__main__":
    main()

"""The import figures: import, re-import (unchanged, 1% changed), memory, size, pull.

Every time is compared with the bare floor (bench.floor) measured in the same run on the
same file; every figure comes from a child process of its own (bench.child).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine

from healthdesk.bench import BenchContext, Figure
from healthdesk.core.model import Connection

#: Targets of issue 8 (ratios to the floor, or absolute).
IMPORT_RATIO = 1.5
LINEAR_RATIO = 4.6
RSS_MIB = 300
SIZE_RATIO = 1.5
UNCHANGED_RATIO = 0.5
CHANGED_RATIO = 0.6
PULL_RATIO = 1.2
#: Every this-many-th item is changed in the "1% changed" file.
CHANGE_EVERY = 100
SERVICE_TOKEN = "healthdesk-bench"


def run_child(task: str, **args: Any) -> dict[str, Any]:
    """Run a `bench.child` task in a process of its own; its figures as a dict."""
    done = subprocess.run(
        [sys.executable, "-m", "healthdesk.bench.child", task, json.dumps(args, default=str)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def largest_connection(engine: Engine) -> tuple[Connection, int]:
    """The connection with the most contacts (what the view figures measure), and how
    many it has (its maintained counts)."""
    from healthdesk.store.queries import counts, list_connections

    sizes = [(c, sum(counts(engine, c.id).values())) for c in list_connections(engine)]
    return max(sizes, key=lambda size: size[1])


def peak_mib(result: dict[str, Any]) -> float:
    return max(float(result["rss_mib"]), float(result["child_rss_mib"]))


def write_changed_copy(source: Path, target: Path, *, every: int = CHANGE_EVERY) -> int:
    """A copy of a snapshot with one item in `every` changed; return how many changed.

    A record gets a new name, a mapping a new `since`, an event becomes a new event (a
    seq after all others); connections stay as they are (new rules re-decide it all).
    """
    changed = 0
    with gzip.open(source, "rb") as lines, gzip.open(target, "wb", compresslevel=6) as out:
        for number, line in enumerate(lines):
            if number == 0 or number % every:
                out.write(line)
                continue
            item = orjson.loads(line)
            kind = item.get("type")
            if kind == "record":
                item["name"] = f"{item['name']} (changed)"
            elif kind == "mapping":
                item["since"] = "2026-11-29T12:00:00Z"
            elif kind == "event":
                item["seq"] = item["seq"] + 10**12
            else:
                out.write(line)
                continue
            out.write(orjson.dumps(item) + b"\n")
            changed += 1
    return changed


def bench_snapshot(context: BenchContext, contacts: int) -> Path:
    from healthdesk.feed.generate import generate

    path = context.work / f"snapshot-{contacts}-{context.seed}.healthsnap"
    if not path.exists():
        context.say(f"generating {contacts:,} contacts")
        generate(path, contacts=contacts, seed=context.seed)
    return path


def fresh_db(path: Path) -> Path:
    for stale in path.parent.glob(path.name + "*"):
        stale.unlink()
    return path


@contextmanager
def reference_service(snapshot: Path, *, simulate: float | None = None) -> Iterator[str]:
    """`healthdesk serve` on a free loopback port, in a process of its own; its URL.
    With `simulate`, it appends about that many live items per second."""
    env = {**os.environ, "HEALTHDESK_TOKEN": SERVICE_TOKEN}
    extra = ["--simulate", str(simulate)] if simulate else []
    process = subprocess.Popen(
        [sys.executable, "-m", "healthdesk", "serve", str(snapshot), "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if " on " not in line:
            raise RuntimeError(f"healthdesk serve did not start: {line!r}")
        yield line.split(" on ", 1)[1].split()[0]
    finally:
        process.terminate()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def import_suite(context: BenchContext) -> list[Figure]:
    work = context.work
    n = context.contacts
    quarter = max(n // 4, 1)
    snapshot = bench_snapshot(context, n)
    small = bench_snapshot(context, quarter)
    changed_path = work / f"snapshot-{n}-{context.seed}-changed.healthsnap"
    if not changed_path.exists():
        write_changed_copy(snapshot, changed_path)

    say = context.say
    say("floor")
    floor_db = fresh_db(work / "floor.sqlite3")
    floor = run_child("floor", snapshot=snapshot, db=floor_db)
    floor_s = floor["seconds"]
    floor_size = floor_db.stat().st_size
    say("import")
    db = fresh_db(work / "import.sqlite3")
    first = run_child("import", snapshots=[snapshot], db=db)
    db_size = db.stat().st_size
    say("re-import, unchanged")
    again = run_child("import", snapshots=[snapshot], db=db)
    say("re-import, 1% changed")
    changed = run_child("import", snapshots=[changed_path], db=db)
    say(f"import of {quarter:,} contacts")
    small_floor = run_child("floor", snapshot=small, db=fresh_db(work / "floor-small.sqlite3"))
    small_import = run_child("import", snapshots=[small], db=fresh_db(work / "small.sqlite3"))
    say("pull over loopback")
    pulled_db = fresh_db(work / "pull.sqlite3")
    with reference_service(snapshot) as url:
        pull = run_child("pull", url=url, token=SERVICE_TOKEN, db=pulled_db)

    import_s = first["seconds"]
    growth = import_s / small_import["seconds"]
    lines = floor["lines"]

    def ratio(seconds: float, of: float) -> float:
        return seconds / of if of else 0.0

    return [
        Figure("floor (read, parse, insert one table)", floor_s, "s", detail=f"{lines:,} lines"),
        Figure(
            "import",
            ratio(import_s, floor_s),
            "x floor",
            f"<= {IMPORT_RATIO}x",
            ratio(import_s, floor_s) <= IMPORT_RATIO,
            f"{import_s:.1f} s",
        ),
        Figure(
            "import peak RSS", peak_mib(first), "MiB", f"<= {RSS_MIB}", peak_mib(first) <= RSS_MIB
        ),
        Figure(
            f"import of {quarter:,} contacts",
            ratio(small_import["seconds"], small_floor["seconds"]),
            "x floor",
            detail=f"{small_import['seconds']:.1f} s, peak {peak_mib(small_import):.0f} MiB",
        ),
        Figure(
            f"import time growth for {n / quarter:.0f}x the contacts",
            growth,
            "x",
            f"<= {LINEAR_RATIO}x",
            growth <= LINEAR_RATIO,
        ),
        Figure(
            "database size",
            ratio(db_size, floor_size),
            "x floor table",
            f"<= {SIZE_RATIO}x",
            ratio(db_size, floor_size) <= SIZE_RATIO,
            f"{db_size / 2**20:,.0f} MiB vs {floor_size / 2**20:,.0f} MiB",
        ),
        Figure(
            "re-import, unchanged",
            ratio(again["seconds"], floor_s),
            "x floor",
            f"<= {UNCHANGED_RATIO}x",
            ratio(again["seconds"], floor_s) <= UNCHANGED_RATIO,
            f"{again['seconds']:.1f} s, peak {peak_mib(again):.0f} MiB",
        ),
        Figure(
            "re-import, 1% of items changed",
            ratio(changed["seconds"], floor_s),
            "x floor",
            f"<= {CHANGED_RATIO}x",
            ratio(changed["seconds"], floor_s) <= CHANGED_RATIO,
            f"{changed['seconds']:.1f} s, peak {peak_mib(changed):.0f} MiB",
        ),
        Figure(
            "pull over loopback",
            ratio(pull["seconds"], import_s),
            "x import",
            f"<= {PULL_RATIO}x",
            ratio(pull["seconds"], import_s) <= PULL_RATIO,
            f"{pull['seconds']:.1f} s, peak {peak_mib(pull):.0f} MiB",
        ),
    ]

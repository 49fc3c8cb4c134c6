"""The team store's figures, beside SQLite's: `healthdesk bench --team-store URL`.

The same generated snapshot is imported into a new SQLite file and into the PostgreSQL
database of URL (emptied first: give one the bench may empty), imported again unchanged,
and then the views the window reads are timed on both: a connection's summary counts,
the first and a middle page of its largest list by name, the whole order of that list
by email (a sort), the search (ASCII and not), and the newest page of the timeline.
Each figure is the PostgreSQL time, with SQLite's beside it in the detail; each import
runs in a child process of its own (bench.child), the views in one child per backend.
"""

from __future__ import annotations

import time
from typing import Any

from healthdesk.bench import BenchContext, Figure
from healthdesk.bench.imports import bench_snapshot, fresh_db, run_child

#: The views timed, in order: (key, what the table calls it).
VIEWS = (
    ("summary", "summary counts"),
    ("page_first", "first 100 rows of the largest list, by name"),
    ("page_middle", "100 rows in the middle of that list, by name"),
    ("keys_email", "the whole order of that list by email"),
    ("find_ascii", "search 'mar'"),
    ("find_other", "search 'é'"),
    ("timeline", "newest 200 events"),
)


def empty_store(url: str) -> None:
    """Remove every row of the team store at `url` (its schema brought up to date)."""
    from healthdesk.store.db import open_db, raw_transaction
    from healthdesk.store.schema import Base

    engine = open_db(url)
    try:
        with raw_transaction(engine) as cursor:
            cursor.execute(f"TRUNCATE {', '.join(Base.metadata.tables)}")
    finally:
        engine.dispose()


def time_views(db: str) -> dict[str, Any]:
    """The seconds of each of VIEWS on the database `db` (the best of three runs)."""
    from healthdesk.core.failures import Catalog
    from healthdesk.store import pages, queries, timeline
    from healthdesk.store.db import open_db

    engine = open_db(db)
    catalog = Catalog.load()
    try:
        connections = queries.list_connections(engine)
        counted = {c.id: queries.counts(engine, c.id) for c in connections}
        cid, status = max(
            ((c, s) for c, by_status in counted.items() for s in by_status),
            key=lambda pair: counted[pair[0]][pair[1]],
        )
        size = counted[cid][status]
        where = pages.ContactFilter(status)
        by_name = pages.SortKey.NAME
        connection = queries.get_connection(engine, cid)
        work = {
            "summary": lambda: queries.summary(engine, connection, catalog),
            "page_first": lambda: pages.page(
                engine, cid, where, sort=by_name, descending=False, offset=0, limit=100
            ),
            "page_middle": lambda: pages.page(
                engine, cid, where, sort=by_name, descending=False, offset=size // 2, limit=100
            ),
            "keys_email": lambda: pages.keys(
                engine, cid, where, sort=pages.SortKey.EMAIL, descending=False
            ),
            "find_ascii": lambda: queries.find(engine, cid, "mar"),
            "find_other": lambda: queries.find(engine, cid, "é"),
            "timeline": lambda: timeline.page(engine, cid, before_seq=None, limit=200),
        }
        seconds: dict[str, Any] = {}
        for key, _what in VIEWS:
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                work[key]()
                runs.append(time.perf_counter() - started)
            seconds[key] = min(runs)
        seconds["list_size"] = size
        return seconds
    finally:
        engine.dispose()


def team_suite(context: BenchContext) -> list[Figure]:
    url = context.team_store
    if not url:
        return []
    say = context.say
    snapshot = bench_snapshot(context, context.contacts)
    lite = fresh_db(context.work / "team-beside.sqlite3")
    say("team store: emptying it")
    empty_store(url)
    results: dict[str, dict[str, Any]] = {}
    for label, db in (("sqlite", str(lite)), ("postgresql", url)):
        say(f"team store: import into {label}")
        results[f"import_{label}"] = run_child("import", snapshots=[snapshot], db=db)
        say(f"team store: re-import into {label}")
        results[f"again_{label}"] = run_child("import", snapshots=[snapshot], db=db)
        say(f"team store: views on {label}")
        results[f"views_{label}"] = run_child("views", db=db)

    def beside(key: str, name: str, value_of: Any) -> Figure:
        pg, sq = value_of(results[f"{key}_postgresql"]), value_of(results[f"{key}_sqlite"])
        ratio = f", {pg / sq:.1f}x" if sq else ""
        return Figure(f"team store: {name}", pg, "s", detail=f"SQLite {sq:.3f} s{ratio}")

    figures = [
        beside("import", "import", lambda r: r["seconds"]),
        beside("again", "re-import, unchanged", lambda r: r["seconds"]),
    ]
    size = results["views_sqlite"]["list_size"]
    for key, what in VIEWS:
        label = what.replace("the largest list", f"the largest list ({size:,})")
        figures.append(beside("views", label, lambda r, k=key: r[k]))
    return figures

"""Compare and what-if benchmark: how long a comparison of two databases and a what-if
take on large data, and the peak memory.

    .venv/bin/python -m tests.benchmarks.comparison_speed OLD_DB NEW_DB [--connection ID]

OLD_DB and NEW_DB are two imports of one connection (e.g. `healthdesk generate` with two
seeds, each imported with `healthdesk import --db`). Figures for the README; nothing
asserts them.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable

from healthdesk.config import load_catalog
from healthdesk.core.compare import Comparison
from healthdesk.store.db import open_db
from healthdesk.store.queries import get_connection
from healthdesk.store.statuses import compare_databases
from healthdesk.store.whatif import whatif, with_changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--connection", default="c-hs-mc")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    old, new = open_db(args.old), open_db(args.new)
    connection = get_connection(new, args.connection)
    catalog = load_catalog()
    settings = connection.settings
    first = settings.rules[0].id if settings.rules else None

    def timed(label: str, run: Callable[[], Comparison]) -> None:
        started = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - started
        moved = sum(move.count for move in result.changed)
        print(
            f"{label:<36} {seconds:7.2f} s   {sum(result.after.values()):>10,} contacts, "
            f"{moved:,} moved"
        )

    switched = with_changes(settings, avoid_duplicates=not settings.avoid_duplicates)
    without = with_changes(settings, without_rules=frozenset({first} if first else ()))
    for _ in range(args.runs):
        timed("compare two databases", lambda: compare_databases(old, new, connection, catalog))
        timed("what-if, nothing changed", lambda: whatif(new, connection.id, settings))
        timed("what-if, Avoid Duplicates switched", lambda: whatif(new, connection.id, switched))
        if first is not None:
            timed(f"what-if, without rule {first}", lambda: whatif(new, connection.id, without))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MiB")
    old.dispose()
    new.dispose()


if __name__ == "__main__":
    main()

"""Run one measured task in this (child) process and print its figures as one JSON line.

    python -m healthdesk.bench.child TASK ARGS_JSON

Tasks: `floor`, `import`, `pull`, `window`, `search`, `tabs`, `views`, `whatif` (see
`TASKS`). The
time covers the task only (not the interpreter's start); the peak memory is this process's,
and that of its largest child process when the task starts any.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any


def _floor(args: dict[str, Any]) -> dict[str, Any]:
    from healthdesk.bench.floor import floor

    lines = floor(args["snapshot"], args["db"])
    return {"lines": lines}


def _import(args: dict[str, Any]) -> dict[str, Any]:
    from healthdesk.store.db import open_db
    from healthdesk.store.imports import import_snapshots

    if args.get("without_search"):
        # The baseline of the search index's cost: the same import, no text indexed.
        from healthdesk.store import search_index

        search_index.index_connection = lambda _cursor, _connection_id: None  # type: ignore[assignment]
        search_index.reindex_contacts = lambda _cursor, _rids: None  # type: ignore[assignment]

    engine = open_db(args["db"])
    try:
        report = import_snapshots(engine, args["snapshots"])
    finally:
        engine.dispose()
    return {"items": report.items, "decided": sum(report.decided.values())}


def _pull(args: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    from healthdesk.store.db import open_db
    from healthdesk.sync.client import SyncClient

    async def run() -> int:
        async with SyncClient(base_url=args["url"], token=args["token"], engine=engine) as client:
            items = 0
            for connection in await client.list_connections():
                report = await client.pull(connection.id)
                items += report.items
            return items

    engine = open_db(args["db"])
    try:
        items = asyncio.run(run())
    finally:
        engine.dispose()
    return {"items": items}


def _window(args: dict[str, Any]) -> dict[str, Any]:
    from healthdesk.bench.window_child import measure_window

    return measure_window(args)


def _search(args: dict[str, Any]) -> dict[str, Any]:
    from healthdesk.bench.typing import measure_typing

    return measure_typing(args["db"], repeat=int(args["repeat"]))


def _tabs(args: dict[str, Any]) -> dict[str, Any]:
    from healthdesk.bench.tabs import measure_tabs

    return measure_tabs(args["db"])


def _views(args: dict[str, Any]) -> dict[str, Any]:
    from healthdesk.bench.team import time_views

    return time_views(args["db"])


def _whatif(args: dict[str, Any]) -> dict[str, Any]:
    from healthdesk.bench.whatif import measure_whatif

    return measure_whatif(args["db"])


def peak_mib() -> float:
    """This process's peak resident memory (MiB): Linux's VmHWM, which starts again when
    the process executes this program. getrusage's ru_maxrss does not: it kept the peak
    of the bench's process, from which this one was forked, so a bench that had just
    simulated live items in memory measured a window of 240 MiB as 571."""
    try:
        with open("/proc/self/status", encoding="utf-8", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "floor": _floor,
    "import": _import,
    "pull": _pull,
    "window": _window,
    "search": _search,
    "tabs": _tabs,
    "views": _views,
    "whatif": _whatif,
}


def main(argv: list[str]) -> int:
    task, raw = argv
    started = time.perf_counter()
    extra = TASKS[task](json.loads(raw))
    seconds = time.perf_counter() - started
    own = peak_mib()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rss_mib": own, "child_rss_mib": children, **extra}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

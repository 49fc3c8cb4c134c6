"""The first rows of a tab, timed in this process: what the window's status list reads in
the background after a click (`ListSource.load`: the exact count, the order when no
index serves it, and the first block of rows), for every tab and every sort it offers,
ascending, on the largest connection."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from healthdesk.bench.imports import largest_connection
from healthdesk.config import load_catalog
from healthdesk.core.model import STATUS_ORDER
from healthdesk.store.db import open_db
from healthdesk.store.pages import ContactFilter
from healthdesk.ui.contacts.columns import RenderContext, columns_for
from healthdesk.ui.contacts.table_model import ListSource
from healthdesk.ui.operations import Work

#: Rows in the window's first block.
_BLOCK = 256


def measure_tabs(db: Path | str) -> dict[str, Any]:
    engine = open_db(db)
    try:
        connection, _size = largest_connection(engine)
        context = RenderContext(connection=connection, catalog=load_catalog())
        work = Work(threading.Event(), lambda _value: None)
        found: list[dict[str, Any]] = []
        for status in STATUS_ORDER:
            columns = columns_for(status)
            for column in columns:
                source = ListSource(
                    engine=engine,
                    connection_id=connection.id,
                    filter=ContactFilter(status),
                    sort=column.sort,
                    descending=False,
                    block_size=_BLOCK,
                    columns=columns,
                    context=context,
                )
                started = time.perf_counter()
                loaded = source.load(work, (), (0,))
                seconds = time.perf_counter() - started
                found.append(
                    {
                        "tab": status.value,
                        "sort": column.sort.value,
                        "rows": loaded.count,
                        "ms": seconds * 1000,
                    }
                )
        return {"connection": connection.id, "tabs": found}
    finally:
        engine.dispose()

"""Window benchmark: how fast the lists, search and tree answer on a large database.

    .venv/bin/python -m tests.benchmarks.window_speed --db PATH [--connection ID]

Per status list: the time from creating its model to the first real rows, and from
asking for the last row to having it (read by the window's `Operations`, as in the window);
the time of a search; the failure tree; and the peak memory. Figures for the README and
the closing notes; nothing asserts them.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication

from healthdesk.config import load_catalog
from healthdesk.core.model import STATUS_ORDER
from healthdesk.store.db import open_db
from healthdesk.store.pages import ContactFilter
from healthdesk.store.queries import find, get_connection, summary
from healthdesk.ui.contacts.table_model import PLACEHOLDER, ContactTableModel
from healthdesk.ui.operations import Operations


def wait_for(ready: Callable[[], bool], timeout: float = 60.0) -> float:
    """Seconds until `ready()` holds, running the Qt event loop meanwhile."""
    started = time.perf_counter()
    while not ready():
        QCoreApplication.processEvents()
        if time.perf_counter() - started > timeout:
            raise TimeoutError
        time.sleep(0.001)
    return time.perf_counter() - started


def real(model: ContactTableModel, row: int) -> bool:
    value = model.index(row, 1).data(Qt.ItemDataRole.DisplayRole)
    return value is not None and value != PLACEHOLDER


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--connection")
    parser.add_argument("--search", action="append", default=None)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    engine = open_db(args.db)
    connection = get_connection(engine, args.connection)
    catalog = load_catalog()
    operations = Operations()
    print(f"Window benchmark on {args.db} ({connection.id}, {connection.name})")
    for status in STATUS_ORDER:
        started = time.perf_counter()
        model = ContactTableModel(
            operations=operations,
            engine=engine,
            connection=connection,
            filter=ContactFilter(status),
            catalog=catalog,
        )
        built = time.perf_counter() - started
        built += wait_for(lambda m=model: m.is_loaded)
        rows = model.rowCount()
        if rows == 0:
            print(f"  {status.value:<10} {rows:>9,} rows")
            continue
        first = built + wait_for(lambda m=model: real(m, 0))
        last = wait_for(lambda m=model, r=rows - 1: real(m, r))
        print(
            f"  {status.value:<10} {rows:>9,} rows   model {built * 1000:6.0f} ms   "
            f"first rows {first * 1000:6.0f} ms   last row {last * 1000:6.0f} ms"
        )
        model.deleteLater()
    for text in args.search or ["ann", "gmail.com", "zz-no-such"]:
        started = time.perf_counter()
        found = find(engine, connection.id, text, limit=50)
        took = time.perf_counter() - started
        print(f"  search {text!r:<14} {found.total:>9,} matches   {took * 1000:6.0f} ms")
    started = time.perf_counter()
    summary(engine, connection, catalog)
    print(f"  summary and failure tree  {(time.perf_counter() - started) * 1000:6.0f} ms")
    print(f"  peak memory               {peak_mib():6.0f} MiB")
    operations.shutdown()
    engine.dispose()
    del app


if __name__ == "__main__":
    main()

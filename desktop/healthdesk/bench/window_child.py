"""The window, measured: run in a child process by `bench.child window` (see bench.window).

The window is the application's own (`MainWindow` with its `Operations` on the real
thread pool), offscreen, on the qasync loop as the app runs it. It shows the connection
with the most contacts; every figure waits on a condition, polling the loop each
millisecond, and a 5 ms timer records how late the GUI loop runs.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from healthdesk.bench.imports import SERVICE_TOKEN, reference_service

#: How often the lateness timer ticks (ms).
TICK_MS = 5
#: Longest wait for one figure (s): a figure that never comes fails the bench.
WAIT_S = 120.0


def measure_window(args: dict[str, Any]) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync

    from healthdesk.ui.app import application

    app = application()
    app.setQuitOnLastWindowClosed(False)
    result: dict[str, Any] = qasync.run(_measure(args))
    return result


class _Lateness:
    """A timer every TICK_MS on the GUI loop; `worst` is its largest lateness (ms)."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.worst = 0.0
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, (now - self._last) * 1000 - TICK_MS)
        self._last = now

    def reset(self) -> None:
        self.worst = 0.0
        self._last = time.perf_counter()

    def stop(self) -> None:
        self._timer.stop()


async def _until(ready: Callable[[], bool]) -> float:
    """Seconds until `ready()` holds, the loop running meanwhile."""
    started = time.perf_counter()
    while not ready():
        if time.perf_counter() - started > WAIT_S:
            raise TimeoutError("a figure never came")
        await asyncio.sleep(0.001)
    return time.perf_counter() - started


async def _measure(args: dict[str, Any]) -> dict[str, Any]:
    from PySide6.QtCore import QSettings, Qt

    from healthdesk.bench.imports import largest_connection
    from healthdesk.core.model import STATUS_ORDER
    from healthdesk.core.words import STATUS_LABELS
    from healthdesk.store.db import open_db
    from healthdesk.store.queries import counts, list_connections
    from healthdesk.ui.contacts.table_model import PLACEHOLDER
    from healthdesk.ui.main_window import MainWindow

    engine = open_db(Path(args["db"]))
    connections = list_connections(engine)
    big, big_size = largest_connection(engine)
    other = next((c for c in connections if c.id != big.id), None)
    # The window's settings, of its own: next to the database, which the suite made.
    settings_path = Path(args["db"]).with_suffix(".settings.ini")
    settings_path.unlink(missing_ok=True)
    settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
    window = MainWindow(engine=engine, settings=settings, db_path=Path(args["db"]))
    window.resize(1400, 900)
    window.show()
    lateness = _Lateness()

    def real(status: Any, row: int) -> bool:
        model = window.tabs.model(status)
        if model is None or not model.is_loaded or model.rowCount() <= row:
            return False
        value = model.index(row, 1).data(Qt.ItemDataRole.DisplayRole)
        return value is not None and value != PLACEHOLDER

    def loaded(status: Any) -> bool:
        model = window.tabs.model(status)
        return model is not None and model.is_loaded

    def shows(connection_id: str) -> bool:
        summary = window.last_summary
        return summary is not None and summary.connection.id == connection_id

    # The summary, counts and failure tree of a connection chosen in the list.
    await _until(lambda: window.connections_model.rowCount() == len(connections))
    if other is not None:
        assert window.select_connection(other.id)
        await _until(lambda: shows(other.id))
    lateness.reset()
    chosen = time.perf_counter()
    assert window.select_connection(big.id)
    summary_s = await _until(lambda: shows(big.id))
    shown_status = window.tabs.current_status()
    if counts(engine, big.id)[shown_status]:
        await _until(partial(real, shown_status, 0))
    else:
        await _until(partial(loaded, shown_status))
    opened_s = time.perf_counter() - chosen
    opened_late = lateness.worst
    tabs = []
    for status in STATUS_ORDER:
        rows = counts(engine, big.id)[status]
        lateness.reset()
        window.tabs.set_current_status(status)  # what a click on the tab does
        started = time.perf_counter()
        if rows:
            await _until(partial(real, status, 0))
        else:
            await _until(partial(loaded, status))
        first = time.perf_counter() - started
        last = 0.0
        if rows:
            window.tabs.view(status).scrollToBottom()
            last = await _until(partial(real, status, rows - 1))
        tabs.append(
            {
                "label": STATUS_LABELS[status],
                "rows": rows,
                "first_ms": first * 1000,
                "last_ms": last * 1000,
                "late_ms": lateness.worst,
            }
        )

    # A timeline page: the next one, as the agent scrolls to the end of the first.
    timeline = window.timeline_dock.model
    assert timeline is not None
    await _until(lambda: timeline.rowCount() > 0 and not timeline.loading)
    before = timeline.rowCount()
    started = time.perf_counter()
    window.timeline_dock.view.scrollToBottom()
    timeline_s = await _until(lambda: timeline.rowCount() > before or timeline.exhausted)

    live = None
    if args.get("snapshot"):
        with reference_service(Path(args["snapshot"])) as url:
            live = await _live(window, url, SERVICE_TOKEN, int(args["live_items"]), lateness)
    lateness.stop()
    await window.stop_live()
    window.close()
    window.shutdown()
    engine.dispose()
    return {
        "connection": big.id,
        "contacts": big_size,
        "summary_ms": summary_s * 1000,
        "opened_ms": opened_s * 1000,
        "opened_late_ms": opened_late,
        "opened_tab": STATUS_LABELS[shown_status],
        "tabs": tabs,
        "timeline_ms": timeline_s * 1000,
        "timeline_rows": timeline.rowCount(),
        "live": live,
    }


async def _live(
    window: Any, url: str, token: str, wanted: int, lateness: _Lateness
) -> dict[str, Any]:
    """Follow the simulating service until `wanted` items are applied; the time from the
    first page to the one that reaches `wanted`, and the GUI loop's worst lateness."""
    applied = 0
    pages = 0
    first: float | None = None
    done: float | None = None

    def on_page(_connection_id: str, page: Any) -> None:
        nonlocal applied, pages, first, done
        items = int(getattr(page, "items", 0))
        if items == 0:
            return
        if first is None:
            first = time.perf_counter()
            lateness.reset()
        applied += items
        pages += 1
        if done is None and applied >= wanted:
            done = time.perf_counter()

    window.live.page_applied.connect(on_page)
    window.connect_to_service(url, token)
    await _until(lambda: done is not None)
    assert first is not None
    assert done is not None
    return {
        "items": applied,
        "pages": pages,
        "seconds": done - first,
        "late_ms": lateness.worst,
    }

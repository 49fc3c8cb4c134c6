"""Live benchmark: how many live items per second the window absorbs while responsive.

    .venv/bin/python -m tests.benchmarks.live_speed [--rates 20,200,500,1000,2000]

For each rate, the reference service simulates activity over the demo at that many items
per second while the window follows it live; a 20 ms ticker on the GUI loop measures how
late it runs (the longest and the 95th percentile delay), and the items applied per
second are counted. Figures for the closing notes; nothing asserts them.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.resources
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync
from PySide6.QtCore import QSettings

from healthdesk.core.model import Status
from healthdesk.store.db import open_db
from healthdesk.sync.server import running_service
from healthdesk.ui.app import application
from healthdesk.ui.main_window import MainWindow

DEMO = Path(str(importlib.resources.files("healthdesk.data") / "demo.healthsnap"))


async def measure(url: str, seconds: float) -> tuple[float, float, int, float]:
    """(max lag ms, p95 lag ms, items applied, seconds) while following `url` live."""
    tmp = Path(tempfile.mkdtemp(prefix="healthdesk-live-"))
    engine = open_db(tmp / "live.sqlite3")
    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(engine=engine, settings=settings)
    window.resize(1400, 900)
    window.show()
    applied = 0

    def count(_connection_id: str, page: object) -> None:
        nonlocal applied
        applied += getattr(page, "items", 0)

    window.live.page_applied.connect(count)
    window.connect_to_service(url, "token")
    while not window.live.status.startswith("Live"):
        await asyncio.sleep(0.05)
    window.tabs.set_current_status(Status.FAILING)
    lags: list[float] = []
    applied = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        before = time.perf_counter()
        await asyncio.sleep(0.02)
        lags.append(time.perf_counter() - before - 0.02)
    took = time.perf_counter() - started
    await window.stop_live()
    window.close()
    window.shutdown()
    engine.dispose()
    lags.sort()
    return lags[-1] * 1000, lags[int(len(lags) * 0.95)] * 1000, applied, took


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rates", default="20,200,500,1000,2000")
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    app = application()
    app.setQuitOnLastWindowClosed(False)
    print("Live benchmark over the demo (the window follows the reference service)")
    for rate in (float(text) for text in args.rates.split(",")):
        with running_service(snapshots=[DEMO], token="token", simulate_rate=rate) as service:
            worst, p95, applied, took = qasync.run(measure(service.url, args.seconds))
        print(
            f"  {rate:>6,.0f} items/s offered: {applied / took:>7,.0f} applied/s   "
            f"GUI loop late by at most {worst:5.0f} ms (95% under {p95:3.0f} ms)"
        )


if __name__ == "__main__":
    main()

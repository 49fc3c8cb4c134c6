"""Overview and support-report benchmark on a large database.

    .venv/bin/python -m tests.benchmarks.overview_speed --db PATH [--connection ID]

The activity per day (the maintained rows) against grouping the events themselves; the
first page of the timeline filtered to the oldest, a middle and the newest day; the
support report's data, its HTML and its PDF. Median of `--runs` runs each. Figures for the
README and the closing notes; nothing asserts them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from healthdesk.config import load_catalog
from healthdesk.reports.support import build_report
from healthdesk.reports.support_html import render_html
from healthdesk.store import activity, timeline
from healthdesk.store.db import open_db
from healthdesk.store.queries import get_connection


def median_ms(run: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times = []
    value = None
    for _ in range(runs):
        started = time.perf_counter()
        value = run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--connection", default="c-hs-mc")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    engine = open_db(args.db)
    connection = get_connection(engine, args.connection)
    catalog = load_catalog()
    runs = args.runs
    with engine.connect() as db:
        events = db.exec_driver_sql(
            "SELECT COUNT(*) FROM events WHERE connection_id = ?", (connection.id,)
        ).scalar_one()
    print(f"{connection.id}: {events:,} events")

    ms, days = median_ms(lambda: activity.per_day(engine, connection.id), runs)
    print(f"activity per day (maintained rows): {ms:.1f} ms, {len(days)} days")

    def grouped() -> int:
        with engine.connect() as db:
            return len(
                db.exec_driver_sql(
                    "SELECT substr(at, 1, 10), outcome, COUNT(*) FROM events "
                    "WHERE connection_id = ? GROUP BY 1, 2",
                    (connection.id,),
                ).all()
            )

    ms, _ = median_ms(grouped, runs)
    print(f"the same grouped from the events: {ms:.1f} ms")

    for label, day in (
        ("oldest", days[0].day),
        ("middle", days[len(days) // 2].day),
        ("newest", days[-1].day),
    ):
        ms, page = median_ms(
            lambda day=day: timeline.page(
                engine, connection.id, before_seq=None, limit=200, day=day
            ),
            runs,
        )
        print(f"timeline of the {label} day {day}: first page {ms:.1f} ms ({len(page)} entries)")

    ms, report = median_ms(lambda: build_report(engine, connection, catalog), runs)
    print(f"support report data: {ms:.1f} ms ({len(report.groups)} groups)")
    ms, html = median_ms(lambda: render_html(report), runs)
    print(f"support report HTML: {ms:.1f} ms ({len(html):,} characters)")
    from healthdesk.reports.support_pdf import ensure_gui_app, render_pdf

    ensure_gui_app()
    ms, pdf = median_ms(lambda: render_pdf(report), runs)
    print(f"support report PDF: {ms:.1f} ms ({len(pdf):,} bytes)")
    engine.dispose()


if __name__ == "__main__":
    main()

"""The overview: the status breakdown over the tabs opens a tab, the activity chart shows
the events per day and filters the timeline to a day, and File > Support Report writes
the report in the background. Every expected number is counted from the store."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from healthdesk.config import load_catalog
from healthdesk.core.model import STATUS_ORDER, Outcome, Status
from healthdesk.store.queries import get_connection, summary
from healthdesk.ui.overview.activity_chart import ActivityChart, day_text
from healthdesk.ui.overview.status_breakdown import StatusBreakdown, segment_text
from healthdesk.ui.timeline.timeline_model import TimelineModel
from tests.helpers import feed
from tests.helpers.html_tables import table_with
from tests.ui import window_fixtures
from tests.ui.window_fixtures import MakeEngine, MakeWindow, main_items

make_engine = window_fixtures.make_engine
make_window = window_fixtures.make_window
settings = window_fixtures.settings

DAYS = ("2026-03-01", "2026-03-02", "2026-03-04")


def spread_items() -> list[dict[str, Any]]:
    """main_items with its events spread over three days (a gap day between)."""
    items = main_items()
    seq = 100
    for number, item in enumerate(items):
        if item["type"] == "event":
            item["at"] = f"{DAYS[number % 3]}T09:{number:02d}:00Z"
    for day in DAYS:
        for outcome in ("created", "updated", "unchanged"):
            seq += 1
            items.append(feed.event(seq, "a", "a1", outcome, at=f"{day}T12:00:00Z"))
    return items


def events_per_day(engine: Engine) -> dict[str, Counter[str]]:
    with engine.connect() as db:
        rows = db.exec_driver_sql(
            "SELECT substr(at, 1, 10), outcome FROM events WHERE connection_id = 'c-1'"
        ).all()
    found: dict[str, Counter[str]] = {}
    for day, outcome in rows:
        found.setdefault(day, Counter())[outcome] += 1
    return found


def click(qtbot: QtBot, widget: Any, point: QPoint) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=point)


# ---------------------------------------------------------------- status breakdown


def test_breakdown_shows_the_summary_and_opens_a_tab(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    engine = make_engine(main_items())
    window = make_window(engine)
    breakdown: StatusBreakdown = window.status_breakdown
    expected = summary(engine, get_connection(engine, "c-1"), load_catalog()).counts
    assert breakdown.counts() == expected
    assert breakdown.accessibleName() == "Contacts by status"
    total = sum(expected.values())
    for status in STATUS_ORDER:
        assert segment_text(status, expected[status], total) in breakdown.accessibleDescription()
    for status in (Status.FAILING, Status.EXCLUDED, Status.IN_SYNC):
        rect = breakdown.segment_rect(status)
        assert not rect.isEmpty()
        click(qtbot, breakdown, rect.center())
        assert window.tabs.current_status() is status


def test_breakdown_by_keyboard(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    window = make_window(make_engine(main_items()))
    breakdown: StatusBreakdown = window.status_breakdown
    window.tabs.set_current_status(Status.IN_SYNC)
    breakdown.setFocus()
    qtbot.waitUntil(breakdown.hasFocus)
    shown = [s for s in STATUS_ORDER if breakdown.counts()[s]]
    qtbot.keyClick(breakdown, Qt.Key.Key_Right)
    qtbot.keyClick(breakdown, Qt.Key.Key_Return)
    assert window.tabs.current_status() is shown[1]
    qtbot.keyClick(breakdown, Qt.Key.Key_Left)
    qtbot.keyClick(breakdown, Qt.Key.Key_Space)
    assert window.tabs.current_status() is shown[0]


def test_breakdown_without_contacts_is_empty(qtbot: QtBot) -> None:
    breakdown = StatusBreakdown()
    qtbot.addWidget(breakdown)
    breakdown.resize(300, 20)
    breakdown.set_counts(None)
    assert breakdown.accessibleDescription() == "No contacts"
    assert breakdown.segment_rect(Status.FAILING).isEmpty()
    with qtbot.assertNotEmitted(breakdown.status_chosen):
        click(qtbot, breakdown, QPoint(150, 10))


# ---------------------------------------------------------------- activity


def test_activity_chart_shows_the_events_per_day(
    make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    engine = make_engine(spread_items())
    window = make_window(engine)
    chart: ActivityChart = window.timeline_dock.activity.chart
    counted = events_per_day(engine)
    days = chart.days()
    # Every day from the first to the last, the gap day included with nothing.
    assert [d.day for d in days] == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    for day in days:
        for outcome in Outcome:
            assert day.count(outcome) == counted.get(day.day, Counter())[outcome.value]
    assert chart.accessibleName() == "Activity per day"
    created = sum(c["created"] for c in counted.values())
    assert f"{created:,} created" in chart.accessibleDescription()


def _timeline_days(model: TimelineModel) -> set[str]:
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    return {
        model.index(row).data(TimelineModel.EntryRole).at[:10] for row in range(model.rowCount())
    }


def test_clicking_a_day_filters_the_timeline(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow, qtmodeltester: Any
) -> None:
    engine = make_engine(spread_items())
    window = make_window(engine)
    dock = window.timeline_dock
    dock.show()
    chart: ActivityChart = dock.activity.chart
    qtbot.waitUntil(lambda: not chart.day_rect("2026-03-02").isEmpty())
    click(qtbot, chart, chart.day_rect("2026-03-02").center())
    model = dock.model
    assert model is not None
    assert model.day == dock.day() == "2026-03-02"
    assert _timeline_days(model) == {"2026-03-02"}
    assert model.rowCount() == sum(events_per_day(engine)["2026-03-02"].values())
    qtmodeltester.check(model)
    label = dock.activity.filter_label.text()
    assert label == f"The timeline shows {day_text(chart.days()[1])}"
    assert dock.activity.show_all_button.isVisible()
    # The same bar again: every day.
    click(qtbot, chart, chart.day_rect("2026-03-02").center())
    assert dock.day() is None
    assert _timeline_days(dock.model) == set(DAYS)
    assert not dock.activity.show_all_button.isVisible()
    # A day without events says so; "Show All Days" goes back.
    click(qtbot, chart, chart.day_rect("2026-03-03").center())
    assert dock.day() == "2026-03-03"
    assert dock.model.rowCount() == 0
    assert dock.empty_label.text() == "No activity on 2026-03-03 (UTC)"
    qtbot.mouseClick(dock.activity.show_all_button, Qt.MouseButton.LeftButton)
    assert dock.day() is None


def test_activity_by_keyboard(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    window = make_window(make_engine(spread_items()))
    dock = window.timeline_dock
    chart: ActivityChart = dock.activity.chart
    chart.setFocus()
    qtbot.waitUntil(chart.hasFocus)
    qtbot.keyClick(chart, Qt.Key.Key_Home)
    qtbot.keyClick(chart, Qt.Key.Key_Right)
    qtbot.keyClick(chart, Qt.Key.Key_Return)
    assert dock.day() == "2026-03-02"
    qtbot.keyClick(chart, Qt.Key.Key_Escape)
    assert dock.day() is None
    qtbot.keyClick(chart, Qt.Key.Key_End)
    qtbot.keyClick(chart, Qt.Key.Key_Enter)
    assert dock.day() == "2026-03-04"


def test_activity_follows_new_data(
    make_engine: MakeEngine, make_window: MakeWindow, tmp_path: Path
) -> None:
    from healthdesk.store.imports import import_snapshots

    engine = make_engine(spread_items())
    window = make_window(engine)
    chart: ActivityChart = window.timeline_dock.activity.chart
    later = [feed.event(500, "a", "a2", "failed", at="2026-03-06T08:00:00Z", message="Boom")]
    report = import_snapshots(engine, [feed.write(tmp_path / "later.jsonl", later)])
    assert report.events_new == 1
    window.operations.notify_changed("c-1")
    assert chart.days()[-1].day == "2026-03-06"
    assert chart.days()[-1].count(Outcome.FAILED) == 1


# ---------------------------------------------------------------- support report


def test_support_report_from_the_window(
    make_engine: MakeEngine, make_window: MakeWindow, tmp_path: Path
) -> None:
    engine = make_engine(main_items())
    window = make_window(engine)
    assert window.report_control.action.isEnabled()
    file_menu = window.menuBar().actions()[0].menu()
    names = [action.objectName() for action in file_menu.actions()]
    assert {"report_action", "redacted_report_action"} <= set(names)
    target = tmp_path / "report.html"
    assert window.report_control.write(target)
    expected = summary(engine, get_connection(engine, "c-1"), load_catalog()).counts
    rows = table_with(target.read_text(encoding="utf-8"), "Status")[1:]
    assert [int(row[1]) for row in rows] == [expected[s] for s in STATUS_ORDER]
    assert str(target) in window.statusBar().currentMessage()


@pytest.mark.parametrize("suffix", [".pdf", ".html"])
def test_support_report_on_a_worker(
    qtbot: QtBot,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    tmp_path: Path,
    suffix: str,
) -> None:
    window = make_window(make_engine(main_items()), synchronous=False)
    target = tmp_path / f"report{suffix}"
    control = window.report_control
    qtbot.waitUntil(lambda: control.action.isEnabled())
    with qtbot.waitSignal(control.written, timeout=60_000) as written:
        assert control.write(target, redact=True)
    assert written.args == [str(target)]
    data = target.read_bytes()
    assert data.startswith(b"%PDF-" if suffix == ".pdf" else b"<!DOCTYPE html>")
    if suffix == ".html":
        assert b"Alice Martin" not in data
        assert b"Contact 1" in data
    assert control.dialog is None


def test_tooltips_give_the_exact_numbers(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    engine = make_engine(spread_items())
    window = make_window(engine)
    breakdown: StatusBreakdown = window.status_breakdown
    counts = breakdown.counts()
    total = sum(counts.values())
    rect = breakdown.segment_rect(Status.FAILING)
    assert breakdown.tooltip_at(rect.center()) == (
        f"{segment_text(Status.FAILING, counts[Status.FAILING], total)}\nClick to show the list."
    )
    assert breakdown.tooltip_at(QPoint(-5, -5)) is None
    chart: ActivityChart = window.timeline_dock.activity.chart
    counted = events_per_day(engine)["2026-03-04"]
    point = chart.day_rect("2026-03-04").center()
    assert chart.tooltip_at(point) == (
        f"2026-03-04 (UTC): {counted['created']} created, {counted['updated']} updated, "
        f"{counted['failed']} failed\nClick to show this day in the timeline."
    )
    click(qtbot, chart, point)
    assert chart.tooltip_at(point).endswith("Click to show every day again.")


def test_support_report_that_cannot_be_written(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow, tmp_path: Path
) -> None:
    window = make_window(make_engine(main_items()))
    target = tmp_path / "missing-folder" / "report.html"
    with qtbot.waitSignal(window.messages.alert) as alert:
        window.report_control.write(target)
    title, text = alert.args
    assert title == "Support report failed"
    assert text.startswith(f"Could not write {target}.")
    assert "No such file or directory" in text
    assert not target.parent.exists()
    assert window.report_control.dialog is None

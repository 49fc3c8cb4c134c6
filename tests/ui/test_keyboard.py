"""The window by keyboard: Tab visits every control once, in reading order, and round
again; Shift+Tab goes back the same way; no table keeps Tab; every stop has a name for
screen readers; the focus ring is drawn, in the highlight colour, around the control."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QWidget
from pytestqt.qtbot import QtBot

from healthdesk.core.model import Side
from healthdesk.ui.keyboard import RING_MARGIN, FocusRing
from healthdesk.ui.main_window import MainWindow
from tests.ui import window_fixtures
from tests.ui.window_fixtures import MakeEngine, MakeWindow, main_items

make_engine = window_fixtures.make_engine
make_window = window_fixtures.make_window
settings = window_fixtures.settings


def _window(qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow) -> MainWindow:
    window: MainWindow = make_window(make_engine(main_items()))
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.waitUntil(lambda: window.last_summary is not None)
    window.open_contact_by_record(Side.A, "a1")  # the Contact dock open, with its tables
    qtbot.waitUntil(lambda: window.detail_view.contact is not None)
    return window


def _expected_stops(window: MainWindow) -> list[QWidget]:
    """The reading order, from the window's own parts: what Tab must visit."""
    detail = window.detail_view
    record_tables = [panel.fields_table for panel in detail.record_panels]
    stops: list[QWidget] = [
        window.connections_view,
        window.search_bar.line_edit,
        *window.actions_panel.number_labels.values(),
        window.status_breakdown,
        window.tabs.tabBar(),
        window.tabs.current_view(),
        window.failures_view,
        window.timeline_dock.activity.chart,  # its "Show All Days" shows with a day chosen
        window.timeline_dock.view,
        detail.findChild(QAbstractScrollArea, "detail_scroll"),
        *record_tables,
    ]
    if detail.events_table is not None:
        stops.append(detail.events_table)
    return stops


def _walk(qtbot: QtBot, start: QWidget, key: Qt.Key, steps: int) -> list[QWidget]:
    start.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is start)
    seen = [start]
    for _ in range(steps):
        focused = QApplication.focusWidget()
        assert focused is not None
        qtbot.keyClick(focused, key)
        seen.append(QApplication.focusWidget())
    return seen


def test_tab_visits_every_control_in_reading_order_and_round_again(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    window = _window(qtbot, make_engine, make_window)
    stops = _expected_stops(window)
    assert len(set(stops)) == len(stops)

    forward = _walk(qtbot, stops[0], Qt.Key.Key_Tab, len(stops))
    assert [w.objectName() for w in forward] == [w.objectName() for w in [*stops, stops[0]]]
    assert forward == [*stops, stops[0]]

    backward = _walk(qtbot, stops[0], Qt.Key.Key_Backtab, len(stops))
    assert backward == [stops[0], *reversed(stops)]


def test_every_stop_has_a_name_for_screen_readers(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    window = _window(qtbot, make_engine, make_window)
    names = {stop.objectName(): stop.accessibleName() for stop in _expected_stops(window)}
    assert all(names.values()), names
    summary = window.last_summary
    assert summary is not None
    for (side, outcome), label in window.actions_panel.number_labels.items():
        count = summary.actions[side][outcome]
        app = summary.connection.app(side).name
        assert label.accessibleName() == f"{count:,} contacts {outcome.value} in {app}"


def test_tab_leaves_a_table(qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow) -> None:
    window = _window(qtbot, make_engine, make_window)
    table = window.tabs.current_view()
    assert table.model().rowCount() > 1  # there would be a next cell to move to
    after = _walk(qtbot, table, Qt.Key.Key_Tab, 1)[-1]
    assert after is window.failures_view


def _ring_pixels(window: MainWindow, widget: QWidget) -> tuple[list[QPoint], QPalette]:
    ring = FocusRing.install(QApplication.instance()).frame()  # type: ignore[arg-type]
    assert ring is not None
    assert ring.isVisible()
    assert ring.widget() is widget
    top_left = ring.mapTo(window, QPoint(0, 0))
    middle = ring.height() // 2
    # The ring's left and right edges, half-way down, one pixel in from the frame's edge.
    return [
        top_left + QPoint(1, middle),
        top_left + QPoint(ring.width() - 2, middle),
    ], ring.palette()


def test_the_focus_ring_is_drawn_around_the_focused_control(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    window = _window(qtbot, make_engine, make_window)
    for widget in (
        next(iter(window.actions_panel.number_labels.values())),  # a label: no focus of its own
        window.tabs.current_view(),  # a table that fills its panel
    ):
        widget.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(lambda w=widget: QApplication.focusWidget() is w)
        ring = FocusRing.install(QApplication.instance()).frame()  # type: ignore[arg-type]
        assert ring is not None
        inside = isinstance(widget, QAbstractScrollArea)
        margin = 0 if inside else RING_MARGIN
        assert ring.width() == widget.width() + 2 * margin
        assert ring.height() == widget.height() + 2 * margin
        points, palette = _ring_pixels(window, widget)
        image = window.grab().toImage()
        ratio = image.devicePixelRatio()
        highlight = palette.color(QPalette.ColorRole.Highlight)
        for point in points:
            colour = image.pixelColor(int(point.x() * ratio), int(point.y() * ratio))
            assert abs(colour.red() - highlight.red()) < 40, (widget.objectName(), colour.name())
            assert abs(colour.green() - highlight.green()) < 40
            assert abs(colour.blue() - highlight.blue()) < 40

"""The Health window over small databases: connections, state, configuration, the status
tabs and their counts, the failure-reason tree, copy and export, settings, start-up."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

import healthdesk
from healthdesk.config import load_catalog
from healthdesk.core.model import STATUS_ORDER, Outcome, Side, Status
from healthdesk.reports.summary import STATUS_LABELS
from healthdesk.store.pages import ContactFilter
from healthdesk.store.queries import counts, list_connections
from healthdesk.ui.actions.action_contacts import ActionContactsDialog
from healthdesk.ui.connections import apps_text
from healthdesk.ui.connections.list_model import ConnectionListModel
from healthdesk.ui.contacts.status_tabs import default_widths, tab_title
from healthdesk.ui.main_window import MainWindow
from healthdesk.ui.operations import SynchronousOperations
from tests.helpers.feed import write
from tests.ui import window_fixtures
from tests.ui.window_fixtures import (
    HOSTILE,
    MakeEngine,
    MakeWindow,
    hostile_items,
    locked_items,
    main_items,
    one_way_items,
)

#: The offscreen platform cannot propagate size hints (docks ask for it): harmless.

# The fixtures of window_fixtures that this module uses.
make_engine = window_fixtures.make_engine
make_window = window_fixtures.make_window
settings = window_fixtures.settings


def click_connection(qtbot: QtBot, window: MainWindow, connection_id: str) -> None:
    row = window.connections_model.row_of(connection_id)
    assert row >= 0
    rect = window.connections_view.visualRect(window.connections_model.index(row, 0))
    qtbot.mouseClick(
        window.connections_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center()
    )
    qtbot.waitUntil(lambda: window.settled)


def wait_summary(qtbot: QtBot, window: MainWindow, connection_id: str) -> None:
    qtbot.waitUntil(
        lambda: (
            window.last_summary is not None and window.last_summary.connection.id == connection_id
        ),
        timeout=5000,
    )


def tab_texts(window: MainWindow) -> list[str]:
    return [window.tabs.tabText(i) for i in range(window.tabs.count())]


def test_window_lists_the_connections(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    engine = make_engine(locked_items())
    window = make_window(engine)
    names = [
        window.connections_model.index(row, 0).data()
        for row in range(window.connections_model.rowCount())
    ]
    assert names == [c.name for c in list_connections(engine)]
    assert len(names) == 3
    # the first one is shown when nothing is remembered
    assert window.current_connection() is not None
    assert window.current_connection().id == list_connections(engine)[0].id


def test_selecting_a_connection_shows_its_state_and_counts(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    engine = make_engine(locked_items())
    window = make_window(engine)
    for cid in ("c-2", "c-1", "c-3"):
        with qtbot.waitSignal(window.connection_changed):
            click_connection(qtbot, window, cid)
        connection = window.current_connection()
        assert connection is not None
        assert connection.id == cid
        assert window.banner.name_label.text() == connection.name
        expected = counts(engine, cid)
        for status in STATUS_ORDER:
            model = window.tabs.model(status)
            assert model is not None
            assert model.rowCount() == expected[status]
            assert window.tabs.row_count(status) == expected[status]
        assert tab_texts(window) == [tab_title(s, expected[s]) for s in STATUS_ORDER]
        wait_summary(qtbot, window, cid)
        assert window.last_summary is not None
        assert window.last_summary.counts == expected
    assert window.windowTitle().startswith("Zoho ⇄ HubSpot")


def test_tab_titles_carry_the_exact_counts(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    engine = make_engine(main_items())
    window = make_window(engine)
    assert tab_texts(window) == [
        "In sync (2)",
        "Excluded (2)",
        "Duplicates (1)",
        "Failing (3)",
        "Pending (1)",
    ]
    for index, status in enumerate(STATUS_ORDER):
        assert not window.tabs.tabIcon(index).isNull()
        assert window.tabs.tabText(index).startswith(STATUS_LABELS[status])
    wait_summary(qtbot, window, "c-1")
    assert window.findChild(QLabel, "contact_count").text() == "9 contacts"
    actions = window.actions_panel.number_labels
    assert actions[Side.B, Outcome.CREATED].text() == "1"  # a1 created into b
    assert actions[Side.B, Outcome.UPDATED].text() == "1"  # a2 updated into b
    assert actions[Side.A, Outcome.UPDATED].text() == "1"  # b2 updated into a
    assert actions[Side.A, Outcome.CREATED].text() == "0"


def test_locked_banner_names_the_other_connection_and_opens_it(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    engine = make_engine(locked_items())
    window = make_window(engine)
    assert window.select_connection("c-1")
    label = window.banner.state_label
    assert label.textFormat() == Qt.TextFormat.RichText
    assert "Pipedrive → Mailchimp</a>" in label.text()
    assert label.text().startswith("Waiting for <a href=")
    href = label.text().split('href="')[1].split('"')[0]
    with qtbot.waitSignal(window.connection_changed) as blocker:
        label.linkActivated.emit(href)
    assert blocker.args == ["c-2"]
    assert window.current_connection().id == "c-2"
    assert window.connections_view.currentIndex().row() == window.connections_model.row_of("c-2")
    # a connection the database does not hold is named, not linked
    assert window.select_connection("c-3")
    assert label.textFormat() == Qt.TextFormat.PlainText
    assert label.text() == "Waiting for Elsewhere (c-9) to finish"


def test_hostile_text_shows_exactly_its_characters(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    engine = make_engine(hostile_items())
    window = make_window(engine)
    index = window.connections_model.index(0, 0)
    assert index.data() == HOSTILE
    assert window.banner.name_label.text() == HOSTILE
    assert window.banner.name_label.textFormat() == Qt.TextFormat.PlainText
    assert window.banner.state_label.text() == "Error: <a href='x'>token</a> expired"
    assert window.banner.state_label.textFormat() == Qt.TextFormat.PlainText
    config = window.config_panel
    assert config.apps_label.text() == "<i>App A</i> ⇄ App &amp; B"
    assert config.apps_label.textFormat() == Qt.TextFormat.PlainText
    rule = config.rule_labels[0]
    assert rule.text() == (
        "<i>App A</i> contacts where tag<s> is “<script>alert(1)</script>”   (rule r<1>)"
    )
    assert rule.textFormat() == Qt.TextFormat.PlainText
    assert window.windowTitle().startswith(HOSTILE)
    wait_summary(qtbot, window, "c-h")
    for side, label in window.actions_panel.app_labels.items():
        assert label.text() == window.current_connection().app(side).name
        assert label.textFormat() == Qt.TextFormat.PlainText


def test_one_way_connection_hides_unmapped_target_records(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    engine = make_engine(one_way_items("c-2"))
    window = make_window(engine, synchronous=True)
    assert window.current_connection().id == "c-2"
    seen: list[str] = []
    for status in STATUS_ORDER:
        model = window.tabs.model(status)
        assert model is not None
        for row in range(model.rowCount()):
            found = model.index(row, 0).data(model.RowRole)
            assert found is not None
            assert found.side is not Side.B, f"an unmapped Mailchimp record in {status}"
            seen.append(found.a_id or "")
    assert sorted(seen) == ["p1", "p2", "p3", "p4"]
    assert sum(window.tabs.row_count(s) for s in STATUS_ORDER) == 4
    assert [label.text() for label in window.config_panel.rule_labels][-1] == (
        "Nothing: the connection is one-way, from Pipedrive"
    )


def test_the_shown_list_is_read_first_and_the_others_after_it(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    engine = make_engine(main_items())
    window = make_window(engine, synchronous=False)
    qtbot.waitUntil(lambda: window.current_connection() is not None, timeout=10_000)
    expected = counts(engine, "c-1")
    for status in STATUS_ORDER:
        qtbot.waitUntil(lambda s=status: window.tabs.model(s).is_loaded, timeout=10_000)
        assert window.tabs.row_count(status) == expected[status]

    window.tabs.set_connection(window.current_connection())  # as a choice does
    shown = window.tabs.current_status()
    assert window.tabs.model(shown).loading
    for status in STATUS_ORDER:
        if status is not shown:
            model = window.tabs.model(status)
            assert not model.loading
            assert not model.is_loaded
    window.tabs.set_totals(expected)  # the summary, read meanwhile: titles before rows
    assert tab_texts(window) == [tab_title(s, expected[s]) for s in STATUS_ORDER]
    assert not window.tabs.model(Status.EXCLUDED).is_loaded
    for status in STATUS_ORDER:
        qtbot.waitUntil(lambda s=status: window.tabs.model(s).is_loaded, timeout=10_000)
    assert tab_texts(window) == [tab_title(s, expected[s]) for s in STATUS_ORDER]


def test_a_tab_shown_before_its_list_is_read_reads_it_at_once(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    engine = make_engine(main_items())
    window = make_window(engine, synchronous=False)
    qtbot.waitUntil(lambda: window.current_connection() is not None, timeout=10_000)
    window.tabs.set_connection(window.current_connection())
    assert not window.tabs.model(Status.FAILING).loading
    window.tabs.set_current_status(Status.FAILING)
    assert window.tabs.model(Status.FAILING).loading
    qtbot.waitUntil(lambda: window.tabs.model(Status.FAILING).is_loaded, timeout=10_000)
    assert window.tabs.row_count(Status.FAILING) == counts(engine, "c-1")[Status.FAILING]


def test_a_list_whose_read_failed_is_read_again_when_its_tab_is_shown(
    qtbot: QtBot,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sqlite3

    from healthdesk.store import pages

    engine = make_engine(main_items())
    window = make_window(engine, synchronous=False)
    qtbot.waitUntil(lambda: window.current_connection() is not None, timeout=10_000)
    expected = counts(engine, "c-1")
    real_count = pages.count

    def count(engine: Any, connection_id: str, contact_filter: ContactFilter) -> int:
        if contact_filter.status is Status.FAILING:
            raise sqlite3.OperationalError("disk I/O error")
        return real_count(engine, connection_id, contact_filter)

    monkeypatch.setattr(pages, "count", count)
    window.tabs.set_connection(window.current_connection())
    window.tabs.set_totals(expected)
    failing = window.tabs.model(Status.FAILING)
    qtbot.waitUntil(lambda: failing.load_error is not None, timeout=10_000)
    for status in STATUS_ORDER:  # the lists after it were read all the same
        if status is not Status.FAILING:
            qtbot.waitUntil(lambda s=status: window.tabs.model(s).is_loaded, timeout=10_000)
    assert window.tabs.row_count(Status.FAILING) == 0  # not the summary's count: unread

    monkeypatch.setattr(pages, "count", real_count)  # the disk is back
    window.tabs.set_current_status(Status.FAILING)
    assert failing.loading
    qtbot.waitUntil(lambda: failing.is_loaded, timeout=10_000)
    assert failing.load_error is None
    assert window.tabs.row_count(Status.FAILING) == expected[Status.FAILING]


def test_the_panels_around_the_lists_follow_a_choice_one_turn_later(
    qtbot: QtBot,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = make_engine(locked_items())
    window = make_window(engine)
    chosen = {c.id: c for c in list_connections(engine)}
    assert window.config_panel.apps_label.text() == apps_text(chosen["c-1"])
    shown_rules: list[str] = []
    real_set_connection = window.config_panel.set_connection

    def set_connection(connection: Any) -> None:
        shown_rules.append(connection.id)
        real_set_connection(connection)

    monkeypatch.setattr(window.config_panel, "set_connection", set_connection)
    assert window.select_connection("c-3")
    assert window.current_connection().id == "c-3"
    assert window.windowTitle().startswith(chosen["c-3"].name)
    assert not window.settled  # the rules panel still shows c-1 in this turn
    assert window.select_connection("c-2")  # chosen again before the loop turned
    qtbot.waitUntil(lambda: window.settled)
    assert window.config_panel.apps_label.text() == apps_text(chosen["c-2"])
    assert window.timeline_dock.model is not None
    assert window.timeline_dock.model.connection.id == "c-2"
    assert shown_rules == ["c-2"]  # the choice overtaken (c-3) left the panels alone


def test_failure_tree_filters_the_failing_list(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    engine = make_engine(main_items())
    window = make_window(engine)
    wait_summary(qtbot, window, "c-1")
    tree = window.failure_model()
    assert tree is not None
    assert window.failures_view.isVisibleTo(window)
    # Mailchimp refused two writes (one category), HubSpot one
    apps = {tree.index(r, 0).data(): tree.index(r, 0) for r in range(tree.rowCount())}
    assert set(apps) == {"HubSpot", "Mailchimp"}
    category = tree.index(0, 0, apps["Mailchimp"])
    wanted = category.data(tree.FilterRole)
    assert isinstance(wanted, ContactFilter)
    rect = window.failures_view.visualRect(category)
    qtbot.mouseClick(window.failures_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.tabs.current_status() is Status.FAILING
    assert window.tabs.failing_filter() == wanted
    failing = window.tabs.model(Status.FAILING)
    assert failing is not None
    assert failing.filter == wanted
    assert failing.rowCount() == category.siblingAtColumn(1).data() == 2
    assert window.tabs.tabText(3) == "Failing (2 of 3)"
    explanation, fix = tree.explanation_for(category)
    assert window.reason_panel.explanation.text() == explanation
    assert window.reason_panel.fix.text() == fix
    owner = load_catalog().category(str(category.data())).owner
    assert window.reason_panel.owner.text() == f"Who fixes it: {owner.label}"
    assert window.reason_panel.fix.isVisibleTo(window)
    # an app node filters by app and explains nothing yet
    window.failures_view.setCurrentIndex(apps["HubSpot"])
    assert window.tabs.failing_filter() == ContactFilter(Status.FAILING, Side.A)
    assert window.tabs.model(Status.FAILING).rowCount() == 1
    assert not window.reason_panel.fix.isVisibleTo(window)
    # "Show all failing" brings every failing contact back
    bar = window.tabs.page(Status.FAILING).filter_bar
    assert bar is not None
    assert bar.isVisibleTo(window)
    button = bar.findChild(QPushButton, "show_all_failing")
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.tabs.failing_filter() is None
    assert window.tabs.model(Status.FAILING).rowCount() == 3
    assert window.tabs.tabText(3) == "Failing (3)"
    assert not window.failures_view.selectionModel().hasSelection()


def test_last_connection_is_remembered(
    qtbot: QtBot, make_engine: MakeEngine, settings: QSettings
) -> None:
    engine = make_engine(locked_items())
    first = MainWindow(engine=engine, settings=settings, operations=SynchronousOperations())
    qtbot.addWidget(first)
    first.show()
    assert first.current_connection().id == "c-1"
    click_connection(qtbot, first, "c-3")
    first.tabs.set_current_status(Status.DUPLICATE)
    first.failures_dock.hide()
    first.close()
    second = MainWindow(engine=engine, settings=settings, operations=SynchronousOperations())
    qtbot.addWidget(second)
    second.show()
    assert second.current_connection().id == "c-3"
    assert second.connections_view.currentIndex().row() == second.connections_model.row_of("c-3")
    assert second.tabs.current_status() is Status.DUPLICATE
    assert not second.failures_dock.isVisible()
    second.close()


def test_column_widths_are_remembered(
    qtbot: QtBot, make_engine: MakeEngine, settings: QSettings
) -> None:
    engine = make_engine(main_items())
    first = MainWindow(engine=engine, settings=settings, operations=SynchronousOperations())
    qtbot.addWidget(first)
    first.show()
    header = first.tabs.view(Status.EXCLUDED).horizontalHeader()
    header.resizeSection(1, 333)
    first.close()
    second = MainWindow(engine=engine, settings=settings, operations=SynchronousOperations())
    qtbot.addWidget(second)
    second.show()
    assert second.tabs.view(Status.EXCLUDED).horizontalHeader().sectionSize(1) == 333
    second.close()


def test_the_sort_arrow_is_on_the_column_the_list_is_sorted_by(
    qtbot: QtBot, make_engine: MakeEngine, settings: QSettings
) -> None:
    window = MainWindow(
        engine=make_engine(main_items()), settings=settings, operations=SynchronousOperations()
    )
    qtbot.addWidget(window)
    window.show()
    for status in (Status.IN_SYNC, Status.FAILING):
        view = window.tabs.view(status)
        model = view.model()
        header = view.horizontalHeader()
        assert model.headerData(header.sortIndicatorSection(), Qt.Orientation.Horizontal) == "Name"
        assert header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
        # Sorting by another column (what a click on its header does) moves the arrow.
        view.sortByColumn(2, Qt.SortOrder.DescendingOrder)
        assert (model.sort_column, model.descending) == (2, True)
        assert header.sortIndicatorSection() == 2
    window.close()


def test_default_widths_fit_the_table() -> None:
    titles = ["App", "Name", "Email", "ID", "Category", "Message", "When"]
    narrow = default_widths(titles, 1000)
    assert sum(narrow) <= 1000
    wide = default_widths(titles, 2000)
    assert sum(wide) == 2000
    assert wide[5] > narrow[5]
    assert default_widths(["Name", "Email", "HubSpot ID"], 100)[2] == 80


def test_copy_rows_emails_and_ids(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    engine = make_engine(main_items())
    window = make_window(engine, synchronous=True)
    window.tabs.set_current_status(Status.IN_SYNC)
    view = window.tabs.view(Status.IN_SYNC)
    view.selectAll()
    window.copy_action.trigger()
    clipboard = QGuiApplication.clipboard()
    lines = clipboard.text().split("\n")
    assert len(lines) == 2
    assert lines[0].split("\t")[:4] == ["Alice Martin", "alice@acme.com", "a1", "b1"]
    window.copy_email_action.trigger()
    assert clipboard.text() == "alice@acme.com\nbob@acme.com"
    window.copy_id_action.trigger()
    assert clipboard.text() == "a1\tb1\na2\tb2"
    # the context menu holds the same actions
    assert window.copy_action in view.actions()
    assert view.contextMenuPolicy() == Qt.ContextMenuPolicy.ActionsContextMenu
    # Ctrl+C in the table copies the rows, too
    clipboard.clear()
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text().split("\n")[1].startswith("Bob Stone\tbob@acme.com")


def test_export_current_list_to_csv(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow, tmp_path: Path
) -> None:
    engine = make_engine(main_items())
    window = make_window(engine)
    window.tabs.set_current_status(Status.FAILING)
    target = tmp_path / "failing.csv"
    window.export_current_list(target)
    qtbot.waitUntil(target.exists, timeout=5000)
    with open(target, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == counts(engine, "c-1")[Status.FAILING] == 3
    assert {row["status"] for row in rows} == {"failing"}
    assert not (tmp_path / "failing.csv.partial").exists()


def test_export_failure_is_shown_plainly(
    qtbot: QtBot,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import healthdesk.ui.main_window as main_window

    shown: list[str] = []
    monkeypatch.setattr(main_window, "show_error", lambda parent, title, text: shown.append(text))
    window = make_window(make_engine(main_items()), synchronous=True)
    target = tmp_path / "no such folder" / "x.csv"
    window.export_current_list(target)
    assert len(shown) == 1
    assert shown[0].startswith(f"Could not export to {target}.")
    assert "No such file or directory" in shown[0]
    assert not list(tmp_path.glob("**/*.partial"))


def test_menus_and_shortcuts(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    window = make_window(make_engine(main_items()))
    menus = [action.text() for action in window.menuBar().actions()]
    assert menus == ["&File", "&Edit", "&View", "&Help"]
    assert window.open_action.shortcut().toString() == "Ctrl+O"
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"
    assert window.copy_action.shortcut().toString() == "Ctrl+C"
    view_menu = window.menuBar().actions()[2].menu()
    toggles = [a for a in view_menu.actions() if a.isCheckable()]
    assert [a.text() for a in toggles] == ["Connections", "Failure reasons", "Activity", "Contact"]
    assert window.find_action.shortcut().toString() == "Ctrl+F"
    toggles[1].trigger()
    assert not window.failures_dock.isVisible()
    assert all(isinstance(d, QDockWidget) for d in (window.connections_dock, window.failures_dock))


def test_about_box_is_plain_text(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    window = make_window(make_engine(main_items()))
    window.about_action.trigger()
    box = window.findChild(QMessageBox, "about_box")
    assert box is not None
    assert box.isVisible()
    assert box.textFormat() == Qt.TextFormat.PlainText
    assert "Health Desk" in box.text()
    assert healthdesk.__version__ in box.text()  # the one version, as --version says it
    box.close()


def test_empty_database_shows_an_empty_window(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    window = make_window(make_engine(None))
    assert window.connections_model.rowCount() == 0
    assert window.current_connection() is None
    assert window.banner.name_label.text() == "No connection"
    assert tab_texts(window) == [tab_title(s, 0) for s in STATUS_ORDER]
    assert not window.export_action.isEnabled()


def test_dropped_snapshot_is_imported_and_shown(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow, tmp_path: Path
) -> None:
    engine = make_engine(main_items())
    window = make_window(engine)
    snapshot = write(tmp_path / "drop.jsonl", one_way_items("c-9"))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(snapshot))])
    drop = QDropEvent(
        QPointF(QPoint(200, 200)),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.importer.finished, timeout=10_000):
        window.dropEvent(drop)
    assert window.current_connection().id == "c-9"
    assert window.connections_model.rowCount() == 2
    assert window.recent_files() == [snapshot.resolve()]
    recent = [a.text() for a in window.recent_menu.actions() if not a.isSeparator()]
    assert recent[0].endswith("drop.jsonl")


def test_app_starts_on_the_demo_and_shuts_down(tmp_path: Path) -> None:
    """`ui.app.run` end to end, in a process of its own (it runs its own event loop)."""
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
        app = QApplication(sys.argv[:1])
        from healthdesk.ui.app import run

        def close():
            windows = [w for w in app.topLevelWidgets() if w.objectName() == "main_window"]
            print("connections", windows[0].connections_model.rowCount(), flush=True)
            windows[0].close()

        QTimer.singleShot(1500, close)
        sys.exit(run(db_path=Path(sys.argv[1]), files=[]))
        """
    )
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
    )
    db = tmp_path / "db.sqlite3"
    done = subprocess.run(
        [sys.executable, "-c", script, str(db)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "connections 3" in done.stdout
    assert "Traceback" not in done.stderr
    assert (tmp_path / "config" / "HealthDesk" / "Health Desk.conf").is_file()


@pytest.mark.parametrize("bad", ["not a database"])
def test_app_reports_a_database_it_cannot_open(tmp_path: Path, bad: str) -> None:
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication, QMessageBox
        app = QApplication(sys.argv[:1])
        from healthdesk.ui.app import run

        def answer():
            for w in app.topLevelWidgets():
                if isinstance(w, QMessageBox) and w.isVisible():
                    print("box:", w.text().splitlines()[0], flush=True)
                    w.accept()
                    return
            QTimer.singleShot(100, answer)

        QTimer.singleShot(100, answer)
        sys.exit(run(db_path=Path(sys.argv[1]), files=[]))
        """
    )
    db = tmp_path / "broken.sqlite3"
    db.write_text(bad * 100)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", script, str(db)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert f"box: Could not open the database {db}." in done.stdout
    assert "healthdesk: error: Could not open the database" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_double_clicked_row_opens_the_contact_dock(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    window = make_window(make_engine(main_items()))
    assert not window.detail_dock.isVisible()
    model = window.tabs.view(Status.FAILING).model()
    model.index(0, 1).data()  # asks for the first block
    qtbot.waitUntil(lambda: model.contact_key(0) is not None)
    key = model.contact_key(0)
    window.tabs.contact_activated.emit(key)
    assert window.detail_dock.isVisible()
    shown = window.detail_view.contact
    assert shown is not None
    assert shown.key == key
    assert shown.status is Status.FAILING


def test_ctrl_f_focuses_the_search_and_a_result_opens_its_contact(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    window = make_window(make_engine(main_items()))
    window.activateWindow()
    qtbot.waitActive(window)
    window.find_action.trigger()
    qtbot.waitUntil(window.search_bar.line_edit.hasFocus)
    window.search_bar.search("a1")
    qtbot.waitUntil(lambda: window.search_bar.model.rowCount() > 0)
    contact = window.search_bar.model.contact_at(0)
    window.search_bar.contact_chosen.emit(contact)
    assert window.detail_view.contact is not None
    assert window.detail_view.contact.key == contact.key


def test_the_timeline_follows_the_connection_and_opens_contacts(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    window = make_window(make_engine(main_items()))
    model = window.timeline_dock.model
    assert model is not None
    qtbot.waitUntil(lambda: model.rowCount() > 0)
    key = next(
        model.index(row, 0).data(model.ContactKeyRole)
        for row in range(model.rowCount())
        if model.index(row, 0).data(model.ContactKeyRole) is not None
    )
    window.timeline_dock.contact_activated.emit(key)
    assert window.detail_view.contact is not None
    assert window.detail_view.contact.key == key


def test_an_action_count_opens_the_contacts_behind_it(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    window = make_window(make_engine(main_items()))
    wait_summary(qtbot, window, "c-1")
    label = window.actions_panel.number_labels[Side.B, Outcome.CREATED]
    qtbot.mouseClick(label, Qt.MouseButton.LeftButton)
    dialogs = window.findChildren(ActionContactsDialog)
    assert len(dialogs) == 1
    qtbot.waitUntil(lambda: dialogs[0].model.rowCount() == 1)  # a1 created into b
    dialogs[0].close()


def test_export_current_list_writes_exactly_the_rows_shown_in_their_order(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow, tmp_path: Path
) -> None:
    engine = make_engine(main_items())
    window = make_window(engine)
    tree = window.failure_model()
    assert tree is not None
    # Narrow the Failing list to one app's failures, and sort it by email, descending.
    hubspot = next(
        tree.index(r, 0) for r in range(tree.rowCount()) if tree.index(r, 0).data() == "Mailchimp"
    )
    window.failures_view.setCurrentIndex(hubspot)
    view = window.tabs.view(Status.FAILING)
    model = window.tabs.model(Status.FAILING)
    assert model is not None
    email_column = next(
        c
        for c in range(model.columnCount())
        if model.headerData(c, Qt.Orientation.Horizontal) == "Email"
    )
    view.sortByColumn(email_column, Qt.SortOrder.DescendingOrder)
    shown = [model.index(row, email_column).data() for row in range(model.rowCount())]
    assert shown == sorted(shown, reverse=True)
    assert 0 < len(shown) < counts(engine, "c-1")[Status.FAILING]
    target = tmp_path / "shown.csv"
    assert window.export_current_list(target)
    with open(target, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    exported = [row["a_email"] or row["b_email"] for row in rows]
    assert exported == shown
    assert (target.stat().st_mode & 0o777) == 0o600


def test_a_window_reading_in_the_background_shows_the_same_as_one_reading_inline(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    engine = make_engine(locked_items())
    inline = make_window(engine)
    background = make_window(engine, synchronous=False)
    qtbot.waitUntil(lambda: background.last_summary is not None, timeout=10_000)
    for status in STATUS_ORDER:
        model = background.tabs.model(status)
        assert model is not None
        qtbot.waitUntil(lambda m=model: m.is_loaded, timeout=10_000)
    assert [background.tabs.tabText(i) for i in range(5)] == [
        inline.tabs.tabText(i) for i in range(5)
    ]
    assert background.last_summary == inline.last_summary


@pytest.mark.lifetime
def test_closing_a_window_while_its_lists_are_read_is_safe(
    qtbot: QtBot,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from healthdesk.store import pages

    engine = make_engine(main_items())
    gate = threading.Event()
    entered = threading.Event()
    real_count = pages.count

    def slow_count(*args: object, **kwargs: object) -> int:
        entered.set()
        gate.wait(10)
        return real_count(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pages, "count", slow_count)
    window = make_window(engine, synchronous=False)
    qtbot.waitUntil(entered.is_set, timeout=10_000)  # a list is being read now
    gate.set()  # the reads finish while the window goes
    assert window.close()
    assert window.operations.closed
    assert not window.operations.busy()
    window.deleteLater()
    QApplication.processEvents()


def test_help_explains_a_pasted_error_as_the_command_line_does(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    window = make_window(make_engine(main_items()))
    assert window.explain_action in window.menuBar().actions()[-1].menu().actions()
    dialog = window.explain_dialog()
    assert dialog.category_label.text() == "Paste an error message to see what it means."
    message = "<b>ada@example.com</b> looks fake or invalid, please enter a real email address."
    dialog.message_edit.setPlainText(message)
    dialog.app_box.setCurrentIndex(dialog.app_box.findData("mailchimp"))
    dialog.code_edit.setText("Invalid Resource")
    found = load_catalog().explain(message, app_kind="mailchimp", code="Invalid Resource")
    assert found.category != "Other"
    assert dialog.category_label.text() == found.category
    assert dialog.owner_label.text() == found.owner.label
    assert dialog.fingerprint_label.text() == found.fingerprint
    assert "ada@example.com" not in found.fingerprint
    assert dialog.meaning_label.text() == found.reason.explanation
    assert dialog.fix_label.text() == found.reason.fix
    for label in (dialog.category_label, dialog.fingerprint_label, dialog.meaning_label):
        assert label.textFormat() == Qt.TextFormat.PlainText
    dialog.close()


def test_forget_connection_removes_it_after_confirmation(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    engine = make_engine(locked_items())
    window = make_window(engine)
    window.select_connection("c-2")
    asked: list[str] = []
    answer = False

    def confirm(connection: Any) -> bool:
        asked.append(connection.id)
        return answer

    window.forget_control.confirm = confirm
    window.forget_control.action.trigger()
    assert asked == ["c-2"]
    assert "c-2" in {c.id for c in list_connections(engine)}  # refused: nothing changes
    answer = True
    window.forget_control.action.trigger()
    assert asked == ["c-2", "c-2"]
    remaining = {c.id for c in list_connections(engine)}
    assert remaining == {"c-1", "c-3"}
    listed = {
        window.connections_model.index(r, 0).data(ConnectionListModel.IdRole)
        for r in range(window.connections_model.rowCount())
    }
    assert listed == remaining
    assert window.current_connection() is not None
    assert window.current_connection().id != "c-2"
    assert window.statusBar().currentMessage().startswith("Forgot ")


def test_a_change_by_another_process_is_shown(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow, tmp_path: Path
) -> None:
    engine = make_engine(main_items(), name="shared")
    window = make_window(engine)
    assert window.connections_model.rowCount() == 1
    before = window.tabs.row_count(Status.FAILING)
    snapshot = write(tmp_path / "other.jsonl", one_way_items("c-other"))
    database = engine.url.database
    assert database is not None
    done = subprocess.run(
        [sys.executable, "-m", "healthdesk", "import", str(snapshot), "--db", database],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    qtbot.waitUntil(lambda: window.connections_model.rowCount() == 2, timeout=10_000)
    assert window.current_connection().id == "c-1"  # what the agent looks at stays
    assert window.tabs.row_count(Status.FAILING) == before


def test_a_name_with_bidi_controls_cannot_reorder_the_status_sentence(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    from tests.helpers.feed import connection, record

    evil = "\u202eAnn Evil"  # RIGHT-TO-LEFT OVERRIDE: would reverse what follows it
    engine = make_engine([connection("c-1"), record("a", "a1", name=evil, email="ann@x.io")])
    window = make_window(engine)
    model = window.tabs.view(Status.PENDING).model()
    assert model.rowCount() == 1
    key = model.index(0, 0).data(model.KeyRole)
    window.open_contact_key(key)
    sentence = window.statusBar().currentMessage()
    # The name is an isolated run (FSI ... PDI): the sentence after it keeps its order.
    assert sentence.startswith(f"\u2068{evil}\u2069: ")
    assert window.detail_view.title_label is not None
    assert window.detail_view.title_label.text() == evil  # shown as the characters it holds


def test_narrow_status_tabs_show_their_counts_and_no_tab_hides(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow
) -> None:
    engine = make_engine(main_items())
    window = make_window(engine)
    found = counts(engine, "c-1")
    full = [tab_title(status, found[status]) for status in STATUS_ORDER]
    qtbot.waitUntil(lambda: window.tabs.full_titles() == full)
    assert not window.tabs.compact()
    assert [window.tabs.tabText(i) for i in range(5)] == full
    window.contact_dock.show()
    window.resize(900, 700)  # a laptop with the Contact dock open
    qtbot.waitUntil(window.tabs.compact)
    assert [window.tabs.tabText(i) for i in range(5)] == [
        f"{found[status]:,}" for status in STATUS_ORDER
    ]
    assert [window.tabs.tabToolTip(i) for i in range(5)] == full
    bar = window.tabs.tabBar()
    assert bar.tabRect(4).right() <= bar.width()  # the last tab is in view, no arrows needed
    window.resize(1400, 900)
    qtbot.waitUntil(lambda: not window.tabs.compact())
    assert [window.tabs.tabText(i) for i in range(5)] == full

"""The Health window: connections on the left, the selected connection's state,
configuration and actions at the top, its five status lists in the middle, and the
failure-reason tree that narrows the Failing list.

Every database read that may grow with the data (summaries, exports) runs on a worker
thread (`_Jobs`); the tables fetch their own rows. Imports run in `ui.imports`. The GUI
thread is never blocked for long, and never touched from a worker.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QByteArray,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QSettings,
    Qt,
    QThreadPool,
    QTimer,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QMainWindow,
    QMenu,
    QMessageBox,
    QTreeView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from healthdesk import __version__
from healthdesk.config import load_catalog
from healthdesk.core.contacts import ContactView, explain
from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection, Outcome, Side, Status
from healthdesk.reports.export import write_csv
from healthdesk.reports.summary import STATUS_LABELS
from healthdesk.store.contact_history import contact_by_record
from healthdesk.store.ingest import IngestReport
from healthdesk.store.queries import Summary, get_contacts, iter_contacts, list_connections, summary
from healthdesk.ui import imports as imports_ui
from healthdesk.ui.actions.action_contacts import ActionContactsDialog
from healthdesk.ui.connect_dialog import DEFAULT_URL, ConnectDialog
from healthdesk.ui.connections.config_panel import ActionsPanel, ConfigPanel
from healthdesk.ui.connections.list_model import ConnectionDelegate, ConnectionListModel
from healthdesk.ui.connections.state_banner import StateBanner
from healthdesk.ui.contacts.status_tabs import StatusTabs
from healthdesk.ui.contacts.table_model import ContactTableModel
from healthdesk.ui.detail.detail_view import ContactDetailView
from healthdesk.ui.failures.tree_model import FailureTreeModel
from healthdesk.ui.icons import app_icon
from healthdesk.ui.imports import SnapshotImporter, error_text
from healthdesk.ui.live import LiveSync
from healthdesk.ui.search.search_bar import SearchBar
from healthdesk.ui.style import mute
from healthdesk.ui.text import plain_tooltip
from healthdesk.ui.timeline.timeline_dock import TimelineDock

ORGANIZATION = "HealthDesk"
APPLICATION = "Health Desk"
#: Files of File > Open Recent, most recent first.
MAX_RECENT = 8
#: More selected rows than this are not copied (Export is the tool for long lists).
MAX_COPY_ROWS = 10_000
SNAPSHOT_FILTER = "Snapshots (*.healthsnap *.jsonl *.jsonl.gz *.gz *.json);;All files (*)"

_KEY_GEOMETRY = "window/geometry"
_KEY_STATE = "window/state"
_KEY_TAB = "window/tab"
_KEY_LAST = "connections/last"
_KEY_RECENT = "files/recent"
_KEY_LAST_DIR = "files/last_dir"
_KEY_SERVICE_URL = "service/url"
#: Live pages are shown at most this often (ms): a fast feed must not freeze the window.
LIVE_REFRESH_MS = 250
#: At most this many selected rows are re-selected after a live refresh.
MAX_RESELECT = 200
_STATE_VERSION = 1
_DASH = "\u2013"  # en dash
_PATH_SEPARATOR = " \u203a "  # single right-pointing angle quotation mark


def plural(count: int, noun: str) -> str:
    """ "1 contact", "1,234 contacts"."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


class ExportStopped(Exception):
    """An export given up because the window closed; its file was not written."""


def default_settings() -> QSettings:
    """The user's settings (organization "HealthDesk", application "Health Desk")."""
    return QSettings(ORGANIZATION, APPLICATION)


class _Jobs(QObject):
    """Runs functions on a worker thread; their results come back on the GUI thread.

    `synchronous` runs them inline instead (screenshots, which render once and must see
    everything). Whoever submits checks whether the result is still wanted.
    """

    _finished = Signal(int, object, bool)

    def __init__(self, *, synchronous: bool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._synchronous = synchronous
        self._stopping = threading.Event()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._tickets = itertools.count(1)
        self._callbacks: dict[
            int, tuple[Callable[[Any], None], Callable[[BaseException], None]]
        ] = {}
        self._finished.connect(self._on_finished)

    def submit(
        self,
        work: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        if self._synchronous:
            try:
                result = work()
            except Exception as exc:
                on_error(exc)
            else:
                on_done(result)
            return
        ticket = next(self._tickets)
        self._callbacks[ticket] = (on_done, on_error)

        def run() -> None:
            try:
                result = work()
            except Exception as exc:
                self._finished.emit(ticket, exc, False)
            else:
                self._finished.emit(ticket, result, True)

        self._pool.start(run)

    @property
    def synchronous(self) -> bool:
        return self._synchronous

    def busy(self) -> bool:
        return bool(self._callbacks)

    def stopping(self) -> bool:
        """Whether long jobs should give up (the window is closing); thread-safe."""
        return self._stopping.is_set()

    def wait(self, timeout_ms: int = 10_000) -> bool:
        """Ask long jobs to stop and block until every job is done (shutdown only)."""
        self._stopping.set()
        return self._pool.waitForDone(timeout_ms)

    @Slot(int, object, bool)
    def _on_finished(self, ticket: int, value: Any, ok: bool) -> None:
        callbacks = self._callbacks.pop(ticket, None)
        if callbacks is None:
            return
        on_done, on_error = callbacks
        if ok:
            on_done(value)
        else:
            on_error(value)


class _ReasonPanel(QFrame):
    """Beside the failure-reason tree: what the selected reason means and how to fix it."""

    def __init__(self, *, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("reason_panel")
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.explanation = QLabel()
        self.fix_heading = QLabel("How to fix it")
        mute(self.fix_heading)
        self.fix = QLabel()
        for label in (self.explanation, self.fix, self.fix_heading):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)
        for label in (self.title, self.explanation, self.fix):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.explanation)
        layout.addSpacing(4)
        layout.addWidget(self.fix_heading)
        layout.addWidget(self.fix)
        layout.addStretch(1)
        self.show_hint()

    def show_hint(
        self,
        text: str = "Choose a failure reason to list its contacts and see "
        "what it means and how to fix it.",
    ) -> None:
        self.title.setText("")
        self.title.hide()
        self.explanation.setText(text)
        mute(self.explanation)
        self.fix_heading.hide()
        self.fix.hide()

    def show_reason(self, title: str, explanation: str, fix: str) -> None:
        self.title.setText(title)
        self.title.show()
        self.explanation.setPalette(self.palette())
        self.explanation.setText(explanation)
        self.fix.setText(fix)
        self.fix_heading.show()
        self.fix.show()


class MainWindow(QMainWindow):
    """The Health window over one database.

    Signals:
        connection_changed(str): the selected connection's id ("" for none).

    Attributes:
        connections_view, connections_model: the sidebar list.
        banner, config_panel, actions_panel: the top of the window.
        tabs: the status lists (`StatusTabs`).
        failures_view, reason_panel: the failure-reason tree and its explanation.
        importer: the `SnapshotImporter`.
        last_summary: the shown connection's `Summary` once read (None until then).
    """

    connection_changed = Signal(str)

    def __init__(
        self,
        *,
        engine: Engine,
        catalog: Catalog | None = None,
        settings: QSettings | None = None,
        db_path: Path | None = None,
        synchronous: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("main_window")
        self.setWindowTitle(APPLICATION)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._engine = engine
        self._catalog = catalog if catalog is not None else load_catalog()
        self._settings = settings if settings is not None else default_settings()
        self._db_path = db_path
        self._jobs = _Jobs(synchronous=synchronous, parent=self)
        self._connection: Connection | None = None
        self._failure_model: FailureTreeModel | None = None
        self._close_when_idle = False
        self._closed = False
        self.last_summary: Summary | None = None

        self.importer = SnapshotImporter(engine=engine, parent_widget=self)
        self.importer.imported.connect(self._on_importer_imported)
        self.importer.cancelled.connect(self._on_importer_cancelled)
        self.importer.failed.connect(self._on_importer_failed)
        self.importer.finished.connect(self._on_importer_finished)

        self.live = LiveSync(engine=engine, parent=self)
        self.live.page_applied.connect(self._on_live_page_applied)
        self.live.connections_changed.connect(self._on_live_connections_changed)
        self.live.status_changed.connect(self._on_live_status_changed)
        self.live.failed.connect(self._on_live_failed)
        self.live.stopped.connect(self._on_live_stopped)
        self._live_dirty = False
        self._live_summary_busy = False
        self._timeline_stale = False
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_REFRESH_MS)
        self._live_timer.timeout.connect(self._on_live_timer_timeout)
        self._stopping_live = False
        self._live_summary_again = False
        self._tasks: set[asyncio.Future[Any]] = set()

        self._build_central(synchronous)
        self._build_docks(synchronous)
        self._build_actions()
        self._build_menus()
        self._build_status_bar()
        self._restore_settings()
        self.timeline_dock.view.verticalScrollBar().valueChanged.connect(self._on_timeline_scrolled)
        self.reload(select=self._remembered_connection())

    # -- building -------------------------------------------------------------------------

    def _build_central(self, synchronous: bool) -> None:
        self.search_bar = SearchBar(
            engine=self._engine,
            connection=None,
            catalog=self._catalog,
            fetch_synchronously=synchronous,
        )
        self.search_bar.setObjectName("search_bar")
        self.search_bar.contact_chosen.connect(self.open_contact)
        self.banner = StateBanner()
        self.banner.connection_requested.connect(self._on_banner_connection_requested)
        self.config_panel = ConfigPanel()
        self.actions_panel = ActionsPanel()
        self.actions_panel.action_requested.connect(self.open_action_contacts)
        self.tabs = StatusTabs(
            engine=self._engine,
            catalog=self._catalog,
            settings=self._settings,
            fetch_synchronously=synchronous,
        )
        self.tabs.copy_requested.connect(self.copy_rows)
        self.tabs.contact_activated.connect(self._on_tabs_contact_activated)
        self.tabs.failing_filter_cleared.connect(self._on_tabs_failing_filter_cleared)
        self.tabs.load_failed.connect(self._on_tabs_load_failed)

        glance = QHBoxLayout()
        glance.setSpacing(32)
        glance.addWidget(self.config_panel, 1)
        glance.addWidget(self.actions_panel, 0, Qt.AlignmentFlag.AlignTop)

        central = QWidget()
        central.setObjectName("central")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(12, 10, 12, 6)
        layout.setSpacing(10)
        layout.addWidget(self.search_bar)
        layout.addWidget(self.banner)
        layout.addLayout(glance)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

    def _build_docks(self, synchronous: bool) -> None:
        self.connections_model = ConnectionListModel(parent=self)
        self.connections_view = QListView()
        self.connections_view.setObjectName("connections_view")
        self.connections_view.setModel(self.connections_model)
        self.connections_view.setItemDelegate(ConnectionDelegate(self.connections_view))
        self.connections_view.setUniformItemSizes(True)
        self.connections_view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.connections_view.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.connections_view.selectionModel().currentChanged.connect(
            self._on_connections_current_changed
        )
        self.connections_dock = QDockWidget("Connections", self)
        self.connections_dock.setObjectName("connections_dock")
        self.connections_dock.setWidget(self.connections_view)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.connections_dock)

        self.failures_view = QTreeView()
        self.failures_view.setObjectName("failures_view")
        self.failures_view.setUniformRowHeights(True)
        self.failures_view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.failures_view.setAlternatingRowColors(False)
        self.failures_view.setAllColumnsShowFocus(True)
        self.reason_panel = _ReasonPanel()
        self._failures_empty = QLabel("Nothing is failing.")
        self._failures_empty.setTextFormat(Qt.TextFormat.PlainText)
        self._failures_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        mute(self._failures_empty)
        self._failures_empty.hide()
        failures = QWidget()
        failures_layout = QVBoxLayout(failures)
        failures_layout.setContentsMargins(0, 0, 0, 0)
        failures_layout.setSpacing(0)
        failures_layout.addWidget(self.failures_view, 3)
        failures_layout.addWidget(self._failures_empty, 3)
        failures_layout.addWidget(self.reason_panel, 2)
        self.failures_dock = QDockWidget("Failure reasons", self)
        self.failures_dock.setObjectName("failures_dock")
        self.failures_dock.setWidget(failures)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.failures_dock)
        self.splitDockWidget(self.connections_dock, self.failures_dock, Qt.Orientation.Vertical)
        self.resizeDocks([self.connections_dock], [300], Qt.Orientation.Horizontal)
        self.resizeDocks(
            [self.connections_dock, self.failures_dock], [200, 500], Qt.Orientation.Vertical
        )

        self.detail_view = ContactDetailView(catalog=self._catalog)
        self.detail_view.contact_link_activated.connect(self._on_detail_contact_link_activated)
        self.detail_dock = QDockWidget("Contact", self)
        self.detail_dock.setObjectName("detail_dock")
        self.detail_dock.setWidget(self.detail_view)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.detail_dock)
        self.resizeDocks([self.detail_dock], [520], Qt.Orientation.Horizontal)
        # Opens when a contact is chosen; the lists keep the width until then.
        self.detail_dock.hide()

        self.timeline_dock = TimelineDock(parent=self, fetch_synchronously=synchronous)
        self.timeline_dock.contact_activated.connect(self.open_contact_key)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.timeline_dock)
        self.resizeDocks([self.timeline_dock], [170], Qt.Orientation.Vertical)

    def _action(
        self,
        text: str,
        slot: Callable[[], Any],
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        *,
        name: str,
    ) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action(
            "&Open Snapshot…",
            self.open_snapshot_dialog,
            QKeySequence.StandardKey.Open,
            name="open_action",
        )
        self.export_action = self._action(
            "&Export Current List to CSV…", self.export_dialog, "Ctrl+E", name="export_action"
        )
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q", name="quit_action")
        self.connect_action = self._action(
            "&Connect to Service…",
            self.connect_dialog,
            "Ctrl+Shift+O",
            name="connect_action",
        )
        self.disconnect_action = self._action(
            "&Disconnect from Service", self.disconnect_service, name="disconnect_action"
        )
        self.disconnect_action.setEnabled(False)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.copy_action = self._action(
            "&Copy", self.copy_rows, QKeySequence.StandardKey.Copy, name="copy_action"
        )
        self.copy_email_action = self._action(
            "Copy &Email", self.copy_emails, "Ctrl+Shift+C", name="copy_email_action"
        )
        self.copy_id_action = self._action(
            "Copy &ID", self.copy_ids, "Ctrl+Alt+C", name="copy_id_action"
        )
        self.find_action = self._action(
            "&Find Contact…",
            self.search_bar.focus_search,
            QKeySequence.StandardKey.Find,
            name="find_action",
        )
        self.refresh_action = self._action(
            "&Refresh", self.refresh, QKeySequence.StandardKey.Refresh, name="refresh_action"
        )
        self.about_action = self._action("&About Health Desk", self.show_about, name="about_action")
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.tabs.set_context_actions(
            [self.copy_action, self.copy_email_action, self.copy_id_action]
        )

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = QMenu("Open &Recent", self)
        self.recent_menu.setObjectName("recent_menu")
        file_menu.addMenu(self.recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.connect_action)
        file_menu.addAction(self.disconnect_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(self.copy_action)
        edit_menu.addAction(self.copy_email_action)
        edit_menu.addAction(self.copy_id_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.find_action)
        view_menu = bar.addMenu("&View")
        view_menu.addAction(self.connections_dock.toggleViewAction())
        view_menu.addAction(self.failures_dock.toggleViewAction())
        view_menu.addAction(self.timeline_dock.toggleViewAction())
        view_menu.addAction(self.detail_dock.toggleViewAction())
        view_menu.addSeparator()
        view_menu.addAction(self.refresh_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)
        self._update_recent_menu()

    def _build_status_bar(self) -> None:
        # A normal widget: temporary messages cover it, then it shows again.
        self._count_label = QLabel()
        self._count_label.setObjectName("contact_count")
        self._count_label.setTextFormat(Qt.TextFormat.PlainText)
        self.statusBar().addWidget(self._count_label)
        self.live_label = QLabel()
        self.live_label.setObjectName("live_status")
        self.live_label.setTextFormat(Qt.TextFormat.PlainText)
        self.live_label.hide()
        self.statusBar().addPermanentWidget(self.live_label)
        self._db_label = QLabel()
        self._db_label.setTextFormat(Qt.TextFormat.PlainText)
        mute(self._db_label)
        if self._db_path is not None:
            self._db_label.setText(str(self._db_path))
            self._db_label.setToolTip(plain_tooltip(f"Database: {self._db_path}"))
        self.statusBar().addPermanentWidget(self._db_label)

    # -- settings -------------------------------------------------------------------------

    def _restore_settings(self) -> None:
        geometry = self._settings.value(_KEY_GEOMETRY)
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        state = self._settings.value(_KEY_STATE)
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state, _STATE_VERSION)
        tab = self._settings.value(_KEY_TAB)
        if isinstance(tab, str) and tab in {s.value for s in Status}:
            self.tabs.set_current_status(Status(tab))

    def _remembered_connection(self) -> str | None:
        value = self._settings.value(_KEY_LAST)
        return value if isinstance(value, str) and value else None

    def save_settings(self) -> None:
        self._settings.setValue(_KEY_GEOMETRY, self.saveGeometry())
        self._settings.setValue(_KEY_STATE, self.saveState(_STATE_VERSION))
        self._settings.setValue(_KEY_TAB, self.tabs.current_status().value)
        if self._connection is not None:
            self._settings.setValue(_KEY_LAST, self._connection.id)
        self.tabs.save_state()
        self._settings.sync()

    def recent_files(self) -> list[Path]:
        value = self._settings.value(_KEY_RECENT, [])
        # an ini file gives back a one-item list as a plain string
        items: list[object] = [value] if isinstance(value, str) else list(value or [])  # type: ignore[call-overload]
        return [Path(v) for v in items if isinstance(v, str) and v]

    def _remember_files(self, paths: Sequence[Path]) -> None:
        recent = [str(p.resolve()) for p in paths]
        recent += [str(p) for p in self.recent_files() if str(p) not in recent]
        self._settings.setValue(_KEY_RECENT, recent[:MAX_RECENT])
        if paths:
            self._settings.setValue(_KEY_LAST_DIR, str(Path(paths[0]).resolve().parent))
        self._update_recent_menu()

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for number, path in enumerate(recent, 1):
            label = str(path).replace("&", "&&")
            action = self.recent_menu.addAction(f"&{number} {label}" if number < 10 else label)
            action.triggered.connect(lambda _=False, p=path: self.import_files([p]))
        if recent:
            self.recent_menu.addSeparator()
            clear = self.recent_menu.addAction("Clear Menu")
            clear.triggered.connect(self._on_clear_recent_triggered)
        self.recent_menu.setEnabled(bool(recent))

    @Slot()
    def _on_clear_recent_triggered(self) -> None:
        self._settings.setValue(_KEY_RECENT, [])
        self._update_recent_menu()

    # -- connections ----------------------------------------------------------------------

    def current_connection(self) -> Connection | None:
        return self._connection

    def reload(self, *, select: str | None = None) -> None:
        """Read the connections again and show `select` (else the one shown, else the first)."""
        connections = list_connections(self._engine)
        wanted = select or (self._connection.id if self._connection else None)
        view_selection = self.connections_view.selectionModel()
        view_selection.blockSignals(True)
        self.connections_model.set_connections(connections)
        view_selection.blockSignals(False)
        row = self.connections_model.row_of(wanted) if wanted else -1
        if row < 0 and connections:
            row = 0
        if row < 0:
            self._show(None)
            return
        self._select_row(row, force=True)

    def select_connection(self, connection_id: str) -> bool:
        """Show the connection `connection_id`; False when the database does not hold it."""
        row = self.connections_model.row_of(connection_id)
        if row < 0:
            return False
        self._select_row(row)
        return True

    def _select_row(self, row: int, *, force: bool = False) -> None:
        index = self.connections_model.index(row, 0)
        selection = self.connections_view.selectionModel()
        self.connections_view.scrollTo(index)
        if selection.currentIndex() == index:
            if force:
                self._show(self.connections_model.connection(row))
            return
        # currentChanged shows it (_on_connections_current_changed)
        selection.setCurrentIndex(index, selection.SelectionFlag.ClearAndSelect)

    def refresh(self) -> None:
        """Read everything again (File > Refresh, and after an import)."""
        self.reload()

    def _show(self, connection: Connection | None) -> None:
        self._connection = connection
        self.last_summary = None
        self._count_label.setText("")
        ids = {c.id for c in self.connections_model.connections()}
        self.banner.set_connection(connection, known_ids=ids)
        self.config_panel.set_connection(connection)
        self.actions_panel.set_connection(connection)
        self.tabs.set_connection(connection)
        self.search_bar.set_connection(self._engine if connection else None, connection)
        self.timeline_dock.set_connection(self._engine if connection else None, connection)
        self.detail_view.clear()
        self._set_failure_model(None, loading=connection is not None)
        title = f"{connection.name} {_DASH} {APPLICATION}" if connection else APPLICATION
        self.setWindowTitle(title)
        self.export_action.setEnabled(connection is not None)
        if connection is not None:
            self._settings.setValue(_KEY_LAST, connection.id)
            self._load_summary(connection)
        self.connection_changed.emit(connection.id if connection else "")

    def _load_summary(self, connection: Connection) -> None:
        engine, catalog = self._engine, self._catalog

        def done(result: Summary) -> None:
            if self._closed or self._connection is None or self._connection.id != connection.id:
                return  # stale: another connection is shown now
            self.last_summary = result
            self._set_failure_model(result)
            self.actions_panel.set_summary(result)
            self.tabs.set_totals(result.counts)
            self._count_label.setText(plural(result.total, "contact"))

        def failed(exc: BaseException) -> None:
            self.statusBar().showMessage(f"Could not read the summary: {error_text(exc)}")

        self._jobs.submit(lambda: summary(engine, connection, catalog), done, failed)

    def _set_failure_model(self, source: Summary | None, *, loading: bool = False) -> None:
        """Show the failure-reason tree of `source` (read off the GUI thread), or none."""
        old = self._failure_model
        previous_selection = self.failures_view.selectionModel()
        self._failure_model = None
        self.reason_panel.show_hint()
        if source is None:
            self.failures_view.setModel(None)
        else:
            model = FailureTreeModel(
                engine=self._engine,
                connection=source.connection,
                catalog=self._catalog,
                parent=self,
                summary=source,
            )
            self._failure_model = model
            self.failures_view.setModel(model)
            self.failures_view.selectionModel().selectionChanged.connect(
                self._on_failures_selection_changed
            )
            model.modelReset.connect(self._on_failure_model_reset)
            header = self.failures_view.header()
            header.setStretchLastSection(False)
            header.setSectionResizeMode(0, header.ResizeMode.Stretch)
            for column in range(1, model.columnCount()):
                header.setSectionResizeMode(column, header.ResizeMode.ResizeToContents)
        self._failures_empty.setText(
            "Reading failure reasons…" if loading else "Nothing is failing."
        )
        self._on_failure_model_reset()
        if previous_selection is not None:
            previous_selection.deleteLater()
        if old is not None:
            old.deleteLater()

    def failure_model(self) -> FailureTreeModel | None:
        """The failure-reason tree's model (None until the connection's summary is read)."""
        return self._failure_model

    @Slot()
    def _on_failure_model_reset(self) -> None:
        model = self._failure_model
        empty = model is None or model.rowCount() == 0
        self.failures_view.setVisible(not empty)
        self._failures_empty.setVisible(empty)
        self.reason_panel.setVisible(not empty)
        if model is not None:
            self.failures_view.expandToDepth(0)

    # -- copy and export ------------------------------------------------------------------

    def _selected_keys(self) -> tuple[list[int], list[int]]:
        """The current table's selected rows and their contact keys."""
        status = self.tabs.current_status()
        model = self.tabs.model(status)
        if model is None:
            return [], []
        rows = self.tabs.view(status).selected_rows()
        if len(rows) > MAX_COPY_ROWS:
            self.statusBar().showMessage(
                f"{len(rows):,} rows are selected; copy at most {MAX_COPY_ROWS:,}, or use "
                "File > Export Current List to CSV.",
                8000,
            )
            return [], []
        keys = [model.contact_key(row) for row in rows]
        return rows, [key for key in keys if key is not None]

    def _put_on_clipboard(self, lines: list[str], what: str) -> None:
        if not lines:
            return
        QGuiApplication.clipboard().setText("\n".join(lines))
        self.statusBar().showMessage(f"Copied {what}.", 4000)

    @Slot()
    def copy_rows(self) -> None:
        """Edit > Copy: the selected rows as tab-separated text, as the table shows them."""
        status = self.tabs.current_status()
        model = self.tabs.model(status)
        rows, _keys = self._selected_keys()
        if model is None or not rows:
            return
        view = self.tabs.view(status)
        header = view.horizontalHeader()
        columns = [
            header.logicalIndex(visual)
            for visual in range(header.count())
            if not header.isSectionHidden(header.logicalIndex(visual))
        ]
        lines = []
        for row in rows:
            cells = []
            for column in columns:
                value = model.index(row, column).data(Qt.ItemDataRole.DisplayRole)
                text = "" if value is None else str(value)
                cells.append(text.replace("\t", " ").replace("\n", " "))
            lines.append("\t".join(cells))
        self._put_on_clipboard(lines, f"{len(lines):,} row{'s' if len(lines) != 1 else ''}")

    @Slot()
    def copy_emails(self) -> None:
        """Edit > Copy Email: the selected contacts' emails, one a line."""
        _rows, keys = self._selected_keys()
        contacts = get_contacts(self._engine, keys) if keys else []
        lines = [contact.email for contact in contacts]
        self._put_on_clipboard(lines, "the email" if len(lines) == 1 else f"{len(lines):,} emails")

    @Slot()
    def copy_ids(self) -> None:
        """Edit > Copy ID: the selected contacts' app ids (a pair: both, tab-separated)."""
        _rows, keys = self._selected_keys()
        contacts = get_contacts(self._engine, keys) if keys else []
        lines = ["\t".join(record.id for record in contact.records) for contact in contacts]
        self._put_on_clipboard(lines, "the id" if len(lines) == 1 else f"{len(lines):,} ids")

    @Slot()
    def export_dialog(self) -> None:
        """File > Export Current List to CSV…: asks where, then exports (off the GUI thread)."""
        connection = self._connection
        if connection is None:
            return
        status = self.tabs.current_status()
        dialog = QFileDialog(self, f"Export {STATUS_LABELS[status]} to CSV")
        dialog.setObjectName("export_dialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setNameFilter("CSV files (*.csv)")
        dialog.setDefaultSuffix("csv")
        folder = self._settings.value(_KEY_LAST_DIR, str(Path.home()))
        dialog.setDirectory(str(folder))
        dialog.selectFile(f"{connection.id}-{status.value}.csv")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda name: self.export_current_list(Path(name)))
        dialog.open()

    def export_current_list(self, path: Path) -> None:
        """Write the current tab's whole list (every contact of its status) to `path` as CSV;
        the file appears whole or not at all."""
        connection = self._connection
        if connection is None:
            return
        status = self.tabs.current_status()
        engine, catalog = self._engine, self._catalog

        jobs = self._jobs

        def contacts() -> Iterator[ContactView]:
            for contact in iter_contacts(engine, connection.id, [status]):
                if jobs.stopping():
                    raise ExportStopped(path)
                yield contact

        def work() -> int:
            partial = path.with_name(path.name + ".partial")
            try:
                with open(partial, "w", encoding="utf-8", newline="") as handle:
                    count = write_csv(handle, contacts(), connection, catalog)
                partial.replace(path)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            return count

        def done(count: int) -> None:
            self.statusBar().showMessage(f"Exported {plural(count, 'contact')} to {path}", 8000)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ExportStopped) or self._closed:
                return
            imports_ui.show_error(
                self, "Export failed", f"Could not export to {path}.\n\n{error_text(exc)}"
            )

        self.statusBar().showMessage(f"Exporting {STATUS_LABELS[status]} to {path}…")
        self._jobs.submit(work, done, failed)

    # -- imports --------------------------------------------------------------------------

    @Slot()
    def open_snapshot_dialog(self) -> None:
        dialog = QFileDialog(self, "Open Snapshot")
        dialog.setObjectName("open_dialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setNameFilter(SNAPSHOT_FILTER)
        dialog.setDirectory(str(self._settings.value(_KEY_LAST_DIR, str(Path.home()))))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.filesSelected.connect(lambda names: self.import_files([Path(n) for n in names]))
        dialog.open()

    def import_files(self, paths: Sequence[Path]) -> bool:
        """Import snapshot files (off the GUI thread), then show what they brought."""
        if self.importer.is_running():
            self.statusBar().showMessage("An import is running; wait for it or cancel it.", 6000)
            return False
        paths = [Path(p) for p in paths]
        started = self.importer.start(paths)
        if started:
            self.open_action.setEnabled(False)
            self.recent_menu.setEnabled(False)
            names = ", ".join(p.name for p in paths)
            self.statusBar().showMessage(f"Importing {names}…")
        return started

    @Slot(object, list)
    def _on_importer_imported(self, report: IngestReport, paths: list[Path]) -> None:
        self._remember_files(paths)
        names = ", ".join(p.name for p in paths)
        self.statusBar().showMessage(
            f"Imported {names}: {plural(report.records, 'record')}, "
            f"{plural(report.mappings, 'mapping')}, {plural(report.events_new, 'new event')}.",
            10_000,
        )
        decided = list(report.decided)
        self.reload(select=decided[0] if decided else None)

    @Slot()
    def _on_importer_cancelled(self) -> None:
        self.statusBar().showMessage("Import cancelled; the database is unchanged.", 8000)

    @Slot(str)
    def _on_importer_failed(self, _text: str) -> None:
        self.statusBar().showMessage("Import failed; the database is unchanged.", 8000)

    @Slot()
    def _on_importer_finished(self) -> None:
        self.open_action.setEnabled(True)
        self._update_recent_menu()
        if self._close_when_idle:
            self.close()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _local_files(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _local_files(event.mimeData().urls())
        if paths:
            event.acceptProposedAction()
            self.import_files(paths)

    # -- live sync ------------------------------------------------------------------------

    @Slot()
    def connect_dialog(self) -> None:
        """File > Connect to Service…: asks for the URL and the token, then connects."""
        url = self.live.url or str(self._settings.value(_KEY_SERVICE_URL, "") or "")
        dialog = ConnectDialog(url=url or DEFAULT_URL, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)

        def accepted() -> None:
            url, token, allow_insecure = dialog.result_values()
            self.connect_to_service(url, token, allow_insecure=allow_insecure)

        dialog.accepted.connect(accepted)
        dialog.open()

    def connect_to_service(
        self, url: str, token: str | None, *, allow_insecure: bool = False
    ) -> None:
        """Sync with the service at `url` live (replacing a live sync already running)."""
        self._settings.setValue(_KEY_SERVICE_URL, url)
        if self.live.is_running():
            self._spawn(self._reconnect(url, token, allow_insecure))
        else:
            self._start_live(url, token, allow_insecure)

    async def _reconnect(self, url: str, token: str | None, allow_insecure: bool) -> None:
        await self.stop_live()
        if not self._closed:
            self._start_live(url, token, allow_insecure)

    def _start_live(self, url: str, token: str | None, allow_insecure: bool) -> None:
        if self.live.start(url, token, allow_insecure=allow_insecure):
            self.disconnect_action.setEnabled(True)

    @Slot()
    def disconnect_service(self) -> None:
        """File > Disconnect from Service: stop live sync (the database keeps what came)."""
        self._spawn(self.stop_live())

    async def stop_live(self) -> None:
        """Stop live sync and wait for its end; closes the window when that was asked."""
        self._stopping_live = True
        try:
            await self.live.stop()
        finally:
            self._stopping_live = False
        if self._close_when_idle and not self.importer.is_running():
            self.close()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @Slot(str, object)
    def _on_live_page_applied(self, connection_id: str, _page: object) -> None:
        shown = self._connection
        if shown is None or connection_id != shown.id:
            return
        # Coalesced: at most one refresh per LIVE_REFRESH_MS, whatever the feed's rate.
        self._live_dirty = True
        if not self._live_timer.isActive():
            self._live_timer.start()

    @Slot()
    def _on_live_connections_changed(self) -> None:
        self.connections_model.set_live_ids(self.live.live_ids)
        self.reload_connections_kept()

    @Slot(str)
    def _on_live_status_changed(self, text: str) -> None:
        self.live_label.setText(text)
        self.live_label.setVisible(bool(text))
        if text:
            self.live_label.setToolTip(plain_tooltip(f"Sync service: {self.live.url}\n{text}"))

    @Slot(str)
    def _on_live_failed(self, message: str) -> None:
        self.live_label.setToolTip(plain_tooltip(message))
        self.statusBar().showMessage(message, 15_000)
        if not self._closed:
            imports_ui.show_error(self, "Live sync stopped", message)

    @Slot()
    def _on_live_stopped(self) -> None:
        self.disconnect_action.setEnabled(False)
        self.connections_model.set_live_ids(())

    @Slot()
    def _on_live_timer_timeout(self) -> None:
        if self._live_dirty and not self._closed:
            self._live_dirty = False
            self.refresh_live()

    def reload_connections_kept(self) -> None:
        """Read the connections again, keeping the one shown and everything about it (its
        lists, selection and scroll); its new settings are shown at the next live refresh."""
        current = self._connection
        connections = list_connections(self._engine)
        if current is None or all(c.id != current.id for c in connections):
            self.reload()
            return
        selection = self.connections_view.selectionModel()
        blocked = selection.blockSignals(True)
        try:
            self.connections_model.set_connections(connections)
            row = self.connections_model.row_of(current.id)
            selection.setCurrentIndex(
                self.connections_model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect,
            )
        finally:
            selection.blockSignals(blocked)
        self.connections_view.viewport().update()
        new = self.connections_model.connection(row)
        if new is None or new == current:
            return
        if (new.settings, new.app_a, new.app_b) != (current.settings, current.app_a, current.app_b):
            self._rebuild_kept(new)  # new rules: every list is another one
            return
        self._connection = new
        ids = {c.id for c in connections}
        self.banner.set_connection(new, known_ids=ids)

    def _rebuild_kept(self, connection: Connection) -> None:
        view = self.tabs.current_view()
        model = self.tabs.model(self.tabs.current_status())
        keys, current_key = _selected_contact_keys(view, model)
        scroll = view.verticalScrollBar().value()
        self._show(connection)
        model = self.tabs.model(self.tabs.current_status())
        _restore_selection(view, model, keys, current_key, scroll)

    def refresh_live(self) -> None:
        """Show what live sync brought to the shown connection: counts, lists, tree, summary
        and timeline, keeping the user's selection and scroll position."""
        connection = self._connection
        if connection is None:
            return
        view = self.tabs.current_view()
        model = self.tabs.model(self.tabs.current_status())
        keys, current_key = _selected_contact_keys(view, model)
        scroll = view.verticalScrollBar().value()
        self.tabs.refresh()
        _restore_selection(view, model, keys, current_key, scroll)
        self._refresh_timeline_live()
        self._load_summary_live(connection)

    def _refresh_timeline_live(self) -> None:
        bar = self.timeline_dock.view.verticalScrollBar()
        if bar.value() > bar.minimum():
            # The user reads older entries: keep them; refresh once back at the top.
            self._timeline_stale = True
            return
        self._timeline_stale = False
        self.timeline_dock.refresh()

    @Slot(int)
    def _on_timeline_scrolled(self, value: int) -> None:
        bar = self.timeline_dock.view.verticalScrollBar()
        if self._timeline_stale and value <= bar.minimum():
            self._timeline_stale = False
            self.timeline_dock.refresh()

    def _load_summary_live(self, connection: Connection) -> None:
        """Read the summary again (off the GUI thread), one read at a time."""
        if self._live_summary_busy:
            self._live_summary_again = True
            return
        self._live_summary_busy = True
        engine, catalog = self._engine, self._catalog

        def done(result: Summary) -> None:
            self._live_summary_busy = False
            shown = self._connection
            if self._closed or shown is None or shown.id != connection.id:
                return
            self.last_summary = result
            self._update_failure_model(result)
            self.actions_panel.set_summary(result)
            self.tabs.set_totals(result.counts)
            self._count_label.setText(plural(result.total, "contact"))
            if self._live_summary_again:
                self._live_summary_again = False
                self._load_summary_live(shown)

        def failed(exc: BaseException) -> None:
            self._live_summary_busy = False
            self.statusBar().showMessage(f"Could not read the summary: {error_text(exc)}")

        self._jobs.submit(lambda: summary(engine, connection, catalog), done, failed)

    def _update_failure_model(self, result: Summary) -> None:
        """The failure tree of `result`, keeping the selected reason and the open nodes."""
        model = self._failure_model
        if model is None or model.connection.id != result.connection.id:
            self._set_failure_model(result)
            return
        view = self.failures_view
        current = view.currentIndex()
        selected = _node_path(current) if current.isValid() else None
        expanded = _expanded_paths(view, model)
        model.set_summary(result)  # a reset: expands the first level (modelReset)
        for path in expanded:
            index = _index_of_path(model, path)
            if index.isValid():
                view.expand(index)
        if selected is not None:
            index = _index_of_path(model, selected)
            if index.isValid():
                # Quietly: the Failing list keeps its filter and its selection.
                selection = view.selectionModel()
                blocked = selection.blockSignals(True)
                try:
                    selection.setCurrentIndex(
                        index,
                        QItemSelectionModel.SelectionFlag.ClearAndSelect
                        | QItemSelectionModel.SelectionFlag.Rows,
                    )
                finally:
                    selection.blockSignals(blocked)
                view.viewport().update()

    # -- about, closing -------------------------------------------------------------------

    @Slot()
    def show_about(self) -> None:
        box = QMessageBox(self)
        box.setObjectName("about_box")
        box.setWindowTitle(f"About {APPLICATION}")
        box.setIconPixmap(app_icon().pixmap(64, 64))
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(
            f"{APPLICATION} {__version__}\n\n"
            "Why is this contact not syncing? Health Desk shows every contact of a "
            "contact-sync connection with its status and the reason for it."
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.live.is_running():
            # Stop live sync first (it ends between two pages), then close for real.
            event.ignore()
            if not self._stopping_live:
                self._close_when_idle = True
                self.statusBar().showMessage("Stopping live sync before closing…")
                self._spawn(self.stop_live())
            return
        if self.importer.is_running():
            # Cancel and close once the import has rolled back: no wait on the GUI thread.
            self._close_when_idle = True
            self.importer.cancel()
            self.statusBar().showMessage("Cancelling the import before closing…")
            event.ignore()
            return
        self.save_settings()
        self._closed = True
        self._jobs.wait()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop every worker (blocking; for the end of the application)."""
        self._live_timer.stop()
        self.importer.cancel()
        self.importer.wait()
        self._jobs.wait()

    # -- slots ----------------------------------------------------------------------------

    @Slot(QModelIndex, QModelIndex)
    def _on_connections_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self._show(self.connections_model.connection(current.row()))

    @Slot(str)
    def _on_banner_connection_requested(self, connection_id: str) -> None:
        if not self.select_connection(connection_id):
            self.statusBar().showMessage(f"The connection {connection_id} is not in this database.")

    @Slot(QItemSelection, QItemSelection)
    def _on_failures_selection_changed(
        self, _selected: QItemSelection, _old: QItemSelection
    ) -> None:
        model = self._failure_model
        indexes = self.failures_view.selectionModel().selectedIndexes()
        index = indexes[0].siblingAtColumn(0) if indexes else QModelIndex()
        if model is None or not index.isValid():
            self.tabs.set_failing_filter(None)
            self.reason_panel.show_hint()
            return
        contact_filter = index.data(FailureTreeModel.FilterRole)
        path = _node_path(index)
        if contact_filter is not None:
            self.tabs.set_failing_filter(contact_filter, _PATH_SEPARATOR.join(path))
            self.tabs.set_current_status(Status.FAILING)
        found = model.explanation_for(index)
        if found is None:
            self.reason_panel.show_hint(
                "Choose a category below it to see what it means and how to fix it."
            )
        else:
            explanation, fix = found
            self.reason_panel.show_reason(_PATH_SEPARATOR.join(path), explanation, fix)

    @Slot()
    def _on_tabs_failing_filter_cleared(self) -> None:
        self.failures_view.clearSelection()
        self.failures_view.setCurrentIndex(QModelIndex())
        self.tabs.set_failing_filter(None)
        self.reason_panel.show_hint()

    @Slot(str)
    def _on_tabs_load_failed(self, message: str) -> None:
        self.statusBar().showMessage(f"Could not read the list: {message}", 10_000)

    @Slot(int)
    def _on_tabs_contact_activated(self, key: int) -> None:
        self.open_contact_key(key)

    @Slot(str, str)
    def _on_detail_contact_link_activated(self, app: str, record_id: str) -> None:
        connection = self._connection
        if connection is None:
            return
        contact = contact_by_record(self._engine, connection.id, Side(app), record_id)
        if contact is None:
            self.statusBar().showMessage(f"No visible contact holds the record {record_id}.")
            return
        self.open_contact(contact)

    # -- contacts ---------------------------------------------------------------------------

    @Slot(object)
    def open_contact(self, contact: ContactView) -> None:
        """Show `contact` in the Contact dock: its records, its status and why, its events."""
        connection = self._connection
        if connection is None:
            return
        self.detail_view.show_contact(self._engine, connection, contact)
        self.detail_dock.show()
        self.detail_dock.raise_()
        why = explain(contact, connection, self._catalog)
        self.statusBar().showMessage(f"{contact.name or contact.email or contact.key}: {why}")

    @Slot(int)
    def open_contact_key(self, key: int) -> None:
        contacts = get_contacts(self._engine, [key])
        if contacts:
            self.open_contact(contacts[0])

    def open_contact_by_record(self, app: Side, record_id: str) -> bool:
        """Open the contact holding a record (for `screenshot --contact APP:ID`)."""
        connection = self._connection
        contact = (
            contact_by_record(self._engine, connection.id, app, record_id) if connection else None
        )
        if contact is None:
            return False
        self.open_contact(contact)
        return True

    @Slot(object, object)
    def open_action_contacts(self, target: Side, outcome: Outcome) -> None:
        """The contacts behind a number of the actions summary, in a window of their own."""
        connection = self._connection
        if connection is None:
            return
        dialog = ActionContactsDialog(
            engine=self._engine,
            connection=connection,
            target=target,
            outcome=outcome,
            parent=self,
            fetch_synchronously=self._jobs.synchronous,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.contact_activated.connect(self.open_contact_key)
        dialog.show()


def _node_path(index: QModelIndex) -> list[str]:
    """The display texts from the tree's top down to `index`."""
    parts: list[str] = []
    while index.isValid():
        parts.append(str(index.siblingAtColumn(0).data(Qt.ItemDataRole.DisplayRole) or ""))
        index = index.parent()
    return list(reversed(parts))


def _local_files(urls: Sequence[QUrl]) -> list[Path]:
    paths = [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
    return [path for path in paths if path.is_file()]


def _selected_contact_keys(
    view: QAbstractItemView, model: ContactTableModel | None
) -> tuple[list[int], int | None]:
    """The contact keys of the selected rows (at most MAX_RESELECT) and of the current row."""
    if model is None or view.selectionModel() is None:
        return [], None
    rows = sorted({index.row() for index in view.selectionModel().selectedRows()})
    keys = [key for key in (model.contact_key(row) for row in rows[:MAX_RESELECT]) if key]
    current = view.currentIndex()
    return keys, model.contact_key(current.row()) if current.isValid() else None


def _restore_selection(
    view: QAbstractItemView,
    model: ContactTableModel | None,
    keys: list[int],
    current_key: int | None,
    scroll: int,
) -> None:
    """Select the contacts `keys` again where they are now, and scroll back to `scroll`."""
    selection_model = view.selectionModel()
    if model is not None and selection_model is not None and (keys or current_key):
        selection = QItemSelection()
        last = model.columnCount() - 1
        for key in keys:
            row = model.row_of(key)
            if row is not None:
                selection.select(model.index(row, 0), model.index(row, last))
        selection_model.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        row = model.row_of(current_key) if current_key is not None else None
        if row is not None:
            selection_model.setCurrentIndex(
                model.index(row, 0), QItemSelectionModel.SelectionFlag.NoUpdate
            )
    view.doItemsLayout()  # the scroll bar's range of the new count, before its value
    view.verticalScrollBar().setValue(scroll)


def _expanded_paths(view: QTreeView, model: QAbstractItemModel) -> list[list[str]]:
    paths: list[list[str]] = []
    pending = [QModelIndex()]
    while pending:
        parent = pending.pop()
        for row in range(model.rowCount(parent)):
            index = model.index(row, 0, parent)
            if view.isExpanded(index):
                paths.append(_node_path(index))
                pending.append(index)
    return paths


def _index_of_path(model: QAbstractItemModel, path: list[str]) -> QModelIndex:
    """The node reached by the display texts `path` from the top, or an invalid index."""
    index = QModelIndex()
    for text in path:
        for row in range(model.rowCount(index)):
            child = model.index(row, 0, index)
            if str(child.data(Qt.ItemDataRole.DisplayRole) or "") == text:
                index = child
                break
        else:
            return QModelIndex()
    return index

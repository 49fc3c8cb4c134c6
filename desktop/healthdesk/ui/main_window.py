"""The Health window: connections on the left, the selected connection's state,
configuration and actions at the top, its five status lists in the middle, the
failure-reason tree that narrows the Failing list, the Contact and Activity docks.

The window is a composition: it builds the parts, wires their signals, and owns the
menus and the settings. The parts refresh themselves: every background read or write
goes through one `Operations`, and after an import or a live page its `changed(id)`
signal tells the lists, the summary, the tree and the timeline to read again. Every
message for the user goes through `Messages` (status bar, error dialog).

Shutdown has one order (`closeEvent`): live sync stops, then `Operations.shutdown()`
cancels and drains every background request (an import in progress rolls back), and only
then do the models go.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QByteArray,
    QItemSelectionModel,
    QModelIndex,
    QSettings,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
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
from healthdesk.core.contacts import ContactView
from healthdesk.core.failures import Catalog
from healthdesk.core.model import STATUS_ORDER, Connection, Outcome, Side, Status
from healthdesk.core.words import STATUS_LABELS, plural
from healthdesk.store.ingest import IngestReport
from healthdesk.store.pages import ContactFilter
from healthdesk.store.queries import Summary, list_connections
from healthdesk.ui.actions.action_contacts import ActionContactsDialog
from healthdesk.ui.appearance import appearance_menu
from healthdesk.ui.comparison_control import ComparisonControl
from healthdesk.ui.connections.config_panel import ActionsPanel, ConfigPanel
from healthdesk.ui.connections.list_model import ConnectionDelegate, ConnectionListModel
from healthdesk.ui.connections.state_banner import StateBanner
from healthdesk.ui.connections.summary_reader import SummaryReader
from healthdesk.ui.contacts.list_actions import ListActions
from healthdesk.ui.contacts.status_tabs import StatusTabs
from healthdesk.ui.db_watcher import DatabaseWatcher
from healthdesk.ui.detail.contact_dock import ContactDock
from healthdesk.ui.detail.detail_view import ContactDetailView
from healthdesk.ui.explain_dialog import ExplainDialog
from healthdesk.ui.failures.failure_panel import FailurePanel, ReasonPanel
from healthdesk.ui.failures.tree_model import FailureTreeModel
from healthdesk.ui.forget_control import ForgetControl
from healthdesk.ui.icons import app_icon
from healthdesk.ui.import_control import ImportControl, local_files
from healthdesk.ui.imports import SnapshotImporter
from healthdesk.ui.keyboard import FocusRing, chain
from healthdesk.ui.live import LiveSync
from healthdesk.ui.live_control import LiveControl
from healthdesk.ui.messages import Messages, show_error
from healthdesk.ui.operations import Operations, Work
from healthdesk.ui.overview.status_breakdown import StatusBreakdown
from healthdesk.ui.report_control import ReportControl
from healthdesk.ui.retry_control import RetryControl
from healthdesk.ui.search.search_bar import SearchBar
from healthdesk.ui.style import mute
from healthdesk.ui.team_store_dialog import TeamStoreOpener
from healthdesk.ui.team_watcher import TeamWatcher
from healthdesk.ui.text import isolate, plain_label, plain_tooltip
from healthdesk.ui.timeline.timeline_dock import TimelineDock
from healthdesk.ui.watch import Watcher

ORGANIZATION = "HealthDesk"
APPLICATION = "Health Desk"

_KEY_GEOMETRY = "window/geometry"
_KEY_STATE = "window/state"
_KEY_TAB = "window/tab"
_KEY_LAST = "connections/last"
_STATE_VERSION = 1
_DASH = "\u2013"  # en dash


def default_settings() -> QSettings:
    """The user's settings (organization "HealthDesk", application "Health Desk")."""
    return QSettings(ORGANIZATION, APPLICATION)


class MainWindow(QMainWindow):
    """The Health window over one database.

    Signals:
        connection_changed(str): the selected connection's id ("" for none).

    Attributes:
        operations: the one owner of background work (`Operations`); `messages` its
            message channel.
        connections_view, connections_model: the sidebar list.
        banner, config_panel, actions_panel: the top of the window.
        tabs: the status lists (`StatusTabs`); `list_actions` their copy and export.
        failure_panel: the failure-reason tree (`failures_view`) and `reason_panel`.
        contact_dock: the Contact dock (`detail_view`, `detail_dock`).
        timeline_dock: the Activity dock.
        importer: the `SnapshotImporter`; live: the `LiveSync`.
        summary_reader: the shown connection's summary (`last_summary`).
    """

    connection_changed = Signal(str)

    def __init__(
        self,
        *,
        engine: Engine,
        operations: Operations | None = None,
        catalog: Catalog | None = None,
        settings: QSettings | None = None,
        db_path: Path | str | None = None,
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
        self.operations = operations if operations is not None else Operations(parent=self)
        self.messages: Messages = self.operations.messages
        self.messages.status.connect(self._on_messages_status)
        self.messages.alert.connect(self._on_messages_alert)
        self.operations.changed.connect(self._on_operations_changed)
        self._connection: Connection | None = None
        #: How many times a connection was shown (`_show`): a deferred `_show_rest` of an
        #: older one does nothing.
        self._shown = 0
        self._rest_shown = -1  # not settled before a first connection (or none) is shown
        self._closed = False
        self._closing_after_live = False

        self.imports = ImportControl(
            operations=self.operations, engine=engine, settings=self._settings, parent_widget=self
        )
        self.imports.imported.connect(self._on_imports_imported)
        self.live_control = LiveControl(
            operations=self.operations, engine=engine, settings=self._settings, parent_widget=self
        )
        self.live_control.live_ids_changed.connect(self.connections_model_live_ids)
        self.forget_control = ForgetControl(
            operations=self.operations, engine=engine, parent_widget=self
        )
        self.forget_control.live_running = self.live_control.is_running
        self.team_store = TeamStoreOpener(operations=self.operations, parent_widget=self)
        self.report_control = ReportControl(
            operations=self.operations, engine=engine, catalog=self._catalog, parent_widget=self
        )
        self.report_control.folder = self.imports.folder
        self.comparisons = ComparisonControl(
            operations=self.operations,
            engine=engine,
            catalog=self._catalog,
            folder=self.imports.folder,
            parent_widget=self,
        )
        self.comparisons.contact_activated.connect(self.open_contact_key)

        self.summary_reader = SummaryReader(
            operations=self.operations, engine=engine, catalog=self._catalog, parent=self
        )
        self.summary_reader.summary_ready.connect(self._on_summary_reader_summary_ready)

        self._build_central()
        self._build_docks()
        self.list_actions = ListActions(
            operations=self.operations, tabs=self.tabs, catalog=self._catalog, parent=self
        )
        self.retry_control = RetryControl(
            operations=self.operations,
            engine=engine,
            live=self.live_control.live,
            settings=self._settings,
            failure_view=self.failure_panel.view,
            tabs=self.tabs,
            connection=lambda: self._connection,
            spawn=self.live_control.spawn,
            parent_widget=self,
        )
        self.watcher = Watcher(
            operations=self.operations,
            engine=engine,
            live=self.live_control.live,
            settings=self._settings,
            catalog=self._catalog,
            connections=self.connections_model.connections,
            select_connection=self.select_connection,
            summary_reader=self.summary_reader,
            failure_panel=self.failure_panel,
            parent_widget=self,
        )
        # The parts, under the names the rest of the application and the tests use.
        self.importer: SnapshotImporter = self.imports.importer
        self.open_action: QAction = self.imports.open_action
        self.recent_menu: QMenu = self.imports.recent_menu
        self.live: LiveSync = self.live_control.live
        self.live_label: QLabel = self.live_control.status_label
        self.connect_action: QAction = self.live_control.connect_action
        self.disconnect_action: QAction = self.live_control.disconnect_action
        self.failures_view: QTreeView = self.failure_panel.view
        self.reason_panel: ReasonPanel = self.failure_panel.reason_panel
        self.detail_view: ContactDetailView = self.contact_dock.view
        self.detail_dock: ContactDock = self.contact_dock
        self._build_actions()
        self._build_menus()
        self._build_status_bar()
        self._build_keyboard()
        self._restore_settings()
        database = engine.url.database
        self.db_watcher: TeamWatcher | DatabaseWatcher | None = None
        if engine.dialect.name == "postgresql":
            self.db_watcher = TeamWatcher(
                operations=self.operations,
                engine=engine,
                shown=lambda: self._connection.id if self._connection else None,
                parent=self,
            )
        elif database and database != ":memory:":
            self.db_watcher = DatabaseWatcher(
                operations=self.operations,
                path=Path(database),
                shown=lambda: self._connection.id if self._connection else None,
                parent=self,
            )
        self.reload(select=self._remembered_connection())

    # -- building -------------------------------------------------------------------------

    def _build_central(self) -> None:
        self.search_bar = SearchBar(
            operations=self.operations, engine=self._engine, connection=None, catalog=self._catalog
        )
        self.search_bar.contact_chosen.connect(self.open_contact)
        self.banner = StateBanner()
        self.banner.connection_requested.connect(self._on_banner_connection_requested)
        self.config_panel = ConfigPanel()
        self.actions_panel = ActionsPanel()
        self.actions_panel.action_requested.connect(self.open_action_contacts)
        self.tabs = StatusTabs(
            operations=self.operations,
            engine=self._engine,
            catalog=self._catalog,
            settings=self._settings,
        )
        self.tabs.copy_requested.connect(self.copy_rows)
        self.tabs.contact_activated.connect(self.open_contact_key)
        self.tabs.failing_filter_cleared.connect(self._on_tabs_failing_filter_cleared)
        self.tabs.load_failed.connect(self._on_tabs_load_failed)
        self.status_breakdown = StatusBreakdown()
        self.status_breakdown.status_chosen.connect(self.tabs.set_current_status)
        self.tabs.currentChanged.connect(
            lambda: self.status_breakdown.set_current(self.tabs.current_status())
        )
        self.status_breakdown.set_current(self.tabs.current_status())

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
        layout.addWidget(self.status_breakdown)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

    def _build_docks(self) -> None:
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

        self.failure_panel = FailurePanel(catalog=self._catalog)
        self.failure_panel.filter_chosen.connect(self._on_failure_panel_filter_chosen)
        self.failures_dock = QDockWidget("Failure reasons", self)
        self.failures_dock.setObjectName("failures_dock")
        self.failures_dock.setWidget(self.failure_panel)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.failures_dock)
        self.splitDockWidget(self.connections_dock, self.failures_dock, Qt.Orientation.Vertical)
        self.resizeDocks([self.connections_dock], [380], Qt.Orientation.Horizontal)
        self.resizeDocks(
            [self.connections_dock, self.failures_dock], [200, 500], Qt.Orientation.Vertical
        )

        self.contact_dock = ContactDock(
            operations=self.operations, engine=self._engine, catalog=self._catalog, parent=self
        )
        self.contact_dock.contact_opened.connect(self._on_contact_dock_contact_opened)
        self.contact_dock.not_found.connect(self.messages.info)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.contact_dock)
        self.resizeDocks([self.contact_dock], [520], Qt.Orientation.Horizontal)
        # Opens when a contact is chosen; the lists keep the width until then.
        self.contact_dock.hide()

        self.timeline_dock = TimelineDock(operations=self.operations, parent=self)
        self.timeline_dock.contact_activated.connect(self.open_contact_key)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.timeline_dock)
        self.resizeDocks([self.timeline_dock], [240], Qt.Orientation.Vertical)

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
        standard = QKeySequence.StandardKey
        self.export_action = self._action(
            "&Export Current List to CSV…", self.export_dialog, "Ctrl+E", name="export_action"
        )
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q", name="quit_action")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.copy_action = self._action("&Copy", self.copy_rows, standard.Copy, name="copy_action")
        self.copy_email_action = self._action(
            "Copy &Email", self.copy_emails, "Ctrl+Shift+C", name="copy_email_action"
        )
        self.copy_id_action = self._action(
            "Copy &ID", self.copy_ids, "Ctrl+Alt+C", name="copy_id_action"
        )
        self.find_action = self._action(
            "&Find Contact…", self.search_bar.focus_search, standard.Find, name="find_action"
        )
        self.refresh_action = self._action(
            "&Refresh", self.refresh, standard.Refresh, name="refresh_action"
        )
        self.explain_action = self._action(
            "Explain an &Error…", self.explain_dialog, "Ctrl+Shift+E", name="explain_action"
        )
        self.about_action = self._action("&About Health Desk", self.show_about, name="about_action")
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.tabs.set_context_actions(
            [
                self.copy_action,
                self.copy_email_action,
                self.copy_id_action,
                self.retry_control.selection_action,
            ]
        )

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.imports.open_action)
        file_menu.addMenu(self.imports.recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.live_control.connect_action)
        file_menu.addAction(self.live_control.disconnect_action)
        file_menu.addAction(self.team_store.action)
        file_menu.addAction(self.watcher.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.comparisons.compare_action)
        file_menu.addAction(self.comparisons.whatif_action)
        file_menu.addAction(self.report_control.action)
        file_menu.addAction(self.report_control.redacted_action)
        file_menu.addAction(self.forget_control.action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu("&Edit")
        for action in (self.copy_action, self.copy_email_action, self.copy_id_action):
            edit_menu.addAction(action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.find_action)
        edit_menu.addActions([self.retry_control.group_action, self.retry_control.selection_action])
        view_menu = bar.addMenu("&View")
        for dock in (
            self.connections_dock,
            self.failures_dock,
            self.timeline_dock,
            self.contact_dock,
        ):
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        view_menu.addMenu(appearance_menu(self, self._settings))
        view_menu.addAction(self.refresh_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.explain_action)
        help_menu.addSeparator()
        help_menu.addAction(self.about_action)

    def _build_keyboard(self) -> None:
        """Names for screen readers, a visible focus, and Tab in reading order: the
        connections, the search, the counts, the lists, the failure reasons, the
        activity, then the contact."""
        app = QApplication.instance()
        if isinstance(app, QApplication):
            FocusRing.install(app)
        self.connections_view.setAccessibleName("Connections")
        self.failures_view.setAccessibleName("Failure reasons")
        self.timeline_dock.view.setAccessibleName("Activity")
        self.tabs.tabBar().setAccessibleName("Status lists")
        chain(
            [
                self.connections_view,
                self.search_bar.line_edit,
                *self.actions_panel.number_labels.values(),
                self.status_breakdown,
                self.tabs.tabBar(),
                *(self.tabs.view(status) for status in STATUS_ORDER),
                self.failures_view,
                self.timeline_dock.activity.chart,
                self.timeline_dock.activity.show_all_button,
                self.timeline_dock.view,
                self.contact_dock,
                self.connections_view,  # and round again
            ]
        )

    def _build_status_bar(self) -> None:
        # A normal widget: temporary messages cover it, then it shows again.
        self._count_label = plain_label(name="contact_count")
        self.statusBar().addWidget(self._count_label)
        self.statusBar().addPermanentWidget(self.live_control.status_label)
        self._db_label = plain_label()
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
        return self.imports.recent_files()

    @property
    def last_summary(self) -> Summary | None:
        """The shown connection's summary once read (None until then)."""
        return self.summary_reader.last

    def failure_model(self) -> FailureTreeModel | None:
        """The failure-reason tree's model (None until the connection's summary is read)."""
        return self.failure_panel.model()

    # -- connections ----------------------------------------------------------------------

    def current_connection(self) -> Connection | None:
        return self._connection

    @property
    def settled(self) -> bool:
        """Whether every panel shows the current connection (False until the connections
        are read): the rules, the search and the timeline follow a choice one turn of the
        loop later."""
        return self._rest_shown == self._shown

    def reload(self, *, select: str | None = None) -> None:
        """Read the connections again and show `select` (else the one shown, else the
        first); the lists of the one shown are read anew too."""
        self.operations.run(
            self,
            "connections",
            partial(_connections, self._engine),
            partial(self._on_connections_read, select, True),
            what="read the connections",
        )

    def select_connection(self, connection_id: str) -> bool:
        """Show the connection `connection_id`; False when the list does not hold it."""
        row = self.connections_model.row_of(connection_id)
        if row < 0:
            return False
        self._select_row(row)
        return True

    @Slot()
    def refresh(self) -> None:
        """View > Refresh: read everything again."""
        self.reload()

    def _on_connections_read(
        self, select: str | None, rebuild: bool, connections: list[Connection]
    ) -> None:
        current = self._connection
        wanted = select or (current.id if current else None)
        selection = self.connections_view.selectionModel()
        blocked = selection.blockSignals(True)
        try:
            self.connections_model.set_connections(connections)
            row = self.connections_model.row_of(wanted) if wanted else -1
            if row < 0 and connections:
                row = 0
            if row >= 0:
                selection.setCurrentIndex(
                    self.connections_model.index(row, 0),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect,
                )
        finally:
            selection.blockSignals(blocked)
        self.connections_view.viewport().update()
        if row < 0:
            self._show(None)
            return
        self.connections_view.scrollTo(self.connections_model.index(row, 0))
        new = self.connections_model.connection(row)
        if rebuild or current is None or new is None or new.id != current.id:
            self._show(new)
            return
        if (new.settings, new.app_a, new.app_b) != (current.settings, current.app_a, current.app_b):
            self._show(new)  # new rules: every list is another one
            return
        self._connection = new  # a new state: the banner says it; the lists are the same
        self.banner.set_connection(new, known_ids={c.id for c in connections})

    def _select_row(self, row: int) -> None:
        index = self.connections_model.index(row, 0)
        selection = self.connections_view.selectionModel()
        self.connections_view.scrollTo(index)
        if selection.currentIndex() == index:
            return
        # currentChanged shows it (_on_connections_current_changed)
        selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def _show(self, connection: Connection | None) -> None:
        """Show `connection`: in this turn of the loop what the agent looks at (the lists,
        the summary, the banner, the contact panel) and the actions; the panels around
        them (the rules, the search, the timeline) in the next turn (`_show_rest`), so that
        neither turn keeps the loop from painting for long."""
        self._connection = connection
        self._shown += 1
        self._count_label.setText("")
        ids = {c.id for c in self.connections_model.connections()}
        self.banner.set_connection(connection, known_ids=ids)
        self.actions_panel.set_connection(connection)
        self.failure_panel.set_connection(connection)
        self.contact_dock.set_connection(connection)
        self.status_breakdown.set_counts(None)
        # The pool serves the newest request first: the lists, then the summary (a few
        # rows), are asked last so that what the agent looks at comes first.
        self.tabs.set_connection(connection)
        self.summary_reader.set_connection(connection)
        self.retry_control.update_actions()
        title = f"{connection.name} {_DASH} {APPLICATION}" if connection else APPLICATION
        self.setWindowTitle(title)
        self.export_action.setEnabled(connection is not None)
        self.forget_control.set_connection(connection)
        self.report_control.set_connection(connection)
        self.comparisons.set_connection(connection)
        QTimer.singleShot(0, self, partial(self._show_rest, self._shown))
        self.connection_changed.emit(connection.id if connection else "")

    def _show_rest(self, shown: int) -> None:
        if shown != self._shown:
            return  # another connection was chosen since: its own call comes
        self._rest_shown = shown
        connection = self._connection
        self.config_panel.set_connection(connection)
        self.search_bar.set_connection(self._engine if connection else None, connection)
        self.timeline_dock.set_connection(self._engine if connection else None, connection)
        # The connection shown is remembered on closing (save_settings), with the layout:
        # written at each choice, the settings file was synced to disk on the GUI thread
        # (1-3 ms) while the lists painted.

    @Slot(object)
    def _on_summary_reader_summary_ready(self, summary: Summary) -> None:
        self.failure_panel.set_summary(summary)
        self.actions_panel.set_summary(summary)
        self.tabs.set_totals(summary.counts)
        self.status_breakdown.set_counts(summary.counts)
        self._count_label.setText(plural(summary.total, "contact"))

    @Slot(str)
    def _on_operations_changed(self, connection_id: str) -> None:
        if connection_id == "":
            # The list of connections (a new one, new settings or state): keep the one
            # shown and everything about it unless its rules changed.
            self.operations.run(
                self,
                "connections",
                partial(_connections, self._engine),
                partial(self._on_connections_read, None, False),
                what="read the connections",
            )

    # -- copy and export ------------------------------------------------------------------

    @Slot()
    def copy_rows(self) -> None:
        """Edit > Copy: the selected rows as tab-separated text, as the table shows them."""
        self.list_actions.copy_rows()

    @Slot()
    def copy_emails(self) -> None:
        """Edit > Copy Email: the selected contacts' emails, one a line."""
        self.list_actions.copy_emails()

    @Slot()
    def copy_ids(self) -> None:
        """Edit > Copy ID: the selected contacts' app ids (a pair: both, tab-separated)."""
        self.list_actions.copy_ids()

    @Slot()
    def export_dialog(self) -> None:
        """File > Export Current List to CSV…: asks where, then exports in the background."""
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
        dialog.setDirectory(self.imports.folder())
        dialog.selectFile(f"{connection.id}-{status.value}.csv")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda name: self.export_current_list(Path(name)))
        dialog.open()

    def export_current_list(self, path: Path) -> bool:
        """Write the current tab's list, exactly as shown (its failure-reason filter and
        its order), to `path` as CSV; the file appears whole or not at all."""
        connection = self._connection
        return connection is not None and self.list_actions.export(path, connection)

    # -- imports and live sync ----------------------------------------------------------

    def import_files(self, paths: Sequence[Path]) -> bool:
        """Import snapshot files in the background, then show what they brought."""
        return self.imports.import_files(paths)

    @Slot(list)
    def receive_files(self, paths: list[Path]) -> None:
        """Files handed by another start of the app on this database (a snapshot opened
        from the file manager): the window comes to the front and imports them."""
        if self.isMinimized():
            self.showNormal()
        self.raise_()
        self.activateWindow()
        if paths:
            self.import_files(paths)  # says so itself when an import is running

    @Slot(object)
    def _on_imports_imported(self, report: IngestReport) -> None:
        decided = sorted(report.decided)
        if decided and (self._connection is None or self._connection.id not in decided):
            self.reload(select=decided[0])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_files(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_files(event.mimeData().urls())
        if paths:
            event.acceptProposedAction()
            self.import_files(paths)

    def connect_to_service(
        self, url: str, token: str | None, *, allow_insecure: bool = False
    ) -> None:
        """Sync with the service at `url` live (File > Connect to Service…)."""
        self.live_control.connect_to_service(url, token, allow_insecure=allow_insecure)

    async def stop_live(self) -> None:
        """Stop live sync and wait for its end."""
        await self.live_control.stop()

    @Slot(object)
    def connections_model_live_ids(self, ids: set[str]) -> None:
        self.connections_model.set_live_ids(ids)

    # -- messages -------------------------------------------------------------------------

    @Slot(str, int)
    def _on_messages_status(self, text: str, timeout_ms: int) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    @Slot(str, str)
    def _on_messages_alert(self, title: str, text: str) -> None:
        if not self._closed:
            show_error(self, title, text)

    # -- about, closing -------------------------------------------------------------------

    @Slot()
    def explain_dialog(self) -> ExplainDialog:
        """Help > Explain an Error…: what a raw error pasted from a ticket means."""
        dialog = ExplainDialog(catalog=self._catalog, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

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
        if self.live_control.is_running():
            # First live sync stops (between two pages); `stopped` closes for real.
            event.ignore()
            if not self._closing_after_live:
                self._closing_after_live = True
                self.messages.info("Stopping live sync before closing…", 0)
                self.live_control.spawn(self._stop_live_then_close())
            return
        self.shutdown()
        super().closeEvent(event)

    async def _stop_live_then_close(self) -> None:
        await self.live_control.stop()
        self.close()

    def shutdown(self) -> None:
        """The end of the window, in its one order: settings saved, then every background
        request cancelled and drained (an import rolls back). Live sync must be stopped
        first (`closeEvent` does it). Blocking; safe to call twice."""
        if self._closed:
            return
        self.save_settings()
        self._closed = True
        if isinstance(self.db_watcher, TeamWatcher):
            self.db_watcher.stop()
        self.operations.shutdown()

    # -- slots ----------------------------------------------------------------------------

    @Slot(QModelIndex, QModelIndex)
    def _on_connections_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self._show(self.connections_model.connection(current.row()))

    @Slot(str)
    def _on_banner_connection_requested(self, connection_id: str) -> None:
        if not self.select_connection(connection_id):
            self.messages.info(f"The connection {isolate(connection_id)} is not in this database.")

    @Slot(object, str)
    def _on_failure_panel_filter_chosen(
        self, contact_filter: ContactFilter | None, description: str
    ) -> None:
        self.tabs.set_failing_filter(contact_filter, description)
        if contact_filter is not None:
            self.tabs.set_current_status(Status.FAILING)

    @Slot()
    def _on_tabs_failing_filter_cleared(self) -> None:
        self.failure_panel.clear_choice()
        self.tabs.set_failing_filter(None)

    @Slot(str)
    def _on_tabs_load_failed(self, message: str) -> None:
        self.messages.warning(f"Could not read the list: {message}")

    # -- contacts ---------------------------------------------------------------------------

    @Slot(object)
    def open_contact(self, contact: ContactView) -> None:
        """Show `contact` in the Contact dock: its records, its status and why, its events."""
        self.contact_dock.open_contact(contact)

    @Slot(int)
    def open_contact_key(self, key: int) -> None:
        self.contact_dock.open_key(key)

    def open_contact_by_record(self, app: Side, record_id: str) -> None:
        """Open the contact holding a record (for `screenshot --contact APP:ID`)."""
        self.contact_dock.open_record(app, record_id)

    @Slot(object)
    def _on_contact_dock_contact_opened(self, contact: ContactView) -> None:
        self.messages.info(self.contact_dock.why(contact), 0)

    @Slot(object, object)
    def open_action_contacts(self, target: Side, outcome: Outcome) -> None:
        """The contacts behind a number of the actions summary, in a window of their own."""
        connection = self._connection
        if connection is None:
            return
        dialog = ActionContactsDialog(
            operations=self.operations,
            engine=self._engine,
            connection=connection,
            target=target,
            outcome=outcome,
            parent=self,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.contact_activated.connect(self.open_contact_key)
        dialog.show()


def _connections(engine: Engine, _work: Work) -> list[Connection]:
    return list_connections(engine)


__all__ = ["APPLICATION", "ORGANIZATION", "MainWindow", "default_settings"]

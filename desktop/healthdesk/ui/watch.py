"""Watch (live mode): a desktop notification when a followed connection gets a new failure
group, or one grows past the threshold the agent set; clicking it opens that group.

Detection reads the maintained counts (store.counts: a few rows whatever the size) on a
worker each time `Operations.changed` says a followed live connection changed, and asks
`core.watch.alerts` what is new between the previous reading and this one; nothing is
rescanned. The first reading once the live sync follows (every connection pulled) is the
baseline: what was there before is not announced.

The notification is the system tray's (`QSystemTrayIcon.showMessage`); without a system
tray (a desktop without one, offscreen CI) it is a line of the window's message bar
(ui/messages.py). Which connections are followed, the threshold and the agent's name
(for the retry audit log, ui/retry_control) are set in Watch Failure Groups… and kept in
the window's QSettings.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QObject, QSettings, Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection, Side
from healthdesk.core.watch import DEFAULT_THRESHOLD, AlertKind, GroupKey, WatchAlert, alerts
from healthdesk.core.words import plural
from healthdesk.store.counts import read_counts
from healthdesk.store.pages import ContactFilter
from healthdesk.store.queries import Summary, get_connection
from healthdesk.store.retries import os_user
from healthdesk.ui.connections.summary_reader import SummaryReader
from healthdesk.ui.failures.failure_panel import PATH_SEPARATOR, FailurePanel
from healthdesk.ui.failures.tree_model import FailureTreeModel
from healthdesk.ui.icons import app_icon
from healthdesk.ui.live import LiveSync
from healthdesk.ui.operations import Operations, Work
from healthdesk.ui.retry_control import AGENT_KEY

__all__ = [
    "FOLLOWED_KEY",
    "THRESHOLD_KEY",
    "WatchDialog",
    "Watcher",
    "alert_texts",
    "followed_ids",
    "watch_threshold",
]

FOLLOWED_KEY = "watch/followed"
THRESHOLD_KEY = "watch/threshold"
#: How long a tray notification shows (ms).
NOTIFICATION_MS = 15_000
#: Characters of a fingerprint a notification shows.
_FINGERPRINT_CHARS = 160


def followed_ids(settings: QSettings) -> set[str]:
    """The connections the agent follows."""
    value = settings.value(FOLLOWED_KEY, [])
    if isinstance(value, str):  # QSettings gives one value back as a str
        return {value} if value else set()
    if isinstance(value, list | tuple):
        return {str(v) for v in value}
    return set()


def watch_threshold(settings: QSettings) -> int:
    """The failing contacts a group may have before it is announced as grown."""
    try:
        value = int(settings.value(THRESHOLD_KEY, DEFAULT_THRESHOLD))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return DEFAULT_THRESHOLD
    return max(value, 1)


def _read_groups(
    engine: Engine, connection_id: str, _work: Work
) -> tuple[Connection, dict[GroupKey, int]]:
    counts = read_counts(engine, connection_id)
    groups = {(f.app, f.fingerprint): f.count for f in counts.failures}
    return get_connection(engine, connection_id), groups


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def alert_texts(
    found: list[WatchAlert], connection: Connection, catalog: Catalog
) -> tuple[str, str]:
    """The notification's title and message (plain text) for the alerts of one reading."""
    lines = []
    for alert in found[:3]:
        app = connection.app(alert.app)
        reason = catalog.classify(app.kind, alert.fingerprint)
        path = PATH_SEPARATOR.join(
            [app.name, reason.category, _cut(alert.fingerprint, _FINGERPRINT_CHARS)]
        )
        if alert.kind is AlertKind.NEW:
            lines.append(f"{path}: {plural(alert.after, 'failing contact')} (new)")
        else:
            lines.append(f"{path}: {plural(alert.after, 'failing contact')} (was {alert.before:,})")
    if len(found) > 3:
        lines.append(f"and {plural(len(found) - 3, 'other group')}")
    if len(found) == 1 and found[0].kind is AlertKind.NEW:
        title = f"{connection.name}: a new failure group"
    elif len(found) == 1:
        title = f"{connection.name}: a failure group grew past {found[0].threshold:,}"
    else:
        title = f"{connection.name}: {len(found)} failure groups need attention"
    return title, "\n".join(lines)


def _system_tray(parent: QObject) -> QSystemTrayIcon | None:
    if not QSystemTrayIcon.isSystemTrayAvailable():
        return None
    tray = QSystemTrayIcon(app_icon(), parent)
    tray.setToolTip("Health Desk")
    return tray


class Watcher(QObject):
    """Watches the followed live connections' failure groups and notifies.

    Signals:
        alerted(object): the alerts of one reading (a list of `core.watch.WatchAlert`).

    Attributes:
        settings_action: File > Watch Failure Groups… (the settings dialog).
        tray: the system tray icon once a notification went there (None before, or
            without a system tray).
        tray_factory: makes the tray icon (None when there is no system tray); tests
            replace it.
        dialog: the open settings dialog, or None.
    """

    alerted = Signal(object)

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Engine,
        live: LiveSync,
        settings: QSettings,
        catalog: Catalog,
        connections: Callable[[], list[Connection]],
        select_connection: Callable[[str], bool],
        summary_reader: SummaryReader,
        failure_panel: FailurePanel,
        parent_widget: QWidget,
    ) -> None:
        super().__init__(parent_widget)
        self._operations = operations
        self._messages = operations.messages
        self._engine = engine
        self._live = live
        self._settings = settings
        self._catalog = catalog
        self._connections = connections
        self._select_connection = select_connection
        self._failure_panel = failure_panel
        self._parent_widget = parent_widget
        self._readings: dict[str, dict[GroupKey, int]] = {}
        self._to_open: WatchAlert | None = None
        self._opening: WatchAlert | None = None
        self.tray: QSystemTrayIcon | None = None
        self.tray_factory: Callable[[QObject], QSystemTrayIcon | None] = _system_tray
        self.dialog: WatchDialog | None = None
        self.settings_action = QAction("&Watch Failure Groups…", self)
        self.settings_action.setObjectName("watch_action")
        self.settings_action.triggered.connect(self.open_settings)
        operations.changed.connect(self._on_operations_changed)
        live.connections_changed.connect(self._on_live_connections_changed)
        live.status_changed.connect(self._on_live_connections_changed)
        summary_reader.summary_ready.connect(self._on_summary_ready)

    def reading(self, connection_id: str) -> dict[GroupKey, int] | None:
        """The last reading of a watched connection's failure groups (None before the
        baseline)."""
        found = self._readings.get(connection_id)
        return None if found is None else dict(found)

    # -- settings -------------------------------------------------------------------------

    @Slot()
    def open_settings(self) -> None:
        """The settings dialog: which connections to follow, the threshold, the name."""
        dialog = WatchDialog(
            connections=self._connections(),
            followed=followed_ids(self._settings),
            threshold=watch_threshold(self._settings),
            agent=str(self._settings.value(AGENT_KEY, "") or ""),
            default_agent=os_user(),
            parent=self._parent_widget,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)

        def accepted() -> None:
            self.apply_settings(dialog.followed(), dialog.threshold(), dialog.agent())

        def finished(_result: int) -> None:
            self.dialog = None

        dialog.accepted.connect(accepted)
        dialog.finished.connect(finished)
        self.dialog = dialog
        dialog.open()

    def apply_settings(self, followed: set[str], threshold: int, agent: str) -> None:
        """Follow `followed`, with `threshold`; `agent` names the agent in the audit log
        ("" for the OS user). Newly followed connections start from a new baseline."""
        self._settings.setValue(FOLLOWED_KEY, sorted(followed))
        self._settings.setValue(THRESHOLD_KEY, max(int(threshold), 1))
        self._settings.setValue(AGENT_KEY, agent.strip())
        for cid in list(self._readings):
            if cid not in followed:
                del self._readings[cid]
        self._read_followed()

    # -- detection ------------------------------------------------------------------------

    def _watched(self, connection_id: str) -> bool:
        return (
            self._live.following
            and connection_id in self._live.live_ids
            and connection_id in followed_ids(self._settings)
        )

    @Slot()
    def _on_live_connections_changed(self, *_args: Any) -> None:
        if not self._live.following:
            # Not (yet, or any more) following: the next readings are a new baseline.
            self._readings.clear()
            return
        self._read_followed()

    def _read_followed(self) -> None:
        for cid in followed_ids(self._settings):
            if self._watched(cid) and cid not in self._readings:
                self._read(cid)

    @Slot(str)
    def _on_operations_changed(self, connection_id: str) -> None:
        if connection_id and self._watched(connection_id):
            self._read(connection_id)

    def _read(self, connection_id: str) -> None:
        self._operations.run(
            self,
            ("groups", connection_id),
            partial(_read_groups, self._engine, connection_id),
            partial(self._compare, connection_id),
            what="read the failure groups",
        )

    def _compare(self, connection_id: str, found: tuple[Connection, dict[GroupKey, int]]) -> None:
        connection, groups = found
        if not self._watched(connection_id):
            return
        before = self._readings.get(connection_id)
        self._readings[connection_id] = groups
        new = alerts(connection_id, before, groups, watch_threshold(self._settings))
        if new:
            self._notify(new, connection)

    # -- notifying ------------------------------------------------------------------------

    def _notify(self, found: list[WatchAlert], connection: Connection) -> None:
        title, text = alert_texts(found, connection, self._catalog)
        self._to_open = found[0]
        if self.tray is None:
            self.tray = self.tray_factory(self)
            if self.tray is not None:
                self.tray.messageClicked.connect(self.open_alert)
        if self.tray is not None:
            self.tray.show()
            self.tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Warning, NOTIFICATION_MS)
        else:
            first = text.splitlines()[0]
            self._messages.warning(f"{title}: {first}")
        self.alerted.emit(found)

    @Slot()
    def open_alert(self) -> None:
        """Open the connection and select the group of the last notification."""
        alert = self._to_open
        if alert is None:
            return
        self._opening = alert
        self._parent_widget.activateWindow()
        if not self._select_connection(alert.connection_id):
            self._opening = None
            self._messages.info(f"The connection {alert.connection_id} is not in the database.")
            return
        self._select_group()  # when the tree is shown already; else once it is read

    @Slot(object)
    def _on_summary_ready(self, _summary: Summary) -> None:
        if self._opening is not None:
            self._select_group()

    def _select_group(self) -> None:
        alert = self._opening
        model = self._failure_panel.model()
        if alert is None or model is None or model.connection.id != alert.connection_id:
            return
        index = _group_index(model, alert.app, alert.fingerprint)
        if not index.isValid():
            return  # not in this reading of the tree yet: the next summary tries again
        self._opening = None
        view = self._failure_panel.view
        parent = index.parent()
        while parent.isValid():
            view.expand(parent)
            parent = parent.parent()
        view.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        view.scrollTo(index)


def _group_index(model: FailureTreeModel, app: Side, fingerprint: str) -> QModelIndex:
    """The tree's node of one failure group (app > category > this fingerprint)."""
    for app_row in range(model.rowCount()):
        app_index = model.index(app_row, 0)
        for category_row in range(model.rowCount(app_index)):
            category = model.index(category_row, 0, app_index)
            for row in range(model.rowCount(category)):
                index = model.index(row, 0, category)
                found = index.data(FailureTreeModel.FilterRole)
                if (
                    isinstance(found, ContactFilter)
                    and found.failure_app is app
                    and found.category_fingerprints == (fingerprint,)
                ):
                    return index
    return QModelIndex()


class WatchDialog(QDialog):
    """Watch Failure Groups: follow or unfollow connections, the threshold, the name the
    retry audit log gives the agent. Connection names are shown as plain text."""

    def __init__(
        self,
        *,
        connections: list[Connection],
        followed: set[str],
        threshold: int,
        agent: str,
        default_agent: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("watch_dialog")
        self.setWindowTitle("Watch Failure Groups")
        intro = QLabel(
            "In live mode, Health Desk notifies you when a followed connection gets a new "
            "failure group, or when a group grows past the threshold. Click the notification "
            "to open the group."
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.list = QListWidget()
        self.list.setObjectName("watch_connections")
        # As tall as its rows (a few connections), scrolling past a dozen.
        self.list.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.list.setMaximumHeight(self.list.fontMetrics().height() * 14)
        for connection in connections:
            item = QListWidgetItem(connection.name or connection.id)
            item.setData(Qt.ItemDataRole.UserRole, connection.id)
            item.setToolTip(connection.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if connection.id in followed else Qt.CheckState.Unchecked
            )
            self.list.addItem(item)
        if not connections:
            self.list.addItem(QListWidgetItem("No connection in the database yet"))
            self.list.setEnabled(False)
        self.threshold_box = QSpinBox()
        self.threshold_box.setObjectName("watch_threshold")
        self.threshold_box.setRange(1, 1_000_000)
        self.threshold_box.setGroupSeparatorShown(True)
        self.threshold_box.setSuffix(" failing contacts")
        self.threshold_box.setValue(threshold)
        self.agent_edit = QLineEdit(agent)
        self.agent_edit.setObjectName("watch_agent")
        self.agent_edit.setPlaceholderText(default_agent)
        self.agent_edit.setMaxLength(200)
        form = QFormLayout()
        form.addRow("Follow:", self.list)
        form.addRow("Notify when a group grows past:", self.threshold_box)
        form.addRow("Your name in the retry log:", self.agent_edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def followed(self) -> set[str]:
        found = set()
        for row in range(self.list.count()):
            item = self.list.item(row)
            cid = item.data(Qt.ItemDataRole.UserRole)
            if cid and item.checkState() == Qt.CheckState.Checked:
                found.add(str(cid))
        return found

    def threshold(self) -> int:
        return self.threshold_box.value()

    def agent(self) -> str:
        return self.agent_edit.text().strip()

"""Live mode in the window: File > Connect to Service… and Disconnect, the "● Live"
marker in the status bar, and every page applied announced to the views.

`LiveSync` (ui/live.py) does the syncing on the qasync loop; this unit gives it its menu
items and its status line, and turns each page into `Operations.notify_changed` (live
pages coalesced), so the lists, the summary and the timeline follow the feed by
themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import QObject, QSettings, Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget
from sqlalchemy import Engine

from healthdesk.ui.connect_dialog import DEFAULT_URL, ConnectDialog
from healthdesk.ui.live import LiveSync
from healthdesk.ui.operations import Operations
from healthdesk.ui.text import plain_label, plain_tooltip

__all__ = ["LiveControl"]

_KEY_SERVICE_URL = "service/url"


class LiveControl(QObject):
    """Connect, disconnect and show live sync.

    Signals:
        live_ids_changed(object): the set of connections that come from the service.

    Attributes:
        live: the `LiveSync`.
        connect_action, disconnect_action: the File menu's items.
        status_label: the status bar's live marker ("Live · last sync 10:42:07").
    """

    live_ids_changed = Signal(object)

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Engine,
        settings: QSettings,
        parent_widget: QWidget,
    ) -> None:
        super().__init__(parent_widget)
        self._operations = operations
        self._settings = settings
        self._parent_widget = parent_widget
        self._tasks: set[asyncio.Future[Any]] = set()
        self.live = LiveSync(engine=engine, parent=self)
        self.live.page_applied.connect(self._on_live_page_applied)
        self.live.connections_changed.connect(self._on_live_connections_changed)
        self.live.status_changed.connect(self._on_live_status_changed)
        self.live.failed.connect(self._on_live_failed)
        self.live.stopped.connect(self._on_live_stopped)

        self.connect_action = QAction("&Connect to Service…", self)
        self.connect_action.setObjectName("connect_action")
        self.connect_action.setShortcut("Ctrl+Shift+O")
        self.connect_action.triggered.connect(self.connect_dialog)
        self.disconnect_action = QAction("&Disconnect from Service", self)
        self.disconnect_action.setObjectName("disconnect_action")
        self.disconnect_action.setEnabled(False)
        self.disconnect_action.triggered.connect(self.disconnect_service)
        self.status_label = plain_label(name="live_status")
        self.status_label.hide()

    def is_running(self) -> bool:
        return self.live.is_running()

    @Slot()
    def connect_dialog(self) -> None:
        """Ask for the URL and the token, then connect."""
        url = self.live.url or str(self._settings.value(_KEY_SERVICE_URL, "") or "")
        dialog = ConnectDialog(url=url or DEFAULT_URL, parent=self._parent_widget)
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
            self.spawn(self._reconnect(url, token, allow_insecure))
        else:
            self._start(url, token, allow_insecure)

    @Slot()
    def disconnect_service(self) -> None:
        """Stop live sync (the database keeps what came)."""
        self.spawn(self.live.stop())

    async def stop(self) -> None:
        """Stop live sync and wait for its end."""
        await self.live.stop()

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run `coroutine` on the loop, keeping a reference until it ends."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- internals ------------------------------------------------------------------------

    async def _reconnect(self, url: str, token: str | None, allow_insecure: bool) -> None:
        await self.live.stop()
        if not self._operations.closed:
            self._start(url, token, allow_insecure)

    def _start(self, url: str, token: str | None, allow_insecure: bool) -> None:
        if self.live.start(url, token, allow_insecure=allow_insecure):
            self.disconnect_action.setEnabled(True)

    @Slot(str, object)
    def _on_live_page_applied(self, connection_id: str, _page: object) -> None:
        # Coalesced: the views read again at most once per CHANGE_COALESCE_MS.
        self._operations.notify_changed(connection_id, coalesce=True)

    @Slot()
    def _on_live_connections_changed(self) -> None:
        self.live_ids_changed.emit(self.live.live_ids)
        self._operations.notify_changed("")

    @Slot(str)
    def _on_live_status_changed(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setVisible(bool(text))
        if text:
            self.status_label.setToolTip(plain_tooltip(f"Sync service: {self.live.url}\n{text}"))

    @Slot(str)
    def _on_live_failed(self, message: str) -> None:
        self.status_label.setToolTip(plain_tooltip(message))
        self._operations.messages.warning(message)
        if not self._operations.closed:
            self._operations.messages.error("Live sync stopped", message)

    @Slot()
    def _on_live_stopped(self) -> None:
        self.disconnect_action.setEnabled(False)
        self.live_ids_changed.emit(set())

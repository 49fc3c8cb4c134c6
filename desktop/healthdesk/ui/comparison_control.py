"""File > Compare With… and File > What If…: the window's two ways to look beyond the
data as it is, each in a dialog of its own (`CompareDialog`, `WhatIfDialog`) over the
shown connection."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QWidget
from sqlalchemy import Engine

from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection
from healthdesk.ui.compare_dialog import CompareDialog
from healthdesk.ui.import_control import SNAPSHOT_FILTER
from healthdesk.ui.operations import Operations
from healthdesk.ui.whatif_dialog import WhatIfDialog

__all__ = ["ComparisonControl"]


class ComparisonControl(QObject):
    """The Compare With… and What If… actions of the shown connection.

    Signals:
        contact_activated(int): a contact chosen in a comparison's list (its key).

    Attributes:
        compare_action, whatif_action: enabled while a connection is shown.
    """

    contact_activated = Signal(int)

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Engine,
        catalog: Catalog,
        folder: Callable[[], str],
        parent_widget: QWidget,
    ) -> None:
        super().__init__(parent_widget)
        self._operations = operations
        self._engine = engine
        self._catalog = catalog
        self._folder = folder
        self._parent_widget = parent_widget
        self._connection: Connection | None = None
        self.compare_action = QAction("Co&mpare With…", self)
        self.compare_action.setObjectName("compare_action")
        self.compare_action.setShortcut(QKeySequence("Ctrl+Shift+M"))
        self.compare_action.setStatusTip(
            "Compare the shown connection with a snapshot of it: what moved, what grew"
        )
        self.compare_action.triggered.connect(self.ask_snapshot)
        self.whatif_action = QAction("&What If…", self)
        self.whatif_action.setObjectName("whatif_action")
        self.whatif_action.setShortcut(QKeySequence("Ctrl+Shift+W"))
        self.whatif_action.setStatusTip(
            "Switch Avoid Duplicates or change rules, and see the statuses they would give"
        )
        self.whatif_action.triggered.connect(self.open_whatif)
        self.set_connection(None)

    def set_connection(self, connection: Connection | None) -> None:
        self._connection = connection
        self.compare_action.setEnabled(connection is not None)
        self.whatif_action.setEnabled(connection is not None)

    @Slot()
    def ask_snapshot(self) -> None:
        """Ask for the snapshot file, then compare (File > Compare With…)."""
        if self._connection is None:
            return
        dialog = QFileDialog(self._parent_widget, "Compare With Snapshot")
        dialog.setObjectName("compare_file_dialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilter(SNAPSHOT_FILTER)
        dialog.setDirectory(self._folder())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda name: self.compare_with(Path(name)))
        dialog.open()

    def compare_with(self, snapshot: Path) -> CompareDialog | None:
        """Compare the shown connection with `snapshot`, in a dialog of its own."""
        connection = self._connection
        if connection is None:
            return None
        dialog = CompareDialog(
            operations=self._operations,
            engine=self._engine,
            connection=connection,
            catalog=self._catalog,
            snapshot=snapshot,
            parent=self._parent_widget,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.contact_activated.connect(self.contact_activated)
        dialog.show()
        return dialog

    @Slot()
    def open_whatif(self) -> WhatIfDialog | None:
        """File > What If…: the shown connection with other settings, in memory."""
        connection = self._connection
        if connection is None:
            return None
        dialog = WhatIfDialog(
            operations=self._operations,
            engine=self._engine,
            connection=connection,
            parent=self._parent_widget,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

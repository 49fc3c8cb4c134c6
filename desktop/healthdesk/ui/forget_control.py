"""File > Forget Connection…: remove the shown connection and every trace of its
customers from the database files, after a confirmation that names it.

The removal (`store.forget.forget_connection`: secure delete, WAL truncated, vacuum) runs
in the background; the window then reads the list of connections again
(`Operations.notify_changed("")`). A connection that live sync brings back would come back:
forgetting is refused while live sync runs.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox, QWidget
from sqlalchemy import Engine

from healthdesk.core.model import Connection
from healthdesk.store.forget import ForgetReport, forget_connection
from healthdesk.ui.messages import error_text
from healthdesk.ui.operations import Operations, Work
from healthdesk.ui.text import isolate

__all__ = ["ForgetControl"]


class ForgetControl(QObject):
    """Forget a connection, with confirmation.

    Signals:
        forgotten(object): the `ForgetReport` of a connection removed.

    Attributes:
        action: File > Forget Connection… (enabled while a connection is shown).
        confirm: asks the user (connection) -> bool; tests replace it.
    """

    forgotten = Signal(object)

    def __init__(self, *, operations: Operations, engine: Engine, parent_widget: QWidget) -> None:
        super().__init__(parent_widget)
        self._operations = operations
        self._engine = engine
        self._parent_widget = parent_widget
        self._connection: Connection | None = None
        self.live_running = lambda: False
        self.action = QAction("&Forget Connection…", self)
        self.action.setObjectName("forget_action")
        self.action.setEnabled(False)
        self.action.triggered.connect(self.ask)
        self.confirm = self._confirm

    def set_connection(self, connection: Connection | None) -> None:
        self._connection = connection
        self.action.setEnabled(connection is not None)

    @Slot()
    def ask(self) -> None:
        """Ask, then forget the shown connection."""
        connection = self._connection
        if connection is None:
            return
        if self.live_running():
            self._operations.messages.info(
                "Disconnect from the service first: live sync would bring the connection back."
            )
            return
        if self.confirm(connection):
            self.forget(connection)

    def forget(self, connection: Connection) -> bool:
        """Remove `connection` from the database (in the background)."""
        messages = self._operations.messages
        messages.info(f"Forgetting {isolate(connection.name)}…", 0)

        def done(report: ForgetReport) -> None:
            note = (
                ""
                if report.wiped
                else " (traces stay in the -wal file until other processes close it)"
            )
            messages.info(f"Forgot {isolate(report.name)} and its customers' data{note}.")
            self._operations.notify_changed("")
            self.forgotten.emit(report)

        def failed(exc: BaseException) -> None:
            messages.error(
                "Forget failed", f"Could not forget {connection.name}.\n\n{error_text(exc)}"
            )

        return self._operations.run(
            self, "forget", partial(_forget, self._engine, connection.id), done, failed=failed
        )

    def _confirm(self, connection: Connection) -> bool:
        box = QMessageBox(self._parent_widget)
        box.setObjectName("forget_box")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Forget Connection")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(f"Forget {isolate(connection.name)} ({connection.id})?")
        box.setInformativeText(
            "Its contacts, records, events and history are removed from this database for "
            "good, and wiped from its files. Import the snapshot again to see it again."
        )
        box.setStandardButtons(
            QMessageBox.StandardButton.Cancel | QMessageBox.StandardButton.Discard
        )
        box.button(QMessageBox.StandardButton.Discard).setText("Forget")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        return box.exec() == QMessageBox.StandardButton.Discard


def _forget(engine: Engine, connection_id: str, _work: Work) -> ForgetReport:
    return forget_connection(engine, connection_id)

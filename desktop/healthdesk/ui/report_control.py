"""File > Support Report… and File > Support Report, Redacted…: the shown connection's
support report (reports/support.py) written as PDF or HTML, chosen in a save dialog.

The report is read and rendered in the background (`Operations`), with a progress dialog
and Cancel; a cancelled or failed report writes no file. The written file is named in the
status bar; nothing is opened for the user.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QProgressDialog, QWidget
from sqlalchemy import Engine

from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection
from healthdesk.reports.support import ReportCancelled, build_report
from healthdesk.reports.support_output import write_report
from healthdesk.ui.messages import error_text
from healthdesk.ui.operations import Operations, Work
from healthdesk.ui.progress_dialog import work_progress
from healthdesk.ui.text import isolate

__all__ = ["REPORT_FILTERS", "ReportControl"]

REPORT_FILTERS = "PDF documents (*.pdf);;Web pages (*.html)"


class ReportControl(QObject):
    """Writes the shown connection's support report.

    Signals:
        written(str): the report was written (its path).

    Attributes:
        action, redacted_action: the two File menu entries (enabled while a connection
            is shown).
        dialog: the progress dialog of the report being written, or None.
        folder: where the save dialog opens (the window gives it its last folder).
    """

    written = Signal(str)

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Engine,
        catalog: Catalog,
        parent_widget: QWidget,
    ) -> None:
        super().__init__(parent_widget)
        self._operations = operations
        self._engine = engine
        self._catalog = catalog
        self._parent_widget = parent_widget
        self._connection: Connection | None = None
        self.dialog: QProgressDialog | None = None
        self.folder = lambda: str(Path.home())
        self.action = QAction("Support &Report…", self)
        self.action.setObjectName("report_action")
        self.action.setShortcut(QKeySequence("Ctrl+Shift+R"))
        self.action.triggered.connect(lambda: self.ask(redact=False))
        self.redacted_action = QAction("Support Report, Re&dacted…", self)
        self.redacted_action.setObjectName("redacted_report_action")
        self.redacted_action.setToolTip(
            "Names, emails and record ids replaced by pseudonyms: for outside the company"
        )
        self.redacted_action.triggered.connect(lambda: self.ask(redact=True))
        self.set_connection(None)

    def set_connection(self, connection: Connection | None) -> None:
        self._connection = connection
        for action in (self.action, self.redacted_action):
            action.setEnabled(connection is not None)

    def is_running(self) -> bool:
        return self._operations.busy(self, "report")

    @Slot()
    def ask(self, *, redact: bool) -> None:
        """Ask where to save, then write the report there."""
        connection = self._connection
        if connection is None:
            return
        title = "Save Support Report, Redacted" if redact else "Save Support Report"
        dialog = QFileDialog(self._parent_widget, title)
        dialog.setObjectName("report_dialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setNameFilter(REPORT_FILTERS)
        dialog.setDefaultSuffix("pdf")
        dialog.setDirectory(self.folder())
        suffix = "-redacted" if redact else ""
        dialog.selectFile(f"{connection.id}-support-report{suffix}.pdf")
        dialog.filterSelected.connect(
            lambda chosen: dialog.setDefaultSuffix("html" if "html" in chosen else "pdf")
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda name: self.write(Path(name), redact=redact))
        dialog.open()

    def write(self, path: Path, *, redact: bool = False) -> bool:
        """Write the shown connection's report to `path` (.pdf or .html) in the
        background; False when none is shown or a report is being written."""
        connection = self._connection
        messages = self._operations.messages
        if connection is None:
            return False
        if self.is_running():
            messages.info("A report is being written; wait for it or cancel it.")
            return False
        if path.suffix.lower() not in (".pdf", ".html", ".htm"):
            path = path.with_name(path.name + ".pdf")
        self._open_dialog(connection, redact=redact)
        messages.info(f"Writing the support report of {isolate(connection.name)}…", 0)

        def done(size: int) -> None:
            self._close_dialog()
            messages.info(f"Wrote the support report to {path} ({size:,} bytes).", 10_000)
            self.written.emit(str(path))

        def failed(exc: BaseException) -> None:
            self._close_dialog()
            if isinstance(exc, ReportCancelled):
                messages.info("Support report cancelled; no file was written.")
                return
            messages.error("Support report failed", f"Could not write {path}.\n\n{error_text(exc)}")

        return self._operations.run(
            self,
            "report",
            partial(_write, self._engine, connection, self._catalog, path, redact),
            done,
            failed=failed,
            progress=self._on_progress,
        )

    def cancel(self) -> None:
        """Stop the report being written (no file is written)."""
        if self.is_running():
            self._operations.cancel(self, "report")
            self._close_dialog()
            self._operations.messages.info("Support report cancelled; no file was written.")

    # -- internals ------------------------------------------------------------------------

    def _open_dialog(self, connection: Connection, *, redact: bool) -> None:
        which = "redacted support report" if redact else "support report"
        self.dialog = work_progress(
            self._parent_widget,
            name="report_progress",
            title="Support Report",
            label=f"Writing the {which} of {isolate(connection.name)}…",
            maximum=0,
            on_cancel=self.cancel,
        )

    def _on_progress(self, value: tuple[int, int]) -> None:
        done, total = value
        if self.dialog is not None:
            self.dialog.setRange(0, total)
            self.dialog.setValue(done)

    def _close_dialog(self) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is not None:
            dialog.canceled.disconnect(self.cancel)
            dialog.reset()
            dialog.hide()
            dialog.deleteLater()


def _write(
    engine: Engine, connection: Connection, catalog: Catalog, path: Path, redact: bool, work: Work
) -> int:
    report = build_report(
        engine,
        connection,
        catalog,
        redact=redact,
        progress=lambda done, total: work.progress((done, total)),
        cancelled=work.cancelled,
    )
    return write_report(report, path, cancelled=work.cancelled)

"""Import snapshot files off the GUI thread, with a progress dialog and Cancel.

`ImportWorker` runs `store.imports.import_snapshots` in a QThread; `SnapshotImporter`
owns that thread, the progress dialog and the messages. A cancelled import, like a
failed one, leaves the database exactly as it was (the store imports in one transaction).
Errors are shown as the store words them (a FeedError names the file and the line),
never as a traceback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget
from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError

from healthdesk.feed.items import FeedError
from healthdesk.store.imports import import_snapshots
from healthdesk.store.ingest import ImportCancelled, IngestReport

_log = logging.getLogger(__name__)

#: The progress bar's resolution: file sizes overflow a C int, permille does not.
PROGRESS_STEPS = 1000


def show_error(parent: QWidget | None, title: str, text: str) -> QMessageBox:
    """A window-modal error message, shown without a nested event loop (tests replace this
    function to intercept it). The text is plain: it may quote customer data."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()
    return box


def error_text(exc: BaseException) -> str:
    """What went wrong, in one or two lines a support agent can act on."""
    if isinstance(exc, FeedError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    if isinstance(exc, DatabaseError):
        return f"The database cannot be used: {exc.orig or exc}"
    return f"{type(exc).__name__}: {exc}"


class ImportWorker(QObject):
    """Runs one import in the thread it was moved to.

    Signals:
        progressed(int, str): permille done (0..PROGRESS_STEPS) and the phase
            ("reading", "deciding").
        succeeded(object): the `IngestReport`.
        failed(str): the error's text (file and line for a FeedError).
        cancelled(): the user cancelled; the database is unchanged.
    """

    progressed = Signal(int, str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, *, engine: Engine, paths: Sequence[Path]) -> None:
        super().__init__()
        self._engine = engine
        self._paths = list(paths)
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Ask the import to stop (thread-safe); it stops at its next batch."""
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def _on_progress(self, done: int, total: int, phase: str) -> None:
        steps = (
            PROGRESS_STEPS if total <= 0 else min(PROGRESS_STEPS, done * PROGRESS_STEPS // total)
        )
        self.progressed.emit(steps, phase)

    @Slot()
    def run(self) -> None:
        try:
            self._run()
        finally:
            # Back to the GUI thread, so that it is deleted there like any other object.
            app = QCoreApplication.instance()
            if app is not None:
                self.moveToThread(app.thread())

    def _run(self) -> None:
        try:
            report = import_snapshots(
                self._engine,
                self._paths,
                on_progress=self._on_progress,
                should_cancel=self._cancel.is_set,
            )
        except ImportCancelled:
            self.cancelled.emit()
        except (FeedError, OSError, DatabaseError) as exc:
            self.failed.emit(error_text(exc))
        except Exception as exc:  # a bug of ours: say so in one line, log the rest
            _log.exception("import of %s failed", self._paths)
            self.failed.emit(error_text(exc))
        else:
            self.succeeded.emit(report)


class SnapshotImporter(QObject):
    """Imports snapshot files into the window's database, one import at a time.

    Signals:
        imported(object, list): the `IngestReport` and the imported paths.
        cancelled(): the user cancelled; nothing changed.
        failed(str): the import failed (the error dialog is shown already).
        finished(): the import is over, whatever its outcome; the thread has stopped.

    Attributes:
        dialog: the progress dialog of the running import, or None.
    """

    imported = Signal(object, list)
    cancelled = Signal()
    failed = Signal(str)
    finished = Signal()

    def __init__(self, *, engine: Engine, parent_widget: QWidget | None = None) -> None:
        super().__init__(parent_widget)
        self._engine = engine
        self._parent_widget = parent_widget
        self._thread: QThread | None = None
        self._worker: ImportWorker | None = None
        self._paths: list[Path] = []
        self.dialog: QProgressDialog | None = None

    def is_running(self) -> bool:
        return self._thread is not None

    def start(self, paths: Sequence[Path]) -> bool:
        """Start importing `paths`; False when an import is running already."""
        if self._thread is not None or not paths:
            return False
        self._paths = [Path(p) for p in paths]
        names = ", ".join(p.name for p in self._paths)

        dialog = QProgressDialog(self._parent_widget)
        dialog.setWindowTitle("Importing")
        dialog.setLabelText(f"Reading {names}…")
        dialog.setCancelButtonText("Cancel")
        dialog.setRange(0, PROGRESS_STEPS)
        dialog.setValue(0)
        dialog.setMinimumDuration(300)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.canceled.connect(self._on_dialog_canceled)
        self.dialog = dialog

        thread = QThread(self)
        thread.setObjectName("snapshot-import")
        worker = ImportWorker(engine=self._engine, paths=self._paths)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progressed.connect(self._on_worker_progressed)
        worker.succeeded.connect(self._on_worker_succeeded)
        worker.failed.connect(self._on_worker_failed)
        worker.cancelled.connect(self._on_worker_cancelled)
        thread.finished.connect(self._on_thread_finished)
        self._thread = thread
        self._worker = worker
        thread.start()
        return True

    def cancel(self) -> None:
        """Cancel the running import (it stops at its next batch; nothing changes)."""
        if self._worker is not None:
            self._worker.cancel()
            if self.dialog is not None:
                self.dialog.setLabelText("Cancelling…")

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until the running import's thread is over (shutdown only)."""
        thread = self._thread
        return thread is None or thread.wait(timeout_ms)

    # -- slots ----------------------------------------------------------------------------

    @Slot()
    def _on_dialog_canceled(self) -> None:
        self.cancel()

    @Slot(int, str)
    def _on_worker_progressed(self, steps: int, phase: str) -> None:
        dialog = self.dialog
        if dialog is None or (self._worker is not None and self._worker.is_cancelled()):
            return
        if phase == "deciding":
            dialog.setLabelText("Deciding the status of every contact that changed…")
            dialog.setRange(0, 0)  # busy: the decision step reports no progress
        else:
            dialog.setValue(steps)

    @Slot(object)
    def _on_worker_succeeded(self, report: IngestReport) -> None:
        self._stop_thread()
        self.imported.emit(report, list(self._paths))

    @Slot(str)
    def _on_worker_failed(self, text: str) -> None:
        self._stop_thread()
        names = ", ".join(p.name for p in self._paths)
        show_error(
            self._parent_widget,
            "Import failed",
            f"Could not import {names}. The database is unchanged.\n\n{text}",
        )
        self.failed.emit(text)

    @Slot()
    def _on_worker_cancelled(self) -> None:
        self._stop_thread()
        self.cancelled.emit()

    def _stop_thread(self) -> None:
        if self.dialog is not None:
            self.dialog.canceled.disconnect(self._on_dialog_canceled)
            self.dialog.reset()
            self.dialog.hide()
            self.dialog.deleteLater()
            self.dialog = None
        if self._thread is not None:
            self._thread.quit()

    @Slot()
    def _on_thread_finished(self) -> None:
        thread = self._thread
        self._thread = None
        # The worker is back on this thread (run() moved it): Python deletes it here.
        self._worker = None
        if thread is not None:
            thread.wait()  # `finished` comes just before the thread's very end
            thread.deleteLater()
        self.finished.emit()

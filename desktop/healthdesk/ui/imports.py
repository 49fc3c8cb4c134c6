"""Import snapshot files in the background, with a progress dialog and Cancel.

`SnapshotImporter` runs `store.imports.import_snapshots` through the window's
`Operations` and owns the progress dialog. A cancelled import, like a failed one, leaves
the database exactly as it was (the store imports in one transaction). Errors go to the
message channel as the store words them (a FeedError names the file and the line), never
as a traceback. After an import, every connection it changed is announced with
`Operations.notify_changed`, and so is the list of connections ("").
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget
from sqlalchemy import Engine

from healthdesk.store.imports import import_snapshots
from healthdesk.store.ingest import ImportCancelled, IngestReport
from healthdesk.ui.messages import error_text
from healthdesk.ui.operations import Operations, Work
from healthdesk.ui.progress_dialog import work_progress

__all__ = ["PROGRESS_STEPS", "SnapshotImporter"]

#: The progress bar's resolution: file sizes overflow a C int, permille does not.
PROGRESS_STEPS = 1000


def _import(engine: Engine, paths: list[Path], stop: threading.Event, work: Work) -> IngestReport:
    def on_progress(done: int, total: int, phase: str) -> None:
        steps = (
            PROGRESS_STEPS if total <= 0 else min(PROGRESS_STEPS, done * PROGRESS_STEPS // total)
        )
        work.progress((steps, phase))

    return import_snapshots(
        engine,
        paths,
        on_progress=on_progress,
        should_cancel=lambda: stop.is_set() or work.cancelled(),
    )


class SnapshotImporter(QObject):
    """Imports snapshot files into the window's database, one import at a time.

    Signals:
        progressed(int, str): permille done (0..PROGRESS_STEPS) and the phase ("reading",
            "deciding").
        imported(object, list): the `IngestReport` and the imported paths.
        cancelled(): the user cancelled; nothing changed.
        failed(str): the import failed (the error went to the message channel).
        finished(): the import is over, whatever its outcome.

    Attributes:
        dialog: the progress dialog of the running import, or None.
    """

    progressed = Signal(int, str)
    imported = Signal(object, list)
    cancelled = Signal()
    failed = Signal(str)
    finished = Signal()

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Engine,
        parent_widget: QWidget | None = None,
    ) -> None:
        super().__init__(parent_widget)
        self._operations = operations
        self._engine = engine
        self._parent_widget = parent_widget
        self._paths: list[Path] = []
        self._stop: threading.Event | None = None
        self.dialog: QProgressDialog | None = None

    def is_running(self) -> bool:
        return self._operations.busy(self, "import")

    def start(self, paths: Sequence[Path]) -> bool:
        """Start importing `paths`; False when an import is running already."""
        if self.is_running() or not paths or self._operations.closed:
            return False
        self._paths = [Path(p) for p in paths]
        names = ", ".join(p.name for p in self._paths)

        self.dialog = work_progress(
            self._parent_widget,
            name="import_progress",
            title="Importing",
            label=f"Reading {names}…",
            maximum=PROGRESS_STEPS,
            on_cancel=self._on_dialog_canceled,
        )

        self._stop = threading.Event()
        return self._operations.run(
            self,
            "import",
            partial(_import, self._engine, list(self._paths), self._stop),
            self._on_done,
            failed=self._on_failed,
            progress=self._on_progress,
        )

    def cancel(self) -> None:
        """Cancel the running import (it stops at its next batch; nothing changes)."""
        if self._stop is not None and self.is_running():
            self._stop.set()
            if self.dialog is not None:
                self.dialog.setLabelText("Cancelling…")

    # -- callbacks ------------------------------------------------------------------------

    @Slot()
    def _on_dialog_canceled(self) -> None:
        self.cancel()

    def _on_progress(self, value: tuple[int, str]) -> None:
        steps, phase = value
        self.progressed.emit(steps, phase)
        dialog = self.dialog
        if dialog is None or (self._stop is not None and self._stop.is_set()):
            return
        if phase == "deciding":
            dialog.setLabelText("Deciding the status of every contact that changed…")
            dialog.setRange(0, 0)  # busy: the decision step reports no progress
        else:
            dialog.setValue(steps)

    def _on_done(self, report: IngestReport) -> None:
        self._close_dialog()
        for connection_id in sorted(report.decided):
            self._operations.notify_changed(connection_id)
        self._operations.notify_changed("")
        self.imported.emit(report, list(self._paths))
        self.finished.emit()

    def _on_failed(self, exc: BaseException) -> None:
        self._close_dialog()
        if isinstance(exc, ImportCancelled):
            self.cancelled.emit()
        else:
            text = error_text(exc)
            names = ", ".join(p.name for p in self._paths)
            self._operations.messages.error(
                "Import failed", f"Could not import {names}. The database is unchanged.\n\n{text}"
            )
            self.failed.emit(text)
        self.finished.emit()

    def _close_dialog(self) -> None:
        self._stop = None
        dialog, self.dialog = self.dialog, None
        if dialog is not None:
            dialog.canceled.disconnect(self._on_dialog_canceled)
            dialog.reset()
            dialog.hide()
            dialog.deleteLater()

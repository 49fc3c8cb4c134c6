"""Snapshots into the window: File > Open Snapshot…, File > Open Recent, files dropped on
the window, and what the status bar says of an import. The import itself runs in
`SnapshotImporter` (ui/imports.py), in the background; the views refresh themselves from
the change it announces.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget
from sqlalchemy import Engine

from healthdesk.core.words import plural
from healthdesk.store.ingest import IngestReport
from healthdesk.ui.imports import SnapshotImporter
from healthdesk.ui.operations import Operations

__all__ = ["MAX_RECENT", "SNAPSHOT_FILTER", "ImportControl", "local_files"]

#: Files of File > Open Recent, most recent first.
MAX_RECENT = 8
SNAPSHOT_FILTER = "Snapshots (*.healthsnap *.jsonl *.jsonl.gz *.gz *.json);;All files (*)"
_KEY_RECENT = "files/recent"
KEY_LAST_DIR = "files/last_dir"


class ImportControl(QObject):
    """Open, recent files and drops, one import at a time.

    Signals:
        imported(object): an import ended well: its `IngestReport`.

    Attributes:
        importer: the `SnapshotImporter`.
        open_action: File > Open Snapshot… (disabled while an import runs).
        recent_menu: File > Open Recent.
    """

    imported = Signal(object)

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Engine,
        settings: QSettings,
        parent_widget: QWidget,
    ) -> None:
        super().__init__(parent_widget)
        self._messages = operations.messages
        self._settings = settings
        self._parent_widget = parent_widget
        self.importer = SnapshotImporter(
            operations=operations, engine=engine, parent_widget=parent_widget
        )
        self.importer.imported.connect(self._on_importer_imported)
        self.importer.cancelled.connect(self._on_importer_cancelled)
        self.importer.failed.connect(self._on_importer_failed)
        self.importer.finished.connect(self._on_importer_finished)
        self.open_action = QAction("&Open Snapshot…", self)
        self.open_action.setObjectName("open_action")
        self.open_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Open))
        self.open_action.triggered.connect(self.open_dialog)
        self.recent_menu = QMenu("Open &Recent", parent_widget)
        self.recent_menu.setObjectName("recent_menu")
        self._update_recent_menu()

    def folder(self) -> str:
        """Where file dialogs open: the folder of the last snapshot opened."""
        return str(self._settings.value(KEY_LAST_DIR, str(Path.home())))

    @Slot()
    def open_dialog(self) -> None:
        dialog = QFileDialog(self._parent_widget, "Open Snapshot")
        dialog.setObjectName("open_dialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setNameFilter(SNAPSHOT_FILTER)
        dialog.setDirectory(self.folder())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.filesSelected.connect(lambda names: self.import_files([Path(n) for n in names]))
        dialog.open()

    def import_files(self, paths: Sequence[Path]) -> bool:
        """Import snapshot files in the background; False when one is running already."""
        if self.importer.is_running():
            self._messages.info("An import is running; wait for it or cancel it.", 6000)
            return False
        paths = [Path(p) for p in paths]
        self.open_action.setEnabled(False)
        self.recent_menu.setEnabled(False)
        self._messages.info(f"Importing {', '.join(p.name for p in paths)}…", 0)
        if self.importer.start(paths):
            return True
        self._on_importer_finished()
        return False

    def recent_files(self) -> list[Path]:
        value = self._settings.value(_KEY_RECENT, [])
        # an ini file gives back a one-item list as a plain string
        items: list[object] = [value] if isinstance(value, str) else list(value or [])  # type: ignore[call-overload]
        return [Path(v) for v in items if isinstance(v, str) and v]

    # -- internals ------------------------------------------------------------------------

    def _remember(self, paths: Sequence[Path]) -> None:
        recent = [str(p.resolve()) for p in paths]
        recent += [str(p) for p in self.recent_files() if str(p) not in recent]
        self._settings.setValue(_KEY_RECENT, recent[:MAX_RECENT])
        if paths:
            self._settings.setValue(KEY_LAST_DIR, str(Path(paths[0]).resolve().parent))
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
        self.recent_menu.setEnabled(bool(recent) and not self.importer.is_running())

    @Slot()
    def _on_clear_recent_triggered(self) -> None:
        self._settings.setValue(_KEY_RECENT, [])
        self._update_recent_menu()

    @Slot(object, list)
    def _on_importer_imported(self, report: IngestReport, paths: list[Path]) -> None:
        self._remember(paths)
        names = ", ".join(p.name for p in paths)
        self._messages.info(
            f"Imported {names}: {plural(report.records, 'record')}, "
            f"{plural(report.mappings, 'mapping')}, {plural(report.events_new, 'new event')}.",
            10_000,
        )
        self.imported.emit(report)

    @Slot()
    def _on_importer_cancelled(self) -> None:
        self._messages.info("Import cancelled; the database is unchanged.")

    @Slot(str)
    def _on_importer_failed(self, _text: str) -> None:
        self._messages.info("Import failed; the database is unchanged.")

    @Slot()
    def _on_importer_finished(self) -> None:
        self.open_action.setEnabled(True)
        self._update_recent_menu()


def local_files(urls: Sequence[QUrl]) -> list[Path]:
    """The existing local files among dropped URLs."""
    paths = [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
    return [path for path in paths if path.is_file()]

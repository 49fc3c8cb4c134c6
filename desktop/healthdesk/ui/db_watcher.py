"""Notice when another process changes the database (a `healthdesk import` or `sync` in a
terminal, a second window): SQLite in WAL mode appends every commit to the `-wal` file,
so a change of that file (or of the database file, at a checkpoint) means the data may
have changed. The window then reads again what it shows, through the one change hook
(`Operations.notify_changed`, coalesced: a burst of commits is one refresh).

Readers never write the `-wal` file, so the window's own reads do not wake it; its own
writes (an import) do, and cost one more coalesced refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, Slot

from healthdesk.ui.operations import Operations

__all__ = ["DatabaseWatcher"]


class DatabaseWatcher(QObject):
    """Watches the database file at `path` and its `-wal`; on a change, announces the list
    of connections and the shown one (`shown()` gives its id, or None) as changed."""

    def __init__(
        self,
        *,
        operations: Operations,
        path: Path,
        shown: Callable[[], str | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._operations = operations
        self._shown = shown
        self._files = [str(path), str(path) + "-wal"]
        self._watcher = QFileSystemWatcher(self)
        self._watcher.addPath(str(path.parent))  # the -wal file comes and goes
        self._watch_files()
        self._watcher.fileChanged.connect(self._on_watcher_file_changed)
        self._watcher.directoryChanged.connect(self._on_watcher_directory_changed)

    def _watch_files(self) -> None:
        watched = set(self._watcher.files())
        for name in self._files:
            if name not in watched and Path(name).exists():
                self._watcher.addPath(name)

    @Slot(str)
    def _on_watcher_file_changed(self, _name: str) -> None:
        self._watch_files()  # a file replaced or re-created is watched again
        self._operations.notify_changed("", coalesce=True)
        shown = self._shown()
        if shown:
            self._operations.notify_changed(shown, coalesce=True)

    @Slot(str)
    def _on_watcher_directory_changed(self, _name: str) -> None:
        before = set(self._watcher.files())
        self._watch_files()
        if set(self._watcher.files()) != before:
            self._on_watcher_file_changed("")

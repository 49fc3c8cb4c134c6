"""File > Compare With…: the shown connection now, side by side with a snapshot of it (an
earlier export, the customer's file): how many contacts moved from each status to each
other, which failure groups grew, and the contacts behind each number.

The snapshot is imported into a temporary database of the dialog's own (removed when the
dialog goes), then both are compared by `store.statuses.compare_databases`, all on a
worker through `Operations`, with progress and Cancel. The comparison keeps the keys of
the contacts that changed status (`store.statuses.MovedKeys`), so a cell lists its
contacts at once (a lazy list, by name); a cell of contacts that stayed, or a comparison
with too many moves to keep, reads both databases again (`store.statuses.moved_keys`).
Double-clicking a contact opens it in the window, as every list does.
"""

from __future__ import annotations

import shutil
import tempfile
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from healthdesk.core.compare import ABSENT, Comparison, Place
from healthdesk.core.contacts import ContactView
from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection
from healthdesk.core.words import STATUS_WORDS, plural
from healthdesk.feed.items import FeedError
from healthdesk.store import pages
from healthdesk.store.db import open_db
from healthdesk.store.imports import import_snapshots
from healthdesk.store.queries import UnknownConnection, get_connection, list_connections
from healthdesk.store.statuses import MovedKeys, by_name, compare_databases, moved_keys
from healthdesk.ui.comparison_models import PLACE_TITLES, FailureChangesModel
from healthdesk.ui.comparison_view import ComparisonView, failures_table
from healthdesk.ui.contact_list import COLUMNS, ContactListModel
from healthdesk.ui.contacts.status_tabs import ContactTable
from healthdesk.ui.messages import error_text
from healthdesk.ui.operations import Operations, Work
from healthdesk.ui.style import error_colour, placeholder, text_colour
from healthdesk.ui.text import plain_label
from healthdesk.ui.windowed_model import Entry, Loaded

__all__ = [
    "CompareDialog",
    "Compared",
    "MovedContactsModel",
    "SnapshotMismatch",
    "compare_with_snapshot",
    "move_title",
]

_SEPARATOR = " / "


class SnapshotMismatch(Exception):
    """The snapshot does not hold the connection compared."""


@dataclass(frozen=True, slots=True)
class Compared:
    """What a comparison found: the comparison, and the snapshot's temporary database."""

    comparison: Comparison
    snapshot: Engine
    moved: MovedKeys


def compare_with_snapshot(
    engine: Engine,
    connection: Connection,
    catalog: Catalog,
    snapshot: Path,
    folder: Path,
    work: Work,
    imported: Engine | None = None,
) -> Compared:
    """Import `snapshot` into a new database in `folder` (unless `imported` is that
    database already), then compare it (before) with `engine` (after). On a worker."""
    own = imported is None
    if imported is None:
        imported = open_db(folder / "snapshot.sqlite3")
    try:
        if own:

            def imported_progress(done: int, total: int, _phase: str) -> None:
                work.progress(("Reading the snapshot…", done, total))

            import_snapshots(
                imported, [snapshot], on_progress=imported_progress, should_cancel=work.cancelled
            )
        try:
            get_connection(imported, connection.id)
        except UnknownConnection:
            held = ", ".join(f"{c.id} ({c.name})" for c in list_connections(imported))
            raise SnapshotMismatch(
                f"{snapshot.name} does not hold this connection ({connection.id}); "
                f"it holds: {held or 'no connection'}"
            ) from None

        def compared_progress(done: int, total: int) -> None:
            work.progress(("Comparing…", done, total))

        moved = MovedKeys()
        comparison = compare_databases(
            imported,
            engine,
            connection,
            catalog,
            cancelled=work.cancelled,
            progress=compared_progress,
            moved=moved,
        )
    except BaseException:
        if own:
            imported.dispose()
        raise
    return Compared(comparison, imported, moved)


# -- the contacts of a cell -------------------------------------------------------------


def _ids(row: ContactView, connection: Connection) -> str:
    return _SEPARATOR.join(
        f"{connection.app(record.app).name} {record.id}" for record in row.records
    )


@dataclass(frozen=True, slots=True)
class _MovedSource:
    """The contacts of one cell (plain data, used from worker threads): read from the
    current database, or from the snapshot's for contacts no longer there."""

    old: Engine
    new: Engine
    connection: Connection
    move: tuple[Place, Place]
    block_size: int
    keys: Sequence[int] | None = None
    known: MovedKeys | None = None

    @property
    def rows_engine(self) -> Engine:
        return self.old if self.move[1] == ABSENT else self.new

    def load(self, work: Work, keep: Sequence[int], blocks: Sequence[int]) -> Loaded:
        found = self.known.get(self.move) if self.known is not None else None
        if found is None:  # not kept by the comparison: read both databases again
            found = moved_keys(
                self.old, self.new, self.connection.id, *self.move, cancelled=work.cancelled
            )
        gone = self.move[1] == ABSENT
        keys = array(
            "q", by_name(self.rows_engine, [(old if gone else new) or 0 for old, new in found])
        )
        source = replace(self, keys=keys)
        fetched = {b: source.fetch(b, work) for b in blocks if b * self.block_size < len(keys)}
        return Loaded(count=len(keys), source=source, blocks=fetched, extra=keys)

    def fetch(self, block: int, work: Work | None = None) -> list[Entry]:
        if self.keys is None:
            return []
        wanted = list(self.keys[block * self.block_size : (block + 1) * self.block_size])
        rows = pages.rows_by_key(self.rows_engine, wanted)
        return [self._render(rows.get(key)) for key in wanted]

    def _render(self, row: ContactView | None) -> Entry:
        if row is None:
            return (None, ("",) * len(COLUMNS))
        status = STATUS_WORDS[row.status]
        if self.move[1] == ABSENT:
            status = f"Was {status.lower()}"
        return (row, (status, row.name, row.email, _ids(row, self.connection)))


class MovedContactsModel(ContactListModel):
    """The contacts that went from one place to another (a cell of the matrix), by name
    as every list, for a QTableView. Columns: Status, Name, Email, IDs; the
    contacts no longer there are shown as the snapshot holds them ("Was failing").

    Signals:
        loaded(int): the list is known: its number of contacts.

    Attributes:
        KeyRole: the data role of a row's contact key (in the database it was read from).
    """

    loaded = Signal(int)

    def __init__(
        self,
        *,
        operations: Operations,
        old: Engine,
        new: Engine,
        connection: Connection,
        move: tuple[Place, Place],
        known: MovedKeys | None = None,
        parent: QObject | None = None,
        block_size: int = 256,
        max_blocks: int = 32,
    ) -> None:
        super().__init__(
            operations=operations, block_size=block_size, max_blocks=max_blocks, parent=parent
        )
        self.move: Final = move
        self._old, self._new, self._connection = old, new, connection
        self._known = known
        self._keys: Sequence[int] | None = None
        self.reload()

    @property
    def gone(self) -> bool:
        """Whether the contacts are no longer there (read from the snapshot)."""
        return self.move[1] == ABSENT

    def contact_key(self, row: int) -> int | None:
        if self._keys is None or not 0 <= row < len(self._keys):
            return None
        return int(self._keys[row])

    def _make_source(self) -> _MovedSource:
        return _MovedSource(
            old=self._old,
            new=self._new,
            connection=self._connection,
            move=self.move,
            block_size=self.block_size,
            known=self._known,
        )

    def _apply_extra(self, extra: Any) -> None:
        self._keys = extra

    def _on_loaded(self, loaded: Loaded) -> None:
        super()._on_loaded(loaded)
        self.loaded.emit(loaded.count)


# -- the dialog -------------------------------------------------------------------------


def move_title(move: tuple[Place, Place]) -> str:
    """ "In sync → Failing"; "Not there → Pending"."""
    return f"{PLACE_TITLES[move[0]]} \u2192 {PLACE_TITLES[move[1]]}"


class CompareDialog(QDialog):
    """The shown connection now (after) compared with a snapshot of it (before).

    Not modal; deleted on close by its opener's choice. The snapshot's temporary database
    is removed when the dialog is destroyed.

    Signals:
        contact_activated(int): the agent double-clicked a contact still there (its key
            in the window's database).

    Attributes:
        view: the `ComparisonView` (counts, matrix); failures_model, failures_view: the
            failure groups that changed; tabs: those and the contacts of the chosen cell.
        contacts_model: the `MovedContactsModel` of the chosen cell (None until one).
        contacts_table, contacts_label, progress, cancel_button, status_label.
    """

    contact_activated = Signal(int)

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Engine,
        connection: Connection,
        catalog: Catalog,
        snapshot: Path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("compare_dialog")
        self.setWindowTitle(f"Compare {connection.name} with {snapshot.name}")
        self._operations = operations
        self._engine = engine
        self._connection = connection
        self._catalog = catalog
        self._snapshot = snapshot
        self._folder = Path(tempfile.mkdtemp(prefix="healthdesk-compare-"))
        self._imported: Engine | None = None
        self.comparison: Comparison | None = None
        self._moved: MovedKeys | None = None  # the keys the last comparison kept
        self.contacts_model: MovedContactsModel | None = None
        folder = self._folder
        self.destroyed.connect(lambda *_: shutil.rmtree(folder, ignore_errors=True))

        self.heading = plain_label(
            f"{connection.name}: now, compared with the snapshot {snapshot.name}",
            name="compare_heading",
            bold=True,
            wrap=True,
        )
        self.status_label = plain_label(name="compare_status", muted=True, wrap=True)
        self.progress = QProgressBar()
        self.progress.setObjectName("compare_progress")
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("compare_cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.again_button = QPushButton("Compare Again")
        self.again_button.setObjectName("compare_again")
        self.again_button.clicked.connect(self.start)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_label, 1)
        status_row.addWidget(self.progress, 1)
        status_row.addWidget(self.cancel_button)
        status_row.addWidget(self.again_button)

        self.view = ComparisonView()
        self.view.set_titles("Snapshot", "Now")
        self.view.move_chosen.connect(self.show_move)
        self.failures_model = FailureChangesModel(self)
        self.failures_view = failures_table(self.failures_model)
        self.failures_view.setAccessibleName("Failure groups that changed")

        self.contacts_label = plain_label(
            "Click a number of the matrix to list the contacts that moved.",
            name="moved_label",
            muted=True,
            wrap=True,
        )
        self.contacts_table = ContactTable()
        self.contacts_table.setObjectName("moved_contacts")
        self.contacts_table.setAccessibleName("Contacts that moved")
        self.contacts_table.setSortingEnabled(False)
        self.contacts_table.activated.connect(self._on_contacts_activated)
        self.contacts_table.hide()
        contacts = QWidget()
        contacts_layout = QVBoxLayout(contacts)
        contacts_layout.setContentsMargins(0, 6, 0, 0)
        contacts_layout.addWidget(self.contacts_label)
        contacts_layout.addWidget(self.contacts_table, 1)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("compare_tabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.failures_view, "Failure groups that changed")
        self.tabs.addTab(contacts, "Contacts that moved")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.view)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(status_row)
        layout.addWidget(splitter, 1)
        layout.addWidget(buttons)
        self.resize(1000, 780)
        operations.changed.connect(self._on_operations_changed)
        self.start()

    # -- comparing ------------------------------------------------------------------------

    @Slot()
    def start(self) -> None:
        """Compare (again): import the snapshot the first time, then compare."""
        self._set_running(True, "Reading the snapshot…" if self._imported is None else "Comparing…")
        work = _Comparing(
            engine=self._engine,
            connection=self._connection,
            catalog=self._catalog,
            snapshot=self._snapshot,
            folder=self._folder,
            imported=self._imported,
        )
        self._operations.run(
            self,
            "compare",
            work.run,
            self._on_compared,
            failed=self._on_failed,
            progress=self._on_progress,
            what="compare with the snapshot",
        )

    @Slot()
    def cancel(self) -> None:
        if self._operations.busy(self, "compare"):
            self._operations.cancel(self, "compare")
            self._set_running(False, "Cancelled.")

    def running(self) -> bool:
        return self._operations.busy(self, "compare")

    def _set_running(self, running: bool, text: str, *, error: bool = False) -> None:
        self.status_label.setText(text)
        text_colour(self.status_label, error_colour if error else placeholder)
        self.progress.setVisible(running)
        self.progress.setRange(0, 0)
        self.cancel_button.setVisible(running)
        self.again_button.setVisible(not running)

    def _on_progress(self, value: tuple[str, int, int]) -> None:
        text, done, total = value
        self.status_label.setText(text)
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))

    def _on_compared(self, compared: Compared) -> None:
        if self._imported is None:
            self._imported = compared.snapshot
        elif compared.snapshot is not self._imported:
            compared.snapshot.dispose()
        self._moved = compared.moved
        comparison = self.comparison = compared.comparison
        self.view.set_comparison(comparison)
        self.failures_model.set_changes(self._connection, comparison.failures)
        changes, grew = len(comparison.failures), len(comparison.grew)
        self.tabs.setTabText(
            0,
            f"Failure groups that changed ({changes:,}, {grew:,} grew)"
            if changes
            else "Failure groups: none changed",
        )
        moved = sum(move.count for move in compared.comparison.changed)
        self._set_running(
            False,
            f"{plural(moved, 'contact')} changed status since the snapshot."
            if moved
            else "No contact changed status since the snapshot.",
        )
        if self.contacts_model is not None:
            self.show_move(*self.contacts_model.move)

    def _on_failed(self, exc: BaseException) -> None:
        if isinstance(exc, (SnapshotMismatch, FeedError, OSError)):
            text = str(exc)
        else:
            text = error_text(exc)
        self._set_running(False, f"Could not compare: {text}", error=True)

    @Slot(str)
    def _on_operations_changed(self, connection_id: str) -> None:
        if connection_id == self._connection.id and self._imported is not None:
            self.start()  # the data changed: the numbers follow

    # -- the contacts of a cell -------------------------------------------------------------

    @Slot(str, str)
    def show_move(self, from_: Place, to: Place) -> None:
        """List the contacts that went from `from_` to `to`."""
        imported = self._imported
        if imported is None:
            return
        previous = self.contacts_model
        self.contacts_model = MovedContactsModel(
            operations=self._operations,
            old=imported,
            new=self._engine,
            connection=self._connection,
            move=(from_, to),
            known=self._moved,
            parent=self,
        )
        self.contacts_model.loaded.connect(self._on_contacts_loaded)
        self.contacts_table.set_contact_model(self.contacts_model, None)
        self.contacts_table.show()
        self.contacts_label.setText(f"{move_title((from_, to))}: reading…")
        self.tabs.setTabText(1, move_title((from_, to)))
        self.tabs.setCurrentIndex(1)
        if self.contacts_model.is_loaded:
            self._on_contacts_loaded(self.contacts_model.rowCount())
        if previous is not None:
            previous.deleteLater()
        index = self.view.matrix_model.index_of(from_, to)
        self.view.matrix_view.setCurrentIndex(index)

    @Slot(int)
    def _on_contacts_loaded(self, count: int) -> None:
        model = self.contacts_model
        if model is None:
            return
        title = move_title(model.move)
        if model.gone:
            hint = "not in the current data: shown as the snapshot holds them."
        else:
            hint = "double-click one to open it."
        self.contacts_label.setText(f"{title}: {plural(count, 'contact')}, {hint}")
        self.tabs.setTabText(1, f"{title} ({count:,})")

    @Slot(QModelIndex)
    def _on_contacts_activated(self, index: QModelIndex) -> None:
        model = self.contacts_model
        if model is None or model.gone or not index.isValid():
            return
        key = model.contact_key(index.row())
        if key is not None:
            self.contact_activated.emit(key)

    def done(self, result: int) -> None:
        self._operations.cancel(self)
        if self._imported is not None:
            self._imported.dispose()
            self._imported = None
        super().done(result)


@dataclass(frozen=True, slots=True)
class _Comparing:
    """A comparison's work (plain data: no Qt object travels to the worker)."""

    engine: Engine
    connection: Connection
    catalog: Catalog
    snapshot: Path
    folder: Path
    imported: Engine | None

    def run(self, work: Work) -> Compared:
        return compare_with_snapshot(
            self.engine,
            self.connection,
            self.catalog,
            self.snapshot,
            self.folder,
            work,
            imported=self.imported,
        )

"""The contacts behind a number of the summary of performed actions ("Created in
Mailchimp: 512"): a table model over the database and the dialog that shows it.

The list is the distinct visible contacts whose records the events were about, by name
(`store.timeline.action_contact_keys`). Finding them reads the connection's events once
(~150 ms per 200,000 contacts), so the model is a `WindowedTableModel` whose load reads
that order (8 bytes per contact) and whose blocks are filled by key
(`store.pages.rows_by_key`), all through the window's `Operations`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from healthdesk.core.contacts import ContactView
from healthdesk.core.model import Connection, Outcome, Side
from healthdesk.core.words import ACTION_OUTCOMES, ACTION_VERBS, STATUS_WORDS, action_title, plural
from healthdesk.store import pages, timeline
from healthdesk.store.timeline import ActionContacts
from healthdesk.ui.contact_list import COLUMNS, ContactListModel
from healthdesk.ui.contacts.status_tabs import ContactTable
from healthdesk.ui.operations import Operations, Work
from healthdesk.ui.windowed_model import PLACEHOLDER, Entry, Loaded

__all__ = ["COLUMNS", "PLACEHOLDER", "ActionContactsDialog", "ActionContactsModel", "title_for"]


_PAIR_SEPARATOR = " / "


def title_for(
    connection: Connection, target: Side, outcome: Outcome, found: ActionContacts | None = None
) -> str:
    """ "Created in Mailchimp (512 events, 498 contacts)"; without counts until known."""
    title = action_title(outcome, connection.app(target).name)
    if found is None:
        return title
    return f"{title} ({plural(found.events, 'event')}, {plural(found.contacts, 'contact')})"


def _ids(row: ContactView, connection: Connection) -> str:
    sides = (Side.A, Side.B) if row.side is None else (row.side,)
    ids = {Side.A: row.a_id, Side.B: row.b_id}
    return _PAIR_SEPARATOR.join(
        f"{connection.app(side).name} {ids[side]}" for side in sides if ids[side] is not None
    )


def _render(row: ContactView | None, connection: Connection) -> Entry:
    if row is None:
        return (None, ("",) * len(COLUMNS))
    return (row, (STATUS_WORDS[row.status], row.name, row.email, _ids(row, connection)))


@dataclass(frozen=True, slots=True)
class _ActionSource:
    """One action list as it is read (plain data, used from worker threads)."""

    engine: Engine
    connection: Connection
    target: Side
    outcome: Outcome
    block_size: int
    found: ActionContacts | None = None

    def load(self, work: Work, keep: Sequence[int], blocks: Sequence[int]) -> Loaded:
        found = timeline.action_contact_keys(
            self.engine, self.connection.id, self.target, self.outcome, cancelled=work.cancelled
        )
        source = replace(self, found=found)
        order = {key: row for row, key in enumerate(found.keys)} if keep else {}
        positions = {key: order[key] for key in keep if key in order}
        fetched = {b: source.fetch(b, work) for b in blocks if b * self.block_size < found.contacts}
        return Loaded(
            count=found.contacts, source=source, blocks=fetched, positions=positions, extra=found
        )

    def fetch(self, block: int, work: Work | None = None) -> list[Entry]:
        if self.found is None:
            return []
        wanted = self.found.keys[block * self.block_size : (block + 1) * self.block_size]
        rows = pages.rows_by_key(self.engine, wanted)
        return [_render(rows.get(key), self.connection) for key in wanted]


class ActionContactsModel(ContactListModel):
    """The contacts concerned by the events that `outcome` (created or updated) wrote
    into `target`, by name, for a QTableView.

    Holds no row until the list's order is read; then `rowCount()` is the exact number of
    contacts and `loaded` is emitted. Columns: Status (icon and label), Name, Email, IDs.
    Customer text is returned as plain str, exactly as stored.

    Signals:
        loaded(int, int): the list is known: its number of events and of contacts.
        (and those of `WindowedTableModel`)

    Attributes:
        KeyRole: the data role of a row's contact key (None until loaded).
        RowRole: the data role of a row's `core.contacts.ContactView` (None until loaded).
        target, outcome: which number of the summary the list is.
    """

    loaded = Signal(int, int)

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Engine,
        connection: Connection,
        target: Side,
        outcome: Outcome,
        parent: QObject | None = None,
        block_size: int = 256,
        max_blocks: int = 32,
    ) -> None:
        if outcome not in ACTION_OUTCOMES:
            raise ValueError(f"not an action of the summary: {outcome!r}")
        super().__init__(
            operations=operations, block_size=block_size, max_blocks=max_blocks, parent=parent
        )
        self.target: Final = target
        self.outcome: Final = outcome
        self._engine = engine
        self._connection = connection
        self._found: ActionContacts | None = None
        self.reload()

    # ------------------------------------------------------------------ public API

    @property
    def connection(self) -> Connection:
        return self._connection

    @property
    def found(self) -> ActionContacts | None:
        """The events and contacts of the list once read (None until then)."""
        return self._found

    def title(self) -> str:
        """ "Created in Mailchimp (512 events, 498 contacts)" (counts once known)."""
        return title_for(self._connection, self.target, self.outcome, self._found)

    def contact_key(self, row: int) -> int | None:
        """The key of the contact at `row` (known as soon as the list is read)."""
        if self._found is None or not 0 <= row < self.rowCount():
            return None
        return self._found.keys[row]

    def row_at(self, row: int) -> ContactView | None:
        """The row at `row` if it is cached, else None."""
        entry = self.row_entry(row)
        return entry[0] if entry is not None else None

    @Slot()
    def refresh(self) -> None:
        """Read the list again (after a change of the data)."""
        self.reload()

    # ------------------------------------------------------------------ internals

    def _make_source(self) -> _ActionSource:
        return _ActionSource(
            engine=self._engine,
            connection=self._connection,
            target=self.target,
            outcome=self.outcome,
            block_size=self.block_size,
        )

    def _apply_extra(self, extra: Any) -> None:
        self._found = extra

    def _on_loaded(self, loaded: Loaded) -> None:
        super()._on_loaded(loaded)
        found = loaded.extra
        self.loaded.emit(found.events, found.contacts)


class ActionContactsDialog(QDialog):
    """The list of the contacts behind one number of the summary of performed actions.

    Titled "Created in Mailchimp (512 events, 498 contacts)" once the list is read.
    Not modal by itself and not deleted on close: the opener chooses (`show()` or
    `exec()`, `Qt.WidgetAttribute.WA_DeleteOnClose`).

    Signals:
        contact_activated(int): the agent double-clicked a contact (or pressed Enter).

    Attributes:
        model: the `ActionContactsModel`.
        table: the table view.
        empty_label: shown instead of the table when no contact is concerned.
    """

    contact_activated = Signal(int)

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Engine,
        connection: Connection,
        target: Side,
        outcome: Outcome,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("action_contacts_dialog")
        self.model = ActionContactsModel(
            operations=operations,
            engine=engine,
            connection=connection,
            target=target,
            outcome=outcome,
            parent=self,
        )
        self.model.loaded.connect(self._on_model_loaded)
        # The list follows the data (an import, a live page), as the window's lists do.
        operations.changed.connect(self._on_operations_changed)
        self.model.load_failed.connect(self._on_model_load_failed)
        verb = ACTION_VERBS[outcome].lower()
        app = connection.app(target).name
        self._hint = QLabel(
            f"Contacts whose records the sync {verb} in {app}. Double-click a contact to open it."
        )
        self._hint.setObjectName("action_contacts_hint")
        self._hint.setTextFormat(Qt.TextFormat.PlainText)
        self._hint.setWordWrap(True)
        self.table = ContactTable()
        self.table.setObjectName("action_contacts_table")
        self.table.setSortingEnabled(False)
        self.table.set_contact_model(self.model, None)
        self.table.activated.connect(self._on_table_activated)
        self.table.copy_requested.connect(self.copy_rows)
        self.empty_label = QLabel(f"No contact was {verb} in {app}.")
        self.empty_label.setObjectName("action_contacts_empty")
        self.empty_label.setTextFormat(Qt.TextFormat.PlainText)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setEnabled(False)
        self._stack = QStackedWidget()
        self._stack.addWidget(self.table)
        self._stack.addWidget(self.empty_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self._hint)
        layout.addWidget(self._stack, 1)
        layout.addWidget(buttons)
        self.resize(900, 520)
        self._update()
        if self.model.load_error is not None:  # read (and failed) before it was connected
            self._on_model_load_failed(self.model.load_error)

    @Slot()
    def copy_rows(self) -> None:
        """Copy the selected rows' cells, tab-separated, one line per row."""
        lines = []
        for row in self.table.selected_rows():
            cells = [
                str(self.model.index(row, column).data() or "")
                for column in range(self.model.columnCount())
            ]
            lines.append("\t".join(cells))
        if lines:
            QGuiApplication.clipboard().setText("\n".join(lines))

    def _update(self) -> None:
        self.setWindowTitle(self.model.title())
        found = self.model.found
        empty = found is not None and found.contacts == 0
        self._stack.setCurrentWidget(self.empty_label if empty else self.table)
        self._hint.setVisible(not empty)

    @Slot(str)
    def _on_operations_changed(self, connection_id: str) -> None:
        if connection_id == self.model.connection.id:
            self.model.refresh()

    @Slot(int, int)
    def _on_model_loaded(self, _events: int, _contacts: int) -> None:
        self._update()

    @Slot(str)
    def _on_model_load_failed(self, message: str) -> None:
        self._hint.setText(f"The list could not be read: {message}")

    @Slot(QModelIndex)
    def _on_table_activated(self, index: QModelIndex) -> None:
        key = self.model.contact_key(index.row()) if index.isValid() else None
        if key is not None:
            self.contact_activated.emit(key)

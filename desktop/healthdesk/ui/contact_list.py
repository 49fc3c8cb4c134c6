"""A lazy list of contacts by key, with the columns Status, Name, Email and IDs: the one
table model behind the lists that are not a status tab (the contacts behind a number of
the summary, the contacts of a cell of Compare With…). A subclass says which contacts
(`contact_key`) and how they are read (`_make_source`, a `WindowedTableModel` source whose
entries are `(ContactView | None, the four texts)`).
"""

from __future__ import annotations

from typing import Any, Final

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from healthdesk.ui.icons import status_icon
from healthdesk.ui.text import plain_tooltip
from healthdesk.ui.windowed_model import PLACEHOLDER, WindowedTableModel

__all__ = ["COLUMNS", "ContactListModel"]

_AnyIndex = QModelIndex | QPersistentModelIndex

COLUMNS: Final = ("Status", "Name", "Email", "IDs")


class ContactListModel(WindowedTableModel):
    """Customer text is returned as plain str, exactly as stored; a row not read yet shows
    `PLACEHOLDER`, one that could not be read an empty text.

    Attributes:
        KeyRole: the data role of a row's contact key (None until the list is read).
        RowRole: the data role of a row's `core.contacts.ContactView` (None until read).
    """

    KeyRole: Final = Qt.ItemDataRole.UserRole + 1
    RowRole: Final = Qt.ItemDataRole.UserRole + 2

    def contact_key(self, row: int) -> int | None:
        """The key of the contact at `row` (known as soon as the list is read)."""
        raise NotImplementedError

    def columnCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if orientation == Qt.Orientation.Vertical:
            return super().headerData(section, orientation, role)
        if role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if not (0 <= row < self.rowCount() and 0 <= column < len(COLUMNS)):
            return None
        if role == self.KeyRole:
            return self.contact_key(row)
        if role not in _ROW_ROLES:
            return None
        entry = self._entry(row)
        if role == Qt.ItemDataRole.DisplayRole:
            if entry is not None:
                return entry[1][column]
            return "" if self._cache.failed(row) else PLACEHOLDER
        if entry is None or entry[0] is None:
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return status_icon(entry[0].status) if column == 0 else None
        if role == Qt.ItemDataRole.ToolTipRole:
            text = entry[1][column]
            return plain_tooltip(text) if text else None
        return entry[0]  # RowRole


_ROW_ROLES: Final = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.DecorationRole,
        Qt.ItemDataRole.ToolTipRole,
        ContactListModel.RowRole,
    }
)

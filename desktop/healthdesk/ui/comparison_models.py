"""Item models of a comparison (`core.compare.Comparison`) of two states of a connection,
for the Compare With… and What If… dialogs: the counts side by side, the moves as a
from/to matrix, and the failure groups that changed. Plain data in, no database read."""

from __future__ import annotations

from typing import Any, Final

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QFont, QPalette
from PySide6.QtWidgets import QApplication

from healthdesk.core.compare import ABSENT, PLACE_ORDER, Comparison, FailureChange, Place
from healthdesk.core.model import STATUS_ORDER, Connection, Status
from healthdesk.core.words import STATUS_LABELS, plural
from healthdesk.ui.icons import status_icon
from healthdesk.ui.text import plain_tooltip

__all__ = [
    "PLACE_TITLES",
    "CountsModel",
    "FailureChangesModel",
    "MoveMatrixModel",
    "signed",
]

_AnyIndex = QModelIndex | QPersistentModelIndex

#: A place of the matrix in words.
PLACE_TITLES: Final[dict[Place, str]] = {
    **{status.value: STATUS_LABELS[status] for status in STATUS_ORDER},
    ABSENT: "Not there",
}
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_CENTER = int(Qt.AlignmentFlag.AlignCenter)


def signed(value: int) -> str:
    """ "+12", "-3" written with a true minus sign (U+2212), "0"."""
    if value > 0:
        return f"+{value:,}"
    if value < 0:
        return f"\u2212{-value:,}"
    return "0"


def _muted() -> QBrush:
    return QBrush(QApplication.palette().color(QPalette.ColorRole.PlaceholderText))


def _bold() -> QFont:
    font = QFont(QApplication.font())
    font.setBold(True)
    return font


class CountsModel(QAbstractTableModel):
    """The five counts before and after, and their change; one row per status and a
    last row of totals. Empty (no row) until `set_comparison`."""

    COLUMNS: Final = ("Status", "Before", "After", "Change")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._comparison: Comparison | None = None
        self._titles = ("Before", "After")

    def set_titles(self, before: str, after: str) -> None:
        self._titles = (before, after)
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 1, 2)

    def set_comparison(self, comparison: Comparison | None) -> None:
        self.beginResetModel()
        self._comparison = comparison
        self.endResetModel()

    def rowCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() or self._comparison is None:
            return 0
        return len(STATUS_ORDER) + 1

    def columnCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._titles[section - 1] if section in (1, 2) else self.COLUMNS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section:
            return _RIGHT
        return None

    def _row(self, row: int) -> tuple[Status | None, int, int]:
        comparison = self._comparison
        assert comparison is not None
        if row < len(STATUS_ORDER):
            status = STATUS_ORDER[row]
            return status, comparison.before[status], comparison.after[status]
        return None, sum(comparison.before.values()), sum(comparison.after.values())

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self._comparison is None:
            return None
        row, column = index.row(), index.column()
        if not (0 <= row < self.rowCount() and 0 <= column < len(self.COLUMNS)):
            return None
        status, before, after = self._row(row)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return STATUS_LABELS[status] if status is not None else "Contacts"
            return (f"{before:,}", f"{after:,}", signed(after - before))[column - 1]
        if role == Qt.ItemDataRole.DecorationRole and column == 0 and status is not None:
            return status_icon(status)
        if role == Qt.ItemDataRole.TextAlignmentRole and column:
            return _RIGHT
        if role == Qt.ItemDataRole.FontRole and (
            status is None or (column == 3 and after != before)
        ):
            return _bold()
        if role == Qt.ItemDataRole.ForegroundRole and column == 3 and after == before:
            return _muted()
        return None


class MoveMatrixModel(QAbstractTableModel):
    """How many contacts went from each place (row: a status, or not there before) to
    each place (column), for a QTableView; the diagonal (no move) is greyed.

    Attributes:
        MoveRole: the data role of a cell's (from, to) places.
        CountRole: the data role of a cell's count (an int).
    """

    MoveRole: Final = Qt.ItemDataRole.UserRole + 1
    CountRole: Final = Qt.ItemDataRole.UserRole + 2

    def __init__(
        self, parent: QObject | None = None, *, absent: bool = True, listable: bool = True
    ) -> None:
        """`absent`: with the row and column of contacts that one state lacks (a what-if
        decides the same contacts again: it has none). `listable`: a cell of contacts that
        moved can be chosen (to list them)."""
        super().__init__(parent)
        self._listable = listable
        self._comparison: Comparison | None = None
        self._titles = ("before", "after")
        self._places = PLACE_ORDER if absent else tuple(p for p in PLACE_ORDER if p != ABSENT)

    def set_titles(self, before: str, after: str) -> None:
        """How the two states are named in tool tips ("the snapshot", "now")."""
        self._titles = (before, after)

    def set_comparison(self, comparison: Comparison | None) -> None:
        self.beginResetModel()
        self._comparison = comparison
        self.endResetModel()

    def comparison(self) -> Comparison | None:
        return self._comparison

    def places(self) -> tuple[Place, ...]:
        """The places of the rows and of the columns, in order."""
        return self._places

    def move_at(self, index: _AnyIndex) -> tuple[Place, Place] | None:
        if not index.isValid() or self._comparison is None:
            return None
        return self._places[index.row()], self._places[index.column()]

    def index_of(self, from_: Place, to: Place) -> QModelIndex:
        return self.index(self._places.index(from_), self._places.index(to))

    def rowCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self._comparison is None else len(self._places)

    def columnCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self._comparison is None else len(self._places)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not 0 <= section < len(self._places):
            return None
        place = self._places[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return PLACE_TITLES[place]
        vertical = orientation == Qt.Orientation.Vertical
        # Icons on the rows only: the columns are narrow, their titles need the room.
        if role == Qt.ItemDataRole.DecorationRole and place != ABSENT and vertical:
            return status_icon(Status(place))
        if role == Qt.ItemDataRole.ToolTipRole:
            before, after = self._titles
            when = before if vertical else after
            if place == ABSENT:
                return plain_tooltip(f"Contacts that are not there {when}")
            return plain_tooltip(f"{STATUS_LABELS[Status(place)]} {when}")
        return None

    def flags(self, index: _AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        count = self.data(index, self.CountRole)
        if not count or index.row() == index.column():
            return Qt.ItemFlag.NoItemFlags
        if not self._listable:
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    @property
    def listable(self) -> bool:
        return self._listable

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        comparison = self._comparison
        if not index.isValid() or comparison is None:
            return None
        row, column = index.row(), index.column()
        places = self._places
        if not (0 <= row < len(places) and 0 <= column < len(places)):
            return None
        from_, to = places[row], places[column]
        count = comparison.count(from_, to)
        stays = from_ == to
        if role == self.CountRole:
            return count
        if role == self.MoveRole:
            return (from_, to)
        if role == Qt.ItemDataRole.DisplayRole:
            if stays and from_ == ABSENT:
                return ""
            return f"{count:,}" if count else "·"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _CENTER
        if role == Qt.ItemDataRole.ForegroundRole and (stays or not count):
            return _muted()
        if role == Qt.ItemDataRole.FontRole and count and not stays:
            return _bold()
        if role == Qt.ItemDataRole.ToolTipRole and count:
            return plain_tooltip(self._describe(from_, to, count))
        return None

    def _describe(self, from_: Place, to: Place, count: int) -> str:
        before, after = self._titles
        who = plural(count, "contact")
        if from_ == to:
            return f"{who}: {STATUS_LABELS[Status(from_)]} {before} and {after}"
        click = "\nClick to list them." if self._listable else ""
        if from_ == ABSENT:
            return f"{who} not there {before}: {STATUS_LABELS[Status(to)]} {after}{click}"
        if to == ABSENT:
            return f"{who}: {STATUS_LABELS[Status(from_)]} {before}, not there {after}{click}"
        text = (
            f"{who}: {STATUS_LABELS[Status(from_)]} {before}, {STATUS_LABELS[Status(to)]} {after}"
        )
        return f"{text}\nClick to list them." if self._listable else text


class FailureChangesModel(QAbstractTableModel):
    """The failure groups whose number of failing contacts changed, the ones that grew
    first (largest growth first), then the others."""

    COLUMNS: Final = ("Refused by", "Reason", "Before", "After", "Change", "Error")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._changes: list[FailureChange] = []
        self._connection: Connection | None = None

    def set_changes(
        self, connection: Connection | None, changes: tuple[FailureChange, ...]
    ) -> None:
        self.beginResetModel()
        self._connection = connection
        self._changes = sorted(
            changes, key=lambda c: (c.delta <= 0, -c.delta if c.delta > 0 else c.delta)
        )
        self.endResetModel()

    def change(self, row: int) -> FailureChange | None:
        return self._changes[row] if 0 <= row < len(self._changes) else None

    def rowCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._changes)

    def columnCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and 2 <= section <= 4:
            return _RIGHT
        return None

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        change = self.change(index.row())
        column = index.column()
        if change is None or not 0 <= column < len(self.COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            app = self._connection.app(change.app).name if self._connection else change.app.value
            return (
                app,
                change.category,
                f"{change.before:,}",
                f"{change.after:,}",
                signed(change.delta),
                change.fingerprint,
            )[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(change.fingerprint)
        if role == Qt.ItemDataRole.TextAlignmentRole and 2 <= column <= 4:
            return _RIGHT
        if role == Qt.ItemDataRole.FontRole and column == 4 and change.delta > 0:
            return _bold()
        return None

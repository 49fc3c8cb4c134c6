"""The connections of the database as a list: name, the two apps with the direction, and a
badge of the sync state, drawn by `ConnectionDelegate`; connections followed live from a
sync service carry a green "● Live" marker beside the badge."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from healthdesk.core.model import Connection
from healthdesk.reports.summary import state_text
from healthdesk.ui.connections import PHASE_BADGES, apps_text
from healthdesk.ui.style import tone
from healthdesk.ui.text import plain_tooltip

_Index = QModelIndex | QPersistentModelIndex

#: The marker of a connection followed live from a sync service, and its colour.
LIVE_TEXT = "\u25cf Live"


class ConnectionListModel(QAbstractListModel):
    """One row per connection, in the order given (the store's: by name, then id).

    Roles: DisplayRole is the connection's name (plain text), ToolTipRole its name, apps
    and state (escaped), and the custom roles below.

    Attributes:
        ConnectionRole: the `Connection`.
        IdRole: the connection's id.
        AppsRole: "HubSpot ⇄ Mailchimp".
        BadgeRole: the state's `Badge` (short word and colours).
        LiveRole: whether the connection is followed live from a sync service (a bool).
    """

    ConnectionRole = Qt.ItemDataRole.UserRole + 1
    IdRole = Qt.ItemDataRole.UserRole + 2
    AppsRole = Qt.ItemDataRole.UserRole + 3
    BadgeRole = Qt.ItemDataRole.UserRole + 4
    LiveRole = Qt.ItemDataRole.UserRole + 5

    def __init__(self, *, connections: Sequence[Connection] = (), parent: Any = None) -> None:
        super().__init__(parent)
        self._connections: list[Connection] = list(connections)
        self._live_ids: frozenset[str] = frozenset()

    def set_live_ids(self, ids: Collection[str]) -> None:
        """Mark the connections `ids` as live (the others not)."""
        new = frozenset(ids)
        if new == self._live_ids:
            return
        self._live_ids = new
        if self._connections:
            self.dataChanged.emit(
                self.index(0, 0),
                self.index(len(self._connections) - 1, 0),
                [self.LiveRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole],
            )

    def live_ids(self) -> frozenset[str]:
        return self._live_ids

    def set_connections(self, connections: Sequence[Connection]) -> None:
        self.beginResetModel()
        self._connections = list(connections)
        self.endResetModel()

    def connections(self) -> list[Connection]:
        return list(self._connections)

    def connection(self, row: int) -> Connection | None:
        if 0 <= row < len(self._connections):
            return self._connections[row]
        return None

    def row_of(self, connection_id: str) -> int:
        """The row of the connection `connection_id`, or -1."""
        for row, connection in enumerate(self._connections):
            if connection.id == connection_id:
                return row
        return -1

    # -- QAbstractListModel ------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's default
        if parent.isValid():
            return 0
        return len(self._connections)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        connection = self.connection(index.row())
        if connection is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return connection.name
        live = connection.id in self._live_ids
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(
                f"{connection.name}\n{apps_text(connection)}\n{state_text(connection)}\n"
                f"id: {connection.id}" + ("\nLive: followed from the sync service" if live else "")
            )
        if role == Qt.ItemDataRole.AccessibleTextRole:
            text = f"{connection.name}, {apps_text(connection)}, {state_text(connection)}"
            return f"{text}, live" if live else text
        if role == self.ConnectionRole:
            return connection
        if role == self.IdRole:
            return connection.id
        if role == self.AppsRole:
            return apps_text(connection)
        if role == self.BadgeRole:
            return PHASE_BADGES[connection.state.phase]
        if role == self.LiveRole:
            return live
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )


class ConnectionDelegate(QStyledItemDelegate):
    """Two lines per connection: the name in bold, the apps below it; the state's badge on
    the right. Text is drawn with QPainter.drawText: always plain, elided to fit."""

    _PAD = 8
    _GAP = 3

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        metrics = QFontMetrics(option.font)
        height = 2 * metrics.height() + self._GAP + 2 * self._PAD
        return QSize(200, height)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget: QWidget | None = opt.widget
        style = widget.style() if widget is not None else None
        painter.save()
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        palette: QPalette = opt.palette
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        rect: QRect = opt.rect.adjusted(self._PAD, self._PAD, -self._PAD, -self._PAD)

        badge = index.data(ConnectionListModel.BadgeRole)
        base_font = QFont(opt.font)
        badge_font = QFont(base_font)
        badge_font.setPointSizeF(max(base_font.pointSizeF() * 0.85, 6.0))
        badge_font.setBold(True)
        badge_metrics = QFontMetrics(badge_font)
        badge_width = badge_metrics.horizontalAdvance(badge.text) + 14 if badge else 0
        badge_height = badge_metrics.height() + 4
        metrics = QFontMetrics(base_font)
        live = bool(index.data(ConnectionListModel.LiveRole))
        live_width = badge_metrics.horizontalAdvance(LIVE_TEXT) + 6 if live else 0

        name_font = QFont(base_font)
        name_font.setBold(True)
        name_metrics = QFontMetrics(name_font)
        text_right = rect.right() - (badge_width + 8 if badge else 0) - live_width
        name_rect = QRect(rect.left(), rect.top(), text_right - rect.left(), name_metrics.height())
        name = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        painter.setFont(name_font)
        painter.setPen(palette.color(text_role))
        painter.drawText(
            name_rect,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            name_metrics.elidedText(name, Qt.TextElideMode.ElideRight, name_rect.width()),
        )

        apps = str(index.data(ConnectionListModel.AppsRole) or "")
        apps_rect = QRect(
            rect.left(),
            name_rect.bottom() + 1 + self._GAP,
            rect.width(),
            metrics.height(),
        )
        painter.setFont(base_font)
        muted = palette.color(text_role)
        if not selected:
            muted = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.PlaceholderText)
        painter.setPen(muted)
        painter.drawText(
            apps_rect,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            metrics.elidedText(apps, Qt.TextElideMode.ElideRight, apps_rect.width()),
        )

        if badge:
            badge_rect = QRect(
                rect.right() - badge_width + 1,
                name_rect.center().y() - badge_height // 2,
                badge_width,
                badge_height,
            )
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            colours = tone(badge.tone, palette)
            painter.setBrush(QColor(colours.background))
            painter.drawRoundedRect(badge_rect, badge_height / 2, badge_height / 2)
            painter.setFont(badge_font)
            painter.setPen(QColor(colours.foreground))
            painter.drawText(badge_rect, int(Qt.AlignmentFlag.AlignCenter), badge.text)
        if live:
            right = rect.right() - (badge_width + 4 if badge else 0)
            live_rect = QRect(
                right - live_width + 1, name_rect.top(), live_width, name_rect.height()
            )
            painter.setFont(badge_font)
            live_colour = QColor(tone("success", palette).foreground)
            painter.setPen(palette.color(text_role) if selected else live_colour)
            painter.drawText(
                live_rect,
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                LIVE_TEXT,
            )
        painter.restore()

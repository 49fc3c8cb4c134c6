"""The search bar: type a name, an email or an app record id, choose a contact.

A line edit and, under it, a popup of results (`SearchResultsModel`), each with the
contact's status icon on the right. Typing is debounced (`DEBOUNCE_MS`); Up/Down move
through the results, Enter or a click chooses one, Escape closes the popup (a second
Escape clears the text). The line edit keeps the keyboard focus all along: the popup is a
window that never takes it, so typing goes on while results show.
"""

from __future__ import annotations

from typing import Any, Final

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QFont, QFontMetrics, QKeyEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from healthdesk.core.contacts import ContactView
from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection
from healthdesk.ui.operations import Operations
from healthdesk.ui.search.search_model import SearchResultsModel
from healthdesk.ui.style import mute, text_colour

__all__ = ["DEBOUNCE_MS", "PLACEHOLDER", "ResultDelegate", "SearchBar", "no_match_text"]

#: Quiet time after the last keystroke before a search runs.
DEBOUNCE_MS: Final = 250
PLACEHOLDER: Final = "Search name, email or app id  (Ctrl+F)"
#: Results visible in the popup without scrolling.
_VISIBLE_ROWS: Final = 8
_MIN_POPUP_WIDTH: Final = 460
_ICON: Final = 20
_PAD: Final = 8

_AnyIndex = QModelIndex | QPersistentModelIndex


def no_match_text(text: str) -> str:
    return f"No contact matches \u201c{text.strip()}\u201d"


def footer_text(shown: int, total: int, *, more: bool = False) -> str:
    """Under the results: how many there are, and whether the list is cut. `more`: more
    than `total` contacts match (a short query matching very many is not counted out)."""
    if total == 0:
        return ""
    if more:
        return (
            f"First {shown:,} of more than {total:,} contacts \u2013 type more to narrow the search"
        )
    if shown < total:
        return f"First {shown:,} of {total:,} contacts \u2013 type more to narrow the search"
    return "1 contact" if total == 1 else f"{total:,} contacts"


class ResultDelegate(QStyledItemDelegate):
    """A result in two lines, name and email over the app ids, with the status icon and
    its word on the right. Everything is drawn as plain text."""

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont, QFont]:
        base = QFont(option.font)
        bold = QFont(base)
        bold.setBold(True)
        small = QFont(base)
        small.setPointSizeF(max(base.pointSizeF() * 0.9, 7.0))
        return base, bold, small

    def sizeHint(self, option: QStyleOptionViewItem, index: _AnyIndex) -> QSize:
        _base, bold, small = self._fonts(option)
        height = QFontMetrics(bold).height() + QFontMetrics(small).height() + 2 * _PAD + 2
        return QSize(_MIN_POPUP_WIDTH, max(height, _ICON + 2 * _PAD))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _AnyIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget = opt.widget
        style = widget.style() if widget is not None else None
        rect: QRect = opt.rect
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        palette: QPalette = opt.palette
        base, bold, small = self._fonts(opt)
        title = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        ids = str(index.data(SearchResultsModel.IdsRole) or "")
        status = str(index.data(SearchResultsModel.StatusTextRole) or "")
        contact = index.data(SearchResultsModel.ContactRole)

        painter.save()
        try:
            if style is not None:
                style.drawPrimitive(
                    QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter, widget
                )
            text_color = palette.color(
                QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
            )
            muted = text_color if selected else palette.color(QPalette.ColorRole.PlaceholderText)
            inner = rect.adjusted(_PAD + 2, _PAD, -_PAD - 2, -_PAD)

            # Right: the status icon, and its word left of it.
            icon = opt.icon
            icon_rect = QRect(
                inner.right() - _ICON + 1, rect.center().y() - _ICON // 2 + 1, _ICON, _ICON
            )
            if not icon.isNull():
                icon.paint(painter, icon_rect)
            small_metrics = QFontMetrics(small)
            status_width = small_metrics.horizontalAdvance(status)
            status_rect = QRect(
                icon_rect.left() - 6 - status_width, inner.top(), status_width, inner.height()
            )
            painter.setFont(small)
            painter.setPen(muted)
            painter.drawText(
                status_rect,
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                status,
            )

            # Left: "Name <email>" (the name bold) over the app ids.
            text_right = status_rect.left() - 12
            bold_metrics = QFontMetrics(bold)
            line1 = QRect(
                inner.left(), inner.top(), text_right - inner.left(), bold_metrics.height()
            )
            name = contact.name if isinstance(contact, ContactView) else title
            email = contact.email if isinstance(contact, ContactView) else ""
            if not name:  # only an email (or neither): the title says it as it is
                name, email = title, ""
            painter.setPen(text_color)
            painter.setFont(bold)
            shown_name = bold_metrics.elidedText(name, Qt.TextElideMode.ElideRight, line1.width())
            painter.drawText(
                line1, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), shown_name
            )
            used = bold_metrics.horizontalAdvance(shown_name)
            if email and shown_name == name:
                base_metrics = QFontMetrics(base)
                rest = line1.adjusted(used, 0, 0, 0)
                painter.setFont(base)
                painter.setPen(muted)
                painter.drawText(
                    rest,
                    int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                    base_metrics.elidedText(
                        f"  <{email}>", Qt.TextElideMode.ElideRight, rest.width()
                    ),
                )
            line2 = QRect(inner.left(), line1.bottom() + 3, line1.width(), small_metrics.height())
            painter.setFont(small)
            painter.setPen(muted)
            painter.drawText(
                line2,
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                small_metrics.elidedText(ids, Qt.TextElideMode.ElideRight, line2.width()),
            )
        finally:
            painter.restore()


class _Popup(QFrame):
    """The results under the line edit: an overlay over the bar's window (a child widget,
    so that it never takes the activation or the keyboard focus from the line edit)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("search_popup")
        self.setFrameShape(QFrame.Shape.Box)
        self.setFrameShadow(QFrame.Shadow.Plain)
        self.setAutoFillBackground(True)
        text_colour(self, lambda palette: palette.color(QPalette.ColorRole.Mid))  # the frame

        self.view = QListView()
        self.view.setObjectName("search_results")
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.view.setFrameShape(QFrame.Shape.NoFrame)
        self.view.setUniformItemSizes(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setMouseTracking(True)
        self.view.setItemDelegate(ResultDelegate(self.view))

        self.footer = QLabel()
        self.footer.setObjectName("search_footer")
        self.footer.setTextFormat(Qt.TextFormat.PlainText)
        self.footer.setContentsMargins(_PAD + 2, 5, _PAD + 2, 6)
        mute(self.footer)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(1, 1, 1, 1)
        layout.setSpacing(0)
        layout.addWidget(self.view)
        layout.addWidget(self.footer)


class SearchBar(QWidget):
    """Search the contacts of one connection as you type; choose one to open it.

    Signals:
        contact_chosen(object): the `ContactView` chosen (Enter or a click on a result).

    Attributes:
        line_edit: where the text is typed.
        model: the `SearchResultsModel` of the results.
        popup: the results window; `results_view` its list, `footer` the line under it
            ("First 50 of 1,234 contacts", "No contact matches “…”").
    """

    contact_chosen = Signal(object)

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Engine | None,
        connection: Connection | None,
        catalog: Catalog,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("search_bar")
        self.line_edit = QLineEdit()
        self.line_edit.setObjectName("search_edit")
        self.line_edit.setPlaceholderText(PLACEHOLDER)
        self.line_edit.setAccessibleName("Search contacts")
        self.line_edit.setClearButtonEnabled(True)
        self.line_edit.installEventFilter(self)
        self.line_edit.textEdited.connect(self._on_line_edit_text_edited)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.line_edit)

        self.model = SearchResultsModel(
            operations=operations,
            engine=engine,
            connection=connection,
            catalog=catalog,
            parent=self,
        )
        self.model.finished.connect(self._on_model_finished)
        self.model.failed.connect(self._on_model_failed)

        self.popup = _Popup(self)
        self.results_view = self.popup.view
        self.footer = self.popup.footer
        self.results_view.setModel(self.model)
        self.results_view.clicked.connect(self._on_results_view_clicked)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._on_debounce_timeout)
        #: Enter was pressed before the results of the text were in: choose on arrival.
        self._choose_on_arrival = False
        #: The window the popup floats over (set when the bar is shown).
        self._host: QWidget | None = None
        self.setEnabled(connection is not None)

    # ------------------------------------------------------------------ public API

    def set_connection(self, engine: Engine | None, connection: Connection | None) -> None:
        """Search another connection from now on: the text and the results are cleared."""
        self._debounce.stop()
        self._choose_on_arrival = False
        self.line_edit.clear()
        self.hide_popup()
        self.model.set_connection(engine, connection)
        self.setEnabled(connection is not None)

    @Slot()
    def focus_search(self) -> None:
        """Put the cursor in the search field, its text selected (Ctrl+F)."""
        self.line_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.line_edit.selectAll()
        if self.line_edit.text().strip() and self.model.query == self.line_edit.text():
            self.show_popup()

    def search(self, text: str) -> None:
        """Set the text and search it now, without the typing delay (screenshots, links)."""
        self.line_edit.setText(text)
        self._debounce.stop()
        self._run(text)

    def show_popup(self) -> None:
        if not self.line_edit.text().strip():
            return
        self._place_popup()
        self.popup.show()
        self.popup.raise_()  # a child widget: above its siblings (no window is raised)

    def hide_popup(self) -> None:
        self.popup.hide()

    def popup_visible(self) -> bool:
        return self.popup.isVisible()

    def choose(self, row: int) -> None:
        """Choose the result at `row`: the popup closes and `contact_chosen` is emitted."""
        contact = self.model.contact_at(row)
        if contact is None:
            return
        self.hide_popup()
        self.contact_chosen.emit(contact)

    # ------------------------------------------------------------------ events

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Qt may still deliver events (to the window's filter) while Python tears the bar
        # down and its attributes are gone: then there is nothing to do.
        line_edit = getattr(self, "line_edit", None)
        host = getattr(self, "_host", None)
        if line_edit is None:
            return False
        if watched is line_edit:
            if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
                return self._on_key(event)
            if event.type() == QEvent.Type.FocusOut:
                self.hide_popup()
        elif watched is host and event.type() == QEvent.Type.Resize and self.popup.isVisible():
            self._place_popup()
        return super().eventFilter(watched, event)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        # The popup floats over the bar's window, above its other widgets.
        host = self.window()
        if host is not self._host:
            if self._host is not None:
                self._host.removeEventFilter(self)
            self._host = host
            self.popup.setParent(host)
            self.popup.hide()
            host.installEventFilter(self)

    def hideEvent(self, event: Any) -> None:
        # Also sent while Python tears the bar down (its attributes gone): nothing to hide.
        popup = getattr(self, "popup", None)
        if popup is not None:
            popup.hide()
        super().hideEvent(event)

    def _on_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        rows = self.model.rowCount()
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
            if rows == 0:
                return key in (Qt.Key.Key_Down, Qt.Key.Key_Up)
            if not self.popup.isVisible():
                self.show_popup()
                return True
            current = self.results_view.currentIndex().row()
            step = {
                Qt.Key.Key_Down: 1,
                Qt.Key.Key_Up: -1,
                Qt.Key.Key_PageDown: _VISIBLE_ROWS,
                Qt.Key.Key_PageUp: -_VISIBLE_ROWS,
            }[Qt.Key(key)]
            self._set_current(max(0, min(rows - 1, current + step)))
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if self.pending():
                # The results of what was typed are not in yet: choose when they are.
                self._choose_on_arrival = True
                if self._debounce.isActive():
                    self._debounce.stop()
                    self._run(self.line_edit.text())
                return True
            if rows:
                current = self.results_view.currentIndex().row()
                self.choose(current if current >= 0 else 0)
            return True
        if key == Qt.Key.Key_Escape:
            if self.popup.isVisible():
                self.hide_popup()
                return True
            if self.line_edit.text():
                self.line_edit.clear()
                self._debounce.stop()
                self._run("")
                return True
        return False

    def pending(self) -> bool:
        """Whether the results of what was typed are not in yet: a search waits for the
        typing to pause, or runs."""
        return self._debounce.isActive() or self.model.busy

    # ------------------------------------------------------------------ internals

    def _run(self, text: str) -> None:
        self.model.set_query(text)

    def _set_current(self, row: int) -> None:
        index = self.model.index(row, 0)
        self.results_view.setCurrentIndex(index)
        self.results_view.scrollTo(index)

    def _place_popup(self) -> None:
        """Under the line edit, as wide (at least `_MIN_POPUP_WIDTH`) and as tall as the
        results need, within the window."""
        host = self.popup.parentWidget() or self
        top_left = self.line_edit.mapTo(host, QPoint(0, self.line_edit.height() + 2))
        width = min(max(self.line_edit.width(), _MIN_POPUP_WIDTH), host.width() - 8)
        x = max(4, min(top_left.x(), host.width() - width - 4))
        footer_height = self.footer.sizeHint().height() if self.footer.text() else 0
        self.footer.setVisible(bool(self.footer.text()))
        rows = self.model.rowCount()
        row_height = self.results_view.sizeHintForRow(0) if rows else 0
        room = host.height() - top_left.y() - footer_height - 8
        shown = min(rows, _VISIBLE_ROWS, max(1, room // row_height) if row_height else 0)
        list_height = row_height * shown
        self.results_view.setVisible(rows > 0)
        self.results_view.setFixedHeight(list_height)
        self.popup.setFixedSize(width, list_height + footer_height + 2)
        self.popup.move(x, top_left.y())

    @Slot(str)
    def _on_line_edit_text_edited(self, text: str) -> None:
        self._choose_on_arrival = False
        if not text.strip():
            self._debounce.stop()
            self._run("")
            return
        self._debounce.start()

    @Slot()
    def _on_debounce_timeout(self) -> None:
        self._run(self.line_edit.text())

    @Slot(int)
    def _on_model_finished(self, total: int) -> None:
        text = self.model.query
        if not text.strip():
            self.footer.setText("")
            self.hide_popup()
            return
        rows = self.model.rowCount()
        self.footer.setText(
            footer_text(rows, total, more=self.model.more) if rows else no_match_text(text)
        )
        if rows:
            self._set_current(0)
        if self._choose_on_arrival:
            self._choose_on_arrival = False
            if rows:
                self.choose(0)
                return
        if self.isVisible():
            self.show_popup()

    @Slot(str)
    def _on_model_failed(self, message: str) -> None:
        self._choose_on_arrival = False
        self.footer.setText(f"The search failed: {message}")
        if self.isVisible():
            self.show_popup()

    @Slot(QModelIndex)
    def _on_results_view_clicked(self, index: QModelIndex) -> None:
        self.choose(index.row())

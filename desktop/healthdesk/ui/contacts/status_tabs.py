"""One tab per status (In sync, Excluded, Duplicates, Failing, Pending), each a table over
the database, its title carrying the exact count of its rows: "In sync (1,234)".

The tables are `ContactTableModel`s (exact row count, rows fetched in windows, sorted in
SQL); this module arranges them, titles them, remembers their column widths, shows an
empty state when a list is empty, and reads them again when the connection's data
changes (`Operations.changed`), keeping the user's selection, current row and scroll.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QByteArray,
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QSettings,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from healthdesk.core.failures import Catalog
from healthdesk.core.model import STATUS_ORDER, Connection, Status
from healthdesk.core.words import STATUS_LABELS
from healthdesk.store.pages import ContactFilter
from healthdesk.ui.contacts.table_model import ContactTableModel
from healthdesk.ui.icons import status_icon
from healthdesk.ui.keyboard import tab_leaves
from healthdesk.ui.operations import Operations
from healthdesk.ui.style import PALETTE_EVENTS, tone
from healthdesk.ui.text import plain_label, plain_tooltip

#: What an empty list says, so that an empty tab reads as good news, not as a bug.
EMPTY_TEXTS = {
    Status.IN_SYNC: "No contact is in sync yet.",
    Status.EXCLUDED: "No contact is excluded: every contact matches the rules.",
    Status.DUPLICATE: "No duplicates: no two contacts of one app share an email.",
    Status.FAILING: "No contact is failing: no last write was refused.",
    Status.PENDING: "Nothing is waiting for its first sync.",
}
_FILTERED_EMPTY = "No failing contact has this failure reason any more."
#: At most this many selected rows are selected again after the data changed.
MAX_RESELECT = 200
#: The other lists of a connection are read once the shown one has painted its rows, or
#: after this long (ms) if it does not paint (a window not on screen).
PAINT_WAIT_MS = 100


def tab_title(status: Status, count: int, total: int | None = None) -> str:
    """ "In sync (1,234)"; a filtered list: "Failing (15 of 49)"."""
    if total is None:
        return f"{STATUS_LABELS[status]} ({count:,})"
    return f"{STATUS_LABELS[status]} ({count:,} of {total:,})"


class ContactTable(QTableView):
    """A table of contacts: whole rows selected, long text elided (whole in the tool tip).

    Its columns are sized to fit its width ("automatic widths") until the user resizes
    one; from then on it keeps the user's widths, which `StatusTabs` remembers.

    Signals:
        copy_requested(): the user pressed the Copy key here (the window copies the rows).
        widths_changed(): the user resized a column.
    """

    copy_requested = Signal()
    widths_changed = Signal()

    def __init__(self, *, parent: Any = None) -> None:
        super().__init__(parent)
        self._auto_widths = True
        self._applying = False
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        tab_leaves(self)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        self.setSortingEnabled(True)
        self.setShowGrid(False)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # Always there: shown as the first rows arrive, it narrowed the viewport, which
        # overflowed the columns sized to fit, and the table was laid out and painted
        # three times (and a horizontal bar came and went) instead of once.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        vertical = self.verticalHeader()
        vertical.setVisible(False)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        vertical.setMinimumSectionSize(self.fontMetrics().height() + 4)
        header = self.horizontalHeader()
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setDefaultSectionSize(150)
        header.setMinimumSectionSize(40)
        header.sectionResized.connect(self._on_header_section_resized)

    def auto_widths(self) -> bool:
        """Whether the columns are sized automatically (the user has resized none)."""
        return self._auto_widths

    def set_contact_model(self, model: QAbstractItemModel, widths: QByteArray | None) -> None:
        """Show `model` with the column widths saved in `widths` (a header state), or
        automatic widths when there are none (or they do not fit this model)."""
        header = self.horizontalHeader()
        self._applying = True
        try:
            self.setModel(model)
            restored = widths is not None and not widths.isEmpty() and header.restoreState(widths)
        finally:
            self._applying = False
        self._auto_widths = not restored
        self._apply_default_widths()
        self.show_sort_indicator()

    def show_sort_indicator(self) -> None:
        """Put the header's sort arrow on the column the model is really sorted by.

        Signals are blocked: the arrow follows the model's order here, it must not re-sort.
        """
        model = self.model()
        column = getattr(model, "sort_column", -1)
        descending = bool(getattr(model, "descending", False))
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        header = self.horizontalHeader()
        blocked = header.blockSignals(True)
        try:
            header.setSortIndicator(column, order)
        finally:
            header.blockSignals(blocked)

    def _apply_default_widths(self) -> None:
        model = self.model()
        available = self.viewport().width()
        if model is None or not self._auto_widths or available < 100:
            return  # not laid out yet: resizeEvent comes back
        titles = [
            str(model.headerData(c, Qt.Orientation.Horizontal) or "")
            for c in range(model.columnCount())
        ]
        header = self.horizontalHeader()
        self._applying = True
        try:
            for column, width in enumerate(default_widths(titles, available)):
                header.resizeSection(column, width)
        finally:
            self._applying = False

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if hasattr(self, "_auto_widths"):  # not while Python tears the table down
            self._apply_default_widths()

    @Slot(int, int, int)
    def _on_header_section_resized(self, section: int, _old: int, _new: int) -> None:
        if self._applying or self.model() is None:
            return
        header = self.horizontalHeader()
        last = header.logicalIndex(header.count() - 1)
        if header.stretchLastSection() and section == last:
            return  # Qt filling the table's width, not the user
        self._auto_widths = False
        self.widths_changed.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_requested.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def selected_rows(self) -> list[int]:
        """The selected rows in order; the current row when none is selected."""
        selection = self.selectionModel()
        rows = sorted({index.row() for index in selection.selectedRows()}) if selection else []
        if not rows and self.currentIndex().isValid():
            rows = [self.currentIndex().row()]
        return rows


class _FilterBar(QFrame):
    """Above the Failing list while a failure reason filters it: what filters, and a way out."""

    cleared = Signal()

    def __init__(self, *, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("failing_filter_bar")
        self._paint()
        self.label = plain_label()
        self.label.setWordWrap(False)
        self.label.setMinimumWidth(50)
        button = QPushButton("Show all failing")
        button.setObjectName("show_all_failing")
        button.clicked.connect(self.cleared)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 3, 4, 3)
        layout.addWidget(self.label, 1)
        layout.addWidget(button)

    def _paint(self) -> None:
        colours = tone("warning")
        sheet = (
            f"QFrame#failing_filter_bar {{ background: {colours.background};"
            f" border-radius: 4px; }}"
            f"QFrame#failing_filter_bar QLabel {{ color: {colours.foreground}; }}"
        )
        if self.styleSheet() != sheet:
            self.setStyleSheet(sheet)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in PALETTE_EVENTS:
            self._paint()  # the colours of the scheme now shown

    def set_text(self, text: str) -> None:
        metrics = self.label.fontMetrics()
        self.label.setText(metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, 900))
        self.label.setToolTip(plain_tooltip(text))


class _StatusPage(QWidget):
    """One tab: the table, or an empty state when the list is empty."""

    def __init__(self, *, status: Status, parent: Any = None) -> None:
        super().__init__(parent)
        self.status = status
        self.view = ContactTable()
        self.view.setObjectName(f"table_{status.value}")
        self.view.setAccessibleName(f"{STATUS_LABELS[status]} contacts")
        self.empty = QLabel(EMPTY_TEXTS[status])
        self.empty.setObjectName(f"empty_{status.value}")
        self.empty.setTextFormat(Qt.TextFormat.PlainText)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: palette(mid); font-size: 13pt; padding: 24px;")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.empty)
        self.filter_bar = _FilterBar() if status is Status.FAILING else None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(4)
        if self.filter_bar is not None:
            self.filter_bar.hide()
            layout.addWidget(self.filter_bar)
        layout.addWidget(self.stack, 1)

    def show_empty(self, empty: bool, *, filtered: bool = False) -> None:
        self.empty.setText(_FILTERED_EMPTY if filtered else EMPTY_TEXTS[self.status])
        self.stack.setCurrentWidget(self.empty if empty else self.view)


class _PaintWatch(QObject):
    """Tells once when the widget watched has painted (`painted`, in the next turn of the
    loop, after the paint), or PAINT_WAIT_MS after `watch` if it never paints."""

    painted = Signal()

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._watched: QWidget | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer_timeout)

    def watch(self, widget: QWidget | None) -> None:
        """Watch `widget` (None: nothing) instead of the widget watched until now."""
        if self._watched is not None:
            self._watched.removeEventFilter(self)
        self._watched = widget
        if widget is None:
            self._timer.stop()
            return
        widget.installEventFilter(self)
        self._timer.start(PAINT_WAIT_MS)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._watched and event.type() == QEvent.Type.Paint:
            self._timer.stop()
            self._timer.start(0)
        return False

    @Slot()
    def _on_timer_timeout(self) -> None:
        self.watch(None)
        self.painted.emit()


class StatusTabs(QTabWidget):
    """The five status lists of one connection.

    Signals:
        counts_changed(): a tab's count changed (the titles are up to date).
        contact_activated(int): a row was double-clicked or Enter pressed: the contact key.
        copy_requested(): Copy was pressed in a table.
        failing_filter_cleared(): the user asked to show every failing contact again.
        load_failed(str): a table could not read rows (the database's message).
    """

    counts_changed = Signal()
    contact_activated = Signal(int)
    copy_requested = Signal()
    failing_filter_cleared = Signal()
    load_failed = Signal(str)

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Engine,
        catalog: Catalog,
        settings: QSettings,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("status_tabs")
        # Tab stops at the tab bar, not at the container. As a stop (the bar its focus
        # proxy) the container, first in the window's focus chain, took Tab from the
        # window's last widget past the first. Its policy passes to the bar: set again.
        self.setFocusProxy(None)  # type: ignore[arg-type]  # None: no proxy
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tabBar().setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.setDocumentMode(True)
        self.setUsesScrollButtons(True)
        self._operations = operations
        self._engine = engine
        self._catalog = catalog
        self._settings = settings
        #: Per list being read again: the selection to put back (keys, current, scroll).
        self._keep: dict[Status, tuple[list[int], int | None, int]] = {}
        operations.changed.connect(self._on_operations_changed)
        self._connection: Connection | None = None
        self._pages: dict[Status, _StatusPage] = {}
        self._models: dict[Status, ContactTableModel] = {}
        self._counts: dict[Status, int] = dict.fromkeys(STATUS_ORDER, 0)
        self._totals: dict[Status, int] = {}
        self._failing_filter: ContactFilter | None = None
        #: Models of the connection shown whose lists wait for the shown one's (set_connection),
        #: and the one of them being read now (they are read one at a time).
        self._unread: list[ContactTableModel] = []
        self._reading: ContactTableModel | None = None
        self._paint_watch = _PaintWatch(self)
        self._paint_watch.painted.connect(self._read_next)
        self._compact = False
        for status in STATUS_ORDER:
            page = _StatusPage(status=status)
            page.view.copy_requested.connect(self.copy_requested)
            page.view.activated.connect(self._on_view_activated)
            page.view.widths_changed.connect(self._on_view_widths_changed)
            if page.filter_bar is not None:
                page.filter_bar.cleared.connect(self.failing_filter_cleared)
            self._pages[status] = page
            self.addTab(page, status_icon(status), tab_title(status, 0))
        self.currentChanged.connect(self._on_current_changed)
        self._update_titles()

    # -- access ---------------------------------------------------------------------------

    def connection(self) -> Connection | None:
        return self._connection

    def view(self, status: Status) -> ContactTable:
        return self._pages[status].view

    def page(self, status: Status) -> QWidget:
        return self._pages[status]

    def model(self, status: Status) -> ContactTableModel | None:
        return self._models.get(status)

    def row_count(self, status: Status) -> int:
        """The number of rows of the list of `status`, as its title says."""
        return self._counts[status]

    def current_status(self) -> Status:
        return STATUS_ORDER[max(self.currentIndex(), 0)]

    def set_current_status(self, status: Status) -> None:
        self.setCurrentIndex(STATUS_ORDER.index(status))

    def current_view(self) -> ContactTable:
        return self.view(self.current_status())

    def failing_filter(self) -> ContactFilter | None:
        """The failure reason the Failing list is narrowed to, or None."""
        return self._failing_filter

    def set_context_actions(self, actions: Iterable[QAction]) -> None:
        """The actions of the tables' context menu (Copy, Copy Email, Copy ID…)."""
        actions = list(actions)
        for page in self._pages.values():
            for action in page.view.actions():
                page.view.removeAction(action)
            page.view.addActions(actions)

    # -- changes --------------------------------------------------------------------------

    def set_connection(self, connection: Connection | None) -> None:
        """Show the lists of `connection` (new models; the column widths are kept).

        The shown list is read first and alone; the others once it has painted its rows,
        one at a time (a list whose tab is shown meanwhile at once). Read all at once, the
        five lists shared the two cores of a small laptop with the GUI thread, and the
        rows the agent looks at came later.
        """
        self.save_state()
        old = self._models
        self._models = {}
        self._stop_reading_unread()
        self._connection = connection
        self._failing_filter = None
        self._totals = {}
        shown = self.current_status()
        for status, page in self._pages.items():
            if page.filter_bar is not None:
                page.filter_bar.hide()
            if connection is None:
                page.view.setModel(None)
                self._counts[status] = 0
                page.show_empty(True)
                continue
            model = ContactTableModel(
                operations=self._operations,
                engine=self._engine,
                connection=connection,
                filter=ContactFilter(status),
                catalog=self._catalog,
                parent=self,
                read=status is shown,
            )
            model.count_changed.connect(self._on_model_count_changed)
            model.reloaded.connect(self._on_model_reloaded)
            model.load_failed.connect(self._on_model_load_failed)
            self._models[status] = model
            if status is not shown:
                self._unread.append(model)
            self._set_view_model(page.view, model, status)
            self._counts[status] = model.rowCount()
        self._keep.clear()
        for model in old.values():
            model.count_changed.disconnect(self._on_model_count_changed)
            model.reloaded.disconnect(self._on_model_reloaded)
            model.load_failed.disconnect(self._on_model_load_failed)
            model.deleteLater()
        self._update_titles()
        first = self._models.get(shown)
        if first is not None and (first.is_loaded or first.load_error is not None):
            self._read_next()  # answered at once (an inline runner)

    def _set_view_model(self, view: ContactTable, model: ContactTableModel, status: Status) -> None:
        previous = view.selectionModel()
        state = self._settings.value(_header_key(status))
        view.set_contact_model(model, state if isinstance(state, QByteArray) else None)
        if previous is not None:
            previous.deleteLater()

    def refresh(self) -> None:
        """Read the lists again (the data changed): counts and rows. Each table keeps its
        selected contacts (at most MAX_RESELECT), its current one and its scroll, and shows
        the new list whole, with no placeholder, in one step."""
        self._stop_reading_unread()
        for status, model in self._models.items():
            view = self._pages[status].view
            keys, current = _selected_keys(view, model)
            self._keep[status] = (keys, current, view.verticalScrollBar().value())
            top = view.rowAt(0)
            bottom = view.rowAt(max(view.viewport().height() - 1, 0))
            shown = [] if top < 0 else [top, bottom if bottom >= 0 else top]
            model.reload(keep=[*keys, *([current] if current is not None else [])], rows=shown)

    def set_totals(self, totals: dict[Status, int]) -> None:
        """The unfiltered counts (store.queries.counts), for "Failing (15 of 49)"; a list
        not read yet (set_connection reads them one after another) is titled with its
        count from here until it is read."""
        self._totals = dict(totals)
        for status, model in self._models.items():
            filtered = status is Status.FAILING and self._failing_filter is not None
            unread = not model.is_loaded and model.load_error is None
            if unread and not filtered and status in totals:
                self._counts[status] = totals[status]
        self._update_titles()

    def set_failing_filter(
        self, contact_filter: ContactFilter | None, description: str = ""
    ) -> None:
        """Narrow the Failing list to a failure reason (None: every failing contact)."""
        model = self._models.get(Status.FAILING)
        self._failing_filter = contact_filter
        bar = self._pages[Status.FAILING].filter_bar
        assert bar is not None
        if contact_filter is None:
            bar.hide()
        else:
            bar.set_text(f"Only failing contacts of: {description}" if description else "Filtered")
            bar.show()
        if model is not None:
            self._keep.pop(Status.FAILING, None)
            model.set_filter(contact_filter or ContactFilter(Status.FAILING))
        self._update_titles()

    def save_state(self) -> None:
        """Remember the column widths (and sort column) of each table the user sized."""
        for status, page in self._pages.items():
            if page.view.model() is not None and not page.view.auto_widths():
                self._save_view(status)

    def _save_view(self, status: Status) -> None:
        header = self._pages[status].view.horizontalHeader()
        self._settings.setValue(_header_key(status), header.saveState())

    # -- slots ----------------------------------------------------------------------------

    @Slot(str)
    def _on_operations_changed(self, connection_id: str) -> None:
        if self._connection is not None and connection_id == self._connection.id:
            self.refresh()

    @Slot(object)
    def _on_model_reloaded(self, positions: dict[int, int]) -> None:
        model = self.sender()
        status = self._status_of(model)
        if status is not None:
            candidate = self._models[status]
            self._counts[status] = candidate.rowCount()
            keep = self._keep.pop(status, None)
            if keep is not None:
                _restore_selection(self._pages[status].view, candidate, positions, *keep)
        self._update_titles()
        self._on_answered(model)

    @Slot(str)
    def _on_model_load_failed(self, message: str) -> None:
        model = self.sender()
        status = self._status_of(model)
        if status is not None and not self._models[status].is_loaded:
            # No list: its count (none), not the summary's.
            self._counts[status] = self._models[status].rowCount()
        self._update_titles()
        self.load_failed.emit(message)
        self._on_answered(model)

    def _status_of(self, model: QObject) -> Status | None:
        """The list `model` shows (None: a model of a connection no longer shown)."""
        return next((s for s, m in self._models.items() if m is model), None)

    def _on_answered(self, model: QObject) -> None:
        """A list was read (or failed): the next one not read yet follows it, if it was
        the one read in turn, or, if it is the shown list, once it has painted."""
        if not self._unread:
            return
        if model is self._reading:
            self._read_next()
        elif self._reading is None and model is self._models.get(self.current_status()):
            self._read_unread_once_painted()

    @Slot(int)
    def _on_current_changed(self, _index: int) -> None:
        model = self._models.get(self.current_status())
        if model is not None:
            model.read_once()

    def _read_unread_once_painted(self) -> None:
        # Read sooner, the other lists' rows would be made while the shown one paints its
        # first rows, and its paint would wait on them for the GIL and a core.
        viewport = self.current_view().viewport()
        if viewport.isVisible():
            self._paint_watch.watch(viewport)
        else:
            self._read_next()

    @Slot()
    def _read_next(self) -> None:
        """Read the next list not read yet; its answer reads the one after (one at a time,
        so that the GUI thread is never short of a core)."""
        self._paint_watch.watch(None)
        while self._unread:
            # Before the read: an inline runner answers within it, and the answer must be
            # known as the awaited one to read the next.
            self._reading = self._unread.pop(0)
            if self._reading.read_once():
                return
        self._reading = None

    def _stop_reading_unread(self) -> None:
        self._paint_watch.watch(None)
        self._unread = []
        self._reading = None

    @Slot(int)
    def _on_model_count_changed(self, count: int) -> None:
        status = self._status_of(self.sender())
        if status is not None:
            self._counts[status] = count
        self._update_titles()

    @Slot(QModelIndex)
    def _on_view_activated(self, index: QModelIndex) -> None:
        model = self.model(self.current_status())
        if model is not None and index.isValid():
            key = model.contact_key(index.row())
            if key is not None:
                self.contact_activated.emit(key)

    @Slot()
    def _on_view_widths_changed(self) -> None:
        for status, page in self._pages.items():
            if page.view is self.sender():
                self._save_view(status)

    def full_titles(self) -> list[str]:
        """Each tab's title in full ("In sync (1,234)"), whatever the tabs show."""
        return list(self._titles)

    def compact(self) -> bool:
        """Whether the tabs show only their counts (too narrow for the full titles)."""
        return self._compact

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if hasattr(self, "_titles"):  # not while Python tears the tabs down
            self._show_titles()

    def _show_titles(self) -> None:
        # Full titles when they fit; else the counts alone (the icon says the status, the
        # tool tip the whole title): no tab hides behind scroll arrows on a laptop.
        metrics = self.tabBar().fontMetrics()
        padding = self.iconSize().width() + 36
        needed = sum(metrics.horizontalAdvance(title) + padding for title in self._titles)
        self._compact = needed > self.width()
        for index, title in enumerate(self._titles):
            self.setTabText(index, self._short[index] if self._compact else title)
            self.setTabToolTip(index, title)

    def _update_titles(self) -> None:
        self._titles = []
        self._short = []
        for status in STATUS_ORDER:
            count = self._counts[status]
            filtered = status is Status.FAILING and self._failing_filter is not None
            total = self._totals.get(status) if filtered else None
            self._titles.append(tab_title(status, count, total))
            self._short.append(f"{count:,}" if total is None else f"{count:,}/{total:,}")
            model = self._models.get(status)
            loaded = model is None or model.is_loaded
            self._pages[status].show_empty(loaded and count == 0, filtered=filtered)
        self._show_titles()
        self.counts_changed.emit()


def _selected_keys(
    view: QAbstractItemView, model: ContactTableModel
) -> tuple[list[int], int | None]:
    """The contact keys of the selected rows (at most MAX_RESELECT) and of the current row."""
    selection = view.selectionModel()
    if selection is None:
        return [], None
    rows = sorted({index.row() for index in selection.selectedRows()})
    keys = [k for k in (model.contact_key(row) for row in rows[:MAX_RESELECT]) if k is not None]
    current = view.currentIndex()
    return keys, model.contact_key(current.row()) if current.isValid() else None


def _restore_selection(
    view: QAbstractItemView,
    model: ContactTableModel,
    positions: dict[int, int],
    keys: list[int],
    current_key: int | None,
    scroll: int,
) -> None:
    """Select the contacts `keys` again at their new rows, and scroll back to `scroll`."""
    selection_model = view.selectionModel()
    if selection_model is not None and (keys or current_key is not None):
        selection = QItemSelection()
        last = model.columnCount() - 1
        for key in keys:
            row = positions.get(key)
            if row is not None:
                selection.select(model.index(row, 0), model.index(row, last))
        selection_model.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        row = positions.get(current_key) if current_key is not None else None
        if row is not None:
            selection_model.setCurrentIndex(
                model.index(row, 0), QItemSelectionModel.SelectionFlag.NoUpdate
            )
    view.doItemsLayout()  # the scroll bar's range of the new count, before its value
    view.verticalScrollBar().setValue(scroll)


def _header_key(status: Status) -> str:
    return f"tables/{status.value}/header"


#: First-start widths by header title (a title ending in " ID" is an app's id column), and
#: the least each may shrink to when the table is narrow.
_BASE_WIDTHS = {
    "app": (165, 105),
    "name": (190, 140),
    "email": (230, 160),
    "id": (130, 80),
    "since": (100, 90),
    "deleted": (160, 110),
    "reason": (150, 110),
    "original": (240, 160),
    "category": (180, 140),
    "message": (320, 180),
    "when": (155, 150),
}
_OTHER_WIDTH = (150, 100)
#: The column that takes the room left over, when the list has it.
_FLEXIBLE = "message"


def default_widths(titles: list[str], available: int) -> list[int]:
    """Widths of the columns titled `titles` in `available` pixels: the base widths, shrunk
    toward their minimums when narrow; the room left over goes to the message (failing)
    or to names and emails (the other lists)."""
    keys = ["id" if t.casefold().endswith(" id") else t.casefold() for t in titles]
    base = [_BASE_WIDTHS.get(key, _OTHER_WIDTH)[0] for key in keys]
    least = [_BASE_WIDTHS.get(key, _OTHER_WIDTH)[1] for key in keys]
    spare = available - sum(base)
    if spare < 0:
        room = available - sum(least)
        if room <= 0:
            return least
        give = room / max(sum(base) - sum(least), 1)
        return [low + int((high - low) * give) for high, low in zip(base, least, strict=True)]
    widths = list(base)
    if _FLEXIBLE in keys:
        widths[keys.index(_FLEXIBLE)] += spare
        return widths
    ids = [i for i, key in enumerate(keys) if key == "id"]
    for i, key in enumerate(keys):
        if key in ("name", "email"):
            widths[i] += int(spare * 0.25)
        elif key == "id":
            widths[i] += int(spare * 0.3 / len(ids))
    widths[-1] += available - sum(widths)  # the last column takes the rest
    return widths

"""The "Failure reasons" dock's content: the failure-reason tree of the shown connection,
and beside it what the chosen reason means and how to fix it.

It reads nothing: the window hands it each new `Summary` (`set_summary`). A new summary
of the same connection (a live page, an import) keeps the open nodes and the chosen
reason, quietly: the Failing list keeps its filter and its selection.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QTreeView, QVBoxLayout, QWidget

from healthdesk.core.failures import Catalog, Owner
from healthdesk.core.model import Connection
from healthdesk.store.queries import Summary
from healthdesk.ui.failures.tree_model import OWNER_COLUMN, FailureTreeModel
from healthdesk.ui.style import mute, plain_colour
from healthdesk.ui.text import plain_label

__all__ = ["PATH_SEPARATOR", "FailurePanel", "ReasonPanel"]

PATH_SEPARATOR = " \u203a "  # single right-pointing angle quotation mark
_HINT = "Choose a failure reason to list its contacts and see what it means and how to fix it."
_CATEGORY_HINT = "Choose a category below it to see what it means and how to fix it."


class ReasonPanel(QFrame):
    """Beside the failure-reason tree: what the selected reason means and how to fix it."""

    def __init__(self, *, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("reason_panel")
        self.title = plain_label()
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.explanation = plain_label()
        self.owner = plain_label(name="reason_owner")
        self.fix_heading = plain_label("How to fix it")
        mute(self.fix_heading)
        self.fix = plain_label()
        for label in (self.explanation, self.fix, self.fix_heading, self.owner):
            label.setWordWrap(True)
        for label in (self.title, self.explanation, self.fix, self.owner):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.owner)
        layout.addWidget(self.explanation)
        layout.addSpacing(4)
        layout.addWidget(self.fix_heading)
        layout.addWidget(self.fix)
        layout.addStretch(1)
        self.show_hint()

    def show_hint(self, text: str = _HINT) -> None:
        self.title.setText("")
        self.title.hide()
        self.owner.hide()
        self.explanation.setText(text)
        mute(self.explanation)
        self.fix_heading.hide()
        self.fix.hide()

    def show_reason(self, title: str, explanation: str, fix: str, owner: str = "") -> None:
        self.title.setText(title)
        self.title.show()
        self.owner.setText(f"Who fixes it: {owner}" if owner else "")
        self.owner.setVisible(bool(owner))
        plain_colour(self.explanation)
        self.explanation.setText(explanation)
        self.fix.setText(fix)
        self.fix_heading.show()
        self.fix.show()


class FailurePanel(QWidget):
    """The failure-reason tree of one connection and its explanation.

    Signals:
        filter_chosen(object, str): the agent chose a node: its `ContactFilter` and its
            path in words ("Mailchimp, then Invalid email"); (None, "") when none is chosen.

    Attributes:
        view: the tree view; `reason_panel` the explanation beside it; `empty_label` what
            shows when nothing is failing (or while the reasons are read).
    """

    filter_chosen = Signal(object, str)

    def __init__(self, *, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("failure_panel")
        self._catalog = catalog
        self._model: FailureTreeModel | None = None
        self.view = _FailureTree()
        self.view.setObjectName("failures_view")
        self.view.setUniformRowHeights(True)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.setAlternatingRowColors(False)
        self.view.setAllColumnsShowFocus(True)
        self.reason_panel = ReasonPanel()
        self.empty_label = plain_label("Nothing is failing.", name="failures_empty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        mute(self.empty_label)
        self.empty_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.view, 3)
        layout.addWidget(self.empty_label, 3)
        layout.addWidget(self.reason_panel, 2)
        self._update_empty()

    def model(self) -> FailureTreeModel | None:
        """The tree's model (None until the connection's summary is read)."""
        return self._model

    def set_connection(self, connection: Connection | None) -> None:
        """A connection whose summary is being read (None: no connection): the tree goes."""
        self._replace_model(None)
        self.empty_label.setText("Reading failure reasons…" if connection else "")
        self._update_empty()

    def set_summary(self, summary: Summary) -> None:
        """Show the failures of `summary`; of the same connection, keep the open nodes and
        the chosen reason."""
        model = self._model
        self.empty_label.setText("Nothing is failing.")
        if model is None or model.connection.id != summary.connection.id:
            self._replace_model(FailureTreeModel(summary=summary, catalog=self._catalog))
            self._update_empty()
            self.view.expandToDepth(0)  # a new tree opens on its apps
        else:
            self._update(model, summary)
            self._update_empty()

    def clear_choice(self) -> None:
        """Choose no reason (the Failing list shows every failing contact)."""
        self.view.clearSelection()
        self.view.setCurrentIndex(QModelIndex())
        self.reason_panel.show_hint()

    # -- internals ------------------------------------------------------------------------

    def _replace_model(self, model: FailureTreeModel | None) -> None:
        old = self._model
        previous_selection = self.view.selectionModel()
        self._model = model
        self.reason_panel.show_hint()
        self.view.setModel(model)
        if model is not None:
            model.setParent(self)
            self.view.selectionModel().selectionChanged.connect(self._on_selection_changed)
            model.modelReset.connect(self._update_empty)
            header = self.view.header()
            header.setStretchLastSection(False)
            header.setSectionResizeMode(0, header.ResizeMode.Stretch)
            for column in range(1, model.columnCount()):
                header.setSectionResizeMode(column, header.ResizeMode.ResizeToContents)
            self.view.fit_columns()
        if previous_selection is not None:
            previous_selection.deleteLater()
        if old is not None:
            old.deleteLater()

    def _update(self, model: FailureTreeModel, summary: Summary) -> None:
        view = self.view
        current = view.currentIndex()
        selected = node_path(current) if current.isValid() else None
        expanded = _expanded_paths(view, model)
        model.set_summary(summary)  # a reset: every node closes; the same ones open again
        for path in expanded:
            index = _index_of_path(model, path)
            if index.isValid():
                view.expand(index)
        if selected is None:
            return
        index = _index_of_path(model, selected)
        if not index.isValid():
            return
        # Quietly: the Failing list keeps its filter and its selection.
        selection = view.selectionModel()
        blocked = selection.blockSignals(True)
        try:
            selection.setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
        finally:
            selection.blockSignals(blocked)
        view.viewport().update()

    @Slot()
    def _update_empty(self) -> None:
        model = self._model
        empty = model is None or model.rowCount() == 0
        self.view.setVisible(not empty)
        self.empty_label.setVisible(empty)
        self.reason_panel.setVisible(not empty)

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, _selected: QItemSelection, _old: QItemSelection) -> None:
        model = self._model
        indexes = self.view.selectionModel().selectedIndexes()
        index = indexes[0].siblingAtColumn(0) if indexes else QModelIndex()
        if model is None or not index.isValid():
            self.reason_panel.show_hint()
            self.filter_chosen.emit(None, "")
            return
        path = PATH_SEPARATOR.join(node_path(index))
        found = model.explanation_for(index)
        if found is None:
            self.reason_panel.show_hint(_CATEGORY_HINT)
        else:
            owner = index.data(FailureTreeModel.OwnerRole)  # a plain str after Qt
            self.reason_panel.show_reason(path, *found, Owner(owner).label if owner else "")
        contact_filter = index.data(FailureTreeModel.FilterRole)
        if contact_filter is not None:
            self.filter_chosen.emit(contact_filter, path)


def node_path(index: QModelIndex) -> list[str]:
    """The display texts from the tree's top down to `index`."""
    parts: list[str] = []
    while index.isValid():
        parts.append(str(index.siblingAtColumn(0).data(Qt.ItemDataRole.DisplayRole) or ""))
        index = index.parent()
    return list(reversed(parts))


#: Narrower than this, the tree leaves out its "Who fixes it" column.
OWNER_COLUMN_MIN_WIDTH = 340


class _FailureTree(QTreeView):
    """The tree of reasons; too narrow for every column (a laptop with the Contact dock
    open), it leaves out "Who fixes it" so that the reasons are read, not elided: the
    reason panel under it and each reason's tool tip still say who fixes it."""

    def fit_columns(self) -> None:
        if self.model() is not None:
            self.setColumnHidden(OWNER_COLUMN, self.width() < OWNER_COLUMN_MIN_WIDTH)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_columns()


def _expanded_paths(view: QTreeView, model: QAbstractItemModel) -> list[list[str]]:
    paths: list[list[str]] = []
    pending = [QModelIndex()]
    while pending:
        parent = pending.pop()
        for row in range(model.rowCount(parent)):
            index = model.index(row, 0, parent)
            if view.isExpanded(index):
                paths.append(node_path(index))
                pending.append(index)
    return paths


def _index_of_path(model: QAbstractItemModel, path: list[str]) -> QModelIndex:
    """The node reached by the display texts `path` from the top, or an invalid index."""
    index = QModelIndex()
    for text in path:
        for row in range(model.rowCount(index)):
            child = model.index(row, 0, index)
            if str(child.data(Qt.ItemDataRole.DisplayRole) or "") == text:
                index = child
                break
        else:
            return QModelIndex()
    return index

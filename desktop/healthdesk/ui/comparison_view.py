"""The tables of a comparison, as the Compare With… and What If… dialogs show them: the
counts before and after beside the matrix of moves (rows: where contacts were; columns:
where they are); and the table of the failure groups that changed (`failures_table`)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from healthdesk.core.compare import Comparison
from healthdesk.core.words import plural
from healthdesk.ui.comparison_models import CountsModel, FailureChangesModel, MoveMatrixModel
from healthdesk.ui.text import plain_label

__all__ = ["ComparisonView", "failures_table", "make_table"]


def make_table(name: str) -> QTableView:
    table = QTableView()
    table.setObjectName(name)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 10)
    return table


def failures_table(model: FailureChangesModel) -> QTableView:
    """A table of the failure groups that changed (`FailureChangesModel`)."""
    table = make_table("failures_view")
    table.setModel(model)
    table.verticalHeader().setVisible(False)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    return table


class ComparisonView(QWidget):
    """The counts beside the matrix of moves.

    Signals:
        move_chosen(str, str): the agent clicked a cell of contacts that moved (from, to).

    Attributes:
        counts_model, counts_view; matrix_model, matrix_view; moves_label, matrix_hint.
    """

    move_chosen = Signal(str, str)

    def __init__(
        self, *, absent: bool = True, listable: bool = True, parent: QWidget | None = None
    ) -> None:
        """`absent`: the matrix has a row and a column for contacts one state lacks;
        `listable`: its cells of contacts that moved can be clicked (`move_chosen`)."""
        super().__init__(parent)
        self.counts_model = CountsModel(self)
        self.counts_view = make_table("counts_view")
        self.counts_view.setModel(self.counts_model)
        self.counts_view.setAccessibleName("Counts before and after")
        self.counts_view.verticalHeader().setVisible(False)
        self.counts_view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.counts_view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.counts_view.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.counts_view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.counts_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.matrix_model = MoveMatrixModel(self, absent=absent, listable=listable)
        self.matrix_view = make_table("matrix_view")
        self.matrix_view.setModel(self.matrix_model)
        self.matrix_view.setAccessibleName("Moves between statuses")
        self.matrix_view.setShowGrid(True)
        self.matrix_view.setCornerButtonEnabled(False)
        self.matrix_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.matrix_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.matrix_view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.matrix_view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.matrix_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.matrix_view.clicked.connect(self._on_matrix_clicked)
        self.matrix_view.activated.connect(self._on_matrix_clicked)
        rows = len(self.matrix_model.places())
        self.matrix_view.setMinimumHeight(
            self.matrix_view.horizontalHeader().sizeHint().height()
            + rows * (self.fontMetrics().height() + 16)
        )

        self.moves_label = plain_label("Moves", name="moves_label", bold=True)
        self.matrix_hint = plain_label(muted=True, wrap=True)
        self.set_titles("Before", "After")
        counts_box = QVBoxLayout()
        counts_box.addWidget(plain_label("Counts", bold=True))
        counts_box.addWidget(self.counts_view)
        counts_box.addStretch(1)
        matrix_box = QVBoxLayout()
        matrix_box.addWidget(self.moves_label)
        matrix_box.addWidget(self.matrix_view, 1)
        matrix_box.addWidget(self.matrix_hint)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(18)
        layout.addLayout(counts_box, 0)
        layout.addLayout(matrix_box, 1)
        self._fit_counts()

    def set_titles(self, before: str, after: str) -> None:
        """Name the two states: the columns of the counts, the tool tips of the matrix."""
        self.counts_model.set_titles(before, after)
        self.matrix_model.set_titles(before.lower(), after.lower())
        self.matrix_hint.setText(
            f"Rows: where contacts were ({before.lower()}); columns: where they are "
            f"({after.lower()}). Click a number to list those contacts."
        )

    def set_comparison(self, comparison: Comparison | None) -> None:
        self.counts_model.set_comparison(comparison)
        self.matrix_model.set_comparison(comparison)
        self._fit_counts()
        if comparison is None:
            self.moves_label.setText("Moves")
        else:
            moved = sum(move.count for move in comparison.changed)
            self.moves_label.setText(
                f"Moves: {plural(moved, 'contact')} changed status" if moved else "Moves: none"
            )

    def _fit_counts(self) -> None:
        """The counts table exactly as large as its cells: no scrolling, no blank."""
        view = self.counts_view
        view.resizeColumnsToContents()
        header = view.horizontalHeader()
        frame = 2 * view.frameWidth()
        width = sum(header.sectionSize(i) for i in range(header.count()))
        view.setFixedWidth(max(width + frame, 260))
        rows = max(self.counts_model.rowCount(), 6)
        view.setFixedHeight(
            header.sizeHint().height() + rows * view.verticalHeader().defaultSectionSize() + frame
        )

    @Slot(QModelIndex)
    def _on_matrix_clicked(self, index: QModelIndex) -> None:
        if not index.isValid() or not index.flags() & Qt.ItemFlag.ItemIsSelectable:
            return
        move = self.matrix_model.move_at(index)
        if move is not None:
            self.move_chosen.emit(*move)

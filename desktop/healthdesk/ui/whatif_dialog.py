"""What If…: the shown connection's contacts decided again with Avoid Duplicates switched,
rules turned off or their conditions edited; the counts and moves follow every change.

Nothing is written: each change asks `store.whatif.whatif` (the import's decision path
in memory) on a worker through `Operations`, keyed by this dialog, so the newest change
wins and an older one still running is told to stop; Cancel stops the one running.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from healthdesk.core.compare import Comparison
from healthdesk.core.model import LIST_OPS, UNARY_OPS, Condition, Connection, Op, Rule, Settings
from healthdesk.core.rules import describe_condition, describe_rule
from healthdesk.core.words import plural
from healthdesk.store.whatif import whatif
from healthdesk.ui.comparison_view import ComparisonView
from healthdesk.ui.messages import error_text
from healthdesk.ui.operations import Operations, Work
from healthdesk.ui.style import error_colour, placeholder, text_colour
from healthdesk.ui.text import plain_label, plain_tooltip

__all__ = ["OP_WORDS", "WhatIfDialog"]

#: The operators in the words of the condition editor.
OP_WORDS: Final = {
    Op.EQUALS: "is",
    Op.NOT_EQUALS: "is not",
    Op.CONTAINS: "contains",
    Op.NOT_CONTAINS: "does not contain",
    Op.STARTS_WITH: "starts with",
    Op.ENDS_WITH: "ends with",
    Op.IS_EMPTY: "is empty",
    Op.IS_NOT_EMPTY: "is not empty",
    Op.IN: "is one of",
    Op.NOT_IN: "is none of",
    Op.HAS_TAG: "includes the tag",
    Op.LACKS_TAG: "lacks the tag",
}
#: Typing in the condition editor waits this long (ms) before deciding again.
EDIT_DELAY_MS: Final = 300
_RULE, _CONDITION = Qt.ItemDataRole.UserRole + 1, Qt.ItemDataRole.UserRole + 2


@dataclass(frozen=True, slots=True)
class _Deciding:
    """A what-if's work (plain data, for the worker)."""

    engine: Engine
    connection_id: str
    settings: Settings

    def run(self, work: Work) -> Comparison:
        def progress(done: int, total: int) -> None:
            work.progress((done, total))

        return whatif(
            self.engine,
            self.connection_id,
            self.settings,
            cancelled=work.cancelled,
            progress=progress,
        )


class WhatIfDialog(QDialog):
    """Change the settings of the shown connection in memory, and see what it would do.

    Signals:
        decided(object): a what-if's comparison arrived (after every change).

    Attributes:
        avoid_check: Avoid Duplicates.
        rules_tree: a checkable item per rule (unchecked: turned off), a child per
            condition (selected: edited in `field_edit`, `op_combo`, `value_edit`).
        view: the `ComparisonView` of now and the what-if.
        reset_button, cancel_button, progress, status_label.
    """

    decided = Signal(object)

    def __init__(
        self,
        *,
        operations: Operations,
        engine: Engine,
        connection: Connection,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("whatif_dialog")
        self.setWindowTitle(f"What If: {connection.name}")
        self._operations = operations
        self._engine = engine
        self._connection = connection
        self._rules: list[Rule] = list(connection.settings.rules)
        self.comparison: Comparison | None = None
        self._loading_editor = False

        self.avoid_check = QCheckBox("Avoid Duplicates")
        self.avoid_check.setObjectName("whatif_avoid")
        self.avoid_check.setToolTip(
            plain_tooltip(
                "On: a contact whose email another contact of its app already has is a "
                "duplicate, and one without email is excluded."
            )
        )
        self.avoid_check.toggled.connect(self._on_changed)
        self.rules_tree = QTreeWidget()
        self.rules_tree.setObjectName("whatif_rules")
        self.rules_tree.setAccessibleName("Rules")
        self.rules_tree.setHeaderHidden(True)
        self.rules_tree.setWordWrap(True)
        self.rules_tree.setUniformRowHeights(False)
        self.rules_tree.itemChanged.connect(self._on_rule_item_changed)
        self.rules_tree.currentItemChanged.connect(self._on_current_item_changed)

        self.field_edit = QLineEdit()
        self.field_edit.setObjectName("whatif_field")
        self.op_combo = QComboBox()
        self.op_combo.setObjectName("whatif_op")
        for op, words in OP_WORDS.items():
            self.op_combo.addItem(words, op)
        self.value_edit = QLineEdit()
        self.value_edit.setObjectName("whatif_value")
        self.value_edit.setPlaceholderText("a value (one of: values separated by commas)")
        self.editor_error = plain_label(name="whatif_editor_error", wrap=True)
        text_colour(self.editor_error, error_colour)
        self.editor = QWidget()
        form = QFormLayout(self.editor)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Field", self.field_edit)
        form.addRow("Test", self.op_combo)
        form.addRow("Value", self.value_edit)
        form.addRow(self.editor_error)
        self.editor_hint = plain_label(
            "Select a condition to edit it; untick a rule to turn it off.", muted=True, wrap=True
        )
        self._edit_timer = QTimer(self)
        self._edit_timer.setSingleShot(True)
        self._edit_timer.setInterval(EDIT_DELAY_MS)
        self._edit_timer.timeout.connect(self._apply_edit)
        self.field_edit.textEdited.connect(self._on_editor_edited)
        self.value_edit.textEdited.connect(self._on_editor_edited)
        self.op_combo.activated.connect(self._on_editor_edited)

        self.reset_button = QPushButton("Reset")
        self.reset_button.setObjectName("whatif_reset")
        self.reset_button.setToolTip("Back to the connection's own settings")
        self.reset_button.clicked.connect(self.reset)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 6, 0)
        left_layout.addWidget(plain_label("What if…", bold=True))
        left_layout.addWidget(self.avoid_check)
        left_layout.addWidget(plain_label("Rules", bold=True))
        left_layout.addWidget(self.rules_tree, 1)
        left_layout.addWidget(self.editor_hint)
        left_layout.addWidget(self.editor)
        left_layout.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignLeft)

        self.status_label = plain_label(name="whatif_status", muted=True, wrap=True)
        self.progress = QProgressBar()
        self.progress.setObjectName("whatif_progress")
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("whatif_cancel")
        self.cancel_button.clicked.connect(self.cancel)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_label, 1)
        status_row.addWidget(self.progress, 1)
        status_row.addWidget(self.cancel_button)
        self.view = ComparisonView(absent=False, listable=False)
        self.view.set_titles("Now", "What if")
        self.view.matrix_hint.setText(
            "Rows: the status now; columns: the status it would have. Nothing is changed."
        )
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 0, 0, 0)
        right_layout.addLayout(status_row)
        right_layout.addWidget(self.view, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(buttons)
        self.resize(1240, 560)
        splitter.setSizes([420, 820])
        # New data (an import, a live page): "now" is another state, decide again.
        operations.changed.connect(self._on_operations_changed)
        self.reset()

    # -- the settings -------------------------------------------------------------------

    def settings(self) -> Settings:
        """The settings as the dialog has them now."""
        rules = tuple(
            rule
            for row, rule in enumerate(self._rules)
            if self._rule_item(row).checkState(0) == Qt.CheckState.Checked
        )
        return replace(
            self._connection.settings,
            avoid_duplicates=self.avoid_check.isChecked(),
            rules=rules,
        )

    @Slot()
    def reset(self) -> None:
        """The connection's own settings again."""
        self._rules = list(self._connection.settings.rules)
        blocked = self.avoid_check.blockSignals(True)
        self.avoid_check.setChecked(self._connection.settings.avoid_duplicates)
        self.avoid_check.blockSignals(blocked)
        self._fill_tree()
        self.decide()

    def set_rule_enabled(self, rule_id: str, enabled: bool) -> None:
        """Turn a rule on or off (as unticking it does)."""
        for row, rule in enumerate(self._rules):
            if rule.id == rule_id:
                state = Qt.CheckState.Checked if enabled else Qt.CheckState.Unchecked
                self._rule_item(row).setCheckState(0, state)

    def edit_condition(self, rule_id: str, index: int, condition: Condition) -> None:
        """Replace a condition of a rule (as the editor does)."""
        row = next(row for row, rule in enumerate(self._rules) if rule.id == rule_id)
        self.rules_tree.setCurrentItem(self._condition_item(row, index))
        self._set_condition(row, index, condition)

    def _rule_item(self, row: int) -> QTreeWidgetItem:
        item = self.rules_tree.topLevelItem(row)
        assert item is not None
        return item

    def _condition_item(self, row: int, index: int) -> QTreeWidgetItem:
        item = self._rule_item(row).child(index)
        assert item is not None
        return item

    def _fill_tree(self) -> None:
        tree = self.rules_tree
        blocked = tree.blockSignals(True)
        try:
            tree.clear()
            for row, rule in enumerate(self._rules):
                item = QTreeWidgetItem([self._rule_text(rule)])
                item.setData(0, _RULE, row)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(0, Qt.CheckState.Checked)
                item.setToolTip(0, plain_tooltip(f"{self._rule_text(rule)} (rule {rule.id})"))
                for index, condition in enumerate(rule.conditions):
                    child = QTreeWidgetItem([describe_condition(condition)])
                    child.setData(0, _RULE, row)
                    child.setData(0, _CONDITION, index)
                    item.addChild(child)
                tree.addTopLevelItem(item)
            tree.expandAll()
        finally:
            tree.blockSignals(blocked)
        self._show_editor(None)

    def _rule_text(self, rule: Rule) -> str:
        app = self._connection.app(rule.side).name
        counts = self._connection.settings.direction.syncs_from(rule.side)
        text = describe_rule(rule, app)
        return text if counts else f"{text} (not used: {app} is not synced from)"

    def _set_condition(self, row: int, index: int, condition: Condition) -> None:
        rule = self._rules[row]
        conditions = list(rule.conditions)
        conditions[index] = condition
        self._rules[row] = replace(rule, conditions=tuple(conditions))
        blocked = self.rules_tree.blockSignals(True)
        self._rule_item(row).setText(0, self._rule_text(self._rules[row]))
        self._condition_item(row, index).setText(0, describe_condition(condition))
        self.rules_tree.blockSignals(blocked)
        self.decide()

    # -- the condition editor ---------------------------------------------------------

    def _show_editor(self, item: QTreeWidgetItem | None) -> None:
        index = item.data(0, _CONDITION) if item is not None else None
        self.editor.setVisible(index is not None)
        self.editor_hint.setVisible(index is None)
        if item is None or index is None:
            return
        condition = self._rules[item.data(0, _RULE)].conditions[index]
        self._loading_editor = True
        try:
            self.field_edit.setText(condition.field)
            self.op_combo.setCurrentIndex(self.op_combo.findData(condition.op))
            value = condition.value
            self.value_edit.setText(", ".join(value) if isinstance(value, tuple) else value or "")
            self.value_edit.setEnabled(condition.op not in UNARY_OPS)
            self.editor_error.setText("")
        finally:
            self._loading_editor = False

    @Slot()
    def _on_editor_edited(self, *_args: object) -> None:
        if not self._loading_editor:
            self.value_edit.setEnabled(self._op() not in UNARY_OPS)
            self._edit_timer.start()

    @Slot()
    def _apply_edit(self, item: QTreeWidgetItem | None = None) -> None:
        """Apply the editor to the condition of `item` (default: the current one)."""
        item = item if item is not None else self.rules_tree.currentItem()
        index = item.data(0, _CONDITION) if item is not None else None
        if item is None or index is None:
            return
        field = self.field_edit.text().strip()
        op = self._op()
        text = self.value_edit.text()
        if not field:
            self.editor_error.setText("A condition needs a field.")
            return
        value: str | tuple[str, ...] | None
        if op in UNARY_OPS:
            value = None
        elif op in LIST_OPS:
            value = tuple(part.strip() for part in text.split(",") if part.strip())
        else:
            value = text
        self.editor_error.setText("")
        self._set_condition(item.data(0, _RULE), index, Condition(field, op, value))

    def _op(self) -> Op:
        # The combo hands its data back as plain str.
        return Op(self.op_combo.currentData())

    @Slot(QTreeWidgetItem, QTreeWidgetItem)
    def _on_current_item_changed(
        self, current: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None
    ) -> None:
        if self._edit_timer.isActive():
            # An edit still waiting belongs to the condition left.
            self._edit_timer.stop()
            if _previous is not None:
                self._apply_edit(_previous)
        self._show_editor(current)

    @Slot(QTreeWidgetItem, int)
    def _on_rule_item_changed(self, item: QTreeWidgetItem, _column: int) -> None:
        if item.data(0, _CONDITION) is None:
            self.decide()

    @Slot()
    def _on_changed(self, *_args: object) -> None:
        self.decide()

    # -- deciding -----------------------------------------------------------------------

    def decide(self) -> None:
        """Decide again with the dialog's settings (the newest request wins)."""
        work = _Deciding(self._engine, self._connection.id, self.settings())
        self.status_label.setText("Deciding…")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self._operations.run(
            self,
            "whatif",
            work.run,
            self._on_decided,
            failed=self._on_failed,
            progress=self._on_progress,
            what="decide the what-if",
        )

    def running(self) -> bool:
        return self._operations.busy(self, "whatif")

    @Slot()
    def cancel(self) -> None:
        if self.running():
            self._operations.cancel(self, "whatif")
            self._idle("Cancelled: the numbers shown are of an earlier change.")

    def _idle(self, text: str, *, error: bool = False) -> None:
        self.status_label.setText(text)
        text_colour(self.status_label, error_colour if error else placeholder)
        self.progress.hide()
        self.cancel_button.hide()

    def _on_progress(self, value: tuple[int, int]) -> None:
        done, total = value
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(done, total) / total))

    def _on_decided(self, comparison: Comparison) -> None:
        self.comparison = comparison
        self.view.set_comparison(comparison)
        moved = sum(move.count for move in comparison.changed)
        self._idle(
            f"{plural(moved, 'contact')} would change status. Nothing is saved."
            if moved
            else "No contact would change status."
        )
        self.decided.emit(comparison)

    def _on_failed(self, exc: BaseException) -> None:
        self._idle(f"Could not decide: {error_text(exc)}", error=True)

    @Slot(str)
    def _on_operations_changed(self, connection_id: str) -> None:
        if connection_id == self._connection.id:
            self.decide()

    def done(self, result: int) -> None:
        self._operations.cancel(self)
        super().done(result)

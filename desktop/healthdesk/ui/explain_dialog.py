"""Help > Explain an Error…: paste a raw error from a ticket, see what it means.

The same answer as `healthdesk explain`: the catalog's category, who fixes it, the
fingerprint it groups under, what it means and how to fix it. The catalog is in memory,
so the answer comes as the agent types (nothing is read from the database). Everything
shown is plain text: the pasted message is customer data.
"""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from healthdesk.core.failures import Catalog
from healthdesk.ui.text import plain_label

__all__ = ["ExplainDialog"]

_ANY_APP = "Any app"


class ExplainDialog(QDialog):
    """Explain a pasted raw error.

    Attributes:
        message_edit, app_box, code_edit: what the agent gives.
        category_label, owner_label, fingerprint_label, meaning_label, fix_label: the
            answer.
    """

    def __init__(self, *, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("explain_dialog")
        self.setWindowTitle("Explain an Error")
        self._catalog = catalog
        self.message_edit = QPlainTextEdit()
        self.message_edit.setObjectName("explain_message")
        self.message_edit.setPlaceholderText("Paste the error message an app returned")
        self.message_edit.setTabChangesFocus(True)
        self.message_edit.setFixedHeight(self.message_edit.fontMetrics().lineSpacing() * 6 + 12)
        self.message_edit.textChanged.connect(self._on_input_changed)
        self.app_box = QComboBox()
        self.app_box.setObjectName("explain_app")
        self.app_box.addItem(_ANY_APP, "")
        for kind in catalog.app_kinds:
            self.app_box.addItem(kind, kind)
        self.app_box.currentIndexChanged.connect(self._on_input_changed)
        self.code_edit = QLineEdit()
        self.code_edit.setObjectName("explain_code")
        self.code_edit.setPlaceholderText("optional, e.g. 400 or INVALID_EMAIL")
        self.code_edit.textChanged.connect(self._on_input_changed)

        self.category_label = self._answer("explain_category", bold=True)
        self.owner_label = self._answer("explain_owner")
        self.fingerprint_label = self._answer("explain_fingerprint")
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.fingerprint_label.setFont(mono)
        self.meaning_label = self._answer("explain_meaning")
        self.fix_label = self._answer("explain_fix")

        given = QFormLayout()
        given.addRow("Error message", self.message_edit)
        given.addRow("App", self.app_box)
        given.addRow("Code", self.code_edit)
        answer = QFormLayout()
        answer.addRow("Category", self.category_label)
        answer.addRow("Who fixes it", self.owner_label)
        answer.addRow("Groups as", self.fingerprint_label)
        answer.addRow("Meaning", self.meaning_label)
        answer.addRow("How to fix", self.fix_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(given)
        layout.addSpacing(8)
        layout.addLayout(answer)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.resize(640, 440)
        self._on_input_changed()

    def _answer(self, name: str, *, bold: bool = False) -> QLabel:
        label = plain_label(name=name, wrap=True, bold=bold, selectable=True)
        label.setMinimumWidth(360)
        return label

    @Slot()
    def _on_input_changed(self) -> None:
        message = self.message_edit.toPlainText().strip()
        labels = (
            self.category_label,
            self.owner_label,
            self.fingerprint_label,
            self.meaning_label,
            self.fix_label,
        )
        if not message:
            for label in labels:
                label.setText("")
            self.category_label.setText("Paste an error message to see what it means.")
            return
        found = self._catalog.explain(
            message,
            app_kind=str(self.app_box.currentData() or ""),
            code=self.code_edit.text().strip(),
        )
        self.category_label.setText(found.category)
        self.owner_label.setText(found.owner.label)
        self.fingerprint_label.setText(found.fingerprint)
        self.meaning_label.setText(found.reason.explanation)
        self.fix_label.setText(found.reason.fix)

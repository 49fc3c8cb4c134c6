"""A connection's configuration at a glance, and the summary of what it did.

`ConfigPanel`: the two apps and the direction, Avoid Duplicates on or off, and the rules in
words ("HubSpot contacts where lifecycle stage is “customer”"), side by side.
`ActionsPanel`: per app, how many contacts the sync created and updated in it.
Every label holding customer text is plain text.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from healthdesk.core.model import Connection, Outcome, Side
from healthdesk.core.rules import describe_rule
from healthdesk.store.queries import Summary
from healthdesk.ui.connections import apps_text, direction_text
from healthdesk.ui.keyboard import RING_MARGIN
from healthdesk.ui.style import mute
from healthdesk.ui.text import plain_label, plain_tooltip

#: A number not read yet (an en dash).
_NOT_YET = "\u2013"


def _label(
    text: str = "", *, muted: bool = False, bold: bool = False, wrap: bool = False
) -> QLabel:
    return plain_label(text, muted=muted, bold=bold, wrap=wrap, selectable=True)


class ConfigPanel(QFrame):
    """The configuration of the selected connection.

    Attributes:
        apps_label: "HubSpot ⇄ Mailchimp".
        direction_label: "Two-way" / "One-way, from HubSpot to Mailchimp".
        duplicates_label: "Avoid Duplicates: on" / "off".
        rule_labels: one label per line of the rules' description, in order.
    """

    def __init__(self, *, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("config_panel")
        self.apps_label = _label(bold=True)
        self.apps_label.setObjectName("config_apps")
        self.direction_label = _label()
        self.direction_label.setObjectName("config_direction")
        self.duplicates_label = _label()
        self.duplicates_label.setObjectName("config_duplicates")
        self.rule_labels: list[QLabel] = []

        top = QGridLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setHorizontalSpacing(18)
        top.addWidget(self.apps_label, 0, 0)
        top.addWidget(self.direction_label, 0, 1)
        top.addWidget(self.duplicates_label, 0, 2)
        top.setColumnStretch(3, 1)

        self._rules = QWidget()
        self._rules_layout = QGridLayout(self._rules)
        self._rules_layout.setContentsMargins(0, 0, 0, 0)
        self._rules_layout.setHorizontalSpacing(10)
        self._rules_layout.setVerticalSpacing(2)
        self._rules_layout.setColumnStretch(1, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self._rules)
        self.set_connection(None)

    def set_connection(self, connection: Connection | None) -> None:
        self._clear_rules()
        if connection is None:
            for label in (self.apps_label, self.direction_label, self.duplicates_label):
                label.setText("")
            return
        settings = connection.settings
        self.apps_label.setText(apps_text(connection))
        self.apps_label.setToolTip(
            plain_tooltip(
                f"{connection.app_a.name} ({connection.app_a.kind}) and "
                f"{connection.app_b.name} ({connection.app_b.kind})"
            )
        )
        self.direction_label.setText(direction_text(connection))
        on = "on" if settings.avoid_duplicates else "off"
        self.duplicates_label.setText(f"Avoid Duplicates: {on}")
        self.duplicates_label.setToolTip(
            "Records without an email, and all but the first of records sharing one, do not sync."
            if settings.avoid_duplicates
            else "Records sync whatever their email."
        )
        row = 0
        for side in Side:
            app = connection.app(side).name
            syncs = settings.direction.syncs_from(side)
            rules = settings.rules_of(side)
            heading = _label(f"From {app}", muted=True)
            heading.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            if not syncs:
                lines = [
                    f"Nothing: the connection is one-way, from {connection.app(side.other).name}"
                ]
            elif not rules:
                lines = [f"Nothing: no rule syncs {app} contacts"]
            else:
                lines = [f"{describe_rule(rule, app)}   (rule {rule.id})" for rule in rules]
                if len(lines) > 1:
                    lines = [line if i == 0 else f"or {line}" for i, line in enumerate(lines)]
            self._rules_layout.addWidget(heading, row, 0)
            for line in lines:
                label = _label(line, wrap=True)
                label.setObjectName("config_rule")
                if not syncs or not rules:
                    mute(label)
                self._rules_layout.addWidget(label, row, 1)
                self.rule_labels.append(label)
                row += 1

    def _clear_rules(self) -> None:
        while self._rules_layout.count():
            item = self._rules_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.setParent(None)
                widget.deleteLater()
        self.rule_labels = []


class _ClickableNumber(QLabel):
    """A count that opens the list behind it: by click, or by Enter/Space with the focus.

    Signals:
        clicked(): the user asked for the list.
    """

    clicked = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
            event.position().toPoint()
        ):
            self.clicked.emit()
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.clicked.emit()
            return
        super().keyPressEvent(event)


class ActionsPanel(QFrame):
    """What the sync did: per app, the contacts it created and updated in that app.
    Each number opens the list of the contacts concerned.

    Signals:
        action_requested(Side, Outcome): a number was clicked.

    Attributes:
        number_labels: {(side, outcome): label} of the counts.
    """

    action_requested = Signal(object, object)

    def __init__(self, *, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("actions_panel")
        self._grid = QGridLayout(self)
        # Room for the focus ring around the numbers at the panel's right and bottom edges.
        self._grid.setContentsMargins(0, 0, RING_MARGIN, RING_MARGIN)
        self._grid.setHorizontalSpacing(16)
        self._grid.setVerticalSpacing(RING_MARGIN)
        self._title = _label("Writes into", muted=True)
        self._grid.addWidget(self._title, 0, 0)
        for column, word in ((1, "Created"), (2, "Updated")):
            header = _label(word, muted=True)
            header.setAlignment(Qt.AlignmentFlag.AlignRight)
            self._grid.addWidget(header, 0, column)
        self.app_labels: dict[Side, QLabel] = {}
        self.number_labels: dict[tuple[Side, Outcome], QLabel] = {}
        for row, side in enumerate(Side, 1):
            app = _label()
            self.app_labels[side] = app
            self._grid.addWidget(app, row, 0)
            for column, outcome in ((1, Outcome.CREATED), (2, Outcome.UPDATED)):
                number = _ClickableNumber()
                number.setText(_NOT_YET)
                number.setAlignment(Qt.AlignmentFlag.AlignRight)
                number.clicked.connect(partial(self.action_requested.emit, side, outcome))
                self.number_labels[side, outcome] = number
                self._grid.addWidget(number, row, column)
        self.set_connection(None)

    def set_connection(self, connection: Connection | None) -> None:
        """Show the apps of `connection`; the numbers wait for `set_summary`."""
        for side, label in self.app_labels.items():
            label.setText(connection.app(side).name if connection else "")
        for (side, outcome), label in self.number_labels.items():
            app = connection.app(side).name if connection else ""
            label.setToolTip(plain_tooltip(f"List the contacts {outcome.value} in {app}"))
            label.setText(_NOT_YET if connection else "")
            label.setAccessibleName(f"Contacts {outcome.value} in {app}")

    def set_summary(self, summary: Summary) -> None:
        self.set_connection(summary.connection)
        for (side, outcome), label in self.number_labels.items():
            label.setText(f"{summary.actions[side][outcome]:,}")
            label.setAccessibleName(
                f"{label.text()} contacts {outcome.value} in {summary.connection.app(side).name}"
            )

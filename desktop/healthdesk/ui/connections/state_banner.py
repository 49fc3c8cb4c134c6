"""The top of the window: the connection's name and its sync state.

"Scanning HubSpot", "Syncing Salesforce", "Active and listening for changes", "Paused",
"Error: <message>", or, for a locked connection, "Waiting for <other connection> to
finish", where the other connection's name is a link that opens it when the database
holds it (plain text otherwise).
"""

from __future__ import annotations

import html
from collections.abc import Collection
from typing import Any
from urllib.parse import quote, unquote

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout

from healthdesk.core.model import Connection, Phase
from healthdesk.reports.summary import state_text
from healthdesk.ui.connections import PHASE_BADGES
from healthdesk.ui.style import PALETTE_EVENTS, tone
from healthdesk.ui.text import plain_label

#: The scheme of the locked banner's link: "connection:<quoted id>".
LINK_SCHEME = "connection:"


def connection_link(connection_id: str) -> str:
    return LINK_SCHEME + quote(connection_id, safe="")


def locked_html(other_id: str, other_name: str) -> str:
    """ "Waiting for <a>name</a> to finish", the name escaped: customer text never renders
    as markup."""
    href = html.escape(connection_link(other_id), quote=True)
    name = html.escape(other_name or other_id)
    return f'Waiting for <a href="{href}">{name}</a> to finish'


class StateBanner(QFrame):
    """The selected connection's name and its sync state.

    Signals:
        connection_requested(str): the user followed the locked state's link to the
            connection of that id.

    Attributes:
        name_label: the connection's name (plain text).
        state_label: the state (plain text; rich text with a link when locked by a
            connection the database holds).
    """

    connection_requested = Signal(str)

    def __init__(self, *, parent: Any = None) -> None:
        super().__init__(parent)
        self._phase: Phase | None = None
        self.setObjectName("state_banner")
        self.name_label = QLabel()
        self.name_label.setObjectName("connection_name")
        self.name_label.setTextFormat(Qt.TextFormat.PlainText)
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = QFont(self.name_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.45)
        font.setBold(True)
        self.name_label.setFont(font)
        self.name_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self._strip = QFrame()
        self._strip.setObjectName("state_strip")
        self._dot = plain_label("●")
        self.state_label = QLabel()
        self.state_label.setObjectName("state_text")
        self.state_label.setTextFormat(Qt.TextFormat.PlainText)
        self.state_label.setWordWrap(True)
        self.state_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state_label.setOpenExternalLinks(False)
        self.state_label.linkActivated.connect(self._on_state_label_link_activated)
        self.state_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        strip_layout = QHBoxLayout(self._strip)
        strip_layout.setContentsMargins(10, 5, 10, 5)
        strip_layout.setSpacing(8)
        strip_layout.addWidget(self._dot, 0, Qt.AlignmentFlag.AlignTop)
        strip_layout.addWidget(self.state_label, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.name_label)
        layout.addWidget(self._strip)
        self._connection: Connection | None = None
        self.set_connection(None)

    def connection(self) -> Connection | None:
        return self._connection

    def set_connection(
        self, connection: Connection | None, *, known_ids: Collection[str] = ()
    ) -> None:
        """Show `connection`'s state; `known_ids` are the connections the database holds
        (a locked state links to the other connection only when it is one of them)."""
        self._connection = connection
        if connection is None:
            self.name_label.setText("No connection")
            self._set_plain("Open a snapshot (File > Open Snapshot…) to see a connection.")
            self._paint(Phase.PAUSED)
            return
        self.name_label.setText(connection.name)
        self.name_label.setToolTip("")
        state = connection.state
        other = state.locked_by
        if state.phase is Phase.LOCKED and other is not None and other.id in known_ids:
            self.state_label.setTextFormat(Qt.TextFormat.RichText)
            self.state_label.setTextInteractionFlags(
                Qt.TextInteractionFlag.LinksAccessibleByMouse
                | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
            )
            self.state_label.setText(locked_html(other.id, other.name))
            self.state_label.setToolTip(f"Open the connection {other.id}")
        else:
            self._set_plain(state_text(connection))
        self._paint(state.phase)

    def _set_plain(self, text: str) -> None:
        self.state_label.setTextFormat(Qt.TextFormat.PlainText)
        self.state_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state_label.setText(text)
        self.state_label.setToolTip("")

    def _paint(self, phase: Phase) -> None:
        self._phase = phase
        colours = tone(PHASE_BADGES[phase].tone)
        sheet = (
            f"QFrame#state_strip {{ background: {colours.background}; border-radius: 4px; }}"
            f"QLabel {{ color: {colours.foreground}; background: transparent; }}"
        )
        if self._strip.styleSheet() != sheet:
            self._strip.setStyleSheet(sheet)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in PALETTE_EVENTS and self._phase is not None:
            self._paint(self._phase)  # the colours of the scheme now shown

    @Slot(str)
    def _on_state_label_link_activated(self, link: str) -> None:
        if link.startswith(LINK_SCHEME):
            self.connection_requested.emit(unquote(link[len(LINK_SCHEME) :]))

"""Customer text (names, emails, error messages) shown exactly as written: never as HTML,
and never able to reorder the sentence around it.

- `plain_label`: the one way to make a label of text that may hold customer data.
- `plain_tooltip`: Qt guesses rich text from tags in a tool tip, so the text is escaped
  inside an explicit rich-text paragraph.
- `isolate` (core.safe_text, shared with the command line): customer text inside a
  composed sentence ("Ann: failing because…") is wrapped in Unicode isolates (FSI … PDI)
  when it could reorder it, so a name holding a right-to-left override (U+202E) cannot
  reverse the rest of the sentence.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QWidget

from healthdesk.core.safe_text import isolate
from healthdesk.ui.style import mute

__all__ = ["isolate", "plain_label", "plain_tooltip"]


def plain_tooltip(text: str) -> str:
    """A tool tip that shows `text` exactly."""
    return f"<p style='white-space:pre-wrap'>{html.escape(text)}</p>"


def plain_label(
    text: str = "",
    *,
    name: str = "",
    muted: bool = False,
    bold: bool = False,
    wrap: bool = False,
    scale: float = 1.0,
    selectable: bool = False,
    parent: QWidget | None = None,
) -> QLabel:
    """A label that shows `text` as the characters it holds (plain text, always);
    `muted` greys it (secondary text), `selectable` lets the user select and copy it."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    label.setWordWrap(wrap)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if name:
        label.setObjectName(name)
    if muted:
        mute(label)
    if bold or scale != 1.0:
        font = QFont(label.font())
        font.setBold(bold)
        if scale != 1.0:
            font.setPointSizeF(font.pointSizeF() * scale)
        label.setFont(font)
    return label

"""Customer text (names, emails, error messages) shown exactly as written, never as HTML."""

from __future__ import annotations

import html


def plain_tooltip(text: str) -> str:
    """A tool tip that shows `text` exactly: Qt guesses rich text from tags in a tool tip,
    so the text is escaped inside an explicit rich-text paragraph."""
    return f"<p style='white-space:pre-wrap'>{html.escape(text)}</p>"

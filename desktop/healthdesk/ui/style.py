"""Small shared touches of style, so every panel looks alike."""

from __future__ import annotations

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QWidget


def mute(widget: QWidget) -> None:
    """Grey text: secondary information (the palette's placeholder colour)."""
    palette = widget.palette()
    palette.setColor(
        QPalette.ColorRole.WindowText, palette.color(QPalette.ColorRole.PlaceholderText)
    )
    widget.setPalette(palette)

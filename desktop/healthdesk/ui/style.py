"""Small shared touches of style, so every panel looks alike, in a light or a dark scheme.

The few colours of our own (a state's badge, the filter bar, an error line) are `Tone`s:
a pair of text and background colours for each scheme, picked with `tone(name)` at the
moment of painting, so that a change of scheme shows at the next paint. Everything else
comes from the palette.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

ToneName = Literal["success", "info", "neutral", "warning", "error"]


@dataclass(frozen=True, slots=True)
class Tone:
    """Text and background colours that go together (CSS hex)."""

    foreground: str
    background: str


#: (light, dark) of each tone. The dark ones keep the hue with a dim background and a
#: light text, at a contrast of 7:1 or more, as the light ones have.
_TONES: Final[dict[ToneName, tuple[Tone, Tone]]] = {
    "success": (Tone("#1b5e20", "#e3f1e4"), Tone("#a8dab0", "#1d3a22")),
    "info": (Tone("#0d47a1", "#e1ecfa"), Tone("#b3d1f7", "#17304f")),
    "neutral": (Tone("#424242", "#ececec"), Tone("#dedede", "#3a3a3a")),
    "warning": (Tone("#5d4300", "#fff3cd"), Tone("#ffe08a", "#3f3200")),
    "error": (Tone("#b71c1c", "#fde4e4"), Tone("#ffb4ab", "#4a1c1c")),
}


#: A window gets the first when the application's palette changes; the widgets in it
#: get the second as the new palette reaches them.
PALETTE_EVENTS: Final = frozenset({QEvent.Type.ApplicationPaletteChange, QEvent.Type.PaletteChange})


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether `palette` (default: the application's) is a dark one: light text on a
    dark window, whatever set it (the desktop's scheme, or View > Appearance)."""
    if palette is None:
        palette = QGuiApplication.palette()
    window = palette.color(QPalette.ColorRole.Window)
    text = palette.color(QPalette.ColorRole.WindowText)
    return window.lightness() < text.lightness()


def tone(name: ToneName, palette: QPalette | None = None) -> Tone:
    """The colours of `name` for the scheme of `palette` (default: the application's)."""
    light, dark = _TONES[name]
    return dark if is_dark(palette) else light


#: What colour a widget's text takes from a palette.
ColourOf = Callable[[QPalette], QColor]


def text_colour(widget: QWidget, colour_of: ColourOf) -> None:
    """`widget`'s text in `colour_of(the application's palette)`, now and again after a
    change of scheme. Only that one role is set on the widget's palette: every other
    role stays inherited (a whole palette set on a widget would keep its scheme)."""
    follower = widget.findChild(
        _TextColour, "text_colour", Qt.FindChildOption.FindDirectChildrenOnly
    )
    if follower is None:
        follower = _TextColour(widget)
        widget.installEventFilter(follower)
    follower.colour_of = colour_of
    follower.apply(widget)


def plain_colour(widget: QWidget) -> None:
    """`widget`'s text in the palette's own colour again (undoes `text_colour`)."""
    follower = widget.findChild(
        _TextColour, "text_colour", Qt.FindChildOption.FindDirectChildrenOnly
    )
    if follower is not None:
        widget.removeEventFilter(follower)
        follower.deleteLater()
        follower.setObjectName("")  # gone already for the next findChild
    widget.setPalette(QPalette())  # no role set: all inherited


def placeholder(palette: QPalette) -> QColor:
    return palette.color(QPalette.ColorRole.PlaceholderText)


def error_colour(palette: QPalette) -> QColor:
    return QColor(tone("error", palette).foreground)


def mute(widget: QWidget) -> None:
    """Grey text: secondary information (the palette's placeholder colour)."""
    text_colour(widget, placeholder)


class _TextColour(QObject):
    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.setObjectName("text_colour")
        self.colour_of: ColourOf = placeholder

    def apply(self, widget: QWidget) -> None:
        colour = self.colour_of(QApplication.palette(widget))
        if widget.palette().color(QPalette.ColorRole.WindowText) != colour:
            palette = QPalette()
            palette.setColor(QPalette.ColorRole.WindowText, colour)
            widget.setPalette(palette)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in PALETTE_EVENTS and isinstance(watched, QWidget):
            self.apply(watched)
        return False

"""The status icons and the application icon, drawn from the SVGs in `resources/icons`.

Read through `importlib.resources` (never paths from `__file__`), so they reach the app
from a checkout, a wheel or a bundle alike. Each icon is rendered once into pixmaps of
the usual sizes (a QIcon picks the nearest and scales) and cached: the same QIcon is
used in lists, tabs, search results and the timeline. Needs a QGuiApplication.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Final

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from healthdesk.core.model import Status

__all__ = ["APP_ICON_FILE", "STATUS_ICON_FILES", "app_icon", "render_svg", "status_icon"]

STATUS_ICON_FILES: Final = {
    Status.IN_SYNC: "in_sync.svg",
    Status.EXCLUDED: "excluded.svg",
    Status.DUPLICATE: "duplicate.svg",
    Status.FAILING: "failing.svg",
    Status.PENDING: "pending.svg",
}
APP_ICON_FILE: Final = "healthdesk.svg"
#: Pixel sizes rendered into each icon (device pixels: 32 serves 16 at a ratio of 2).
_SIZES: Final = (16, 20, 24, 32, 40, 48, 64, 96, 128, 256)


def svg_data(name: str) -> bytes:
    """The bytes of the icon file `name` shipped in `healthdesk.resources/icons`."""
    return (files("healthdesk.resources") / "icons" / name).read_bytes()


def render_svg(data: bytes, size: int) -> QImage:
    """`data` (an SVG) drawn into a transparent square image of `size` pixels."""
    renderer = QSvgRenderer(QByteArray(data))
    if not renderer.isValid():
        raise ValueError("not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
    finally:
        painter.end()
    return image


@cache
def _icon(name: str) -> QIcon:
    data = svg_data(name)
    icon = QIcon()
    for size in _SIZES:
        icon.addPixmap(QPixmap.fromImage(render_svg(data, size)))
    return icon


def status_icon(status: Status) -> QIcon:
    """The icon of a status: blue check, grey double item, red warning, grey minus, clock."""
    return _icon(STATUS_ICON_FILES[status])


def app_icon() -> QIcon:
    """Health Desk's application icon."""
    return _icon(APP_ICON_FILE)


def clear_cache() -> None:
    """Forget the rendered icons (they are made again on the next call)."""
    _icon.cache_clear()

"""Status and app icons: shipped as package resources, valid, recognisable, cached."""

from __future__ import annotations

from importlib.resources import files

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from healthdesk.core.model import STATUS_ORDER, Status
from healthdesk.ui.icons import (
    APP_ICON_FILE,
    STATUS_ICON_FILES,
    app_icon,
    render_svg,
    status_icon,
    svg_data,
)

SIZES = (16, 24, 48)

#: The hue family of each icon's most common opaque colour.
EXPECTED = {
    Status.IN_SYNC: "blue",
    Status.EXCLUDED: "grey",
    Status.DUPLICATE: "grey",
    Status.FAILING: "red",
    Status.PENDING: "grey",
}


def colour_family(color: QColor) -> str:
    r, g, b = color.red(), color.green(), color.blue()
    if max(r, g, b) - min(r, g, b) < 40:
        return "grey"
    if b > r and b > g:
        return "blue"
    if r > g and r > b:
        return "red"
    return "other"


def dominant(image: QImage) -> QColor:
    """The most frequent clearly opaque, non-white colour (by family)."""
    tally: dict[str, int] = {}
    sample: dict[str, QColor] = {}
    for y in range(image.height()):
        for x in range(image.width()):
            color = image.pixelColor(x, y)
            if color.alpha() < 200 or min(color.red(), color.green(), color.blue()) > 230:
                continue
            family = colour_family(color)
            tally[family] = tally.get(family, 0) + 1
            sample.setdefault(family, color)
    return sample[max(tally, key=lambda family: tally[family])]


def test_every_icon_file_is_a_package_resource() -> None:
    folder = files("healthdesk.resources") / "icons"
    for name in [*STATUS_ICON_FILES.values(), APP_ICON_FILE]:
        assert (folder / name).is_file(), name
    assert set(STATUS_ICON_FILES) == set(Status)


@pytest.mark.parametrize("status", STATUS_ORDER)
def test_status_icons_render_in_their_colour_at_every_size(qtbot: QtBot, status: Status) -> None:
    icon = status_icon(status)
    assert not icon.isNull()
    for size in SIZES:
        image = icon.pixmap(QSize(size, size)).toImage()
        assert image.width() == size
        assert image.pixelColor(0, 0).alpha() == 0  # a transparent corner: no box
        assert colour_family(dominant(image)) == EXPECTED[status], size


def test_icons_differ_from_each_other(qtbot: QtBot) -> None:
    images = [render_svg(svg_data(STATUS_ICON_FILES[s]), 24) for s in STATUS_ORDER]
    for i, one in enumerate(images):
        for other in images[i + 1 :]:
            assert one != other


def test_the_app_icon(qtbot: QtBot) -> None:
    icon = app_icon()
    assert not icon.isNull()
    image = icon.pixmap(QSize(64, 64)).toImage()
    assert colour_family(image.pixelColor(32, 12)) == "blue"
    assert 64 in {size.width() for size in icon.availableSizes()}


def test_icons_are_cached(qtbot: QtBot) -> None:
    assert status_icon(Status.FAILING) is status_icon(Status.FAILING)
    assert app_icon() is app_icon()


def test_an_invalid_svg_is_refused(qtbot: QtBot) -> None:
    with pytest.raises(ValueError, match="SVG"):
        render_svg(b"<not an svg", 16)


@pytest.mark.parametrize("logical", [16, 20, 24, 32, 48])
def test_icons_are_drawn_for_the_screen_not_scaled_at_200_percent(
    qtbot: QtBot, logical: int
) -> None:
    # At 200% an icon of 16 logical pixels takes 32 device pixels: they must be the SVG
    # drawn at 32, not 16 blown up (blurred).
    pixmap = status_icon(Status.FAILING).pixmap(QSize(logical, logical), 2.0)
    assert pixmap.devicePixelRatio() == 2.0
    assert pixmap.width() == 2 * logical
    drawn = render_svg(svg_data(STATUS_ICON_FILES[Status.FAILING]), 2 * logical)
    image = pixmap.toImage().convertToFormat(drawn.format())
    assert image == drawn

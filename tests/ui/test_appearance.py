"""View > Appearance: light, dark or the system's scheme, remembered; the window's own
colours (a muted label, the state banner, the failing filter bar) follow the palette."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QColor, QPalette
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from healthdesk.ui.appearance import SETTINGS_KEY, Appearance, AppearanceControl
from healthdesk.ui.connections import PHASE_BADGES
from healthdesk.ui.main_window import MainWindow
from healthdesk.ui.style import is_dark, tone
from tests.ui import window_fixtures
from tests.ui.window_fixtures import MakeEngine, MakeWindow, main_items

make_engine = window_fixtures.make_engine
make_window = window_fixtures.make_window
settings = window_fixtures.settings


@pytest.fixture(autouse=True)
def _back_to_the_system(qapp: Any) -> Iterator[None]:
    yield
    AppearanceControl.of(qapp).apply(Appearance.SYSTEM)


def _appearance_actions(window: MainWindow) -> dict[Appearance, QAction]:
    menu = window.findChild(QMenu, "appearance_menu")
    assert menu is not None
    return {Appearance(action.data()): action for action in menu.actions()}


def _muted_label_colour(window: MainWindow) -> QColor:
    title = window.actions_panel._title  # "Writes into", secondary text
    return title.palette().color(QPalette.ColorRole.WindowText)


def test_dark_and_light_apply_at_once_and_are_remembered(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow, settings: QSettings
) -> None:
    window = make_window(make_engine(main_items()))
    qtbot.waitUntil(lambda: window.last_summary is not None)
    actions = _appearance_actions(window)
    assert actions[Appearance.SYSTEM].isChecked()  # nothing remembered yet
    light_window = QApplication.palette().color(QPalette.ColorRole.Window)

    actions[Appearance.DARK].trigger()
    assert is_dark()
    assert settings.value(SETTINGS_KEY) == Appearance.DARK.value
    palette = QApplication.palette()
    assert palette.color(QPalette.ColorRole.Window).lightness() < light_window.lightness()
    # Secondary text takes the dark palette's grey (as the change reaches the widgets),
    # the banner its phase's dark tone.
    grey = palette.color(QPalette.ColorRole.PlaceholderText)
    qtbot.waitUntil(lambda: _muted_label_colour(window) == grey)
    connection = window.current_connection()
    assert connection is not None
    dark_tone = tone(PHASE_BADGES[connection.state.phase].tone)
    strip = window.banner._strip
    qtbot.waitUntil(lambda: dark_tone.background in strip.styleSheet())
    # What is drawn is dark too: the window's background, in a grab.
    image = window.grab().toImage()
    corner = image.pixelColor(image.width() - 3, image.height() // 2)
    assert corner.lightness() < 100, corner.name()

    actions[Appearance.LIGHT].trigger()
    assert not is_dark()
    assert settings.value(SETTINGS_KEY) == Appearance.LIGHT.value
    light_tone = tone(PHASE_BADGES[connection.state.phase].tone)
    assert light_tone != dark_tone
    qtbot.waitUntil(lambda: light_tone.background in strip.styleSheet())
    light_grey = QApplication.palette().color(QPalette.ColorRole.PlaceholderText)
    assert light_grey != grey
    qtbot.waitUntil(lambda: _muted_label_colour(window) == light_grey)


def test_a_new_window_starts_in_the_remembered_scheme(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow, settings: QSettings
) -> None:
    settings.setValue(SETTINGS_KEY, Appearance.DARK.value)
    window = make_window(make_engine(main_items()))
    assert is_dark()
    assert _appearance_actions(window)[Appearance.DARK].isChecked()


def test_a_bad_remembered_value_follows_the_system(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow, settings: QSettings
) -> None:
    settings.setValue(SETTINGS_KEY, "purple")
    window = make_window(make_engine(main_items()))
    assert _appearance_actions(window)[Appearance.SYSTEM].isChecked()
    assert not is_dark()  # the offscreen platform reports no dark scheme

"""Light or dark: the system's scheme by default, or the one the agent chose in
View > Appearance (remembered).

Qt learns the desktop's colour scheme from its platform theme (GNOME's and KDE's report
it, and tell when it changes); but Fusion, the style Qt draws on Linux, keeps its light
palette under a dark scheme unless the theme hands it a dark one. So the scheme decides
here and the palette follows: a dark Fusion palette of our own, or the platform's.
Our own colours (`ui.style.tone`) read the palette when they paint.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QMenu, QWidget


class Appearance(StrEnum):
    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


APPEARANCE_LABELS: Final = {
    Appearance.SYSTEM: "Follow the &System",
    Appearance.LIGHT: "&Light",
    Appearance.DARK: "&Dark",
}

_R = QPalette.ColorRole
_G = QPalette.ColorGroup

#: The dark palette: Fusion's roles in greys, text at a contrast of 12:1 on its base.
_DARK_ROLES: Final = {
    _R.Window: "#2b2d30",
    _R.WindowText: "#e6e6e6",
    _R.Base: "#1f2023",
    _R.AlternateBase: "#27292c",
    _R.ToolTipBase: "#3a3d41",
    _R.ToolTipText: "#f0f0f0",
    _R.PlaceholderText: "#9a9da1",
    _R.Text: "#e6e6e6",
    _R.Button: "#33363a",
    _R.ButtonText: "#e6e6e6",
    _R.BrightText: "#ff6b6b",
    _R.Light: "#4a4d52",
    _R.Midlight: "#3d4044",
    _R.Mid: "#6b6f75",
    _R.Dark: "#17181a",
    _R.Shadow: "#000000",
    _R.Highlight: "#3d8ee6",
    _R.HighlightedText: "#ffffff",
    _R.Link: "#8ab4f8",
    _R.LinkVisited: "#c58af9",
    _R.Accent: "#3d8ee6",
}
_DARK_DISABLED: Final = {
    _R.WindowText: "#7c7f84",
    _R.Text: "#7c7f84",
    _R.ButtonText: "#7c7f84",
    _R.Highlight: "#4a4d52",
    _R.HighlightedText: "#b0b0b0",
}


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in _DARK_ROLES.items():
        palette.setColor(role, QColor(colour))
    for role, colour in _DARK_DISABLED.items():
        palette.setColor(_G.Disabled, role, QColor(colour))
    return palette


def system_is_dark() -> bool:
    """Whether the desktop asks for a dark scheme (False when it says nothing)."""
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def wants_dark(choice: Appearance) -> bool:
    return choice is Appearance.DARK or (choice is Appearance.SYSTEM and system_is_dark())


class AppearanceControl(QObject):
    """Applies the chosen appearance to the application, and again when the desktop's
    scheme changes while "Follow the System" is chosen."""

    def __init__(self, app: QApplication, choice: Appearance = Appearance.SYSTEM) -> None:
        super().__init__(app)
        self.setObjectName("appearance")
        self._app = app
        self._choice = choice
        app.styleHints().colorSchemeChanged.connect(self._on_scheme_changed)
        self.apply(choice)

    @classmethod
    def of(cls, app: QApplication) -> AppearanceControl:
        """The application's control, made on the first call (following the system)."""
        existing = app.findChild(AppearanceControl, "appearance")
        return existing if existing is not None else cls(app)

    def choice(self) -> Appearance:
        return self._choice

    def apply(self, choice: Appearance) -> None:
        self._choice = choice
        if wants_dark(choice):
            self._app.setPalette(dark_palette())
        else:
            # No role set: the platform's own palette (its theme's, or the style's).
            self._app.setPalette(QPalette())

    def _on_scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        if self._choice is Appearance.SYSTEM:
            self.apply(self._choice)


#: The settings key of the agent's choice.
SETTINGS_KEY: Final = "appearance"


def appearance_menu(parent: QWidget, settings: QSettings) -> QMenu:
    """View > Appearance: Follow the System, Light, Dark (one checked), applied at once
    and remembered in `settings`; the remembered choice is applied now."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    saved = settings.value(SETTINGS_KEY)
    try:
        choice = Appearance(saved) if isinstance(saved, str) else Appearance.SYSTEM
    except ValueError:
        choice = Appearance.SYSTEM
    control = AppearanceControl.of(app)
    if control.choice() is not choice:
        control.apply(choice)
    menu = QMenu("&Appearance", parent)
    menu.setObjectName("appearance_menu")
    group = QActionGroup(menu)
    group.setExclusive(True)
    for option, label in APPEARANCE_LABELS.items():
        action = QAction(label, menu, checkable=True)
        action.setData(option.value)
        action.setChecked(option is choice)
        group.addAction(action)
        menu.addAction(action)

    def chosen(action: QAction) -> None:
        option = Appearance(action.data())
        control.apply(option)
        settings.setValue(SETTINGS_KEY, option.value)

    group.triggered.connect(chosen)
    return menu

"""The one channel through which the window tells the user something: a line in the status
bar, or an error dialog. Every part emits into `Messages`; only the window shows them
(qutebrowser's `utils/message.py` has the same shape), so tests listen to one object and
no module borrows another's dialog.

Also the one place that turns an exception into words (`error_text`).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget
from sqlalchemy.exc import DatabaseError, OperationalError

from healthdesk.feed.items import FeedError

__all__ = ["INFO_MS", "WARNING_MS", "Messages", "error_text", "show_error"]

#: How long a line stays in the status bar (ms); 0 keeps it until the next one.
INFO_MS = 8_000
WARNING_MS = 15_000


def error_text(exc: BaseException) -> str:
    """What went wrong, in one or two lines a support agent can act on (never a
    traceback): a broken snapshot names its file and line."""
    if isinstance(exc, FeedError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    if isinstance(exc, OperationalError) and "locked" in str(exc.orig or exc):
        return "The database is busy with another Health Desk process; try again in a moment."
    if isinstance(exc, DatabaseError):
        if type(exc.orig).__module__.startswith("psycopg"):  # the team store
            from healthdesk.store.team import describe_error

            said = describe_error(exc)
            if said:
                return said[0].upper() + said[1:] + "."
        return f"The database cannot be used: {exc.orig or exc}"
    return f"{type(exc).__name__}: {exc}"


class Messages(QObject):
    """Messages for the user, from anywhere in the window.

    Signals:
        status(str, int): a line for the status bar and how long it stays (ms; 0: until
            replaced).
        alert(str, str): an error that needs the user's attention: title and plain text
            (the window shows a dialog).
    """

    status = Signal(str, int)
    alert = Signal(str, str)

    def info(self, text: str, timeout_ms: int = INFO_MS) -> None:
        self.status.emit(text, timeout_ms)

    def warning(self, text: str) -> None:
        self.status.emit(text, WARNING_MS)

    def error(self, title: str, text: str) -> None:
        self.alert.emit(title, text)


def show_error(parent: QWidget | None, title: str, text: str) -> QMessageBox:
    """A window-modal error message, opened without a nested event loop. The text is
    plain: it may quote customer data."""
    box = QMessageBox(parent)
    box.setObjectName("error_box")
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()
    return box

"""Waiting for the window's background work in tests."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from healthdesk.ui.operations import Operations


def drain(qtbot: QtBot, operations: Operations) -> None:
    """Wait until the background work has ended and its answers were handed out.

    `busy()` forgets stale requests and those of a deleted owner at once, so it cannot say
    when their work ends: the pool is waited for, then what its threads posted is
    delivered.
    """
    qtbot.waitUntil(lambda: not operations.busy(), timeout=5000)
    assert operations.wait_done(10_000)
    QApplication.processEvents()

"""The window's progress dialog for long work (an import, a support report).

Modal to the window, shown only when the work lasts more than 300 ms, and kept open at
100% until the work's owner closes it (no auto-close or reset: the owner knows when the
work has really ended), with a Cancel button.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QWidget

#: Work quicker than this (ms) shows no dialog at all.
SHOW_AFTER_MS = 300


def work_progress(
    parent: QWidget | None,
    *,
    name: str,
    title: str,
    label: str,
    maximum: int,
    on_cancel: Callable[[], None],
) -> QProgressDialog:
    """A progress dialog from 0 to `maximum` (0: a busy indicator, the length unknown)."""
    dialog = QProgressDialog(parent)
    dialog.setObjectName(name)
    dialog.setWindowTitle(title)
    dialog.setLabelText(label)
    dialog.setCancelButtonText("Cancel")
    dialog.setRange(0, maximum)
    if maximum:
        dialog.setValue(0)
    dialog.setMinimumDuration(SHOW_AFTER_MS)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.canceled.connect(on_cancel)
    return dialog

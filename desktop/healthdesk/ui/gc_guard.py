"""Collect Python's cyclic garbage on the GUI thread only.

Worker threads (the operations pool, the sync client's writer) run Python code, and
Python's cyclic collector runs in whichever thread happens to allocate when a threshold
is crossed. A Qt object freed there is destroyed in the wrong thread ("QObject::~QObject:
Timers cannot be stopped from another thread", then a crash: seen on Debian's Python
3.11.2, one run in a few). So the automatic collector is turned off and a timer on the
GUI thread collects instead, generation by generation, as the thresholds say. The test
suite does the same between and during its tests (tests/conftest.py).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer, Slot

__all__ = ["GuiThreadCollector", "collect_due"]


def collect_due(thresholds: tuple[int, int, int] | None = None) -> int | None:
    """Collect the oldest generation whose count is past its threshold (on the calling
    thread); returns it, or None when nothing was due."""
    limits = thresholds or gc.get_threshold()
    counts = gc.get_count()
    for generation in (2, 1, 0):
        if counts[generation] > limits[generation]:
            gc.collect(generation)
            return generation
    return None


class GuiThreadCollector(QObject):
    """Owns the collection of cyclic garbage while it lives; `stop()` hands it back."""

    def __init__(self, *, interval_ms: int = 500, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()

    @Slot()
    def _on_timer_timeout(self) -> None:
        collect_due(self._thresholds)

    def stop(self) -> None:
        self._timer.stop()
        if self._was_enabled:
            gc.enable()

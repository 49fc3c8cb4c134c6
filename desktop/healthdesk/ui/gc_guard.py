"""Collect Python's cyclic garbage on the GUI thread only.

Worker threads (row loaders, the sync writer) run Python code, and Python's cyclic
collector runs in whichever thread happens to allocate when a threshold is crossed. A Qt
object freed there is destroyed in the wrong thread ("Timers cannot be stopped from
another thread", then a crash). So the automatic collector is turned off and a timer on
the GUI thread collects instead, generation by generation, as the thresholds say.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer, Slot


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
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self._thresholds[generation]:
                gc.collect(generation)
                return

    def stop(self) -> None:
        self._timer.stop()
        if self._was_enabled:
            gc.enable()

"""Cyclic garbage is collected on the GUI thread, by a timer, never by a worker thread."""

from __future__ import annotations

import gc
import weakref

from pytestqt.qtbot import QtBot

from healthdesk.ui.gc_guard import GuiThreadCollector


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_the_collector_owns_collection_while_it_lives(qtbot: QtBot) -> None:
    gc.enable()  # the suite itself collects on the main thread only: start as an app does
    collector = GuiThreadCollector(interval_ms=10)
    try:
        assert not gc.isenabled()
        garbage = _Cycle()
        gone = weakref.ref(garbage)
        del garbage
        keep = [[] for _ in range(2 * gc.get_threshold()[0])]  # past generation 0's threshold
        assert gone() is not None  # no automatic collection any more
        qtbot.waitUntil(lambda: gone() is None, timeout=2000)
        del keep
    finally:
        collector.stop()
    assert gc.isenabled()
    gc.disable()

"""Shared fixtures. Qt runs offscreen: CI and the test machines have no display.

Cyclic garbage is collected on the main thread only, as the application does
(`healthdesk.ui.gc_guard`): with the automatic collector on, a worker thread of one test
(the operations pool, a sync writer, a reference service) could collect a cycle holding a
Qt object of an earlier test, and destroy it in the wrong thread.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from healthdesk.ui.gc_guard import collect_due


@pytest.fixture(autouse=True, scope="session")
def _collect_on_the_main_thread_only() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    if was_enabled:
        gc.enable()


@pytest.fixture(autouse=True)
def _collect_after_each_test() -> Iterator[None]:
    yield
    collect_due()

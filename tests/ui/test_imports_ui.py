"""Imports from the window: off the GUI thread, with progress and Cancel; a cancelled or
failed import leaves the database exactly as it was; errors name the file and line."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QPushButton, QWidget
from pytestqt.qtbot import QtBot

import healthdesk.ui.imports as imports_module
import healthdesk.ui.main_window as main_window_module
from healthdesk.store.imports import import_snapshots
from healthdesk.store.ingest import BATCH_SIZE, ImportCancelled
from healthdesk.ui.imports import SnapshotImporter
from healthdesk.ui.messages import error_text, show_error
from healthdesk.ui.operations import Operations
from tests.helpers.db import dump
from tests.helpers.feed import connection, record, write
from tests.ui import window_fixtures
from tests.ui.window_fixtures import (
    MakeEngine,
    MakeWindow,
    main_items,
    one_way_items,
)

# The fixtures of window_fixtures that this module uses.
make_engine = window_fixtures.make_engine
make_window = window_fixtures.make_window
settings = window_fixtures.settings

Shown = list[tuple[Any, str, str]]


@pytest.fixture
def shown_errors(monkeypatch: pytest.MonkeyPatch) -> Shown:
    """The window's error dialogs, intercepted: (parent, title, text) of each; no modal
    box opens."""
    shown: Shown = []

    def fake(parent: QWidget | None, title: str, text: str) -> None:
        shown.append((parent, title, text))

    monkeypatch.setattr(main_window_module, "show_error", fake)
    return shown


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Holds every import at its start until the test sets the event (or the import is
    cancelled: then it stops there, as a real import stops at its next batch)."""
    event = threading.Event()

    def held(engine: Any, paths: Any, **keywords: Any) -> Any:
        should_cancel = keywords["should_cancel"]
        while not event.wait(0.01):
            if should_cancel():
                raise ImportCancelled
        return import_snapshots(engine, paths, **keywords)

    monkeypatch.setattr(imports_module, "import_snapshots", held)
    return event


def big_items(cid: str = "c-big", records: int = 3 * BATCH_SIZE) -> list[dict[str, Any]]:
    items = [connection(cid, name="Big")]
    items += [record("a", f"r{n}", cid=cid, email=f"p{n}@example.com") for n in range(records)]
    return items


@pytest.mark.lifetime
def test_cancelled_import_leaves_the_database_unchanged(
    qtbot: QtBot,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    tmp_path: Path,
    gate: threading.Event,
) -> None:
    engine = make_engine(main_items())
    window = make_window(engine, synchronous=False)
    before = dump(engine)
    snapshot = write(tmp_path / "more.jsonl", one_way_items("c-new"))
    assert window.import_files([snapshot])
    assert window.importer.is_running()
    assert not window.open_action.isEnabled()
    dialog = window.importer.dialog
    assert isinstance(dialog, QProgressDialog)
    cancel = dialog.findChild(QPushButton)
    assert cancel is not None
    assert cancel.text() == "Cancel"
    with qtbot.waitSignal(window.importer.cancelled, timeout=10_000):
        cancel.click()
        gate.set()
    qtbot.waitUntil(lambda: not window.importer.is_running(), timeout=10_000)
    assert dump(engine) == before
    assert window.connections_model.rowCount() == 1
    assert window.statusBar().currentMessage() == "Import cancelled; the database is unchanged."
    assert window.open_action.isEnabled()
    assert window.recent_files() == []


def test_cancel_stops_a_long_import_midway(
    qtbot: QtBot, make_engine: MakeEngine, tmp_path: Path, background_operations: Operations
) -> None:
    engine = make_engine(main_items())
    before = dump(engine)
    snapshot = write(tmp_path / "big.jsonl", big_items())
    importer = SnapshotImporter(operations=background_operations, engine=engine)
    progress: list[tuple[int, str]] = []

    def on_progress(steps: int, phase: str) -> None:
        progress.append((steps, phase))
        importer.cancel()

    importer.progressed.connect(on_progress)
    with qtbot.waitSignal(importer.cancelled, timeout=30_000):
        assert importer.start([snapshot])
    qtbot.waitUntil(lambda: not importer.is_running(), timeout=10_000)
    assert dump(engine) == before
    assert progress
    assert progress[0][1] == "reading"
    assert all(0 <= steps <= 1000 for steps, _ in progress)


def test_broken_snapshot_shows_an_error_naming_the_line(
    qtbot: QtBot,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    tmp_path: Path,
    shown_errors: Shown,
) -> None:
    engine = make_engine(main_items())
    window = make_window(engine)
    before = dump(engine)
    snapshot = write(tmp_path / "broken.jsonl", one_way_items("c-new"))
    lines = snapshot.read_text(encoding="utf-8").splitlines()
    lines.insert(3, '{"type": "record", oops')
    snapshot.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with qtbot.waitSignal(window.importer.failed, timeout=10_000) as blocker:
        window.import_files([snapshot])
    assert len(shown_errors) == 1
    parent, title, text = shown_errors[0]
    assert parent is window
    assert title == "Import failed"
    assert f"{snapshot}:4: not valid JSON" in text
    assert "The database is unchanged." in text
    assert "Traceback" not in text
    assert blocker.args[0].startswith(f"{snapshot}:4:")
    qtbot.waitUntil(lambda: not window.importer.is_running(), timeout=10_000)
    assert dump(engine) == before


def test_missing_file_is_an_error_too(
    qtbot: QtBot, make_engine: MakeEngine, tmp_path: Path, background_operations: Operations
) -> None:
    engine = make_engine(main_items())
    importer = SnapshotImporter(operations=background_operations, engine=engine)
    missing = tmp_path / "nowhere.jsonl"
    alerts: list[tuple[str, str]] = []
    background_operations.messages.alert.connect(lambda title, text: alerts.append((title, text)))
    with qtbot.waitSignal(importer.failed, timeout=10_000):
        importer.start([missing])
    qtbot.waitUntil(lambda: not importer.is_running(), timeout=10_000)
    assert len(alerts) == 1
    assert alerts[0][0] == "Import failed"
    assert alerts[0][1].endswith(f"{missing}: cannot open: No such file or directory")


def test_import_shows_the_new_connection(
    qtbot: QtBot, make_engine: MakeEngine, make_window: MakeWindow, tmp_path: Path
) -> None:
    engine = make_engine(main_items())
    window = make_window(engine)
    snapshot = write(tmp_path / "more.jsonl", one_way_items("c-new"))
    with qtbot.waitSignal(window.importer.imported, timeout=10_000) as blocker:
        window.import_files([snapshot])
    report, paths = blocker.args
    assert paths == [snapshot]
    assert "c-new" in report.decided
    assert window.current_connection().id == "c-new"
    assert window.statusBar().currentMessage().startswith("Imported more.jsonl:")
    assert window.recent_files() == [snapshot.resolve()]
    # one import at a time
    qtbot.waitUntil(lambda: not window.importer.is_running(), timeout=10_000)
    assert window.open_action.isEnabled()


def test_second_import_waits_for_the_first(
    qtbot: QtBot,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    tmp_path: Path,
    gate: threading.Event,
) -> None:
    window = make_window(make_engine(main_items()), synchronous=False)
    snapshot = write(tmp_path / "more.jsonl", one_way_items("c-new"))
    assert window.import_files([snapshot])
    assert not window.import_files([snapshot])
    assert "An import is running" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.importer.finished, timeout=10_000):
        gate.set()


@pytest.mark.lifetime
def test_closing_the_window_cancels_the_import_first(
    qtbot: QtBot,
    make_engine: MakeEngine,
    make_window: MakeWindow,
    tmp_path: Path,
    gate: threading.Event,
) -> None:
    engine = make_engine(main_items())
    window = make_window(engine, synchronous=False)
    before = dump(engine)
    assert window.import_files([write(tmp_path / "more.jsonl", one_way_items("c-new"))])
    assert window.importer.is_running()
    # Closing cancels the import and waits for its roll-back (the gate stops on the
    # cancel, as a real import stops at its next batch): then the window is gone.
    assert window.close()
    assert not window.isVisible()
    assert window.operations.closed
    assert not window.operations.busy()
    assert dump(engine) == before


def test_error_text_of_other_errors() -> None:
    assert error_text(OSError(2, "No such file", "x.jsonl")) == "x.jsonl: No such file"
    assert error_text(RuntimeError("boom")) == "RuntimeError: boom"


def test_show_error_opens_a_plain_text_box(qtbot: QtBot) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    box = show_error(parent, "Import failed", "<b>x</b>")
    assert box.text() == "<b>x</b>"
    assert box.textFormat() == Qt.TextFormat.PlainText
    assert box.isVisible()
    box.close()

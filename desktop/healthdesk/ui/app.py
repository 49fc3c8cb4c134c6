"""The desktop application: QApplication on a qasync loop, start-up and orderly shutdown.

Start-up opens the database (the user's own by default), importing the bundled demo into
an empty one, on a worker thread; then shows the window and imports the snapshot files
given on the command line (with progress and Cancel). A window already open on the same
database takes the files instead (ui/single_instance.py), and this process ends. All
background work, the opening of the database included, runs through one `Operations`.
Shutdown has one order: the window stops live sync and drains that background work, then
the database is closed.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import qasync
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog
from sqlalchemy import Engine

from healthdesk.store.db import default_db_path, open_db
from healthdesk.store.demo import ensure_demo
from healthdesk.ui.gc_guard import GuiThreadCollector
from healthdesk.ui.main_window import APPLICATION, ORGANIZATION, MainWindow
from healthdesk.ui.messages import error_text
from healthdesk.ui.operations import Operations, Work
from healthdesk.ui.single_instance import InstanceServer, hand_over, server_name

EXIT_OK = 0
EXIT_ERROR = 2


def application() -> QApplication:
    """The QApplication, created once, with the names QSettings and the desktop use."""
    existing = QCoreApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        headless = not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
        if existing is None and sys.platform.startswith("linux") and headless:
            # No display (a server, CI): offscreen instead of an abort in the xcb plugin.
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication(sys.argv[:1])
    from healthdesk.ui.icons import app_icon

    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setDesktopFileName("io.healthdesk.HealthDesk")  # packaging/linux: the .desktop file
    app.setWindowIcon(app_icon())
    if app.findChild(GuiThreadCollector) is None:
        GuiThreadCollector(parent=app)
    return app


def open_database(path: Path, *, with_demo: bool) -> tuple[Engine, bool]:
    """The engine on `path` (created and migrated as needed); an empty database gets the
    bundled demo when `with_demo`. Returns the engine and whether the demo was imported.
    Blocking: run it on a worker thread."""
    engine = open_db(path)
    try:
        imported = ensure_demo(engine) if with_demo else False
    except BaseException:
        engine.dispose()
        raise
    return engine, imported


def run(*, db_path: Path | None, files: Sequence[Path]) -> int:
    """Open the window on `db_path` (default: the user's database, with the demo on first
    run), import `files` into it and show them; return the exit status when the window
    closes."""
    app = application()
    app.setQuitOnLastWindowClosed(False)  # the coroutine ends the loop, after its cleanup
    result: int = qasync.run(_main(app, db_path=db_path, files=[Path(f) for f in files]))
    return result


async def _main(app: QApplication, *, db_path: Path | None, files: list[Path]) -> int:
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)
    path = db_path if db_path is not None else default_db_path()
    name = server_name(path)
    if hand_over(name, files):
        sys.stderr.write(_handed_text(files, path))
        return EXIT_OK
    instance = InstanceServer(name)
    if not instance.listen():  # another window started on it in the meantime
        sys.stderr.write(_handed_text([], path))
        return EXIT_OK
    try:
        return await _open_window(closed, path, files, instance)
    finally:
        instance.close()


def _handed_text(files: Sequence[Path], path: Path) -> str:
    what = f"{len(files)} snapshot file(s) handed" if files else "brought to the front"
    return f"healthdesk: the window open on {path}: {what}\n"


async def _open_window(
    closed: asyncio.Event, path: Path, files: list[Path], instance: InstanceServer
) -> int:
    operations = Operations()

    starting = QProgressDialog("Opening the database…", "", 0, 0)
    starting.setWindowTitle(APPLICATION)
    starting.setCancelButton(None)
    starting.setMinimumDuration(400)
    try:
        engine, demo = await operations.run_async(
            starting, "open", partial(_open, path, not files), what="open the database"
        )
    except Exception as exc:
        starting.close()
        operations.shutdown()
        await _fatal(f"Could not open the database {path}.\n\n{error_text(exc)}")
        return EXIT_ERROR
    starting.close()
    starting.deleteLater()

    window = MainWindow(engine=engine, operations=operations, db_path=path)
    instance.files_received.connect(window.receive_files)
    window.show()
    if demo:
        window.statusBar().showMessage(
            "Welcome! This is a demo database; open your own snapshot with File > Open "
            "Snapshot… (Ctrl+O) or drop it on the window.",
            0,
        )
    if files:
        window.import_files(files)
    try:
        await closed.wait()
    finally:
        window.shutdown()
        window.deleteLater()
        engine.dispose()
    return EXIT_OK


def _open(path: Path, with_demo: bool, _work: Work) -> tuple[Engine, bool]:
    return open_database(path, with_demo=with_demo)


async def _fatal(text: str) -> None:
    """Say why the application cannot start (also on stderr), and wait for OK."""
    sys.stderr.write(f"healthdesk: error: {text.replace(chr(10) * 2, ': ')}\n")
    box = QMessageBox(QMessageBox.Icon.Critical, APPLICATION, "")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    answered = asyncio.Event()
    box.finished.connect(lambda _result: answered.set())
    box.open()
    await answered.wait()

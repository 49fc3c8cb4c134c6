"""Render the Health window offscreen to a PNG, for tickets and docs (`healthdesk screenshot`).

The window is built as the application builds it, over a database (`db_path`) or over a
snapshot file imported into a temporary one (`file`); its data is read at once (a
`SynchronousOperations` runs every read inline) so that the picture shows every count and
row. The user's own settings are neither read nor
written: the picture depends only on the data and the arguments.
"""

from __future__ import annotations

import errno
import os
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSettings, QSize, Qt
from PySide6.QtWidgets import QApplication

from healthdesk.config import load_catalog
from healthdesk.core.model import Side, Status
from healthdesk.store.db import is_team_store, open_db
from healthdesk.store.imports import import_snapshots
from healthdesk.store.queries import UnknownContact, get_connection, list_connections
from healthdesk.ui.appearance import SETTINGS_KEY as APPEARANCE_KEY
from healthdesk.ui.appearance import Appearance, AppearanceControl
from healthdesk.ui.operations import SynchronousOperations

#: The --tab names: the status values, and "duplicates" as the tab says it.
TABS: dict[str, Status] = {status.value: status for status in Status} | {
    "duplicates": Status.DUPLICATE
}
DEFAULT_SIZE = QSize(1400, 900)
#: The longest wait (s) for every panel to show the chosen connection (it takes a turn).
SETTLE_S = 5.0


def _application() -> QApplication:
    existing = QCoreApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    # A screenshot never needs a display, and offscreen renders the same everywhere.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from healthdesk.ui.app import application

    return application()


def parse_tab(tab: str | Status | None) -> Status | None:
    if tab is None or isinstance(tab, Status):
        return tab
    try:
        return TABS[tab.strip().lower()]
    except KeyError:
        raise ValueError(
            f"unknown tab {tab!r}; choose one of in_sync, excluded, duplicates, failing, pending"
        ) from None


def render(
    *,
    out: Path,
    db_path: Path | str | None = None,
    file: Path | None = None,
    connection_id: str | None = None,
    tab: str | Status | None = None,
    size: QSize = DEFAULT_SIZE,
    search: str | None = None,
    contact: tuple[Side, str] | None = None,
    dark: bool = False,
) -> Path:
    """Render the window showing `connection_id` (default: the first connection) on `tab`
    (default: In sync) at `size` to the PNG `out`; return `out`. With `search`, the search
    bar holds that text and shows its results; with `contact` ((app, record id)), the
    Contact dock shows the contact holding that record; with `dark`, the window is in
    its dark scheme (else light, whatever the desktop's).

    Exactly one of `db_path` (an existing database) and `file` (a snapshot) is given.
    Raises UnknownConnection (naming the choices), FeedError for a broken snapshot,
    FileNotFoundError for a missing database, ValueError for bad arguments, UnknownContact
    for a record that no visible contact holds.
    """
    if (db_path is None) == (file is None):
        raise ValueError("give a snapshot file or a database, not both or neither")
    if size.width() < 200 or size.height() < 150:
        raise ValueError(f"size {size.width()}x{size.height()} is too small (at least 200x150)")
    status = parse_tab(tab)
    if db_path is not None and not is_team_store(db_path) and not Path(db_path).is_file():
        raise FileNotFoundError(errno.ENOENT, "no such database", str(db_path))
    app = _application()
    from healthdesk.ui.main_window import MainWindow

    with tempfile.TemporaryDirectory(prefix="healthdesk-screenshot-") as tmp:
        if file is not None:
            engine = open_db(Path(tmp) / "snapshot.sqlite3")
            shown: Path | str = Path(Path(file).name)
        else:
            assert db_path is not None
            engine = open_db(db_path)
            shown = db_path if is_team_store(db_path) else Path(Path(db_path).name)
        try:
            if file is not None:
                import_snapshots(engine, [file])
            chosen: str | None
            if connection_id is not None:
                chosen = get_connection(engine, connection_id).id
            else:
                connections = list_connections(engine)
                chosen = connections[0].id if connections else None
            settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
            scheme = Appearance.DARK if dark else Appearance.LIGHT
            settings.setValue(APPEARANCE_KEY, scheme.value)
            operations = SynchronousOperations()
            window = MainWindow(
                engine=engine,
                operations=operations,
                catalog=load_catalog(),
                settings=settings,
                db_path=shown,
            )
            try:
                window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
                if chosen is not None:
                    window.select_connection(chosen)
                if status is not None:
                    window.tabs.set_current_status(status)
                window.setFixedSize(size)
                window.show()
                # The panels around the lists (the rules, the search, the timeline) follow a
                # choice one turn of the loop later.
                settle_until = time.monotonic() + SETTLE_S
                while not window.settled and time.monotonic() < settle_until:
                    app.processEvents()
                for _ in range(3):
                    app.processEvents()
                if contact is not None:
                    window.open_contact_by_record(*contact)
                    shown_contact = window.detail_view.contact
                    app_id, record_id = contact
                    if shown_contact is None or all(
                        (r.app, r.id) != (app_id, record_id) for r in shown_contact.records
                    ):
                        raise UnknownContact(
                            f"no visible contact holds the record {app_id.value}:{record_id}"
                        )
                if search:
                    window.search_bar.search(search)
                for _ in range(3):
                    app.processEvents()
                pixmap = window.grab()
                if pixmap.size() != size:  # a high-density screen: scale to what was asked
                    pixmap = pixmap.scaled(
                        size,
                        Qt.AspectRatioMode.IgnoreAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
                out = Path(out)
                out.parent.mkdir(parents=True, exist_ok=True)
                if not pixmap.save(str(out), "PNG"):
                    raise OSError(errno.EIO, "cannot write the PNG", str(out))
            finally:
                window.close()
                window.deleteLater()
                operations.deleteLater()
                AppearanceControl.of(app).apply(Appearance.SYSTEM)
                app.processEvents()
        finally:
            engine.dispose()
    return out

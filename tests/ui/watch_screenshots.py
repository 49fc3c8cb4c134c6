"""The README's picture of File > Watch Failure Groups…, over the bundled demo's
connections: `python -m tests.ui.watch_screenshots [FOLDER]` (default
resources/screenshots). A test renders it into a temporary folder, so this stays true."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from healthdesk.store.db import open_db
from healthdesk.store.demo import ensure_demo
from healthdesk.store.queries import list_connections
from healthdesk.ui.screenshot import _application
from healthdesk.ui.watch import WatchDialog
from tests.ui.comparison_screenshots import _save

WATCH_PNG = "watch.png"


def render(folder: Path) -> list[Path]:
    """Write watch.png into `folder`; return its path."""
    app = _application()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="healthdesk-shots-") as tmp:
        engine = open_db(Path(tmp) / "demo.sqlite3")
        try:
            ensure_demo(engine)
            connections = list_connections(engine)
        finally:
            engine.dispose()
    dialog = WatchDialog(
        connections=connections,
        followed={connections[0].id},
        threshold=25,
        agent="",
        default_agent="maria",
    )
    try:
        dialog.resize(520, dialog.sizeHint().height())
        return [_save(app, dialog, folder / WATCH_PNG)]
    finally:
        dialog.close()
        dialog.deleteLater()
        app.processEvents()


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("resources/screenshots")
    for path in render(target):
        print(f"Wrote {path}")

"""The README's pictures of File > Compare With… and File > What If…, made from generated
demo data: `python -m tests.ui.comparison_screenshots [FOLDER]` (default
resources/screenshots). A test renders them into a temporary folder, so this stays true."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from healthdesk.config import load_catalog
from healthdesk.feed.generate import generate
from healthdesk.store.db import open_db
from healthdesk.store.imports import import_snapshots
from healthdesk.store.queries import get_connection
from healthdesk.ui.compare_dialog import CompareDialog
from healthdesk.ui.operations import SynchronousOperations
from healthdesk.ui.screenshot import _application
from healthdesk.ui.whatif_dialog import WhatIfDialog

CONNECTION = "c-hs-mc"
COMPARE_PNG = "compare.png"
WHATIF_PNG = "whatif.png"


def _save(app: QApplication, widget: QWidget, out: Path) -> Path:
    widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    widget.show()
    for _ in range(3):
        app.processEvents()
    if not widget.grab().save(str(out), "PNG"):
        raise OSError(f"cannot write {out}")
    return out


def render(folder: Path) -> list[Path]:
    """Write compare.png and whatif.png into `folder`; return their paths."""
    app = _application()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="healthdesk-shots-") as tmp:
        earlier = generate(Path(tmp) / "last-week.jsonl.gz", contacts=3000, seed=1).path
        now = generate(Path(tmp) / "today.jsonl.gz", contacts=3100, seed=2).path
        engine = open_db(Path(tmp) / "today.sqlite3")
        operations = SynchronousOperations()
        try:
            import_snapshots(engine, [now])
            connection = get_connection(engine, CONNECTION)
            compare = CompareDialog(
                operations=operations,
                engine=engine,
                connection=connection,
                catalog=load_catalog(),
                snapshot=earlier,
            )
            compare.resize(1000, 720)
            compare.show_move("in_sync", "failing")
            written.append(_save(app, compare, folder / COMPARE_PNG))
            compare.close()
            whatif = WhatIfDialog(operations=operations, engine=engine, connection=connection)
            whatif.resize(1180, 500)
            whatif.avoid_check.setChecked(False)
            whatif.set_rule_enabled(connection.settings.rules[0].id, False)
            tree = whatif.rules_tree
            rule = tree.topLevelItem(1)
            if rule is not None and rule.childCount():
                tree.setCurrentItem(rule.child(0))
            written.append(_save(app, whatif, folder / WHATIF_PNG))
            whatif.close()
            for widget in (compare, whatif):
                widget.deleteLater()
            app.processEvents()
        finally:
            operations.shutdown()
            engine.dispose()
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("resources/screenshots")
    for path in render(target):
        print(f"Wrote {path} ({path.stat().st_size:,} bytes)")

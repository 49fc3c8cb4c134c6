"""The bundled demo: what a new database is filled with, so the app opens on something."""

from __future__ import annotations

import importlib.resources

from sqlalchemy import Engine

from healthdesk.store.imports import import_snapshots
from healthdesk.store.queries import list_connections

DEMO_NAME = "demo.healthsnap"


def ensure_demo(engine: Engine) -> bool:
    """Import the bundled demo snapshot into an empty database; return whether it did."""
    if list_connections(engine):
        return False
    resource = importlib.resources.files("healthdesk.data") / DEMO_NAME
    with importlib.resources.as_file(resource) as path:
        import_snapshots(engine, [path])
    return True

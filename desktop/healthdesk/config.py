"""Where the user's own files live, and the failure catalog they may extend."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from healthdesk.core.failures import Catalog, bundled_catalog
from healthdesk.store.db import APP_NAME

USER_CATALOG_NAME = "failure-catalog.toml"


def user_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def user_catalog_path() -> Path:
    """A catalog file of the user's own, read after (and so overriding) the bundled one."""
    return user_config_dir() / USER_CATALOG_NAME


def load_catalog() -> Catalog:
    """The bundled failure catalog, extended by the user's file when there is one."""
    user = user_catalog_path()
    if not user.is_file():
        return Catalog.load()
    return Catalog.load([bundled_catalog(), user])

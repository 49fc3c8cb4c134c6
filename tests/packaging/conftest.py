"""Paths of the desktop files (packaging/linux/share) and the tools that check them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGING = ROOT / "packaging"
SHARE = PACKAGING / "linux" / "share"
APP_ID = "io.healthdesk.HealthDesk"
MIME_TYPE = "application/x-healthdesk-snapshot"
DESKTOP_FILE = SHARE / "applications" / f"{APP_ID}.desktop"
METAINFO_FILE = SHARE / "metainfo" / f"{APP_ID}.metainfo.xml"
MIME_FILE = SHARE / "mime" / "packages" / f"{APP_ID}.xml"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def require_tool(name: str) -> str:
    """The path of the command `name`; skips the test where it is missing, except in CI
    (.ci/run installs every tool these tests use), where a missing tool fails it."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path

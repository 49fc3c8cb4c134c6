"""Shared fixtures. Qt runs offscreen: CI and the test machines have no display."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

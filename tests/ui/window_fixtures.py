"""Fixtures of the window tests: small databases, isolated settings, windows that close.

Test modules import the fixtures they use from here (`from tests.ui.window_fixtures
import ...`); the snapshots are built with tests/helpers/feed.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from healthdesk.store.db import open_db
from healthdesk.store.imports import import_snapshots
from healthdesk.ui.operations import SynchronousOperations
from tests.helpers.feed import connection, event, mapping, record, write

HOSTILE = "<b>x</b><img src=x>"

#: Rules: a HubSpot record syncs when its lifecycle is "customer", a Mailchimp record when
#: its status is "subscribed".
RULES = [
    {"id": "ra", "from": "a", "all": [{"field": "lifecycle", "op": "equals", "value": "customer"}]},
    {"id": "rb", "from": "b", "all": [{"field": "status", "op": "equals", "value": "subscribed"}]},
]
CUSTOMER = {"lifecycle": "customer"}
SUBSCRIBED = {"status": "subscribed"}


def main_items(cid: str = "c-1", *, state: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """A two-way connection with contacts of every status (two failing groups)."""
    return [
        connection(cid, rules=RULES, state=state),
        record("a", "a1", cid=cid, name="Alice Martin", email="alice@acme.com", fields=CUSTOMER),
        record("b", "b1", cid=cid, name="Alice Martin", email="alice@acme.com", fields=SUBSCRIBED),
        mapping("a1", "b1", cid=cid),
        record("a", "a2", cid=cid, name="Bob Stone", email="bob@acme.com", fields=CUSTOMER),
        record("b", "b2", cid=cid, name="Bob Stone", email="bob@acme.com", fields=SUBSCRIBED),
        mapping("a2", "b2", cid=cid),
        record(
            "a", "a3", cid=cid, name="Carl Lead", email="carl@lead.io", fields={"lifecycle": "lead"}
        ),
        record("a", "a4", cid=cid, name="Dora Fail", email="dora@fail.io", fields=CUSTOMER),
        record("a", "a5", cid=cid, name="Eve Fail", email="eve@fail.io", fields=CUSTOMER),
        record("b", "b6", cid=cid, name="Finn Conflict", email="finn@x.io", fields=SUBSCRIBED),
        record("a", "a7", cid=cid, name="Gus Noemail", email="", fields=CUSTOMER),
        record("a", "a8", cid=cid, name="Alice Again", email=" ALICE@acme.com ", fields=CUSTOMER),
        record("b", "b9", cid=cid, name="Hal Pending", email="hal@home.io", fields=SUBSCRIBED),
        event(1, "a", "a1", "created", cid=cid),
        event(2, "b", "b2", "updated", cid=cid),
        event(3, "a", "a2", "updated", cid=cid),
        event(
            4,
            "a",
            "a4",
            "failed",
            cid=cid,
            message="dora@fail.io looks fake or invalid, please enter a real email address.",
        ),
        event(
            5,
            "a",
            "a5",
            "failed",
            cid=cid,
            message="eve@fail.io looks fake or invalid, please enter a real email address.",
        ),
        event(
            6,
            "b",
            "b6",
            "failed",
            cid=cid,
            code="CONFLICT",
            message="Contact already exists. Existing ID: 3401",
        ),
    ]


def one_way_items(cid: str = "c-2") -> list[dict[str, Any]]:
    """A one-way connection (a -> b): unmapped records of b are hidden everywhere."""
    return [
        connection(
            cid,
            name="Pipedrive → Mailchimp",
            direction="a_to_b",
            kinds=("pipedrive", "mailchimp"),
            names=("Pipedrive", "Mailchimp"),
        ),
        record("a", "p1", cid=cid, name="Paula Pair", email="paula@pd.io"),
        record("b", "m1", cid=cid, name="Paula Pair", email="paula@pd.io"),
        mapping("p1", "m1", cid=cid),
        record("a", "p2", cid=cid, name="Pete Pending", email="pete@pd.io"),
        record("a", "p3", cid=cid, name="Pete Again", email="PETE@pd.io"),
        record("a", "p4", cid=cid, name="", email=""),
        record("b", "m-only-1", cid=cid, name="Only In Mailchimp", email="only1@mc.io"),
        record("b", "m-only-2", cid=cid, name="Only In Mailchimp 2", email=""),
        event(1, "a", "p1", "created", cid=cid),
        event(2, "a", "p2", "failed", cid=cid, code="500", message="Internal error"),
    ]


def locked_items() -> list[dict[str, Any]]:
    """c-1 waits for c-2 (in the database) and c-3 waits for c-9 (not in it)."""
    return [
        *main_items(
            "c-1",
            state={"phase": "locked", "locked_by": {"id": "c-2", "name": "Pipedrive → Mailchimp"}},
        ),
        *one_way_items("c-2"),
        connection(
            "c-3",
            name="Zoho ⇄ HubSpot",
            state={"phase": "locked", "locked_by": {"id": "c-9", "name": "Elsewhere"}},
        ),
        record("a", "z1", cid="c-3", name="Zed", email="zed@z.io"),
    ]


def hostile_items() -> list[dict[str, Any]]:
    """Customer text that looks like markup, in every place the window shows it."""
    items = main_items("c-h")
    items[0] = connection(
        "c-h",
        name=HOSTILE,
        names=("<i>App A</i>", "App &amp; B"),
        rules=[
            {
                "id": "r<1>",
                "from": "a",
                "all": [{"field": "tag<s>", "op": "equals", "value": "<script>alert(1)</script>"}],
            },
            {"id": "rb", "from": "b", "all": []},
        ],
        state={"phase": "error", "message": "<a href='x'>token</a> expired"},
    )
    return items


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[QSettings]:
    """Settings of their own, in an ini file under tmp_path."""
    qsettings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    yield qsettings
    qsettings.sync()


MakeEngine = Callable[..., Engine]


@pytest.fixture
def make_engine(tmp_path: Path) -> Iterator[MakeEngine]:
    """`make_engine(items, name=...)`: a database holding `items` (imported from a snapshot)."""
    engines: list[Engine] = []

    def make(items: list[dict[str, Any]] | None = None, *, name: str = "test") -> Engine:
        engine = open_db(tmp_path / f"{name}.sqlite3")
        engines.append(engine)
        if items:
            snapshot = write(tmp_path / f"{name}.jsonl", items)
            import_snapshots(engine, [snapshot])
        return engine

    yield make
    for engine in engines:
        engine.dispose()


MakeWindow = Callable[..., Any]


@pytest.fixture
def make_window(qtbot: QtBot, settings: QSettings) -> Iterator[MakeWindow]:
    """`make_window(engine, synchronous=True, **keywords)`: a shown MainWindow, closed
    after the test. With `synchronous` (the default), its background work is answered inline (a
    `SynchronousOperations`); with False it runs on the real thread pool."""
    from healthdesk.ui.main_window import MainWindow

    windows: list[MainWindow] = []

    def make(engine: Engine, *, synchronous: bool = True, **keywords: Any) -> MainWindow:
        keywords.setdefault("settings", settings)
        if synchronous:
            keywords.setdefault("operations", SynchronousOperations())
        window = MainWindow(engine=engine, **keywords)
        windows.append(window)
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: window.settled)
        return window

    yield make
    for window in windows:
        window.close()
        if window.live.is_running():  # a test that left live sync running: stop it
            qtbot.waitUntil(lambda w=window: not w.live.is_running(), timeout=10_000)
            window.close()
        assert window.operations.closed, "the window did not shut its background work down"
        window.deleteLater()
    QApplication.processEvents()

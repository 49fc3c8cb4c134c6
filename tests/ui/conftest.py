"""Databases for the UI's models: a small one with every status, a big one of 50,000.

Both are built once per session from feed items (tests/helpers/feed.py) through the real
import, and are only read by the tests: a test that writes makes its own (`fresh_db`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from sqlalchemy import Engine

from healthdesk.core.failures import Catalog
from healthdesk.core.model import Connection
from healthdesk.store.db import open_db
from healthdesk.store.imports import import_snapshots
from healthdesk.store.queries import get_connection
from healthdesk.ui.gc_guard import GuiThreadCollector
from healthdesk.ui.operations import Operations, SynchronousOperations
from tests.helpers import feed

#: The hostile name of the small database: views must show exactly these characters.
HOSTILE_NAME = "<b>x</b><img src=x>"
#: Contacts of the big database: half mapped pairs (in sync), half pending singles.
BIG_CONTACTS = 50_000

#: Rules of c-1: a record syncs unless its name contains "skip".
RULES = [
    {"id": "ra", "from": "a", "all": [{"field": "name", "op": "not_contains", "value": "skip"}]},
    {"id": "rb", "from": "b", "all": [{"field": "name", "op": "not_contains", "value": "skip"}]},
]
_LATER = "2026-01-05T00:00:00Z"


def health_items() -> list[dict[str, Any]]:
    """Connection c-1 (HubSpot ⇄ Mailchimp) with every status, and a small c-2.

    c-1: in sync 4 (one opposite deleted, one hostile name); excluded 3 (no rule match,
    a pair matching no rule, no email); duplicates 2 (of an unmapped original, of a
    mapped one); failing 7 = refused by Mailchimp 4 (Invalid or fake email: 2 + 1 over
    two fingerprints; Already exists: 1, a pair) + refused by HubSpot 3 (Already exists:
    2, one fingerprint; Invalid or fake email: 1); pending 3.
    """
    r, m, e = feed.record, feed.mapping, feed.event
    fake = "{} looks fake or invalid, please enter a real email address."
    member, use_put = "edsger@example.com", "Use PUT to insert or update list members."
    return [
        feed.connection(rules=RULES),
        # in sync
        r("a", "1", name="Ada Lovelace", email="ada@example.com"),
        r("b", "m1", name="Ada Lovelace", email="ada@example.com"),
        r("a", "2", name="Grace Hopper", email="grace@example.com"),
        r("b", "m2", name="Grace Hopper", email="grace@example.com"),
        r("a", "3", name="Alan Turing", email="alan@example.com"),
        r("b", "m3", name="Alan Turing", email="alan@example.com", deleted=True),
        r("a", "4", name=HOSTILE_NAME, email="hostile@example.com"),
        r("b", "m4", name=HOSTILE_NAME, email="hostile@example.com"),
        # a failing pair
        r("a", "5", name="Edsger Dijkstra", email="edsger@example.com"),
        r("b", "m5", name="Edsger Dijkstra", email="edsger@example.com"),
        # excluded
        r("a", "10", name="Skip Me", email="skipme@example.com"),
        r("a", "11", name="Skip Pair", email="skippair@example.com"),
        r("b", "m11", name="Skip Pair B", email="skippair@example.com"),
        r("a", "12", name="No Mail", email=""),
        # duplicates: of an unmapped original (which is pending), of a mapped record
        r("a", "20", name="Dup Original", email="dup@example.com"),
        r("a", "21", name="Dup Copy", email="DUP@example.com ", created_at=_LATER),
        r("a", "22", name="Ada Again", email=" Ada@Example.com", created_at=_LATER),
        # failing singles
        r("a", "30", name="Fay Fake", email="fay@example.com"),
        r("a", "31", name="Gus Fake", email="gus@example.com"),
        r("a", "35", name="Kim Invalid", email="kim@example"),
        r("b", "m32", name="Hal Exists", email="hal@example.com"),
        r("b", "m33", name="Ivy Exists", email="ivy@example.com"),
        r("b", "m34", name="Jo Invalid", email="jo@invalid"),
        # pending
        r("a", "40", name="Pending Person", email="pending@example.com"),
        r("b", "m41", name="Pending B", email="pendingb@example.com"),
        m("1", "m1"),
        m("2", "m2"),
        m("3", "m3"),
        m("4", "m4"),
        m("5", "m5"),
        m("11", "m11"),
        e(1, "a", "1", "created"),
        e(2, "a", "2", "created"),
        e(3, "a", "5", "created"),
        failed(4, "a", "5", "Member Exists", f"{member} is already a list member. {use_put}"),
        failed(5, "a", "30", "Invalid Resource", fake.format("fay@example.com")),
        failed(6, "a", "31", "Invalid Resource", fake.format("gus@example.com")),
        failed(7, "a", "35", "Invalid Resource", "Please provide a valid email address."),
        failed(8, "b", "m32", "CONFLICT", "Contact already exists. Existing ID: 3401"),
        failed(9, "b", "m33", "CONFLICT", "Contact already exists. Existing ID: 9876"),
        failed(10, "b", "m34", "INVALID_EMAIL", "Email address jo@invalid is invalid"),
        # another connection, which no list of c-1 may show
        feed.connection(
            "c-2",
            name="Pipedrive ⇄ Mailchimp",
            kinds=("pipedrive", "mailchimp"),
            names=("Pipedrive", "Mailchimp"),
        ),
        r("a", "p1", cid="c-2", name="Zed Other", email="zed@example.com"),
        r("a", "p2", cid="c-2", name="Yan Failing", email="yan@example.com"),
        failed(1, "a", "p2", "Invalid Resource", fake.format("yan@example.com"), cid="c-2"),
    ]


def failed(seq: int, app: str, rid: str, code: str, message: str, **kw: Any) -> dict[str, Any]:
    """A failed write event of record `rid` of `app`, with the other app's raw error."""
    return feed.event(seq, app, rid, "failed", code=code, message=message, **kw)


def big_items(contacts: int = BIG_CONTACTS) -> list[dict[str, Any]]:
    """`contacts` contacts of c-1: pairs "Pair 000000".. (in sync), singles "Single ..".

    Names and emails are zero-padded so that their order is their number's order.
    """
    pairs = contacts // 2
    items: list[dict[str, Any]] = [feed.connection()]
    for i in range(pairs):
        email = f"pair{i:06d}@example.com"
        items.append(feed.record("a", f"p{i:06d}", name=f"Pair {i:06d}", email=email))
        items.append(feed.record("b", f"q{i:06d}", name=f"Pair {i:06d}", email=email))
    for i in range(contacts - pairs):
        email = f"single{i:06d}@example.com"
        items.append(feed.record("a", f"s{i:06d}", name=f"Single {i:06d}", email=email))
    items.extend(feed.mapping(f"p{i:06d}", f"q{i:06d}") for i in range(pairs))
    return items


def build_db(path: Path, items: list[dict[str, Any]]) -> Engine:
    engine = open_db(path)
    import_snapshots(engine, [feed.write(path.with_suffix(".jsonl"), items)])
    return engine


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="session")
def health_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The small database of `health_items` (read-only)."""
    engine = build_db(tmp_path_factory.mktemp("health") / "health.sqlite3", health_items())
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def health_connection(health_db: Engine) -> Connection:
    return get_connection(health_db, "c-1")


@pytest.fixture
def fresh_db(tmp_path: Path) -> Iterator[Engine]:
    """A database of `health_items` of the test's own, which it may change."""
    engine = build_db(tmp_path / "fresh.sqlite3", health_items())
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def big_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """50,000 contacts of c-1 (read-only): 25,000 in sync, 25,000 pending."""
    engine = build_db(tmp_path_factory.mktemp("big") / "big.sqlite3", big_items())
    yield engine
    engine.dispose()


@pytest.fixture
def operations(qapp: Any) -> Iterator[Operations]:
    """The inline runner: every background request is answered before `run` returns.

    Product code takes its `Operations` as an argument; tests of what a part shows hand
    it this one, tests of background behaviour take `background_operations`.
    """
    runner = SynchronousOperations()
    yield runner
    runner.shutdown()
    shiboken6.delete(runner)


@pytest.fixture
def background_operations(qapp: Any) -> Iterator[Operations]:
    """The real runner (a thread pool), shut down and drained after the test."""
    runner = Operations()
    yield runner
    assert runner.shutdown(), "background work did not end"
    shiboken6.delete(runner)  # its pool's idle threads end now, not at exit


@pytest.fixture(autouse=True, scope="session")
def _collect_during_qt_tests(qapp: Any) -> Iterator[None]:
    """Long Qt tests collect on the GUI thread too, as the application does."""
    collector = GuiThreadCollector(interval_ms=200, parent=qapp)
    yield
    collector.stop()

"""Properties of applying feeds, over random feeds (hypothesis).

- every visible contact has one status: the counts add up to the contacts, whose number
  is derived here from the feed itself (mapped pairs + unmapped records not hidden);
- applying a feed twice equals applying it once;
- a feed applied as pages, split at any boundary (the way the sync client applies them),
  equals the feed imported whole.

Examples are bounded (small feeds, few examples) to keep the suite fast on 2 cores.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from healthdesk.core.model import STATUS_ORDER
from healthdesk.store.cursors import apply_page
from healthdesk.store.db import open_db
from healthdesk.store.imports import import_snapshots
from healthdesk.store.queries import counts, iter_contacts
from tests.helpers.db import dump, statuses
from tests.helpers.feed import connection, event, mapping, record, write

CID = "c-1"
EMAILS = ["", "ada@x.io", "ADA@x.io ", "bob@y.io", "cy@z.io"]
LIFECYCLES = ["customer", "lead", ""]
OUTCOMES = ["created", "updated", "unchanged", "excluded", "duplicate", "failed", "queued"]
PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@st.composite
def feeds(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A valid feed of one connection: records, a partial pairing, events, in any order."""
    direction = draw(st.sampled_from(["two_way", "a_to_b", "b_to_a"]))
    rules_a = draw(
        st.sampled_from([[], [{"field": "lifecycle", "op": "equals", "value": "customer"}]])
    )
    rules = [{"id": "ra", "from": "a", "all": rules_a}, {"id": "rb", "from": "b", "all": []}]
    items: list[dict[str, Any]] = [
        connection(
            CID,
            direction=direction,
            avoid_duplicates=draw(st.booleans()),
            rules=rules,
        )
    ]
    a_ids = [f"a{n}" for n in range(draw(st.integers(0, 8)))]
    b_ids = [f"b{n}" for n in range(draw(st.integers(0, 8)))]
    body: list[dict[str, Any]] = []
    for app, ids in (("a", a_ids), ("b", b_ids)):
        for rid in ids:
            for _ in range(draw(st.integers(1, 2))):  # upserted once or twice
                body.append(
                    record(
                        app,
                        rid,
                        cid=CID,
                        email=draw(st.sampled_from(EMAILS)),
                        fields={"lifecycle": draw(st.sampled_from(LIFECYCLES))},
                        created_at=f"2026-01-0{draw(st.integers(1, 3))}T00:00:00Z",
                    )
                )
    pairs = list(zip(a_ids, draw(st.permutations(b_ids)), strict=False))
    pairs = pairs[: draw(st.integers(0, len(pairs)))]
    mappings = [
        mapping(a, b, cid=CID, removed=draw(st.booleans()))
        for a, b in pairs
        for _ in range(draw(st.integers(1, 2)))
    ]
    events = []
    for seq in range(1, draw(st.integers(0, 10)) + 1):
        app = draw(st.sampled_from(["a", "b"]))
        ids = a_ids if app == "a" else b_ids
        if ids:
            events.append(
                event(
                    seq, app, draw(st.sampled_from(ids)), draw(st.sampled_from(OUTCOMES)), cid=CID
                )
            )
    # Records first (a mapping names records the feed has declared), then the rest mixed.
    rest = draw(st.permutations(mappings + events))
    return items + body + list(rest)


def visible_contacts(feed: list[dict[str, Any]]) -> int:
    """How many contacts the feed makes visible, derived from its items alone."""
    direction = feed[0]["direction"]
    records = {(i["app"], i["id"]) for i in feed if i["type"] == "record"}
    active: dict[str, str] = {}
    for item in feed:
        if item["type"] == "mapping":
            if item["removed"]:
                active.pop(item["a"], None)
            else:
                active[item["a"]] = item["b"]
    mapped = {("a", a) for a in active} | {("b", b) for b in active.values()}
    shown = {"two_way": {"a", "b"}, "a_to_b": {"a"}, "b_to_a": {"b"}}[direction]
    single = [key for key in records - mapped if key[0] in shown]
    return len(active) + len(single)


@contextmanager
def fresh_engine() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix="healthdesk-prop-") as tmp:
        engine = open_db(Path(tmp) / "p.sqlite3")
        try:
            yield engine
        finally:
            engine.dispose()


@PROPERTY_SETTINGS
@given(feed=feeds())
def test_counts_add_up_to_the_visible_contacts(feed: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp, fresh_engine() as engine:
        import_snapshots(engine, [write(Path(tmp) / "f.jsonl", feed)])
        found = counts(engine, CID)
        listed = sum(1 for _ in iter_contacts(engine, CID, list(STATUS_ORDER)))
    assert sum(found.values()) == listed == visible_contacts(feed)


def data_of(engine: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row, but the connection's `imported_at`: when it was last imported is the
    one thing a second import of the same file may change (the clock moved on)."""
    rows = dump(engine)
    rows["connections"] = [row[:-1] for row in rows["connections"]]
    return rows


@PROPERTY_SETTINGS
@given(feed=feeds())
def test_applying_a_feed_twice_equals_once(feed: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp, fresh_engine() as engine:
        path = write(Path(tmp) / "f.jsonl", feed)
        import_snapshots(engine, [path])
        once = (data_of(engine), statuses(engine, CID))
        import_snapshots(engine, [path])
        twice = (data_of(engine), statuses(engine, CID))
    assert twice == once


@PROPERTY_SETTINGS
@given(feed=feeds(), data=st.data())
def test_a_feed_split_at_any_page_boundary_equals_the_whole(
    feed: list[dict[str, Any]], data: st.DataObject
) -> None:
    cuts = sorted(
        data.draw(st.sets(st.integers(1, len(feed) - 1), max_size=4)) if len(feed) > 1 else set()
    )
    bounds = [0, *cuts, len(feed)]
    pages = [feed[start:stop] for start, stop in pairwise(bounds)]
    with tempfile.TemporaryDirectory() as tmp, fresh_engine() as whole, fresh_engine() as paged:
        import_snapshots(whole, [write(Path(tmp) / "f.jsonl", feed)])
        for number, page in enumerate(pages, 1):
            apply_page(
                paged,
                source="http://127.0.0.1:1",
                connection_id=CID,
                items=page,
                next_cursor=f"cursor-{number}",
                decide=number == len(pages),  # as the client: decide with the last page
            )
        expected = statuses(whole, CID)
        got = statuses(paged, CID)
        expected_events, got_events = dump(whole)["events"], dump(paged)["events"]
    assert got == expected
    assert got_events == expected_events

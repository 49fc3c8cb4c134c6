"""Search through the index (store.search_index via store.queries.find) answers exactly
what a scan of every contact answers, ranks word starts first, and stays in step with
every way data changes: import, re-import, a live page, forgetting a connection, and the
migration that builds it for an older database."""

from __future__ import annotations

import gzip
import random
import unicodedata
from pathlib import Path

import orjson
import pytest
from alembic import command
from sqlalchemy import Engine, inspect

from healthdesk.core.contacts import ContactView
from healthdesk.core.model import STATUS_ORDER
from healthdesk.feed.generate import generate
from healthdesk.store import search_index
from healthdesk.store.cursors import apply_page
from healthdesk.store.db import _migrations_config
from healthdesk.store.forget import forget_connection
from healthdesk.store.imports import import_snapshots
from healthdesk.store.queries import find, iter_contacts, list_connections
from tests.helpers.feed import connection, record, write


def reference_fold(text: str) -> str:
    """Case folded, accents dropped, controls as spaces: written out character by
    character, independently of core.search_text."""
    out = []
    for char in unicodedata.normalize("NFKD", text.casefold()):
        if unicodedata.combining(char):
            continue
        out.append(" " if unicodedata.category(char).startswith("C") else char)
    return "".join(out).casefold()


def fields_of(contact: ContactView) -> list[str]:
    return [value for r in contact.records for value in (r.name, r.email, r.id) if value]


def shown_name(contact: ContactView) -> str:
    return next((r.name.strip(" ") for r in contact.records if r.name.strip(" ")), "")


def starts_word(field: str, query: str) -> bool:
    at = field.find(query)
    while at >= 0:
        if query[:1].isalnum() and query[0] != "_" and (at == 0 or not _word(field[at - 1])):
            return True
        at = field.find(query, at + 1)
    return False


def _word(char: str) -> bool:
    return char.isalnum()


def scan(engine: Engine, connection_id: str, query: str) -> list[int]:
    """Every contact matching `query`, by brute force, in the documented order: word
    starts first, then by name (unnamed last, NOCASE), then key."""
    wanted = reference_fold(query.strip()).strip(" ")
    ranked = []
    for contact in iter_contacts(engine, connection_id, STATUS_ORDER):
        folded = [reference_fold(f) for f in fields_of(contact)]
        if not any(wanted in f for f in folded):
            continue
        rank = 0 if any(starts_word(f, wanted) for f in folded) else 1
        name = shown_name(contact)
        nocase = "".join(c.lower() if "A" <= c <= "Z" else c for c in name)
        ranked.append((rank, name == "", nocase, contact.key))
    return [key for *_rest, key in sorted(ranked)]


def queries_of(engine: Engine, connection_id: str, rnd: random.Random) -> list[str]:
    contacts = list(iter_contacts(engine, connection_id, STATUS_ORDER))
    found = ["é", "Zoë", "ZOE", "@", "-", ".com", "zq", "  a  ", "ß", "O'", "\u202e"]
    for contact in rnd.sample(contacts, 25):
        for field in fields_of(contact):
            for size in (1, 2, 3, 6):
                start = rnd.randrange(0, max(len(field) - size, 0) + 1)
                piece = field[start : start + size]
                found.append(piece if rnd.random() < 0.7 else piece.upper())
    return found


def assert_same_as_scan(engine: Engine, queries: list[str]) -> int:
    checked = 0
    for conn in list_connections(engine):
        for query in queries:
            if not reference_fold(query).strip(" "):
                assert find(engine, conn.id, query).total == 0  # nothing to search for
                continue
            expected = scan(engine, conn.id, query)
            found = find(engine, conn.id, query, limit=len(expected) + 5)
            assert [c.key for c in found.contacts] == expected, (conn.id, query)
            assert (found.total, found.more) == (len(expected), False), (conn.id, query)
            checked += 1
    return checked


@pytest.fixture
def generated(engine: Engine, tmp_path: Path) -> tuple[Engine, Path]:
    path = tmp_path / "snap.healthsnap"
    generate(path, contacts=300, seed=5)
    import_snapshots(engine, [path])
    return engine, path


def test_find_equals_a_scan_of_every_contact(generated: tuple[Engine, Path]) -> None:
    engine, _path = generated
    rnd = random.Random(1)
    queries = queries_of(engine, list_connections(engine)[0].id, rnd)
    assert assert_same_as_scan(engine, queries) > 100


def test_many_matches_are_walked_in_the_same_order(
    generated: tuple[Engine, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond the exact-count limit, the first page is the scan's first page."""
    engine, _path = generated
    monkeypatch.setattr(search_index, "EXACT_LIMIT", 7)
    conn = list_connections(engine)[0]
    for query in ("a", "e", "an", "ma", "com", "Zoë", "1"):
        expected = scan(engine, conn.id, query)
        found = find(engine, conn.id, query, limit=5)
        assert [c.key for c in found.contacts] == expected[:5], query
        if len(expected) > 7:
            assert (found.total, found.more) == (7, True), query
        else:
            assert (found.total, found.more) == (len(expected), False), query


def _changed_copy(source: Path, target: Path, rnd: random.Random) -> None:
    with gzip.open(source, "rb") as lines, gzip.open(target, "wb") as out:
        for line in lines:
            item = orjson.loads(line)
            if item.get("type") == "record" and rnd.random() < 0.05:
                item["name"] = rnd.choice(["Zoë Quist", "ANNA-LENA", "Joanne", ""])
                item["email"] = rnd.choice(["zq@example.com", "", item["email"]])
            out.write(orjson.dumps(item) + b"\n")


def test_find_stays_in_step_with_reimport_live_pages_and_forget(
    generated: tuple[Engine, Path], tmp_path: Path
) -> None:
    engine, path = generated
    rnd = random.Random(2)
    first = list_connections(engine)[0].id
    queries = [*queries_of(engine, first, rnd), "zq", "anna-l", "joanne", "quist"]

    changed = tmp_path / "changed.healthsnap"
    _changed_copy(path, changed, rnd)
    report = import_snapshots(engine, [changed])
    assert report.decided  # only what changed was decided again
    assert_same_as_scan(engine, queries)

    page = [
        record("a", "live-1", cid=first, name="Zoë Quistgaard", email="live@zq.example"),
        record("b", "live-2", cid=first, name="Ann Live", email="ann.live@example.com"),
    ]
    apply_page(engine, source="http://svc", connection_id=first, items=page, next_cursor="n1")
    assert [c.name for c in find(engine, first, "quistg").contacts] == ["Zoë Quistgaard"]
    assert_same_as_scan(engine, [*queries, "live", "quistg"])

    forget_connection(engine, first)
    assert_same_as_scan(engine, queries)
    if engine.dialect.name != "sqlite":
        return  # the FTS5 index below is SQLite's (PostgreSQL's pg_trgm index is its own)
    with engine.connect() as db:
        # The index describes exactly the remaining texts...
        db.exec_driver_sql(
            "INSERT INTO search_fts (search_fts, rank) VALUES ('integrity-check', 1)"
        )
        # ...and holds no trigram that only the forgotten connection's texts had.
        db.exec_driver_sql(
            "CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, search_fts, 'row')"
        )
        terms = {row[0] for row in db.exec_driver_sql("SELECT term FROM temp.vocab")}
        db.rollback()
    assert terms
    assert "@zq" not in terms


def test_word_starts_come_first_then_by_name(engine: Engine, tmp_path: Path) -> None:
    people = [
        ("1", "Joanne Smith", "jo@example.com"),
        ("2", "Alan Nagy", "alannagy@example.com"),
        ("3", "Anna Berg", "berg@example.com"),
        ("4", "Bob Stone", "bob@example.com"),
        ("5", "Ann Lee", "lee@example.com"),
        ("6", "", "hannah@example.com"),
        ("7", "Zed Ann", "zed@example.com"),
    ]
    snapshot = write(
        tmp_path / "people.jsonl",
        [connection(), *(record("a", i, name=n, email=e) for i, n, e in people)],
    )
    import_snapshots(engine, [snapshot])
    found = find(engine, "c-1", "ann")
    assert [c.name or c.email for c in found.contacts] == [
        "Ann Lee",
        "Anna Berg",
        "Zed Ann",
        "Alan Nagy",
        "Joanne Smith",
        "hannah@example.com",
    ]
    assert (found.total, found.more) == (6, False)
    assert [c.name for c in find(engine, "c-1", "ÁNN LÉ").contacts] == ["Ann Lee"]


def test_the_migration_indexes_an_older_database(generated: tuple[Engine, Path]) -> None:
    engine, _path = generated
    with engine.begin() as db:
        command.downgrade(_migrations_config(db), "0004")
    tables = set(inspect(engine).get_table_names())
    assert "records" in tables
    assert "search_docs" not in tables
    assert "search_fts" not in tables
    with engine.begin() as db:
        command.upgrade(_migrations_config(db), "head")
    rnd = random.Random(3)
    assert_same_as_scan(engine, queries_of(engine, list_connections(engine)[0].id, rnd)[:40])

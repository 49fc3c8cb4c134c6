"""The team store gives exactly SQLite's answers: one generated snapshot (names in many
scripts and cases, duplicates, failures, pairs) imported into both, then every read of
the store compared: statuses, counts, summaries, every list in every order (pages, keys,
positions), search, timeline, exports, what-ifs and comparisons.

Contact keys (rids) are the one thing that may differ: PostgreSQL's sequence moves on
when an upsert updates, SQLite's rowid does not. They are handles, never shown; both
grow in the order rows are first inserted, so they order ties alike. Here a contact is
compared by its records' app ids instead (`_who`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from healthdesk.core.failures import Catalog
from healthdesk.core.model import STATUS_ORDER, Outcome, Side
from healthdesk.feed.generate import generate
from healthdesk.reports.export import write_csv
from healthdesk.store import activity, pages, queries, timeline, whatif
from healthdesk.store import statuses as statuses_of
from healthdesk.store.db import open_db
from healthdesk.store.imports import import_snapshots
from healthdesk.store.pages import ContactFilter, SortKey
from tests.helpers.db import dump, statuses

CONTACTS = 600


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("agree")
    return generate(folder / "demo.jsonl.gz", contacts=CONTACTS, seed=13).path


@pytest.fixture(scope="module")
def both(
    snapshot: Path, tmp_path_factory: pytest.TempPathFactory, postgres_cluster: object
) -> Iterator[tuple[Engine, Engine]]:
    from tests.helpers.postgres import Cluster

    assert isinstance(postgres_cluster, Cluster)
    lite = open_db(tmp_path_factory.mktemp("lite") / "db.sqlite3")
    name = postgres_cluster.create_database()
    team = open_db(postgres_cluster.url(name))
    for engine in (lite, team):
        import_snapshots(engine, [snapshot])
    yield lite, team
    lite.dispose()
    team.dispose()
    postgres_cluster.drop_database(name)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def _category_of(engine: Engine, connection_id: str, catalog: Catalog) -> pages.CategoryOf:
    connection = queries.get_connection(engine, connection_id)
    return lambda side, fp: catalog.classify(connection.app(side).kind, fp).category


def _who(engine: Engine, keys: Iterable[int | None]) -> list[Any]:
    """Each contact key as its records' (app, app id)s (None stays None)."""
    wanted = list(keys)
    rows = pages.rows_by_key(engine, [key for key in wanted if key is not None])
    return [
        None if key is None else tuple((r.app, r.id) for r in rows[key].records) for key in wanted
    ]


def _views(engine: Engine, views: Iterable[Any]) -> list[Any]:
    """Contact views without their keys, each with who it is."""
    listed = list(views)
    return list(
        zip(
            _who(engine, [view.key for view in listed]),
            [dataclasses.replace(view, key=0) for view in listed],
            strict=True,
        )
    )


def _without_rids(engine: Engine) -> dict[str, list[Any]]:
    tables = dump(engine)
    del tables["contacts"]  # compared by statuses()
    tables["records"] = sorted(row[1:] for row in tables["records"])
    return tables


def _connection_ids(engine: Engine) -> list[str]:
    return [c.id for c in queries.list_connections(engine)]


def test_the_same_rows_and_statuses(both: tuple[Engine, Engine]) -> None:
    lite, team = both
    assert _without_rids(team) == _without_rids(lite)
    ids = _connection_ids(lite)
    assert _connection_ids(team) == ids
    for connection_id in ids:
        assert statuses(team, connection_id) == statuses(lite, connection_id)


def test_the_same_counts_and_summaries(both: tuple[Engine, Engine], catalog: Catalog) -> None:
    lite, team = both
    for connection_id in _connection_ids(lite):
        assert queries.counts(team, connection_id) == queries.counts(lite, connection_id)
        connection = queries.get_connection(lite, connection_id)
        assert queries.summary(team, connection, catalog) == queries.summary(
            lite, connection, catalog
        )


@pytest.mark.parametrize("sort", list(SortKey))
def test_every_list_in_every_order(
    both: tuple[Engine, Engine], catalog: Catalog, sort: SortKey
) -> None:
    lite, team = both
    for connection_id in _connection_ids(lite):
        category_of = _category_of(lite, connection_id, catalog)
        for status in STATUS_ORDER:
            where = ContactFilter(status)
            assert pages.count(team, connection_id, where) == pages.count(
                lite, connection_id, where
            )
            for descending in (False, True):
                options = {"sort": sort, "descending": descending, "category_of": category_of}
                order = pages.keys(team, connection_id, where, **options)
                assert _who(team, order) == _who(
                    lite, pages.keys(lite, connection_id, where, **options)
                )
                window = {"offset": len(order) // 3, "limit": 25}
                assert _views(
                    team, pages.page(team, connection_id, where, **options, **window)
                ) == (_views(lite, pages.page(lite, connection_id, where, **options, **window)))
                for key in order[:: max(1, len(order) // 7)]:
                    assert pages.position_of(
                        team, connection_id, where, key, sort, descending, category_of=category_of
                    ) == order.index(key)


@pytest.mark.parametrize(
    "query", ["a", "ma", "MAR", "@example", "gmail.com", "é", "ÉLÈNE", "ß", "ö", "%", "_", "zz"]
)
def test_the_same_search(both: tuple[Engine, Engine], query: str) -> None:
    lite, team = both
    for connection_id in _connection_ids(lite):
        found = queries.find(team, connection_id, query, limit=50)
        expected = queries.find(lite, connection_id, query, limit=50)
        assert found.total == expected.total
        assert _views(team, found.contacts) == _views(lite, expected.contacts)


def test_the_same_timeline_and_actions(both: tuple[Engine, Engine]) -> None:
    lite, team = both
    for connection_id in _connection_ids(lite):
        assert timeline.count(team, connection_id) == timeline.count(lite, connection_id)
        days = activity.per_day(lite, connection_id)
        assert activity.per_day(team, connection_id) == days
        for day in days[:: max(1, len(days) // 5)]:
            got = timeline.page(team, connection_id, before_seq=None, limit=50, day=day.day)
            want = timeline.page(lite, connection_id, before_seq=None, limit=50, day=day.day)
            assert [e.seq for e in got] == [e.seq for e in want]
            assert len(want) == min(50, day.total)
        before = None
        while True:
            got = timeline.page(team, connection_id, before_seq=before, limit=97)
            expected = timeline.page(lite, connection_id, before_seq=before, limit=97)
            assert _who(team, [e.contact_key for e in got]) == _who(
                lite, [e.contact_key for e in expected]
            )
            assert [dataclasses.replace(e, contact_key=0) for e in got] == [
                dataclasses.replace(e, contact_key=0) for e in expected
            ]
            if len(got) < 97:
                break
            before = got[-1].seq
        for side in Side:
            for outcome in (Outcome.CREATED, Outcome.UPDATED):
                got_actions = timeline.action_contact_keys(team, connection_id, side, outcome)
                want = timeline.action_contact_keys(lite, connection_id, side, outcome)
                assert got_actions.events == want.events
                assert _who(team, got_actions.keys) == _who(lite, want.keys)


def test_the_same_exports(both: tuple[Engine, Engine], catalog: Catalog, tmp_path: Path) -> None:
    lite, team = both
    for connection_id in _connection_ids(lite):
        connection = queries.get_connection(lite, connection_id)
        texts = []
        for engine in (lite, team):
            out = tmp_path / f"{engine.dialect.name}.csv"
            with out.open("w", newline="", encoding="utf-8") as handle:
                write_csv(handle, queries.iter_contacts(engine, connection_id), connection, catalog)
            texts.append(out.read_text(encoding="utf-8"))
        assert texts[0] == texts[1]
        assert texts[0].count("\n") > 1


@pytest.mark.parametrize("query", ["a", "ma", "mar", "@example", "e", "zz"])
def test_the_same_search_beyond_the_exact_count(
    both: tuple[Engine, Engine], query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past the exact-count limit the search walks in name order and says "more": with a
    # small limit, every path of it is taken on this small snapshot.
    from healthdesk.store import search_index

    monkeypatch.setattr(search_index, "EXACT_LIMIT", 30)
    lite, team = both
    for connection_id in _connection_ids(lite):
        found = queries.find(team, connection_id, query, limit=20)
        expected = queries.find(lite, connection_id, query, limit=20)
        assert (found.total, found.more) == (expected.total, expected.more)
        assert _views(team, found.contacts) == _views(lite, expected.contacts)


def _changes(engine: Engine, connection_id: str) -> list[Any]:
    """Settings a what-if asks about: Avoid Duplicates switched, each rule removed."""
    stored = whatif.stored_settings(engine, connection_id)
    changed = [whatif.with_changes(stored, avoid_duplicates=not stored.avoid_duplicates)]
    changed += [
        whatif.with_changes(stored, without_rules=frozenset({rule.id})) for rule in stored.rules
    ]
    return changed


def test_the_same_whatif(both: tuple[Engine, Engine]) -> None:
    lite, team = both
    for connection_id in _connection_ids(lite):
        for settings in [
            whatif.stored_settings(lite, connection_id),
            *_changes(lite, connection_id),
        ]:
            assert whatif.whatif(team, connection_id, settings) == whatif.whatif(
                lite, connection_id, settings
            )
            by_key = [whatif.whatif_statuses(e, connection_id, settings) for e in (team, lite)]
            got, want = (
                sorted(zip(_who(engine, found), found.values(), strict=True), key=repr)
                for engine, found in zip((team, lite), by_key, strict=True)
            )
            assert got == want
    assert _without_rids(team) == _without_rids(lite)  # nothing written


def test_the_same_comparison(both: tuple[Engine, Engine], catalog: Catalog) -> None:
    lite, team = both
    for connection_id in _connection_ids(lite):
        connection = queries.get_connection(lite, connection_id)
        same = statuses_of.compare_databases(lite, lite, connection, catalog)
        assert statuses_of.compare_databases(team, lite, connection, catalog) == same
        assert statuses_of.compare_databases(lite, team, connection, catalog) == same
        for status in STATUS_ORDER:
            keys = {
                e: pages.keys(
                    e, connection_id, ContactFilter(status), sort=SortKey.NAME, descending=True
                )
                for e in (lite, team)
            }
            assert _who(team, statuses_of.by_name(team, list(keys[team]))) == _who(
                lite, statuses_of.by_name(lite, list(keys[lite]))
            )

"""`healthdesk bench`: every figure of the import suite, with its target, from one run;
and the "1% changed" copy changes one item in a hundred and nothing else."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson

from healthdesk.bench import Figure
from healthdesk.bench.command import format_table
from healthdesk.bench.imports import write_changed_copy
from healthdesk.feed.generate import generate
from healthdesk.store.db import open_db
from healthdesk.store.queries import counts, list_connections
from healthdesk.store.whatif import stored_settings
from tests.cli.conftest import Run


def test_bench_prints_every_import_figure_with_its_target(run: Run, tmp_path: Path) -> None:
    result = run("bench", "--contacts", "40", "--suite", "import", "--json", "--keep", tmp_path)

    assert result.code == 0, result.err
    report = json.loads(result.out)
    figures = {figure["name"]: figure for figure in report["figures"]}
    assert report["contacts"] == 40
    for name in (
        "import",
        "import peak RSS",
        "database size",
        "re-import, unchanged",
        "re-import, 1% of items changed",
        "pull over loopback",
    ):
        assert figures[name]["target"], name
        assert isinstance(figures[name]["ok"], bool), name
        assert figures[name]["value"] > 0, name
    floor = figures["floor (read, parse, insert one table)"]
    assert floor["ok"] is None
    with gzip.open(tmp_path / "snapshot-40-1.healthsnap") as lines:
        count = sum(1 for _ in lines)
    assert floor["detail"] == f"{count:,} lines"


def test_bench_prints_every_search_figure_with_its_target(run: Run, tmp_path: Path) -> None:
    result = run("bench", "--contacts", "40", "--suite", "search", "--json", "--keep", tmp_path)

    assert result.code == 0, result.err
    figures = {figure["name"]: figure for figure in json.loads(result.out)["figures"]}
    for name in (
        "search p95, 1 letter",
        "search p95, 2 letters",
        "search p95, 3 letters",
        "search p95, accents",
        "search p95, email fragment",
        "search p95, app id",
        "find 'ann', whole process",
        "first rows of in_sync, slowest sort",
        "first rows of failing, slowest sort",
    ):
        assert figures[name]["target"], name
        assert isinstance(figures[name]["ok"], bool), name
        assert figures[name]["value"] > 0, name
    for name in ("import with search index", "database size with search index"):
        assert figures[name]["ok"] is None
        assert figures[name]["value"] > 0, name


def test_the_table_marks_each_target_met_or_missed() -> None:
    table = format_table(
        [
            Figure("fast", 0.5, "x floor", "<= 1x", True),
            Figure("slow", 2.0, "x floor", "<= 1x", False),
            Figure("floor", 3.0, "s"),
        ]
    ).splitlines()
    assert table[0].split() == ["figure", "value", "target", "detail"]
    assert table[1].split()[-1] == "ok"
    assert table[2].split()[-1] == "MISSED"
    assert table[3].split() == ["floor", "3.00", "s"]


def test_the_changed_copy_changes_one_item_in_a_hundred(tmp_path: Path) -> None:
    source = tmp_path / "s.healthsnap"
    generate(source, contacts=300, seed=3)
    changed = write_changed_copy(source, tmp_path / "c.healthsnap")
    with gzip.open(source) as before, gzip.open(tmp_path / "c.healthsnap") as after:
        pairs = list(zip(before, after, strict=True))
    differing = [number for number, (a, b) in enumerate(pairs) if a != b]
    expected = [
        number
        for number, (a, _) in enumerate(pairs)
        if number and number % 100 == 0 and orjson.loads(a)["type"] != "connection"
    ]
    assert differing == expected
    assert changed == len(expected)


def test_bench_window_suite_prints_every_window_figure(run: Run, tmp_path: Path) -> None:
    from healthdesk.bench.window import LIVE_ITEMS
    from healthdesk.core.model import STATUS_ORDER
    from healthdesk.core.words import STATUS_LABELS
    from healthdesk.store.db import open_db
    from healthdesk.store.queries import counts, list_connections

    result = run("bench", "--contacts", "60", "--suite", "window", "--json", "--keep", tmp_path)

    assert result.code == 0, result.err
    figures = {figure["name"]: figure for figure in json.loads(result.out)["figures"]}
    assert not any(name.startswith("import") for name in figures)  # one suite only
    # The tabs of the biggest connection, with the counts the database holds.
    engine = open_db(tmp_path / "pull.sqlite3")
    try:
        sizes = {c.id: counts(engine, c.id) for c in list_connections(engine)}
    finally:
        engine.dispose()
    biggest = max(sizes.values(), key=lambda c: sum(c.values()))
    for status in STATUS_ORDER:
        name = f"{STATUS_LABELS[status]} tab, {biggest[status]:,} rows: first rows"
        assert figures[name]["unit"] == "ms", name
        assert isinstance(figures[name]["ok"], bool)
    for name in (
        "GUI-thread time per step (connection, tabs)",
        "summary, counts and failure tree",
        "timeline page",
        "live: GUI loop late by at most",
        "window peak memory",
        "`find`, whole process",
        "`summary --json`, whole process",
        "`screenshot`, whole process",
    ):
        assert figures[name]["target"], name
        assert isinstance(figures[name]["ok"], bool), name
    live = next(
        f for f in figures.values() if f["name"].startswith("live:") and "applied" in f["name"]
    )
    applied = int(live["name"].split()[1].replace(",", ""))
    assert applied >= LIVE_ITEMS


def test_bench_measures_a_team_store_beside_sqlite(
    run: Run, tmp_path: Path, postgres_url: str
) -> None:
    from healthdesk.bench.team import VIEWS

    result = run(
        "bench", "--contacts", "60", "--json", "--keep", tmp_path, "--suite", "team",
        "--team-store", postgres_url,
    )  # fmt: skip

    assert result.code == 0, result.err
    figures = {figure["name"]: figure for figure in json.loads(result.out)["figures"]}
    names = ["team store: import", "team store: re-import, unchanged"]
    assert list(figures)[:2] == names
    assert len(figures) == len(names) + len(VIEWS)
    for figure in figures.values():
        assert figure["unit"] == "s"
        assert figure["value"] > 0
        assert figure["detail"].startswith("SQLite ")


def test_bench_whatif_suite_times_each_change_of_the_largest_connection(
    run: Run, tmp_path: Path
) -> None:
    result = run("bench", "--contacts", "60", "--suite", "whatif", "--json", "--keep", tmp_path)

    assert result.code == 0, result.err
    figures = {figure["name"]: figure for figure in json.loads(result.out)["figures"]}
    db = tmp_path / "pull.sqlite3"
    engine = open_db(db)
    try:
        sizes = {c.id: sum(counts(engine, c.id).values()) for c in list_connections(engine)}
        largest = max(sizes, key=lambda cid: sizes[cid])
        settings = stored_settings(engine, largest)
    finally:
        engine.dispose()
    contacts = sizes[largest]
    avoid = "off" if settings.avoid_duplicates else "on"
    changes = [(f"Avoid Duplicates {avoid}", ["--avoid-duplicates", avoid])]
    changes += [
        (f"without rule {rule.id} (from {rule.side.value})", ["--without-rule", rule.id])
        for rule in settings.rules
    ]
    assert len(changes) > 1
    for name, args in changes:
        figure = figures[f"what-if, {name}"]
        assert figure["unit"] == "s"
        assert isinstance(figure["ok"], bool)
        printed = json.loads(
            run("whatif", "--db", db, "--connection", largest, *args, "--json").out
        )
        moved = sum(move["count"] for move in printed["moves"] if move["from"] != move["to"])
        assert figure["detail"].startswith(f"{moved:,} of {contacts:,} contacts moved"), name
    assert figures["what-if peak memory"]["value"] > 0


def test_a_child_measures_its_own_peak_not_that_of_the_bench_it_was_forked_from() -> None:
    import subprocess
    import sys

    from healthdesk.bench.child import peak_mib

    ballast = bytearray(200 * 1024 * 1024)  # the bench, holding a simulated service
    for offset in range(0, len(ballast), 4096):
        ballast[offset] = 1  # resident, page by page
    parent = peak_mib()
    child = subprocess.run(
        [sys.executable, "-c", "from healthdesk.bench.child import peak_mib; print(peak_mib())"],
        check=True,
        capture_output=True,
        text=True,
    )
    del ballast
    assert parent >= 200
    assert float(child.stdout) < parent - 150  # an interpreter, not the bench's memory

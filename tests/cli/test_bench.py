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
from tests.cli.conftest import Run


def test_bench_prints_every_import_figure_with_its_target(run: Run, tmp_path: Path) -> None:
    result = run("bench", "--contacts", "40", "--json", "--keep", tmp_path)

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
    floor = figures["floor (read, parse, insert one table)"]
    assert floor["ok"] is None
    with gzip.open(tmp_path / "snapshot-40-1.healthsnap") as lines:
        count = sum(1 for _ in lines)
    assert floor["detail"] == f"{count:,} lines"


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

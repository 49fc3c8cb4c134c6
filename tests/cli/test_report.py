"""`healthdesk report`: the support report from the command line, its numbers those of
`healthdesk summary --json` on the same data."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from healthdesk.core.model import STATUS_ORDER, Status
from healthdesk.core.words import STATUS_LABELS
from tests.cli.conftest import Run
from tests.helpers.html_tables import table_with

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo.healthsnap"


def test_html_report_has_the_summary_numbers(run: Run, tmp_path: Path) -> None:
    found = run("summary", DEMO, "--connection", "c-hs-mc", "--json")
    assert found.code == 0, found.err
    expected = json.loads(found.out)
    out = tmp_path / "report.html"
    result = run("report", DEMO, "--connection", "c-hs-mc", "-o", out)
    assert result.code == 0, result.err
    assert f"wrote {out} (HTML" in result.err
    html = out.read_text(encoding="utf-8")
    rows = table_with(html, "Status")[1:]
    assert {row[0]: int(row[1].replace(",", "")) for row in rows} == {
        STATUS_LABELS[s]: expected["counts"][s.value] for s in STATUS_ORDER
    }
    groups = table_with(html, "Contacts")[1:]
    shown = [(int(r[0].replace(",", "")), r[2]) for r in groups if len(r) == 4]
    assert len(shown) == min(10, len(expected["failures"]))
    assert shown == [(f["count"], f["category"]) for f in expected["failures"]][: len(shown)]
    total = sum(int(r[0].replace(",", "")) for r in groups)
    assert total == expected["counts"][Status.FAILING.value]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_pdf_report(run: Run, tmp_path: Path, qapp: Any) -> None:
    out = tmp_path / "report.pdf"
    result = run("report", DEMO, "--connection", "c-pd-mc", "-o", out, "--redact")
    assert result.code == 0, result.err
    assert "redacted" in result.err
    assert out.read_bytes().startswith(b"%PDF-")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not (tmp_path / "report.pdf.partial").exists()


def test_unknown_format_is_refused_before_any_work(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "report.docx"
    result = run("report", tmp_path / "missing.jsonl", "-o", out)
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"healthdesk: error: {out}: a report is written as .html or .pdf, not .docx"
    ]
    assert not out.exists()


def test_several_connections_need_one_chosen(run: Run, tmp_path: Path) -> None:
    result = run("report", DEMO, "-o", tmp_path / "r.html")
    assert result.code == 2
    assert "choose one with --connection" in result.err
    assert not (tmp_path / "r.html").exists()


def test_report_with_compare_shows_the_moves_compare_finds(run: Run, tmp_path: Path) -> None:
    from healthdesk.feed.generate import generate
    from healthdesk.reports.support_html import _place

    old = generate(tmp_path / "old.jsonl", contacts=400, seed=3, compress=False).path
    new = generate(tmp_path / "new.jsonl", contacts=450, seed=4, compress=False).path
    compared = run("compare", old, new, "--connection", "c-hs-mc", "--json")
    assert compared.code == 0, compared.err
    moves = [m for m in json.loads(compared.out)["moves"] if m["from"] != m["to"]]
    assert moves
    out = tmp_path / "report.html"
    result = run("report", new, "--connection", "c-hs-mc", "-o", out, "--compare", old)
    assert result.code == 0, result.err
    html = out.read_text(encoding="utf-8")
    heading = html.split("<h2>Moves since the compared snapshot", 1)[1].split("</h2>", 1)[0]
    assert old.name in heading  # customer text, isolated
    shown = {(r[0], r[1]): int(r[2].replace(",", "")) for r in table_with(html, "Was")[1:]}
    assert shown == {(_place(m["from"]), _place(m["to"])): m["count"] for m in moves}
    # Without --compare, no such section.
    plain = tmp_path / "plain.html"
    assert run("report", new, "--connection", "c-hs-mc", "-o", plain).code == 0
    assert "Moves since" not in plain.read_text(encoding="utf-8")


def test_report_compare_names_a_missing_file(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    missing = tmp_path / "nothing.healthsnap"
    result = run("report", DEMO, "--connection", "c-hs-mc", "-o", out, "--compare", missing)
    assert result.code == 2
    assert f"{missing}: no such file" in result.err
    assert not out.exists()

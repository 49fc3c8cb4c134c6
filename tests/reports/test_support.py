"""The support report: its numbers come from the store, customer text stays text, a
redacted report holds no name, email or record id of the data, and the comparison
section appears only when a comparison is given."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from healthdesk.config import load_catalog
from healthdesk.core.failures import Catalog
from healthdesk.core.model import STATUS_ORDER, Side, Status
from healthdesk.core.words import STATUS_LABELS
from healthdesk.reports.support import (
    ABSENT,
    Comparison,
    Move,
    Pseudonyms,
    ReportCancelled,
    SupportReport,
    build_report,
)
from healthdesk.reports.support_html import render_html
from healthdesk.store.db import open_db
from healthdesk.store.imports import import_snapshots
from healthdesk.store.queries import get_connection, iter_contacts, summary
from tests.helpers import feed
from tests.helpers.html_tables import read_html, table_with

SCRIPT_NAME = "<script>alert('x')</script>"
IMG_EMAIL = '"><img src=x onerror=alert(1)>@evil.example'
CONTROL_NAME = "\u202eevil\x1b[31m red"
ERROR_MESSAGE = "</code><script>alert(2)</script> refused for zelda.quuxley@xylo-corp.example"
STATE_EMAIL = "owner.quux@corp-secret.example"


def hostile_items() -> list[dict[str, Any]]:
    """A connection whose contacts have distinctive names, emails and ids, some hostile."""
    r, m, e = feed.record, feed.mapping, feed.event
    items: list[dict[str, Any]] = [
        feed.connection(state={"phase": "error", "message": f"The token of {STATE_EMAIL} expired"}),
        r("a", "hs-ZQ1001", name="Zelda Quuxley", email="zelda.quuxley@xylo-corp.example"),
        r("b", "mc-ZQ2001", name="Zelda Quuxley", email="zelda.quuxley@xylo-corp.example"),
        m("hs-ZQ1001", "mc-ZQ2001"),
        r("a", "hs-ZQ1002", name=SCRIPT_NAME, email=IMG_EMAIL),
        r("a", "hs-ZQ1003", name=CONTROL_NAME, email="control.person@xylo-corp.example"),
        r("b", "mc-ZQ2004", name="Yorick Wembley", email="yorick.wembley@xylo-corp.example"),
        r("a", "hs-ZQ1005", name="Ursula Vantablack", email="ursula.v@xylo-corp.example"),
        r("b", "mc-ZQ2005", name="Ursula Vantablack", email="ursula.v@xylo-corp.example"),
        m("hs-ZQ1005", "mc-ZQ2005"),
        r("a", "hs-ZQ1006", name="Pending Pemberton", email="pemberton@xylo-corp.example"),
        e(1, "a", "hs-ZQ1005", "created"),
        e(
            2,
            "a",
            "hs-ZQ1001",
            "failed",
            message="zelda.quuxley@xylo-corp.example looks fake or invalid, please enter a real "
            "email address.",
        ),
        e(3, "a", "hs-ZQ1002", "failed", code="400", message=ERROR_MESSAGE),
        e(4, "a", "hs-ZQ1003", "failed", code="400", message=ERROR_MESSAGE),
        e(
            5,
            "b",
            "mc-ZQ2004",
            "failed",
            code="CONFLICT",
            message="Contact already exists. Existing ID: 3401",
        ),
    ]
    return items


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    folder = tmp_path_factory.mktemp("support")
    snapshot = feed.write(folder / "hostile.jsonl", hostile_items())
    engine = open_db(folder / "hostile.sqlite3")
    import_snapshots(engine, [snapshot])
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _report(engine: Engine, catalog: Catalog, **kwargs: Any) -> SupportReport:
    return build_report(engine, get_connection(engine, "c-1"), catalog, **kwargs)


def _record_values(engine: Engine) -> set[str]:
    """Every name, email and record id of the data (what a redacted report must not hold)."""
    with engine.connect() as db:
        rows = db.exec_driver_sql("SELECT name, email, ext_id FROM records").all()
    return {value for row in rows for value in row if value}


def test_counts_and_failure_groups_are_the_stores(engine: Engine, catalog: Catalog) -> None:
    connection = get_connection(engine, "c-1")
    expected = summary(engine, connection, catalog)
    report = _report(engine, catalog)
    html = render_html(report)

    rows = table_with(html, "Status")[1:]
    assert [(row[0], int(row[1].replace(",", ""))) for row in rows] == [
        (STATUS_LABELS[s], expected.counts[s]) for s in STATUS_ORDER
    ]
    groups = table_with(html, "Contacts")[1:]
    assert [(int(row[0]), row[1], row[2]) for row in groups] == [
        (g.count, connection.app(g.app).name, g.category) for g in expected.failures
    ]
    # Each group's examples are failing contacts of that very group.
    failing = list(iter_contacts(engine, "c-1", [Status.FAILING]))
    for group in report.groups:
        members = {
            c.name
            for c in failing
            if c.failure is not None
            and (c.failure.app, c.failure.fingerprint) == (group.app, group.fingerprint)
        }
        assert {sample.name for sample in group.samples} <= members
        assert len(group.samples) == min(3, group.count)


def test_customer_text_is_text(engine: Engine, catalog: Catalog) -> None:
    html = render_html(_report(engine, catalog))
    page = read_html(html)
    tags = {tag for tag, _ in page.tags}
    assert "script" not in tags
    assert "img" not in tags
    assert tags <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "span",
        "bdi", "div", "svg", "rect", "text", "table", "thead", "tr", "th", "td", "code", "br",
    }  # fmt: skip
    text = "".join(page.text)
    assert SCRIPT_NAME in text
    assert IMG_EMAIL in text
    assert "</code><script>alert(2)</script>" in text
    # Control characters are written visibly; the right-to-left override is isolated.
    assert "\x1b" not in html
    assert "\\x1b[31m red" in text
    assert "\u2068\u202eevil" in text


def test_nothing_is_fetched_from_elsewhere(engine: Engine, catalog: Catalog) -> None:
    html = render_html(_report(engine, catalog))
    attributes = {name for _, attrs in read_html(html).tags for name in attrs}
    assert not attributes & {"src", "href", "srcset", "action", "data"}
    assert "url(" not in html
    assert "@import" not in html


def test_redacted_report_holds_no_name_email_or_id(engine: Engine, catalog: Catalog) -> None:
    report = _report(engine, catalog, redact=True)
    html = render_html(report)
    secrets = _record_values(engine) | {STATE_EMAIL}
    text = "".join(read_html(html).text)
    for value in secrets:
        assert value not in html, value
        assert value not in text, value
    # The pair's two records carry the same pseudonym's number, and its name.
    pair = next(s for g in report.groups for s in g.samples if len(s.records) == 2)
    number = re.fullmatch(r"Contact (\d+)", pair.name)
    assert number is not None
    assert [rid for _, rid in pair.records] == [f"A-{number[1]}", f"B-{number[1]}"]
    assert pair.email == f"contact-{number[1]}@redacted.invalid"
    # Every sampled contact has its own number.
    names = [s.name for g in report.groups for s in g.samples]
    assert len(names) == len(set(names)) == sum(len(g.samples) for g in report.groups)


def test_pseudonyms_are_stable_per_contact() -> None:
    names = Pseudonyms()
    first = names.number([(Side.A, "1"), (Side.B, "m1")])
    second = names.number([(Side.A, "2")])
    assert first != second
    assert names.number([(Side.B, "m1")]) == first
    assert names.number([(Side.A, "1"), (Side.B, "m1")]) == first
    assert names.number([(Side.A, "2")]) == second


def test_comparison_section_only_when_given(engine: Engine, catalog: Catalog) -> None:
    assert "Moves since" not in render_html(_report(engine, catalog))
    data = {
        "before": {"in_sync": 3, "excluded": 0, "duplicate": 0, "failing": 1, "pending": 2},
        "after": {"in_sync": 1, "excluded": 0, "duplicate": 0, "failing": 4, "pending": 1},
        "moves": [
            {"from": "in_sync", "to": "failing", "count": 2},
            {"from": "pending", "to": "failing", "count": 1},
            {"from": "in_sync", "to": "in_sync", "count": 1},
            {"from": ABSENT, "to": "pending", "count": 1},
            {"from": "pending", "to": ABSENT, "count": 1},
        ],
    }
    comparison = Comparison.from_json(data, label="export of 2026-01-01")
    html = render_html(_report(engine, catalog, comparison=comparison))
    assert "Moves since the compared snapshot" in html
    assert table_with(html, "Was")[1:] == [
        ["In sync", "Failing", "2"],
        ["Pending", "Failing", "1"],
        ["Pending", "Not there", "1"],
        ["Not there", "Pending", "1"],
    ]
    before_after = {row[0]: row[1:] for row in table_with(html, "Counts")[1:]}
    assert before_after["Failing"] == ["1", "4", "+3"]
    assert before_after["In sync"] == ["3", "1", "-2"]


@pytest.mark.parametrize(
    "broken",
    [
        {"before": {}, "after": {}},
        {"before": {}, "after": {}, "moves": [{"from": "gone", "to": "failing", "count": 1}]},
        {"before": {}, "after": {}, "moves": [{"from": "failing", "to": "pending", "count": -1}]},
        {"before": {"failing": "3"}, "after": {}, "moves": []},
    ],
)
def test_a_broken_comparison_is_refused(broken: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"not a|is not a whole number|expected"):
        Comparison.from_json(broken)


def test_moves_keep_their_counts() -> None:
    comparison = Comparison.from_json(
        {"before": {}, "after": {}, "moves": [{"from": "failing", "to": "in_sync", "count": 7}]}
    )
    assert comparison.moves == (Move("failing", "in_sync", 7),)
    assert comparison.before == dict.fromkeys((s.value for s in STATUS_ORDER), 0)


def test_cancelled_between_groups(engine: Engine, catalog: Catalog) -> None:
    with pytest.raises(ReportCancelled):
        _report(engine, catalog, cancelled=lambda: True)


def test_progress_counts_every_step(engine: Engine, catalog: Catalog) -> None:
    seen: list[tuple[int, int]] = []
    report = _report(engine, catalog, progress=lambda done, total: seen.append((done, total)))
    steps = 1 + len(report.groups)
    assert seen == [(n, steps) for n in range(1, steps + 1)]


def _pdf_text(data: bytes, folder: Path) -> str:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext (poppler-utils) is missing: run packaging/bootstrap.sh --dev"
    path = folder / "report.pdf"
    path.write_bytes(data)
    text = subprocess.run(
        [pdftotext, str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    # Table cells wrap long values: compare without any white space.
    return _squeeze(text.replace("\ufb01", "fi"))


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_pdf_holds_the_report(engine: Engine, catalog: Catalog, qapp: Any, tmp_path: Path) -> None:
    from healthdesk.reports.support_pdf import render_pdf

    report = _report(engine, catalog)
    data = render_pdf(report)
    assert data.startswith(b"%PDF-")
    text = _pdf_text(data, tmp_path)
    assert _squeeze("Support report: HubSpot") in text
    assert "YorickWembley" in text
    # The hostile name is drawn as its characters (a narrow cell may wrap it).
    assert "<script>alert('" in text
    # (pdftotext joins a word hyphenated at a line's end: the address is cut before it)
    assert _squeeze(ERROR_MESSAGE.partition("-")[0]) in text
    assert _squeeze(f"Who fixes it: {report.groups[0].owner.label}") in text


def test_redacted_pdf_holds_no_name_email_or_id(
    engine: Engine, catalog: Catalog, qapp: Any, tmp_path: Path
) -> None:
    from healthdesk.reports.support_pdf import render_pdf

    text = _pdf_text(render_pdf(_report(engine, catalog, redact=True)), tmp_path)
    assert "Contact1" in text
    for value in _record_values(engine) | {STATE_EMAIL}:
        assert _squeeze(value) not in text, value


def test_a_cancelled_write_leaves_no_file(engine: Engine, catalog: Catalog, tmp_path: Path) -> None:
    from healthdesk.reports.support_output import write_report

    target = tmp_path / "report.html"
    with pytest.raises(ReportCancelled):
        write_report(_report(engine, catalog), target, cancelled=lambda: True)
    assert list(tmp_path.iterdir()) == []
    assert write_report(_report(engine, catalog), target) == target.stat().st_size


def test_a_connection_without_contacts(catalog: Catalog, tmp_path: Path, qapp: Any) -> None:
    from healthdesk.reports.support_pdf import render_pdf

    engine = open_db(tmp_path / "empty.sqlite3")
    try:
        import_snapshots(engine, [feed.write(tmp_path / "empty.jsonl", [feed.connection()])])
        report = _report(engine, catalog)
        html = render_html(report)
        assert "<h2>Contacts: 0</h2>" in html
        assert "No contact is failing." in html
        assert [row[1:3] for row in table_with(html, "Status")[1:]] == [["0", "\u2013"]] * 5
        assert render_pdf(report).startswith(b"%PDF-")
    finally:
        engine.dispose()


def test_what_syncs_says_the_rules(catalog: Catalog, tmp_path: Path) -> None:
    from healthdesk.core.rules import describe_rule

    boss = "boss.person@xylo-corp.example"
    rules = [
        {"id": "r1", "from": "a", "all": [{"field": "email", "op": "equals", "value": boss}]},
        {"id": "r2", "from": "a", "all": [{"field": "stage", "op": "equals", "value": "lead"}]},
        {"id": "r3", "from": "b", "all": []},
    ]
    engine = open_db(tmp_path / "rules.sqlite3")
    try:
        items = [feed.connection(rules=rules, direction="a_to_b")]
        import_snapshots(engine, [feed.write(tmp_path / "rules.jsonl", items)])
        connection = get_connection(engine, "c-1")
        first, second = connection.settings.rules_of(Side.A)
        rows = table_with(render_html(_report(engine, catalog)), "From HubSpot")
        assert rows == [
            [
                "From HubSpot",
                f"{describe_rule(first, 'HubSpot')} (rule r1)\n"
                f"or {describe_rule(second, 'HubSpot')} (rule r2)",
            ],
            ["From Mailchimp", "Nothing: the connection is one-way, from HubSpot"],
        ]
        redacted = render_html(_report(engine, catalog, redact=True))
        assert boss not in redacted
        assert "&lt;email&gt;" in redacted
    finally:
        engine.dispose()

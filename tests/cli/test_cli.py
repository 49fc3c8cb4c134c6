"""The `healthdesk` command, end to end through `healthdesk.cli.main(argv)`.

The hand-built snapshot of conftest.py covers every status; its expected decisions are
EXPECTED_STATUS. One test runs the installed console script in a subprocess.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from healthdesk.reports.export import CSV_COLUMNS
from tests.cli.conftest import EXPECTED_STATUS, INJECTION_NAME, Result, Run, snapshot_items
from tests.helpers.db import dump
from tests.helpers.feed import connection, record, write

STATUSES = ("in_sync", "excluded", "duplicate", "failing", "pending")
EXPECTED_COUNTS = {"in_sync": 2, "excluded": 3, "duplicate": 2, "failing": 3, "pending": 2}
EMAIL_FINGERPRINT = (
    "Invalid Resource: <email> looks fake or invalid, please enter a real email address."
)
CONFLICT_FINGERPRINT = "CONFLICT: Contact already exists. Existing ID: <n>"
JSONL_KEYS = {
    "status",
    "reason",
    "records",
    "duplicate_of",
    "error",
    "category",
    "owner",
    "explanation",
}


def one_json(text: str) -> Any:
    """Exactly one JSON value in `text` (white space around it allowed)."""
    value, end = json.JSONDecoder().raw_decode(text.strip())
    assert end == len(text.strip()), f"more than one JSON value: {text[end:]!r}"
    return value


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def ids(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(r["id"] for r in row["records"])


def by_ids(rows: list[dict[str, Any]]) -> dict[tuple[str, ...], dict[str, Any]]:
    found = {ids(row): row for row in rows}
    assert len(found) == len(rows), "a contact is listed twice"
    return found


def assert_error(result: Result, *parts: str) -> str:
    """Exit 2, nothing on stdout, one `healthdesk: error: ` line holding each of `parts`."""
    assert result.code == 2, result
    assert result.out == ""
    assert "Traceback" not in result.err
    assert result.err.endswith("\n")
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("healthdesk: error: "), result.err
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


# -- import ------------------------------------------------------------------------------


def test_import_reports_counts_then_nothing_changed(run: Run, snapshot: Path, db_target: str):
    db = db_target

    first = run("import", snapshot, "--db", db)

    assert first.code == 0, first.err
    assert first.err == ""
    lines = first.out.splitlines()
    assert lines[0].startswith(f"Imported {snapshot}: 1 connection items, 16 records, ")
    assert "4 mappings, 11 events (11 new)" in lines[0]
    assert lines[1:] == [
        "  c-1 (HubSpot ⇄ Mailchimp): in_sync 2, excluded 3, duplicate 2, failing 3, "
        "pending 2 [all decided]"
    ]

    again = run("import", snapshot, "--db", db)

    assert again.code == 0, again.err
    assert "11 events (0 new)" in again.out
    assert again.out.splitlines()[1:] == ["  Nothing changed."]


def test_import_lists_each_connection_it_decided(run: Run, two_connections: Path, db_target: str):
    result = run("import", two_connections, "--db", db_target)

    assert result.code == 0, result.err
    assert result.out.splitlines()[1:] == [
        "  c-1 (HubSpot ⇄ Mailchimp): in_sync 2, excluded 3, duplicate 2, failing 3, "
        "pending 2 [all decided]",
        "  c-2 (Pipedrive → Mailchimp): in_sync 0, excluded 0, duplicate 0, failing 0, "
        "pending 1 [all decided]",
    ]


def test_import_into_the_default_db_then_commands_read_it(
    run: Run, snapshot: Path, default_db: Path
):
    assert not default_db.exists()

    assert run("import", snapshot).code == 0
    assert default_db.is_file()

    result = run("summary", "--json")
    assert result.code == 0, result.err
    assert one_json(result.out)["counts"] == EXPECTED_COUNTS
    found = run("find", "mc-7731", "--json")
    assert found.code == 0, found.err
    assert [ids(row) for row in one_json(found.out)] == [("a2", "mc-7731")]


def test_db_before_the_command_is_the_commands_db(
    run: Run, snapshot: Path, default_db: Path, tmp_path: Path
):
    """`healthdesk --db PATH import FILE` once imported into the default database."""
    db = tmp_path / "first.sqlite3"

    assert run("--db", db, "import", snapshot).code == 0
    result = run("--db", db, "summary", "--json")

    assert result.code == 0, result.err
    assert one_json(result.out)["counts"] == EXPECTED_COUNTS
    again = run("summary", "--db", db, "--json")
    assert again.code == 0, again.err
    assert one_json(again.out)["counts"] == EXPECTED_COUNTS
    assert not default_db.exists()


def test_db_given_twice_or_to_a_command_without_one_is_refused(
    run: Run, snapshot: Path, default_db: Path, tmp_path: Path
):
    one, other = tmp_path / "one.sqlite3", tmp_path / "other.sqlite3"

    twice = run("--db", one, "import", snapshot, "--db", other)
    assert twice.code == 2
    assert "--db is given twice" in twice.err
    assert "explain" in run("--db", one, "explain", "--code", "x", "boom").err
    assert run("--db", one, "import", snapshot, "--db", one).code == 0
    assert one.is_file()
    assert not other.exists()
    assert not default_db.exists()


def test_a_broken_import_leaves_the_database_as_it_was(
    run: Run, snapshot: Path, tmp_path: Path, db_target: str
):
    from healthdesk.store.db import open_db

    db = db_target
    assert run("import", snapshot, "--db", db).code == 0
    engine = open_db(db)
    try:
        before = dump(engine)
        items = snapshot_items()
        items.append(record("a", "new-1", name="New"))
        bad = record("a", "bad", name="Broken")
        bad["created_at"] = "yesterday"
        items.append(bad)
        broken = write(tmp_path / "broken.jsonl", items)

        assert_error(run("import", broken, "--db", db), f"{broken}:{len(items) + 1}:")

        assert dump(engine) == before
    finally:
        engine.dispose()


# -- FILE instead of --db ----------------------------------------------------------------


def test_commands_on_a_file_leave_the_default_db_untouched(
    run: Run, snapshot: Path, default_db: Path, tmp_path: Path
):
    assert run("summary", snapshot, "--json").code == 0
    assert run("summary", snapshot).code == 0
    assert run("export", snapshot).code == 0
    assert run("export", snapshot, "-o", tmp_path / "out.csv").code == 0
    assert run("find", snapshot, "alice").code == 0

    assert not default_db.exists()
    assert not default_db.parent.exists()


def test_file_and_db_give_the_same_answers(run: Run, snapshot: Path, db_target: str):
    """A FILE is read through a temporary SQLite database: --db on either backend must
    print exactly the same."""
    db = db_target
    assert run("import", snapshot, "--db", db).code == 0

    for argv in (
        ["summary", "--json"],
        ["summary"],
        ["export", "--format", "jsonl"],
        ["export"],
        *(["export", "--status", status] for status in STATUSES),
        ["find", "acme", "--json"],
        ["find", "ALICE", "--json"],
        ["find", "JOSÉ", "--json"],
        ["find", "núñez", "--json"],
        ["find", "100%", "--json"],
        ["find", "mc-77", "--json"],
        ["find", "@", "--json", "--limit", "3"],
    ):
        from_file = run(argv[0], snapshot, *argv[1:])
        from_db = run(*argv, "--db", db)
        assert from_file.code == from_db.code == 0
        assert from_file.out == from_db.out, argv


def test_several_connections_need_a_connection_id(run: Run, two_connections: Path):
    for command in ("summary", "export"):
        line = assert_error(run(command, two_connections), "--connection")
        assert "c-1 (HubSpot ⇄ Mailchimp)" in line
        assert "c-2 (Pipedrive → Mailchimp)" in line
    assert_error(run("find", two_connections, "paula"), "c-1 (HubSpot ⇄ Mailchimp)", "c-2")

    first = run("summary", two_connections, "--json", "--connection", "c-1")
    second = run("summary", two_connections, "--json", "--connection", "c-2")

    assert first.code == second.code == 0
    assert one_json(first.out)["counts"] == EXPECTED_COUNTS
    summary = one_json(second.out)
    assert summary["connection"]["id"] == "c-2"
    assert summary["connection"]["direction"] == "a_to_b"
    assert summary["counts"] == {**dict.fromkeys(STATUSES, 0), "pending": 1}
    found = run("find", two_connections, "paula", "--connection", "c-2", "--json")
    assert [ids(row) for row in one_json(found.out)] == [("p1",)]
    # The other connection's contacts are not found in this one.
    assert (
        one_json(run("find", two_connections, "paula", "--connection", "c-1", "--json").out) == []
    )


# -- summary -----------------------------------------------------------------------------


def test_summary_json_has_the_exact_figures(run: Run, snapshot: Path):
    result = run("summary", snapshot, "--json")

    assert result.code == 0, result.err
    assert result.err == ""
    summary = one_json(result.out)
    connection_ = summary["connection"]
    assert connection_["id"] == "c-1"
    assert connection_["name"] == "HubSpot ⇄ Mailchimp"
    assert connection_["direction"] == "two_way"
    assert connection_["state"] == {
        "phase": "locked",
        "app": None,
        "locked_by": {"id": "c-9", "name": "Salesforce → HubSpot"},
        "message": None,
    }
    assert summary["counts"] == EXPECTED_COUNTS
    assert list(summary["counts"]) == list(STATUSES)
    assert sum(summary["counts"].values()) == len(EXPECTED_STATUS)
    assert summary.get("total", len(EXPECTED_STATUS)) == len(EXPECTED_STATUS)
    assert summary["excluded"] == {"no_rule_match": 2, "no_email": 1}
    assert sum(summary["excluded"].values()) == summary["counts"]["excluded"]
    # Writes INTO each app: a1, a4 created in b, a2 updated in b; mc-7731 created in a,
    # b1 updated in a. "unchanged", "duplicate" and "excluded" events are not actions.
    assert summary["actions"] == {
        "a": {"created": 1, "updated": 1},
        "b": {"created": 2, "updated": 1},
    }
    assert summary["failures"] == [
        {
            "app": "b",
            "category": "Invalid or fake email",
            "owner": "customer_data",
            "fingerprint": EMAIL_FINGERPRINT,
            "count": 2,
        },
        {
            "app": "a",
            "category": "Already exists in the app",
            "owner": "connection_config",
            "fingerprint": CONFLICT_FINGERPRINT,
            "count": 1,
        },
    ]
    assert sum(group["count"] for group in summary["failures"]) == summary["counts"]["failing"]


def test_summary_fingerprint_masks_the_email(run: Run, snapshot: Path):
    summary = one_json(run("summary", snapshot, "--json").out)

    # a4 failed with dora@fail.io, a6 with eve.k@fail.io: one group of two.
    group = summary["failures"][0]
    assert group["count"] == 2
    assert "dora@fail.io" not in group["fingerprint"]
    assert "eve.k@fail.io" not in group["fingerprint"]
    assert "<email>" in group["fingerprint"]


def test_summary_text_is_a_readable_table(run: Run, snapshot: Path):
    result = run("summary", snapshot)

    assert result.code == 0, result.err
    text = result.out
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert text.startswith("HubSpot ⇄ Mailchimp [c-1]\n")
    assert "State: Waiting for Salesforce → HubSpot (c-9) to finish" in text
    for pattern in (
        r"Contacts +12\n",
        r"In sync +2\n",
        r"Excluded +3 +\(no rule match 2, no email 1\)\n",
        r"Duplicates +2\n",
        r"Failing +3\n",
        r"Pending +2\n",
        r"HubSpot +1 created +1 updated\n",
        r"Mailchimp +2 created +1 updated\n",
        r"2 +Mailchimp · Invalid or fake email · " + re.escape(EMAIL_FINGERPRINT),
        r"1 +HubSpot · Already exists in the app · " + re.escape(CONFLICT_FINGERPRINT),
    ):
        assert re.search(pattern, text), pattern


@pytest.mark.parametrize(
    ("state", "json_state", "text"),
    [
        (
            {"phase": "scanning", "app": "b"},
            {"phase": "scanning", "app": "b", "locked_by": None, "message": None},
            "State: Scanning Mailchimp",
        ),
        (
            {"phase": "error", "message": "The HubSpot login has expired."},
            {
                "phase": "error",
                "app": None,
                "locked_by": None,
                "message": "The HubSpot login has expired.",
            },
            "State: Error: The HubSpot login has expired.",
        ),
        (
            {"phase": "active"},
            {"phase": "active", "app": None, "locked_by": None, "message": None},
            "State: Active and listening for changes",
        ),
    ],
)
def test_summary_reports_the_sync_state(
    run: Run, tmp_path: Path, state: dict[str, Any], json_state: dict[str, Any], text: str
):
    path = write(tmp_path / "s.jsonl", [connection(state=state), record("a", "a1", email="x@y.z")])

    assert one_json(run("summary", path, "--json").out)["connection"]["state"] == json_state
    assert text in run("summary", path).out


# -- export ------------------------------------------------------------------------------


def test_export_jsonl_rows(run: Run, snapshot: Path):
    result = run("export", snapshot, "--format", "jsonl")

    assert result.code == 0, result.err
    assert result.err == ""
    rows = jsonl(result.out)
    assert len(rows) == len(EXPECTED_STATUS)
    for row in rows:
        assert set(row) == JSONL_KEYS
        assert isinstance(row["explanation"], str)
        assert len(row["explanation"]) > 10
        assert row["explanation"].endswith(".")
        for rec in row["records"]:
            assert set(rec) == {"app", "id", "name", "email"}
    found = by_ids(rows)
    assert {key: (row["status"], row["reason"]) for key, row in found.items()} == EXPECTED_STATUS
    # Rows come status by status, in the order of the tabs.
    order = [row["status"] for row in rows]
    assert order == sorted(order, key=STATUSES.index)

    pair = found[("a1", "b1")]
    assert pair["records"] == [
        {"app": "a", "id": "a1", "name": "Alice Martin", "email": "alice@acme.com"},
        {"app": "b", "id": "b1", "name": "Alice Martin", "email": "alice@acme.com"},
    ]
    assert pair["duplicate_of"] is None
    assert pair["error"] is None
    assert pair["category"] is None

    duplicate = found[("a9",)]
    assert duplicate["duplicate_of"] == {"app": "a", "id": "a1"}
    assert "a1" in duplicate["explanation"]
    assert "Alice Martin" in duplicate["explanation"]
    assert found[("b11",)]["duplicate_of"] == {"app": "b", "id": "b10"}
    assert "b10" in found[("b11",)]["explanation"]

    failing = found[("a4", "b4")]
    assert failing["error"] == {
        "code": "Invalid Resource",
        "message": "dora@fail.io looks fake or invalid, please enter a real email address.",
        "at": "2026-02-01T00:00:07.000Z",
    }
    assert failing["category"] == "Invalid or fake email"
    assert "Mailchimp" in failing["explanation"]
    conflict = found[("b7",)]
    assert conflict["error"]["message"] == "Contact already exists. Existing ID: 3401"
    assert conflict["category"] == "Already exists in the app"
    assert "HubSpot" in conflict["explanation"]

    mismatch = found[("hs_5",)]["explanation"]
    assert "lifecycle" in mismatch
    assert "“customer”" in mismatch
    assert "“lead”" in mismatch
    both = found[("a3", "b3")]["explanation"]
    assert "“lead”" in both
    assert "status equal to “subscribed”" in both
    assert "“cleaned”" in both
    assert "no email" in found[("a8",)]["explanation"]
    for key, row in found.items():
        if row["status"] != "failing":
            assert row["error"] is None, key
            assert row["category"] is None, key
        if row["status"] != "duplicate":
            assert row["duplicate_of"] is None, key


def test_export_csv_parses_back_and_is_safe_for_spreadsheets(run: Run, snapshot: Path):
    result = run("export", snapshot)  # CSV is the default

    assert result.code == 0, result.err
    table = list(csv.reader(io.StringIO(result.out, newline="")))
    assert tuple(table[0]) == CSV_COLUMNS
    rows = [dict(zip(CSV_COLUMNS, row, strict=True)) for row in table[1:]]
    assert len(rows) == len(EXPECTED_STATUS)
    by_key = {(row["a_id"], row["b_id"]): row for row in rows}

    pair = by_key[("a1", "b1")]
    assert pair["status"] == "in_sync"
    assert pair["a_email"] == pair["b_email"] == "alice@acme.com"
    assert pair["b_name"] == "Alice Martin"
    assert pair["duplicate_of_id"] == ""
    single = by_key[("a9", "")]
    assert (single["b_name"], single["b_email"]) == ("", "")
    assert (single["duplicate_of_app"], single["duplicate_of_id"]) == ("a", "a1")
    failing = by_key[("", "b7")]
    assert failing["error_code"] == "CONFLICT"
    assert failing["error_message"] == "Contact already exists. Existing ID: 3401"
    assert failing["error_at"] == "2026-02-01T00:00:09.000Z"
    assert failing["category"] == "Already exists in the app"
    assert failing["owner"] == "connection_config"
    assert failing["reason"] == ""
    assert by_key[("hs_5", "")]["reason"] == "no_rule_match"

    injected = by_key[("a12", "")]
    assert injected["a_name"] == "'" + INJECTION_NAME
    assert injected["a_email"] == "'+1@x.com"
    assert by_key[("", "b10")]["b_email"] == "'@home"
    assert by_key[("", "b11")]["b_email"] == "'@home"
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@")), (column, cell)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_to_a_file(run: Run, snapshot: Path, tmp_path: Path, fmt: str):
    out = tmp_path / f"contacts.{fmt}"

    result = run("export", snapshot, "--format", fmt, "-o", out)

    assert result.code == 0, result.err
    assert result.out == ""
    assert result.err == f"Exported 12 contacts to {out}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]
    with open(out, encoding="utf-8", newline="") as handle:
        text = handle.read()
    assert text == run("export", snapshot, "--format", fmt).out
    lines = text.splitlines()
    assert len(lines) == 12 + (fmt == "csv")


def test_export_to_an_unwritable_target_leaves_no_partial(run: Run, snapshot: Path, tmp_path: Path):
    target = tmp_path / "out"
    target.mkdir()

    assert_error(run("export", snapshot, "-o", target), str(target))

    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_export_status_filter_is_repeatable(run: Run, snapshot: Path):
    result = run(
        "export", snapshot, "--format", "jsonl", "--status", "failing", "--status", "duplicate"
    )

    assert result.code == 0, result.err
    rows = jsonl(result.out)
    assert [row["status"] for row in rows] == ["duplicate"] * 2 + ["failing"] * 3
    assert set(by_ids(rows)) == {("a9",), ("b11",), ("a4", "b4"), ("a6",), ("b7",)}


def test_export_rows_equal_the_summary_counts(run: Run, two_connections: Path):
    for cid in ("c-1", "c-2"):
        summary = one_json(run("summary", two_connections, "--json", "--connection", cid).out)
        total = 0
        for status in STATUSES:
            result = run(
                "export",
                two_connections,
                "--connection",
                cid,
                "--status",
                status,
                "--format",
                "jsonl",
            )
            assert result.code == 0, result.err
            rows = jsonl(result.out)
            assert len(rows) == summary["counts"][status], (cid, status)
            assert {row["status"] for row in rows} <= {status}
            total += len(rows)
        everything = run("export", two_connections, "--connection", cid, "--format", "jsonl")
        assert len(jsonl(everything.out)) == total == sum(summary["counts"].values())


# -- find --------------------------------------------------------------------------------


def find_json(run: Run, *argv: str | Path) -> list[dict[str, Any]]:
    result = run("find", *argv, "--json")
    assert result.code == 0, result.err
    rows = one_json(result.out)
    assert isinstance(rows, list)
    return rows


def test_find_by_part_of_a_name_in_another_case(run: Run, snapshot: Path):
    rows = find_json(run, snapshot, "aLiCe")

    assert [(ids(row), row["status"]) for row in rows] == [
        (("a9",), "duplicate"),
        (("a1", "b1"), "in_sync"),
    ]
    assert set(rows[0]) == JSONL_KEYS


def test_find_by_email_domain_lists_a_pair_once(run: Run, snapshot: Path):
    rows = find_json(run, snapshot, "@FAIL.io")

    # a4 and b4 both hold dora@fail.io: one contact.
    assert sorted((ids(row), row["status"]) for row in rows) == [
        (("a4", "b4"), "failing"),
        (("a6",), "failing"),
    ]


def test_find_by_the_b_id_of_a_pair(run: Run, snapshot: Path):
    rows = find_json(run, snapshot, "MC-7731")

    assert len(rows) == 1
    assert ids(rows[0]) == ("a2", "mc-7731")
    assert rows[0]["status"] == "in_sync"

    text = run("find", snapshot, "mc-7731")
    assert text.code == 0
    assert text.out.splitlines()[0] == "1 contact(s) match “mc-7731”:"
    assert "In sync" in text.out
    assert "HubSpot a2 + Mailchimp mc-7731" in text.out
    assert "José Núñez <jose@acme.com>" in text.out


@pytest.mark.parametrize("query", ["%", "_", "0%", "s_5"])
def test_find_percent_and_underscore_are_literal(run: Run, snapshot: Path, query: str):
    # Only hs_5 "100% Lead" holds a "%" or a "_"; as LIKE wildcards they match everyone.
    assert [ids(row) for row in find_json(run, snapshot, query)] == [("hs_5",)]


@pytest.mark.parametrize("query", ["JOSÉ", "núñez", "josé núñez"])
def test_find_non_ascii_ignores_case(run: Run, snapshot: Path, query: str):
    assert [ids(row) for row in find_json(run, snapshot, query)] == [("a2", "mc-7731")]


def test_find_without_a_match_says_so(run: Run, snapshot: Path):
    result = run("find", snapshot, "zzz-nobody")

    assert result.code == 0
    assert result.err == ""
    assert result.out == "No contact matches “zzz-nobody”.\n"
    assert find_json(run, snapshot, "zzz-nobody") == []


# -- errors ------------------------------------------------------------------------------


def test_a_broken_snapshot_names_file_line_and_key(run: Run, tmp_path: Path):
    items = snapshot_items()
    bad = record("a", "a99")
    bad["email"] = 5
    items.insert(3, bad)
    path = write(tmp_path / "broken.jsonl", items)

    for argv in (["summary", path], ["export", path], ["find", path, "x"], ["import", path]):
        line = assert_error(run(*argv))
        # header is line 1, items[0] line 2, so items[3] is line 5.
        assert line == (
            f'healthdesk: error: {path}:5: key "email": expected a string or null, got a number'
        )


def test_a_newer_snapshot_version_is_refused(run: Run, tmp_path: Path):
    path = write(tmp_path / "new.jsonl", snapshot_items())
    text = path.read_text(encoding="utf-8").replace('"version":1', '"version":2', 1)
    path.write_text(text, encoding="utf-8")

    assert_error(run("summary", path), f"{path}:1:", '"version"', "2", "newer")


@pytest.mark.parametrize(
    ("argv", "parts"),
    [
        (["summary", "{tmp}/missing.jsonl"], ["{tmp}/missing.jsonl", "No such file"]),
        (["import", "{tmp}/missing.jsonl"], ["{tmp}/missing.jsonl", "No such file"]),
        (
            ["summary", "{snap}", "--connection", "nope"],
            ["'nope'", "c-1 (HubSpot ⇄ Mailchimp)"],
        ),
        (["export", "{snap}", "--connection", "nope"], ["'nope'", "c-1 (HubSpot ⇄ Mailchimp)"]),
        (["summary", "{snap}", "--db", "{tmp}/db.sqlite3"], ["FILE", "--db", "not both"]),
        (["export", "{snap}", "--db", "{tmp}/db.sqlite3"], ["not both"]),
        (["find", "{snap}", "x", "--db", "{tmp}/db.sqlite3"], ["not both"]),
        (["summary", "--db", "{tmp}/nowhere.sqlite3"], ["{tmp}/nowhere.sqlite3"]),
        (["find", "x", "--db", "{tmp}/nowhere.sqlite3"], ["{tmp}/nowhere.sqlite3"]),
        (["frobnicate"], ["frobnicate"]),
        (["summary", "{snap}", "--bogus"], ["--bogus"]),
        (["export", "{snap}", "--status", "lost"], ["--status", "lost"]),
        (["export", "{snap}", "--format", "xlsx"], ["xlsx"]),
        (["find", "{snap}", "a", "b"], ["QUERY"]),
        (["generate"], ["-o"]),
        (["import"], ["FILE"]),
    ],
)
def test_errors_are_one_line(
    run: Run, snapshot: Path, tmp_path: Path, argv: list[str], parts: list[str]
):
    (tmp_path / "db.sqlite3").touch()

    def fill(text: str) -> str:
        return text.replace("{tmp}", str(tmp_path)).replace("{snap}", str(snapshot))

    assert_error(run(*map(fill, argv)), *map(fill, parts))


def test_a_db_that_is_not_a_database_is_one_error_line(run: Run, snapshot: Path):
    assert_error(run("summary", "--db", snapshot), str(snapshot))


# -- --help ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (None, ["--version", "import", "summary", "export", "find", "generate"]),
        ("import", ["--db", "FILE"]),
        ("summary", ["--db", "--connection", "--json", "FILE"]),
        ("export", ["--db", "--connection", "--status", "--format", "--output", "FILE"]),
        ("find", ["--db", "--connection", "--json", "--limit", "QUERY"]),
        ("generate", ["--contacts", "--seed", "--output", "--no-compress"]),
    ],
)
def test_help(run: Run, command: str | None, options: list[str]):
    argv = [command, "--help"] if command else ["--help"]

    result = run(*argv)

    assert result.code == 0
    assert result.err == ""
    assert result.out.startswith(f"usage: healthdesk{' ' + command if command else ''} ")
    for option in options:
        assert option in result.out, option


# -- generate ----------------------------------------------------------------------------


def test_generate_writes_a_snapshot_the_other_commands_read(run: Run, tmp_path: Path):
    pytest.importorskip("healthdesk.feed.generate")
    path = tmp_path / "demo.jsonl.gz"

    result = run("generate", "--contacts", "60", "--seed", "3", "-o", path)

    assert result.code == 0, result.err
    assert path.is_file()
    assert path.stat().st_size > 0
    imported = run("import", path, "--db", tmp_path / "db.sqlite3")
    assert imported.code == 0, imported.err
    listed = re.findall(r"^  (\S+) \(", imported.out, flags=re.M)
    assert listed, imported.out
    summary = run("summary", path, "--json", "--connection", listed[0])
    assert summary.code == 0, summary.err
    data = one_json(summary.out)
    assert data["connection"]["id"] == listed[0]
    assert sum(data["counts"].values()) > 0


# -- the installed command ---------------------------------------------------------------


def test_console_script_exit_codes_and_stderr(snapshot: Path, tmp_path: Path):
    script = shutil.which("healthdesk") or str(Path(sys.executable).parent / "healthdesk")
    assert Path(script).is_file()
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PYTHONIOENCODING": "utf-8",
    }

    def call(*argv: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, *map(str, argv)],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env,
            timeout=60,
            check=False,
        )

    ok = call("summary", snapshot, "--json")
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr == ""
    assert one_json(ok.stdout)["counts"] == EXPECTED_COUNTS

    missing = call("summary", tmp_path / "missing.jsonl")
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert missing.stderr.startswith("healthdesk: error: ")
    assert str(tmp_path / "missing.jsonl") in missing.stderr
    assert len(missing.stderr.splitlines()) == 1
    assert "Traceback" not in missing.stderr

    usage = call("summary", snapshot, "--bogus")
    assert usage.returncode == 2
    assert usage.stdout == ""
    assert usage.stderr.startswith("healthdesk: error: ")
    assert len(usage.stderr.splitlines()) == 1
    assert not (tmp_path / "data").exists()


# -- the user's failure catalog ----------------------------------------------------------


def user_catalog(home: Path, text: str) -> Path:
    path = home / "config" / "healthdesk" / "failure-catalog.toml"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_users_catalog_overrides_the_bundled_one(run: Run, snapshot: Path, isolated_home: Path):
    user_catalog(
        isolated_home,
        '[[reason]]\napp = "mailchimp"\nmatch = \'looks fake\'\ncategory = "Our own words"\n'
        'explanation = "Ours."\nfix = "Fix it."\nowner = "transient"\n',
    )

    summary = one_json(run("summary", snapshot, "--json").out)
    rows = by_ids(jsonl(run("export", snapshot, "--format", "jsonl").out))

    assert [(g["category"], g["count"]) for g in summary["failures"]] == [
        ("Our own words", 2),
        ("Already exists in the app", 1),
    ]
    assert rows[("a6",)]["category"] == "Our own words"
    assert rows[("a6",)]["owner"] == summary["failures"][0]["owner"] == "transient"
    assert "Ours." in rows[("a6",)]["explanation"]


def test_a_broken_user_catalog_is_one_error_line(run: Run, snapshot: Path, isolated_home: Path):
    path = user_catalog(isolated_home, '[[reason]]\napp = "mailchimp"\nbogus = 1\n')

    assert_error(run("summary", snapshot), str(path), "bogus")


def test_find_says_when_it_shows_only_the_first_matches(run: Run, snapshot: Path):
    everyone = run("find", snapshot, "@", "--json")
    total = len(json.loads(everyone.out))
    assert total > 2

    cut = run("find", snapshot, "@", "--limit", "2")
    assert cut.code == 0
    lines = cut.out.splitlines()
    assert lines[0] == f"{total:,} contacts match “@”; the first 2:"
    assert len(lines) == 3
    assert cut.err == f"healthdesk: showing the first 2 of {total:,} matches (--limit shows more)\n"


def test_opening_the_window_on_a_missing_file_is_one_error_line(run: Run, tmp_path: Path):
    result = run(tmp_path / "nope.healthsnap")
    assert result.code == 2
    assert result.out == ""
    assert (
        result.err == f"healthdesk: error: {tmp_path / 'nope.healthsnap'}: no such snapshot file\n"
    )
    result = run("--db", tmp_path / "nope.sqlite3")
    assert result.err == f"healthdesk: error: {tmp_path / 'nope.sqlite3'}: no such database\n"


def test_without_a_display_the_app_prints_the_demo_summary(
    run: Run, monkeypatch: pytest.MonkeyPatch
):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    result = run()
    assert result.code == 0
    assert result.err.startswith("healthdesk: no display")
    assert result.err.count("\n") == 1
    assert "HubSpot ⇄ Mailchimp [c-hs-mc]" in result.out
    assert "Pipedrive ⇄ Mailchimp [c-pd-mc]" in result.out


def test_serve_refuses_to_run_without_a_token_off_loopback(
    run: Run, snapshot: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("HEALTHDESK_TOKEN", raising=False)
    result = run("serve", snapshot, "--host", "0.0.0.0", "--no-auth")
    assert result.code == 2
    assert result.err.startswith("healthdesk: error: ")
    assert result.err.count("\n") == 1
    result = run("serve", snapshot)
    assert result.code == 2
    assert "HEALTHDESK_TOKEN" in result.err


# -- text safety: customer text cannot drive the terminal or reorder a line -------------


def hostile_snapshot(tmp_path: Path) -> Path:
    from tests.helpers.feed import connection, record, write

    items = [
        connection(name="Evil\x1b]0;pwned\x07 sync"),
        record("a", "x1", name="Bell\x07 \x1b[31mRed\x1b[0m", email="red@example.com"),
        record("a", "x2", name="Line\r\nforged: in sync", email="forged@example.com"),
        record("a", "x3", name="\u202eevil.exe", email="rlo@example.com"),
        record("a", "x4", name='\uff1dHYPERLINK("http://x")', email="fw@example.com"),
        record("a", "x5", name="  =1+1", email="sp@example.com"),
    ]
    return write(tmp_path / "hostile.jsonl", items)


def test_find_escapes_controls_and_isolates_bidi(run: Run, tmp_path: Path) -> None:
    snap = hostile_snapshot(tmp_path)
    result = run("find", snap, "example.com")
    assert result.code == 0
    assert "\x1b" not in result.out
    assert "\x07" not in result.out
    assert "\r" not in result.out
    assert "Bell\\x07 \\x1b[31mRed\\x1b[0m" in result.out
    assert "Line\\r\\nforged: in sync" in result.out
    assert "\u2068\u202eevil.exe\u2069" in result.out
    # One line per contact found, after the heading: no forged line.
    assert len(result.out.splitlines()) == 1 + 5


def test_summary_and_json_output_carry_no_raw_control(run: Run, tmp_path: Path) -> None:
    snap = hostile_snapshot(tmp_path)
    text = run("summary", snap)
    assert text.code == 0
    assert "Evil\\x1b]0;pwned\\x07 sync" in text.out
    assert "\x1b" not in text.out
    for argv in (("summary", snap, "--json"), ("find", snap, "example.com", "--json")):
        result = run(*argv)
        assert result.code == 0
        # ESC, BEL, U+202E... escaped as \uXXXX: the JSON holds the same data.
        assert (
            re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", result.out) is None
        )
    rows = json.loads(run("find", snap, "rlo@", "--json").out)
    assert rows[0]["records"][0]["name"] == "\u202eevil.exe"


def test_csv_neutralizes_fullwidth_and_spaced_formulas(run: Run, tmp_path: Path) -> None:
    snap = hostile_snapshot(tmp_path)
    out = tmp_path / "out.csv"
    assert run("export", snap, "-o", out).code == 0
    with out.open(encoding="utf-8", newline="") as handle:
        rows = {row["a_email"]: row for row in csv.DictReader(handle)}
    assert rows["fw@example.com"]["a_name"] == '\'\uff1dHYPERLINK("http://x")'
    assert rows["sp@example.com"]["a_name"] == "'  =1+1"
    assert rows["red@example.com"]["a_name"] == "Bell\\x07 \\x1b[31mRed\\x1b[0m"


def test_an_error_quoting_customer_text_is_one_safe_line(run: Run, tmp_path: Path) -> None:
    snap = hostile_snapshot(tmp_path)
    result = run("summary", snap, "--connection", "no\x1b[2Jsuch\nline")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "\x1b" not in result.err


def test_exports_are_private_unless_asked(run: Run, snapshot: Path, tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        private = tmp_path / "private.csv"
        assert run("export", snapshot, "-o", private).code == 0
        shared = tmp_path / "shared.jsonl"
        assert run("export", snapshot, "--format", "jsonl", "-o", shared, "--mode", "644").code == 0
    finally:
        os.umask(previous)
    assert private.stat().st_mode & 0o777 == 0o600
    assert shared.stat().st_mode & 0o777 == 0o644
    bad = run("export", snapshot, "-o", tmp_path / "x.csv", "--mode", "rw")
    assert bad.code == 2
    assert "'rw' is not an octal file mode" in bad.err
    assert not (tmp_path / "x.csv").exists()

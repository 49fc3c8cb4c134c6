"""Export rows: CSV cells safe for spreadsheets, the flattening of a contact, the find text."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from healthdesk.core.contacts import ContactView, FailureView, RecordRef, RecordView
from healthdesk.core.failures import Catalog
from healthdesk.core.model import (
    App,
    Connection,
    Direction,
    Phase,
    Reason,
    Settings,
    Side,
    Status,
    SyncState,
)
from healthdesk.reports.export import (
    CSV_COLUMNS,
    contact_json,
    csv_row,
    find_text,
    neutralize,
    write_csv,
    write_jsonl,
)

CONNECTION = Connection(
    id="c-1",
    name="HubSpot ⇄ Mailchimp",
    app_a=App("HubSpot", "hubspot"),
    app_b=App("Mailchimp", "mailchimp"),
    settings=Settings(direction=Direction.TWO_WAY, avoid_duplicates=True, rules=()),
    state=SyncState(Phase.ACTIVE),
)


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1@x.com", "'+1@x.com"),
        ("-2+3", "'-2+3"),
        ("@home", "'@home"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("alice@acme.com", "alice@acme.com"),
        ("a=b", "a=b"),
        ("1-2", "1-2"),
        ("", ""),
        ("'quoted", "'quoted"),
    ],
)
def test_neutralize(cell: str, safe: str):
    assert neutralize(cell) == safe


def pair_data() -> dict[str, Any]:
    return {
        "status": "failing",
        "reason": None,
        "records": [
            {"app": "a", "id": "101", "name": "Ann Lee", "email": "ann@x.com"},
            {"app": "b", "id": "mc-9", "name": "Ann L.", "email": "ann@x.com"},
        ],
        "duplicate_of": None,
        "error": {"code": "400", "message": "-ERR invalid", "at": "2026-02-01T00:00:07.000Z"},
        "category": "Invalid or fake email",
        "owner": "customer_data",
        "explanation": "Mailchimp refused the last write (Invalid or fake email).",
    }


def single_data() -> dict[str, Any]:
    return {
        "status": "duplicate",
        "reason": None,
        "records": [{"app": "b", "id": "mc-2", "name": "=cmd", "email": "@home"}],
        "duplicate_of": {"app": "b", "id": "mc-1"},
        "error": None,
        "category": None,
        "owner": None,
        "explanation": "Same email as Mailchimp record mc-1, the original.",
    }


def test_csv_row_flattens_a_pair():
    row = csv_row(pair_data())

    assert len(row) == len(CSV_COLUMNS)
    assert dict(zip(CSV_COLUMNS, row, strict=True)) == {
        "status": "failing",
        "reason": "",
        "a_id": "101",
        "a_name": "Ann Lee",
        "a_email": "ann@x.com",
        "b_id": "mc-9",
        "b_name": "Ann L.",
        "b_email": "ann@x.com",
        "duplicate_of_app": "",
        "duplicate_of_id": "",
        "error_code": "400",
        "error_message": "'-ERR invalid",
        "error_at": "2026-02-01T00:00:07.000Z",
        "category": "Invalid or fake email",
        "owner": "customer_data",
        "explanation": "Mailchimp refused the last write (Invalid or fake email).",
    }


def test_csv_row_flattens_a_single_record_of_b():
    row = dict(zip(CSV_COLUMNS, csv_row(single_data()), strict=True))

    assert row == {
        "status": "duplicate",
        "reason": "",
        "a_id": "",
        "a_name": "",
        "a_email": "",
        "b_id": "mc-2",
        "b_name": "'=cmd",
        "b_email": "'@home",
        "duplicate_of_app": "b",
        "duplicate_of_id": "mc-1",
        "error_code": "",
        "error_message": "",
        "error_at": "",
        "category": "",
        "owner": "",
        "explanation": "Same email as Mailchimp record mc-1, the original.",
    }


def test_csv_row_of_an_excluded_single_of_a():
    data = {
        **single_data(),
        "status": "excluded",
        "reason": "no_email",
        "records": [{"app": "a", "id": "7", "name": "Bo", "email": ""}],
        "duplicate_of": None,
    }

    row = dict(zip(CSV_COLUMNS, csv_row(data), strict=True))

    assert (row["status"], row["reason"]) == ("excluded", "no_email")
    assert (row["a_id"], row["a_name"], row["a_email"]) == ("7", "Bo", "")
    assert (row["b_id"], row["b_name"], row["b_email"]) == ("", "", "")


# -- whole contacts ----------------------------------------------------------------------


def record(app: Side, rid: str, name: str, email: str) -> RecordView:
    return RecordView(app=app, id=rid, name=name, email=email)


PAIR = ContactView(
    key=1,
    status=Status.FAILING,
    reason=None,
    records=(
        record(Side.A, "101", "Ann Lee", "ann@x.com"),
        record(Side.B, "mc-9", "", "ann@x.com"),
    ),
    since="2026-01-01T00:00:00.000Z",
    failure=FailureView(
        app=Side.B,
        code="Invalid Resource",
        message="ann@x.com looks fake or invalid, please enter a real email address.",
        at="2026-02-01T00:00:07.000Z",
        fingerprint="Invalid Resource: <email> looks fake or invalid, please enter a real "
        "email address.",
    ),
)
DUPLICATE = ContactView(
    key=2,
    status=Status.DUPLICATE,
    reason=None,
    records=(record(Side.B, "mc-2", "+Bob", "bob@x.com"),),
    duplicate_of=RecordRef(Side.B, "mc-1", "Bob Original"),
)
NO_EMAIL = ContactView(
    key=3,
    status=Status.EXCLUDED,
    reason=Reason.NO_EMAIL,
    records=(record(Side.A, "7", "", ""),),
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_contact_json_of_a_failing_pair(catalog: Catalog):
    data = contact_json(PAIR, CONNECTION, catalog)

    assert data == {
        "status": "failing",
        "reason": None,
        "records": [
            {"app": "a", "id": "101", "name": "Ann Lee", "email": "ann@x.com"},
            {"app": "b", "id": "mc-9", "name": "", "email": "ann@x.com"},
        ],
        "duplicate_of": None,
        "error": {
            "code": "Invalid Resource",
            "message": "ann@x.com looks fake or invalid, please enter a real email address.",
            "at": "2026-02-01T00:00:07.000Z",
        },
        "category": "Invalid or fake email",
        "owner": "customer_data",
        "explanation": data["explanation"],
    }
    assert data["explanation"].startswith(
        "Mailchimp refused the last write (Invalid or fake email)."
    )


def test_contact_json_of_a_duplicate_names_the_original(catalog: Catalog):
    data = contact_json(DUPLICATE, CONNECTION, catalog)

    assert data["duplicate_of"] == {"app": "b", "id": "mc-1"}
    assert "“Bob Original” (mc-1)" in data["explanation"]
    assert data["error"] is None
    assert data["category"] is None
    assert data["owner"] is None


def test_write_jsonl_and_csv(catalog: Catalog):
    contacts = [PAIR, DUPLICATE, NO_EMAIL]

    out = io.StringIO()
    assert write_jsonl(out, iter(contacts), CONNECTION, catalog) == 3
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert rows == [contact_json(c, CONNECTION, catalog) for c in contacts]

    out = io.StringIO(newline="")
    assert write_csv(out, iter(contacts), CONNECTION, catalog) == 3
    table = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert tuple(table[0]) == CSV_COLUMNS
    assert table[1:] == [csv_row(row) for row in rows]
    assert table[2][CSV_COLUMNS.index("b_name")] == "'+Bob"


def test_write_csv_of_nothing_is_the_header():
    out = io.StringIO(newline="")
    assert write_csv(out, [], CONNECTION, Catalog()) == 0
    assert list(csv.reader(io.StringIO(out.getvalue(), newline=""))) == [list(CSV_COLUMNS)]


def test_find_text():
    text = find_text([PAIR, DUPLICATE, NO_EMAIL], CONNECTION, "x", total=3)

    assert text.splitlines() == [
        "3 contact(s) match “x”:",
        f"  {'Failing':<28} Ann Lee <ann@x.com>  [HubSpot 101 + Mailchimp mc-9]",
        f"  {'Duplicates':<28} +Bob <bob@x.com>  [Mailchimp mc-2]",
        f"  {'Excluded (no email)':<28} (no name) <>  [HubSpot 7]",
    ]
    assert find_text([], CONNECTION, "zz", total=0) == "No contact matches “zz”.\n"
    cut = find_text([PAIR], CONNECTION, "x", total=1234)
    assert cut.splitlines()[0] == "1,234 contacts match “x”; the first 1:"

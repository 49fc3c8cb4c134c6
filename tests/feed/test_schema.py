"""data/feed.schema.json: the feed format's published JSON Schema (README, "Snapshot files").

The examples of the format document validate; broken items do not; the schema is itself a
valid draft 2020-12 schema; and the demo snapshot, when present, validates line by line.
"""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "data" / "feed.schema.json"
DEMO_PATH = ROOT / "data" / "demo.healthsnap"
GZIP_MAGIC = b"\x1f\x8b"

#: jsonschema checks "date-time" only with an extra package (rfc3339-validator); without
#: it the format is not asserted, and the schema's pattern still checks the time's shape.
DATE_TIME_CHECKED = "date-time" in Draft202012Validator.FORMAT_CHECKER.checkers
KINDS = ("header", "connection", "record", "mapping", "event")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


# The feed format's examples (README, "Snapshot files"), with its "..." times filled in.
HEADER = {
    "type": "header",
    "format": "healthdesk-snapshot",
    "version": 1,
    "exported_at": "2026-11-20T10:00:00Z",
}
CONNECTION = {
    "type": "connection",
    "id": "c-42",
    "name": "HubSpot <-> Mailchimp",
    "apps": {
        "a": {"name": "HubSpot", "kind": "hubspot"},
        "b": {"name": "Mailchimp", "kind": "mailchimp"},
    },
    "direction": "two_way",
    "avoid_duplicates": True,
    "rules": [
        {
            "id": "r1",
            "from": "a",
            "all": [{"field": "lifecyclestage", "op": "equals", "value": "customer"}],
        },
        {"id": "r2", "from": "b", "all": []},
    ],
    "state": {
        "phase": "locked",
        "app": None,
        "locked_by": {"id": "c-7", "name": "Pipedrive <-> HubSpot"},
        "message": None,
    },
}
RECORD = {
    "type": "record",
    "connection": "c-42",
    "app": "a",
    "id": "101",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "fields": {"lifecyclestage": "customer", "tags": ["vip"]},
    "created_at": "2026-11-01T08:30:00Z",
    "updated_at": "2026-11-19T16:05:12.250Z",
    "deleted": False,
}
MAPPING = {
    "type": "mapping",
    "connection": "c-42",
    "a": "101",
    "b": "mc-77",
    "since": "2026-11-02T09:00:00Z",
    "removed": False,
}
EVENT = {
    "type": "event",
    "connection": "c-42",
    "seq": 1834,
    "at": "2026-11-20T09:58:41Z",
    "app": "a",
    "id": "101",
    "outcome": "failed",
    "target": "b",
    "error": {
        "code": "Invalid Resource",
        "message": "ada@example.com looks fake or invalid, please enter a real email address.",
    },
}
EXAMPLES = {
    "header": HEADER,
    "connection": CONNECTION,
    "record": RECORD,
    "mapping": MAPPING,
    "event": EVENT,
}


def changed(item: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of `item` with top-level keys set (or removed, with the value ...)."""
    out = copy.deepcopy(item)
    for key, value in changes.items():
        if value is ...:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def with_condition(condition: dict[str, Any]) -> dict[str, Any]:
    return changed(CONNECTION, rules=[{"id": "r1", "from": "a", "all": [condition]}])


def errors(validator: Draft202012Validator, item: Any) -> list[str]:
    return [error.message for error in validator.iter_errors(item)]


def test_schema_is_a_valid_draft_2020_12_schema(schema: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_has_a_described_def_per_kind_and_dispatches_on_type(
    schema: dict[str, Any],
) -> None:
    for kind in KINDS:
        definition = schema["$defs"][kind]
        assert definition["title"]
        assert definition["description"]
        assert definition["properties"]["type"] == {"const": kind}
        assert "type" in definition["required"]
    assert {entry["$ref"] for entry in schema["oneOf"]} == {f"#/$defs/{k}" for k in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_format_document_examples_are_valid(validator: Draft202012Validator, kind: str) -> None:
    assert errors(validator, EXAMPLES[kind]) == []


VALID_VARIANTS = {
    "header without exported_at": changed(HEADER, exported_at=...),
    "header of a later version": changed(HEADER, version=2),
    "connection, minimal": changed(
        CONNECTION, name=..., avoid_duplicates=..., rules=..., state=...
    ),
    "connection, one-way with null state": changed(CONNECTION, direction="b_to_a", state=None),
    "state with an app and a message": changed(
        CONNECTION,
        state={"phase": "error", "app": "b", "locked_by": None, "message": "API key revoked"},
    ),
    "rule without id and conditions": changed(CONNECTION, rules=[{"from": "b"}]),
    "numeric value": with_condition({"field": "score", "op": "not_equals", "value": 3.5}),
    "boolean value": with_condition({"field": "opted_in", "op": "equals", "value": True}),
    "has_tag": with_condition({"field": "tags", "op": "has_tag", "value": "vip"}),
    "in with strings and numbers": with_condition(
        {"field": "stage", "op": "in", "value": ["lead", 2]}
    ),
    "not_in with an empty list": with_condition({"field": "stage", "op": "not_in", "value": []}),
    "is_empty without value": with_condition({"field": "phone", "op": "is_empty"}),
    "is_not_empty with null value": with_condition(
        {"field": "phone", "op": "is_not_empty", "value": None}
    ),
    "record, minimal": {
        "type": "record",
        "connection": "c-42",
        "app": "b",
        "id": "mc-77",
        "created_at": "2026-11-01T08:30:00+01:00",
    },
    "record with null name, email, fields": changed(RECORD, name=None, email=None, fields=None),
    "mapping, minimal and removed": changed(MAPPING, since=None, removed=True),
    "event, created without target or error": changed(
        EVENT, outcome="created", target=..., error=...
    ),
    "event, excluded with null error": changed(EVENT, outcome="excluded", error=None),
    "event, failed with a numeric code": changed(
        EVENT, error={"code": 422, "message": "Unprocessable"}
    ),
    "event, seq 0": changed(EVENT, seq=0),
    "unknown extra keys": changed(
        RECORD, x_source="import", fields={"nested": {"deep": [1, None]}}
    ),
}


@pytest.mark.parametrize("item", VALID_VARIANTS.values(), ids=VALID_VARIANTS.keys())
def test_valid_variants(validator: Draft202012Validator, item: dict[str, Any]) -> None:
    assert errors(validator, item) == []


INVALID = {
    # Not an item at all.
    "not an object": ["header"],
    "no type": changed(RECORD, type=...),
    "unknown type": changed(RECORD, type="contact"),
    # Header.
    "header of another format": changed(HEADER, format="csv"),
    "header version 0": changed(HEADER, version=0),
    "header version as text": changed(HEADER, version="1"),
    "header without version": changed(HEADER, version=...),
    "header time without offset": changed(HEADER, exported_at="2026-11-20T10:00:00"),
    # Connection.
    "connection without apps": changed(CONNECTION, apps=...),
    "connection with one app": changed(CONNECTION, apps={"a": {"name": "X", "kind": "x"}}),
    "app without kind": changed(CONNECTION, apps={"a": {"name": "X"}, "b": {"name": "Y"}}),
    "connection with empty id": changed(CONNECTION, id=""),
    "connection with numeric id": changed(CONNECTION, id=42),
    "bad direction": changed(CONNECTION, direction="both"),
    "connection without direction": changed(CONNECTION, direction=...),
    "avoid_duplicates as text": changed(CONNECTION, avoid_duplicates="yes"),
    "rules not a list": changed(CONNECTION, rules={"r1": {}}),
    "rule from c": changed(CONNECTION, rules=[{"id": "r1", "from": "c", "all": []}]),
    "rule without from": changed(CONNECTION, rules=[{"id": "r1", "all": []}]),
    "unknown op": with_condition({"field": "stage", "op": "matches", "value": "x"}),
    "condition with empty field": with_condition({"field": "", "op": "equals", "value": "x"}),
    "equals without value": with_condition({"field": "stage", "op": "equals"}),
    "equals with null value": with_condition({"field": "stage", "op": "equals", "value": None}),
    "contains with a list": with_condition({"field": "stage", "op": "contains", "value": ["a"]}),
    "in with a string": with_condition({"field": "stage", "op": "in", "value": "lead"}),
    "in with a boolean entry": with_condition({"field": "stage", "op": "in", "value": [True]}),
    "not_in without value": with_condition({"field": "stage", "op": "not_in"}),
    "is_empty with a value": with_condition({"field": "phone", "op": "is_empty", "value": "x"}),
    "state without phase": changed(CONNECTION, state={"app": None}),
    "unknown phase": changed(CONNECTION, state={"phase": "sleeping"}),
    "locked_by without id": changed(CONNECTION, state={"phase": "locked", "locked_by": {}}),
    # Record.
    "record without created_at": changed(RECORD, created_at=...),
    "record without id": changed(RECORD, id=...),
    "record with numeric id": changed(RECORD, id=101),
    "record of app c": changed(RECORD, app="c"),
    "record with fields as a list": changed(RECORD, fields=["vip"]),
    "record with a bad time": changed(RECORD, updated_at="yesterday"),
    "record deleted as 1": changed(RECORD, deleted=1),
    # Mapping.
    "mapping without b": changed(MAPPING, b=...),
    "mapping with numeric a": changed(MAPPING, a=101),
    # Event.
    "event with negative seq": changed(EVENT, seq=-1),
    "event with seq as text": changed(EVENT, seq="1834"),
    "event without at": changed(EVENT, at=...),
    "unknown outcome": changed(EVENT, outcome="skipped"),
    "failed without error": changed(EVENT, error=...),
    "failed with null error": changed(EVENT, error=None),
    "error without message": changed(EVENT, error={"code": "X"}),
    "error with a boolean code": changed(EVENT, error={"code": True, "message": "m"}),
    "error on a created event": changed(EVENT, outcome="created"),
    "error on an unchanged event": changed(EVENT, outcome="unchanged"),
    "target c": changed(EVENT, target="c"),
}


@pytest.mark.parametrize("item", INVALID.values(), ids=INVALID.keys())
def test_invalid_items(validator: Draft202012Validator, item: Any) -> None:
    assert errors(validator, item), "expected the schema to refuse this item"


@pytest.mark.skipif(
    not DATE_TIME_CHECKED,
    reason="jsonschema checks the date-time format only with rfc3339-validator installed",
)
def test_impossible_time_is_invalid(validator: Draft202012Validator) -> None:
    assert errors(validator, changed(RECORD, created_at="2026-13-45T25:61:00Z"))


def _lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    if data[:2] == GZIP_MAGIC:
        data = gzip.decompress(data)
    return data.splitlines()


def test_demo_snapshot_validates_line_by_line(schema: dict[str, Any]) -> None:
    if not DEMO_PATH.exists():
        pytest.skip(f"{DEMO_PATH.relative_to(ROOT)} is absent (it is generated)")
    # One validator per kind: the same rules as the top-level oneOf, at a fifth of the cost.
    by_kind = {
        kind: Draft202012Validator(
            {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{kind}"},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        for kind in KINDS
    }
    fallback = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems: list[str] = []
    lines = _lines(DEMO_PATH)
    assert lines, "the demo snapshot is empty"
    kinds: set[str] = set()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            problems.append(f"line {number}: empty line")
            continue
        item = json.loads(raw)
        kind = item.get("type") if isinstance(item, dict) else None
        if (kind == "header") != (number == 1):
            problems.append(f"line {number}: a header belongs on line 1, and only there")
        validator = by_kind.get(kind, fallback) if isinstance(kind, str) else fallback
        for error in validator.iter_errors(item):
            where = "/".join(str(part) for part in error.absolute_path) or "(item)"
            problems.append(f"line {number}: {where}: {error.message}")
        kinds.add(str(kind))
        if len(problems) >= 20:
            break
    assert problems == [], "\n".join(problems)
    assert {"header", "connection", "record"} <= kinds

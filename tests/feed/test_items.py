"""feed.items: one feed item -> a domain object, or a FeedError naming the key.

Covers every validation error (missing keys, wrong types, unknown choices listing the
allowed values, nested keys named by their dotted path), the defaults of optional keys,
parse_header and canonical_time (README "Snapshot files", data/feed.schema.json).
"""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from healthdesk.core.model import (
    App,
    AppError,
    Condition,
    Connection,
    Direction,
    Event,
    Header,
    LockedBy,
    MappingItem,
    Op,
    Outcome,
    Phase,
    Record,
    Rule,
    Settings,
    Side,
    SyncState,
)
from healthdesk.feed.items import FeedError, canonical_time, parse_header, parse_item
from tests.helpers import feed

# --- the feed format's examples, times filled in --------------------------------------


def doc_connection() -> dict[str, Any]:
    return {
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
                "all": [
                    {"field": "lifecyclestage", "op": "equals", "value": "customer"},
                    {"field": "tags", "op": "has_tag", "value": "vip"},
                ],
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


def doc_record() -> dict[str, Any]:
    return {
        "type": "record",
        "connection": "c-42",
        "app": "a",
        "id": "101",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "fields": {"lifecyclestage": "customer", "tags": ["vip"]},
        "created_at": "2026-11-01T08:30:00Z",
        "updated_at": "2026-11-02T09:00:00Z",
        "deleted": False,
    }


def doc_mapping() -> dict[str, Any]:
    return {
        "type": "mapping",
        "connection": "c-42",
        "a": "101",
        "b": "mc-77",
        "since": "2026-11-03T10:00:00Z",
        "removed": False,
    }


def doc_event() -> dict[str, Any]:
    return {
        "type": "event",
        "connection": "c-42",
        "seq": 1834,
        "at": "2026-11-04T11:00:00Z",
        "app": "a",
        "id": "101",
        "outcome": "failed",
        "target": "b",
        "error": {
            "code": "Invalid Resource",
            "message": "ada@example.com looks fake or invalid, please enter a real email address.",
        },
    }


BUILDERS = {
    "connection": doc_connection,
    "record": doc_record,
    "mapping": doc_mapping,
    "event": doc_event,
}

PathPart = str | int


def _container(obj: Any, path: tuple[PathPart, ...]) -> Any:
    for part in path[:-1]:
        obj = obj[part]
    return obj


def set_at(obj: dict[str, Any], path: tuple[PathPart, ...], value: Any) -> dict[str, Any]:
    """A deep copy of `obj` with the value at `path` replaced."""
    out = copy.deepcopy(obj)
    _container(out, path)[path[-1]] = value
    return out


def drop_at(obj: dict[str, Any], path: tuple[PathPart, ...]) -> dict[str, Any]:
    """A deep copy of `obj` without the key at `path`."""
    out = copy.deepcopy(obj)
    del _container(out, path)[path[-1]]
    return out


def fails(obj: Any) -> FeedError:
    with pytest.raises(FeedError) as info:
        parse_item(obj)
    return info.value


# --- the documented examples parse into the domain objects --------------------------------


def test_connection_example_parses_whole() -> None:
    assert parse_item(doc_connection()) == Connection(
        id="c-42",
        name="HubSpot <-> Mailchimp",
        app_a=App(name="HubSpot", kind="hubspot"),
        app_b=App(name="Mailchimp", kind="mailchimp"),
        settings=Settings(
            direction=Direction.TWO_WAY,
            avoid_duplicates=True,
            rules=(
                Rule(
                    id="r1",
                    side=Side.A,
                    conditions=(
                        Condition(field="lifecyclestage", op=Op.EQUALS, value="customer"),
                        Condition(field="tags", op=Op.HAS_TAG, value="vip"),
                    ),
                ),
                Rule(id="r2", side=Side.B, conditions=()),
            ),
        ),
        state=SyncState(
            phase=Phase.LOCKED,
            app=None,
            locked_by=LockedBy(id="c-7", name="Pipedrive <-> HubSpot"),
            message=None,
        ),
    )


def test_record_example_parses_whole() -> None:
    assert parse_item(doc_record()) == Record(
        connection="c-42",
        app=Side.A,
        id="101",
        name="Ada Lovelace",
        email="ada@example.com",
        fields={"lifecyclestage": "customer", "tags": ["vip"]},
        created_at="2026-11-01T08:30:00.000Z",
        updated_at="2026-11-02T09:00:00.000Z",
        deleted=False,
    )


def test_mapping_example_parses_whole() -> None:
    assert parse_item(doc_mapping()) == MappingItem(
        connection="c-42", a="101", b="mc-77", since="2026-11-03T10:00:00.000Z", removed=False
    )


def test_event_example_parses_whole() -> None:
    assert parse_item(doc_event()) == Event(
        connection="c-42",
        seq=1834,
        at="2026-11-04T11:00:00.000Z",
        app=Side.A,
        id="101",
        outcome=Outcome.FAILED,
        target=Side.B,
        error=AppError(
            code="Invalid Resource",
            message="ada@example.com looks fake or invalid, please enter a real email address.",
        ),
    )


@pytest.mark.parametrize("outcome", [o.value for o in Outcome if o is not Outcome.FAILED])
def test_event_without_error_for_every_other_outcome(outcome: str) -> None:
    item = parse_item(feed.event(3, "b", "mc-1", outcome))
    assert isinstance(item, Event)
    assert item.outcome is Outcome(outcome)
    assert item.error is None
    assert item.app is Side.B
    assert item.target is Side.A


def test_helper_builders_parse() -> None:
    """The shared helpers build valid items (other tests depend on them)."""
    assert isinstance(parse_item(feed.connection()), Connection)
    assert isinstance(parse_item(feed.record("a", "1")), Record)
    assert isinstance(parse_item(feed.mapping("1", "2")), MappingItem)
    failed = parse_item(feed.event(1, "a", "1", "failed", code="E1", message="boom"))
    assert isinstance(failed, Event)
    assert failed.error == AppError(code="E1", message="boom")


@pytest.mark.parametrize("direction", ["two_way", "a_to_b", "b_to_a"])
def test_every_direction(direction: str) -> None:
    conn = parse_item(feed.connection(direction=direction))
    assert isinstance(conn, Connection)
    assert conn.settings.direction is Direction(direction)


@pytest.mark.parametrize("phase", [p.value for p in Phase])
def test_every_phase(phase: str) -> None:
    conn = parse_item(feed.connection(state={"phase": phase, "app": "b", "message": "hi"}))
    assert isinstance(conn, Connection)
    assert conn.state == SyncState(phase=Phase(phase), app=Side.B, message="hi")


# --- missing required keys -----------------------------------------------------------------

MISSING: list[tuple[str, tuple[PathPart, ...], str]] = [
    ("connection", ("id",), "id"),
    ("connection", ("apps",), "apps"),
    ("connection", ("apps", "a"), "apps.a"),
    ("connection", ("apps", "b"), "apps.b"),
    ("connection", ("apps", "a", "name"), "apps.a.name"),
    ("connection", ("apps", "a", "kind"), "apps.a.kind"),
    ("connection", ("apps", "b", "name"), "apps.b.name"),
    ("connection", ("apps", "b", "kind"), "apps.b.kind"),
    ("connection", ("direction",), "direction"),
    ("connection", ("rules", 0, "from"), "rules[0].from"),
    ("connection", ("rules", 1, "from"), "rules[1].from"),
    ("connection", ("rules", 0, "all", 1, "op"), "rules[0].all[1].op"),
    ("connection", ("rules", 0, "all", 0, "field"), "rules[0].all[0].field"),
    ("connection", ("rules", 0, "all", 1, "value"), "rules[0].all[1].value"),
    ("connection", ("state", "phase"), "state.phase"),
    ("connection", ("state", "locked_by", "id"), "state.locked_by.id"),
    ("record", ("connection",), "connection"),
    ("record", ("app",), "app"),
    ("record", ("id",), "id"),
    ("record", ("created_at",), "created_at"),
    ("mapping", ("connection",), "connection"),
    ("mapping", ("a",), "a"),
    ("mapping", ("b",), "b"),
    ("event", ("connection",), "connection"),
    ("event", ("seq",), "seq"),
    ("event", ("at",), "at"),
    ("event", ("app",), "app"),
    ("event", ("id",), "id"),
    ("event", ("outcome",), "outcome"),
    ("event", ("error",), "error"),
    ("event", ("error", "code"), "error.code"),
    ("event", ("error", "message"), "error.message"),
]


@pytest.mark.parametrize(
    ("kind", "path", "key"), MISSING, ids=[f"{kind}-{key}" for kind, _, key in MISSING]
)
def test_missing_required_key(kind: str, path: tuple[PathPart, ...], key: str) -> None:
    err = fails(drop_at(BUILDERS[kind](), path))
    assert err.key == key
    assert err.problem == "is missing"
    assert str(err) == f'key "{key}": is missing'
    assert (err.source, err.line) == ("", 0)


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_missing_type(kind: str) -> None:
    err = fails(drop_at(BUILDERS[kind](), ("type",)))
    assert err.key == "type"
    assert str(err) == 'key "type": is missing'


def test_text_op_with_null_value_is_missing() -> None:
    item = set_at(doc_connection(), ("rules", 0, "all", 0, "value"), None)
    err = fails(item)
    assert err.key == "rules[0].all[0].value"
    assert err.problem == "is missing"


# --- wrong types and values ----------------------------------------------------------------

ALL_OPS = (
    "equals, not_equals, contains, not_contains, starts_with, ends_with, is_empty, "
    "is_not_empty, in, not_in, has_tag, lacks_tag"
)

WRONG: list[tuple[str, tuple[PathPart, ...], Any, str, str]] = [
    # connection
    ("connection", ("id",), 42, "id", "expected a string, got a number"),
    ("connection", ("id",), "", "id", "must not be empty"),
    ("connection", ("name",), 5, "name", "expected a string or null, got a number"),
    ("connection", ("apps",), "HubSpot", "apps", "expected an object, got a string"),
    ("connection", ("apps",), [], "apps", "expected an object, got a list"),
    ("connection", ("apps", "a"), "HubSpot", "apps.a", "expected an object, got a string"),
    ("connection", ("apps", "b"), None, "apps.b", "expected an object, got null"),
    ("connection", ("apps", "b", "kind"), 3, "apps.b.kind", "expected a string, got a number"),
    ("connection", ("apps", "a", "name"), None, "apps.a.name", "expected a string, got null"),
    (
        "connection",
        ("direction",),
        "sideways",
        "direction",
        "'sideways' is not one of: two_way, a_to_b, b_to_a",
    ),
    ("connection", ("direction",), 1, "direction", "1 is not one of: two_way, a_to_b, b_to_a"),
    (
        "connection",
        ("avoid_duplicates",),
        "yes",
        "avoid_duplicates",
        "expected true or false, got a string",
    ),
    (
        "connection",
        ("avoid_duplicates",),
        1,
        "avoid_duplicates",
        "expected true or false, got a number",
    ),
    ("connection", ("rules",), {}, "rules", "expected a list, got an object"),
    ("connection", ("rules", 0), "r1", "rules[0]", "expected an object, got a string"),
    ("connection", ("rules", 0, "id"), 1, "rules[0].id", "expected a string, got a number"),
    ("connection", ("rules", 1, "from"), "c", "rules[1].from", "'c' is not one of: a, b"),
    ("connection", ("rules", 0, "from"), ["a"], "rules[0].from", "['a'] is not one of: a, b"),
    ("connection", ("rules", 0, "all"), {}, "rules[0].all", "expected a list, got an object"),
    (
        "connection",
        ("rules", 0, "all", 1),
        "tags",
        "rules[0].all[1]",
        "expected an object, got a string",
    ),
    (
        "connection",
        ("rules", 0, "all", 1, "op"),
        "like",
        "rules[0].all[1].op",
        f"'like' is not one of: {ALL_OPS}",
    ),
    (
        "connection",
        ("rules", 0, "all", 0, "field"),
        "",
        "rules[0].all[0].field",
        "must not be empty",
    ),
    (
        "connection",
        ("rules", 0, "all", 0, "field"),
        7,
        "rules[0].all[0].field",
        "expected a string, got a number",
    ),
    (
        "connection",
        ("rules", 0, "all", 0, "value"),
        ["customer"],
        "rules[0].all[0].value",
        "expected a string, number or boolean, got a list",
    ),
    (
        "connection",
        ("rules", 0, "all", 0, "value"),
        {"x": 1},
        "rules[0].all[0].value",
        "expected a string, number or boolean, got an object",
    ),
    ("connection", ("state",), "active", "state", "expected an object, got a string"),
    (
        "connection",
        ("state", "phase"),
        "sleeping",
        "state.phase",
        "'sleeping' is not one of: scanning, syncing, active, paused, locked, error",
    ),
    ("connection", ("state", "app"), "c", "state.app", "'c' is not one of: a, b"),
    (
        "connection",
        ("state", "locked_by"),
        "c-7",
        "state.locked_by",
        "expected an object, got a string",
    ),
    (
        "connection",
        ("state", "locked_by", "id"),
        7,
        "state.locked_by.id",
        "expected a string, got a number",
    ),
    ("connection", ("state", "locked_by", "id"), "", "state.locked_by.id", "must not be empty"),
    (
        "connection",
        ("state", "locked_by", "name"),
        ["x"],
        "state.locked_by.name",
        "expected a string or null, got a list",
    ),
    (
        "connection",
        ("state", "message"),
        3,
        "state.message",
        "expected a string or null, got a number",
    ),
    # record
    ("record", ("connection",), 42, "connection", "expected a string, got a number"),
    ("record", ("connection",), "", "connection", "must not be empty"),
    ("record", ("id",), 101, "id", "expected a string, got a number"),
    ("record", ("id",), "", "id", "must not be empty"),
    ("record", ("app",), "c", "app", "'c' is not one of: a, b"),
    ("record", ("app",), "A", "app", "'A' is not one of: a, b"),
    ("record", ("name",), 5, "name", "expected a string or null, got a number"),
    ("record", ("email",), ["x"], "email", "expected a string or null, got a list"),
    ("record", ("fields",), [], "fields", "expected an object, got a list"),
    ("record", ("fields",), "x", "fields", "expected an object, got a string"),
    (
        "record",
        ("created_at",),
        1700000000,
        "created_at",
        "expected an RFC 3339 time string, got a number",
    ),
    ("record", ("created_at",), None, "created_at", "expected an RFC 3339 time string, got null"),
    (
        "record",
        ("updated_at",),
        "yesterday",
        "updated_at",
        "'yesterday' is not an RFC 3339 time",
    ),
    ("record", ("deleted",), "false", "deleted", "expected true or false, got a string"),
    ("record", ("deleted",), 0, "deleted", "expected true or false, got a number"),
    # mapping
    ("mapping", ("a",), 101, "a", "expected a string, got a number"),
    ("mapping", ("b",), "", "b", "must not be empty"),
    ("mapping", ("connection",), True, "connection", "expected a string, got a boolean"),
    ("mapping", ("since",), "soon", "since", "'soon' is not an RFC 3339 time"),
    ("mapping", ("removed",), "no", "removed", "expected true or false, got a string"),
    # event
    (
        "event",
        ("seq",),
        True,
        "seq",
        "expected a whole number from 0 to 4611686018427387903, got True",
    ),
    (
        "event",
        ("seq",),
        False,
        "seq",
        "expected a whole number from 0 to 4611686018427387903, got False",
    ),
    ("event", ("seq",), -1, "seq", "expected a whole number from 0 to 4611686018427387903, got -1"),
    (
        "event",
        ("seq",),
        1.5,
        "seq",
        "expected a whole number from 0 to 4611686018427387903, got 1.5",
    ),
    (
        "event",
        ("seq",),
        2.0,
        "seq",
        "expected a whole number from 0 to 4611686018427387903, got 2.0",
    ),
    (
        "event",
        ("seq",),
        "5",
        "seq",
        "expected a whole number from 0 to 4611686018427387903, got '5'",
    ),
    (
        "event",
        ("seq",),
        None,
        "seq",
        "expected a whole number from 0 to 4611686018427387903, got None",
    ),
    ("event", ("id",), 101, "id", "expected a string, got a number"),
    ("event", ("connection",), 42, "connection", "expected a string, got a number"),
    ("event", ("app",), "c", "app", "'c' is not one of: a, b"),
    ("event", ("target",), "c", "target", "'c' is not one of: a, b"),
    (
        "event",
        ("outcome",),
        "exploded",
        "outcome",
        "'exploded' is not one of: created, updated, unchanged, excluded, duplicate, failed, "
        "queued",
    ),
    (
        "event",
        ("at",),
        "2026-11-04T11:00:00",
        "at",
        "'2026-11-04T11:00:00' has no UTC offset (write it as ...Z)",
    ),
    ("event", ("at",), 5, "at", "expected an RFC 3339 time string, got a number"),
    ("event", ("error",), "boom", "error", "expected an object, got a string"),
    ("event", ("error",), None, "error", "expected an object, got null"),
    (
        "event",
        ("error", "code"),
        True,
        "error.code",
        "expected a string or a whole number, got a boolean",
    ),
    (
        "event",
        ("error", "code"),
        1.5,
        "error.code",
        "expected a string or a whole number, got a number",
    ),
    (
        "event",
        ("error", "code"),
        None,
        "error.code",
        "expected a string or a whole number, got null",
    ),
    ("event", ("error", "message"), 3, "error.message", "expected a string, got a number"),
]


@pytest.mark.parametrize(
    ("kind", "path", "value", "key", "problem"),
    WRONG,
    ids=[f"{kind}-{key}-{value!r}" for kind, _, value, key, _ in WRONG],
)
def test_wrong_value(
    kind: str, path: tuple[PathPart, ...], value: Any, key: str, problem: str
) -> None:
    err = fails(set_at(BUILDERS[kind](), path, value))
    assert err.key == key
    assert err.problem == problem
    assert str(err) == f'key "{key}": {problem}'


def test_error_on_a_non_failed_event() -> None:
    item = set_at(doc_event(), ("outcome",), "created")
    err = fails(item)
    assert err.key == "error"
    assert err.problem == "is only allowed with outcome failed, not created"


def test_null_error_on_a_non_failed_event_is_fine() -> None:
    item = set_at(doc_event(), ("outcome",), "updated")
    item["error"] = None
    event = parse_item(item)
    assert isinstance(event, Event)
    assert event.error is None


@pytest.mark.parametrize("op", ["is_empty", "is_not_empty"])
@pytest.mark.parametrize("value", ["x", 0, False, [], ""])
def test_unary_op_with_a_value(op: str, value: Any) -> None:
    item = set_at(
        doc_connection(), ("rules", 0, "all", 1), {"field": "f", "op": op, "value": value}
    )
    err = fails(item)
    assert err.key == "rules[0].all[1].value"
    assert err.problem == f"{op} takes no value"


@pytest.mark.parametrize("op", ["in", "not_in"])
@pytest.mark.parametrize(
    ("value", "got"),
    [("vip", "a string"), (5, "a number"), ({"a": 1}, "an object"), (None, "null")],
)
def test_list_op_with_a_non_list(op: str, value: Any, got: str) -> None:
    item = set_at(
        doc_connection(), ("rules", 0, "all", 0), {"field": "f", "op": op, "value": value}
    )
    err = fails(item)
    assert err.key == "rules[0].all[0].value"
    assert err.problem == f"expected a list, got {got}"


@pytest.mark.parametrize(
    ("entry", "got"),
    [(True, "a boolean"), (None, "null"), ([1], "a list"), ({"a": 1}, "an object")],
)
def test_list_op_with_a_bad_entry(entry: Any, got: str) -> None:
    cond = {"field": "f", "op": "in", "value": ["ok", entry]}
    err = fails(set_at(doc_connection(), ("rules", 1, "all"), [cond]))
    assert err.key == "rules[1].all[0].value[1]"
    assert err.problem == f"expected a string or number, got {got}"


@pytest.mark.parametrize(
    "op", ["equals", "not_equals", "contains", "not_contains", "starts_with", "ends_with"]
)
def test_text_op_without_value(op: str) -> None:
    err = fails(set_at(doc_connection(), ("rules", 0, "all", 0), {"field": "f", "op": op}))
    assert err.key == "rules[0].all[0].value"
    assert err.problem == "is missing"


@pytest.mark.parametrize("op", ["has_tag", "lacks_tag"])
def test_tag_op_without_value(op: str) -> None:
    err = fails(set_at(doc_connection(), ("rules", 0, "all", 1), {"field": "tags", "op": op}))
    assert err.key == "rules[0].all[1].value"
    assert err.problem == "is missing"


# --- item type, non-object items ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "shown"), [("contact", "'contact'"), ("Record", "'Record'"), (5, "5")]
)
def test_unknown_item_type(kind: Any, shown: str) -> None:
    err = fails({"type": kind, "id": "1"})
    assert err.key == "type"
    assert err.problem == f"unknown item type {shown}"


def test_type_null_is_missing() -> None:
    err = fails({"type": None, "id": "1"})
    assert err.key == "type"
    assert err.problem == "is missing"


@pytest.mark.parametrize("kind", [["record"], {"k": "record"}])
def test_unhashable_item_type(kind: Any) -> None:
    err = fails({"type": kind})
    assert err.key == "type"


def test_header_is_not_an_item() -> None:
    err = fails(
        {"type": "header", "format": "healthdesk-snapshot", "version": 1, "exported_at": None}
    )
    assert err.key == "type"
    assert err.problem == "a header is only allowed on line 1"


@pytest.mark.parametrize(
    ("obj", "got"),
    [([], "a list"), ("record", "a string"), (5, "a number"), (None, "null"), (True, "a boolean")],
)
def test_non_object_item(obj: Any, got: str) -> None:
    err = fails(obj)
    assert err.key == ""
    assert err.problem == f"an item must be a JSON object, got {got}"
    assert str(err) == f"an item must be a JSON object, got {got}"


# --- defaults ------------------------------------------------------------------------------


def minimal_connection() -> dict[str, Any]:
    return {
        "type": "connection",
        "id": "c-1",
        "apps": {"a": {"name": "A", "kind": "ka"}, "b": {"name": "B", "kind": "kb"}},
        "direction": "a_to_b",
    }


def test_connection_defaults() -> None:
    assert parse_item(minimal_connection()) == Connection(
        id="c-1",
        name="",
        app_a=App(name="A", kind="ka"),
        app_b=App(name="B", kind="kb"),
        settings=Settings(direction=Direction.A_TO_B, avoid_duplicates=True, rules=()),
        state=SyncState(phase=Phase.ACTIVE, app=None, locked_by=None, message=None),
    )


def test_connection_nulls_read_as_defaults() -> None:
    item = minimal_connection() | {
        "name": None,
        "avoid_duplicates": None,
        "rules": None,
        "state": None,
    }
    assert parse_item(item) == parse_item(minimal_connection())


def test_avoid_duplicates_false_is_kept() -> None:
    conn = parse_item(minimal_connection() | {"avoid_duplicates": False})
    assert isinstance(conn, Connection)
    assert conn.settings.avoid_duplicates is False


def test_rule_defaults_id_and_conditions() -> None:
    item = minimal_connection() | {"rules": [{"from": "b"}, {"from": "a", "id": None}]}
    conn = parse_item(item)
    assert isinstance(conn, Connection)
    assert conn.settings.rules == (
        Rule(id="rule 1", side=Side.B, conditions=()),
        Rule(id="rule 2", side=Side.A, conditions=()),
    )


def test_state_defaults_inside_state() -> None:
    item = minimal_connection() | {"state": {"phase": "error", "locked_by": {"id": "c-9"}}}
    conn = parse_item(item)
    assert isinstance(conn, Connection)
    assert conn.state == SyncState(
        phase=Phase.ERROR, app=None, locked_by=LockedBy(id="c-9", name=""), message=None
    )


def test_state_locked_by_null_name() -> None:
    item = minimal_connection() | {
        "state": {"phase": "locked", "app": "a", "locked_by": {"id": "c-9", "name": None}}
    }
    conn = parse_item(item)
    assert isinstance(conn, Connection)
    assert conn.state == SyncState(
        phase=Phase.LOCKED, app=Side.A, locked_by=LockedBy(id="c-9", name="")
    )


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("equals", 5, "5"),
        ("equals", 2.5, "2.5"),
        ("not_equals", True, "true"),
        ("contains", False, "false"),
        ("starts_with", "Ada", "Ada"),
        ("ends_with", "", ""),
        ("has_tag", "vip", "vip"),
        ("lacks_tag", 7, "7"),
        ("in", [1, "x", 2.5], ("1", "x", "2.5")),
        ("not_in", [], ()),
        ("is_empty", None, None),
        ("is_not_empty", None, None),
    ],
)
def test_condition_values_are_coerced(op: str, value: Any, expected: Any) -> None:
    item = minimal_connection() | {
        "rules": [{"from": "a", "all": [{"field": "f", "op": op, "value": value}]}]
    }
    conn = parse_item(item)
    assert isinstance(conn, Connection)
    assert conn.settings.rules[0].conditions == (Condition(field="f", op=Op(op), value=expected),)


def test_unary_op_without_value_key() -> None:
    item = minimal_connection() | {
        "rules": [{"from": "a", "all": [{"field": "f", "op": "is_empty"}]}]
    }
    conn = parse_item(item)
    assert isinstance(conn, Connection)
    assert conn.settings.rules[0].conditions == (Condition(field="f", op=Op.IS_EMPTY, value=None),)


def minimal_record() -> dict[str, Any]:
    return {
        "type": "record",
        "connection": "c-1",
        "app": "b",
        "id": "mc-1",
        "created_at": "2026-01-02T03:04:05Z",
    }


def test_record_defaults() -> None:
    assert parse_item(minimal_record()) == Record(
        connection="c-1",
        app=Side.B,
        id="mc-1",
        name="",
        email="",
        fields={},
        created_at="2026-01-02T03:04:05.000Z",
        updated_at="2026-01-02T03:04:05.000Z",
        deleted=False,
    )


def test_record_nulls_read_as_defaults() -> None:
    item = minimal_record() | {
        "name": None,
        "email": None,
        "fields": None,
        "updated_at": None,
        "deleted": None,
    }
    assert parse_item(item) == parse_item(minimal_record())


def test_record_updated_at_defaults_to_canonical_created_at() -> None:
    rec = parse_item(minimal_record() | {"created_at": "2026-01-02T04:04:05.25+01:00"})
    assert isinstance(rec, Record)
    assert rec.created_at == "2026-01-02T03:04:05.250Z"
    assert rec.updated_at == "2026-01-02T03:04:05.250Z"


def test_record_times_are_canonical() -> None:
    rec = parse_item(
        minimal_record() | {"updated_at": "2026-01-03T00:00:00-02:00", "deleted": True}
    )
    assert isinstance(rec, Record)
    assert rec.updated_at == "2026-01-03T02:00:00.000Z"
    assert rec.deleted is True


def test_record_fields_kept_as_given() -> None:
    fields = {"tags": ["a", "b"], "score": 3, "nested": {"x": None}, "ok": True}
    rec = parse_item(minimal_record() | {"fields": fields})
    assert isinstance(rec, Record)
    assert rec.fields == fields


def test_mapping_defaults() -> None:
    item = {"type": "mapping", "connection": "c-1", "a": "1", "b": "2"}
    assert parse_item(item) == MappingItem(
        connection="c-1", a="1", b="2", since=None, removed=False
    )
    assert parse_item(item | {"since": None, "removed": None}) == parse_item(item)
    removed = parse_item(item | {"removed": True})
    assert isinstance(removed, MappingItem)
    assert removed.removed is True


@pytest.mark.parametrize(("app", "other"), [("a", Side.B), ("b", Side.A)])
@pytest.mark.parametrize("target", ["missing", None])
def test_event_target_defaults_to_the_other_app(app: str, other: Side, target: Any) -> None:
    item = feed.event(9, app, "1", "created")
    if target == "missing":
        del item["target"]
    else:
        item["target"] = target
    event = parse_item(item)
    assert isinstance(event, Event)
    assert event.target is other


def test_event_target_same_app_is_kept() -> None:
    event = parse_item(set_at(doc_event(), ("target",), "a"))
    assert isinstance(event, Event)
    assert event.target is Side.A


@pytest.mark.parametrize(("code", "text"), [(400, "400"), (0, "0"), (-1, "-1"), ("E_X", "E_X")])
def test_error_code_becomes_text(code: Any, text: str) -> None:
    event = parse_item(set_at(doc_event(), ("error", "code"), code))
    assert isinstance(event, Event)
    assert event.error == AppError(
        code=text,
        message="ada@example.com looks fake or invalid, please enter a real email address.",
    )


def test_seq_zero_is_allowed() -> None:
    event = parse_item(set_at(doc_event(), ("seq",), 0))
    assert isinstance(event, Event)
    assert event.seq == 0


def test_event_time_is_canonical() -> None:
    event = parse_item(set_at(doc_event(), ("at",), "2026-11-04T12:00:00.123456+01:00"))
    assert isinstance(event, Event)
    assert event.at == "2026-11-04T11:00:00.123Z"


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_unknown_extra_keys_are_ignored(kind: str) -> None:
    plain = BUILDERS[kind]()
    extra = copy.deepcopy(plain)
    extra["future_key"] = {"anything": [1, 2]}
    extra["x-vendor"] = None
    if kind == "connection":
        extra["apps"]["a"]["logo"] = "hs.svg"
        extra["rules"][0]["note"] = "kept?"
        extra["rules"][0]["all"][0]["case"] = "insensitive"
        extra["state"]["since"] = "2026-01-01T00:00:00Z"
        extra["state"]["locked_by"]["url"] = "https://x"
    if kind == "event":
        extra["error"]["details"] = {"field": "email"}
    assert parse_item(extra) == parse_item(plain)


# --- parse_header --------------------------------------------------------------------------

HEADER = {
    "type": "header",
    "format": "healthdesk-snapshot",
    "version": 1,
    "exported_at": "2026-11-20T10:00:00Z",
}


def test_parse_header() -> None:
    assert parse_header(HEADER) == Header(
        format="healthdesk-snapshot", version=1, exported_at="2026-11-20T10:00:00.000Z"
    )


def test_parse_header_without_exported_at() -> None:
    header = {k: v for k, v in HEADER.items() if k != "exported_at"}
    assert parse_header(header) == Header(format="healthdesk-snapshot", version=1)
    assert parse_header(header | {"exported_at": None}).exported_at is None


def test_parse_header_keeps_other_versions_and_formats() -> None:
    """parse_header only parses; refusing formats and versions is the reader's job."""
    assert parse_header(HEADER | {"format": "other", "version": 7}) == Header(
        format="other", version=7, exported_at="2026-11-20T10:00:00.000Z"
    )


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        ({"format": None}, "format", "expected a string, got null"),
        ({"format": 1}, "format", "expected a string, got a number"),
        ({"version": "1"}, "version", "expected a whole number, got a string"),
        ({"version": True}, "version", "expected a whole number, got a boolean"),
        ({"version": 1.0}, "version", "expected a whole number, got a number"),
        ({"exported_at": "now"}, "exported_at", "'now' is not an RFC 3339 time"),
        ({"exported_at": 0}, "exported_at", "expected an RFC 3339 time string, got a number"),
    ],
)
def test_parse_header_errors(change: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(FeedError) as info:
        parse_header(HEADER | change)
    assert info.value.key == key
    assert info.value.problem == problem


@pytest.mark.parametrize("key", ["format", "version"])
def test_parse_header_missing(key: str) -> None:
    with pytest.raises(FeedError) as info:
        parse_header({k: v for k, v in HEADER.items() if k != key})
    assert info.value.key == key
    assert str(info.value) == f'key "{key}": is missing'


# --- FeedError -----------------------------------------------------------------------------


def test_feed_error_text_and_location() -> None:
    err = FeedError("is missing", key="id")
    assert isinstance(err, ValueError)
    assert str(err) == 'key "id": is missing'
    placed = err.located(source="snap.jsonl", line=12)
    assert (placed.source, placed.line, placed.key, placed.problem) == (
        "snap.jsonl",
        12,
        "id",
        "is missing",
    )
    assert str(placed) == 'snap.jsonl:12: key "id": is missing'
    assert str(FeedError("bad", source="f.gz")) == "f.gz: bad"
    assert str(FeedError("bad", source="f.gz", line=3)) == "f.gz:3: bad"
    assert str(FeedError("bad")) == "bad"


# --- canonical_time ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("2026-11-20T10:00:00Z", "2026-11-20T10:00:00.000Z"),
        ("2026-11-20T10:00:00+00:00", "2026-11-20T10:00:00.000Z"),
        ("2026-11-20T10:00:00-00:00", "2026-11-20T10:00:00.000Z"),
        ("2026-11-20T12:00:00+02:00", "2026-11-20T10:00:00.000Z"),
        ("2026-11-20T04:30:00-05:30", "2026-11-20T10:00:00.000Z"),
        ("2026-11-20T00:30:00+01:00", "2026-11-19T23:30:00.000Z"),
        ("2026-12-31T23:30:00-01:00", "2027-01-01T00:30:00.000Z"),
        ("2028-02-29T12:00:00Z", "2028-02-29T12:00:00.000Z"),
        ("2026-11-20T10:00:00.5Z", "2026-11-20T10:00:00.500Z"),
        ("2026-11-20T10:00:00.12Z", "2026-11-20T10:00:00.120Z"),
        ("2026-11-20T10:00:00.123Z", "2026-11-20T10:00:00.123Z"),
        ("2026-11-20T10:00:00.123456Z", "2026-11-20T10:00:00.123Z"),
        ("2026-11-20T10:00:00.999999Z", "2026-11-20T10:00:00.999Z"),
        ("2026-11-20T10:00:00.000Z", "2026-11-20T10:00:00.000Z"),
        ("2026-11-20T11:00:00.250+01:00", "2026-11-20T10:00:00.250Z"),
        ("2026-11-20t10:00:00z", "2026-11-20T10:00:00.000Z"),
        ("2026-11-20T10:00:00z", "2026-11-20T10:00:00.000Z"),
        ("2026-11-20t10:00:00Z", "2026-11-20T10:00:00.000Z"),
        ("2026-11-20t12:00:00.5+02:00", "2026-11-20T10:00:00.500Z"),
    ],
)
def test_canonical_time(text: str, canonical: str) -> None:
    assert canonical_time(text, "at") == canonical


@pytest.mark.parametrize(
    "text",
    ["2026-11-20T10:00:00", "2026-11-20T10:00:00.5", "2026-11-20", "2026-11-20T10:00", "20261120"],
)
def test_canonical_time_refuses_no_offset(text: str) -> None:
    with pytest.raises(FeedError) as info:
        canonical_time(text, "created_at")
    assert info.value.key == "created_at"
    assert info.value.problem == f"{text!r} has no UTC offset (write it as ...Z)"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "Z",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-11-20T25:00:00Z",
        "2026-11-20T24:00:00Z",
        "2026-11-20T10:60:00Z",
        "2026-11-20T10:00:00ZZ",
        "2026-11-20T10:00:00+25:00",
        "2026-11-20T10:00:00Z trailing",
        "1700000000",
    ],
)
def test_canonical_time_refuses_garbage(text: str) -> None:
    with pytest.raises(FeedError) as info:
        canonical_time(text, "since")
    assert info.value.key == "since"
    assert info.value.problem == f"{text!r} is not an RFC 3339 time"


@pytest.mark.parametrize(
    ("value", "got"),
    [
        (1700000000, "a number"),
        (1.5, "a number"),
        (None, "null"),
        (True, "a boolean"),
        (["2026-11-20T10:00:00Z"], "a list"),
        ({"t": 1}, "an object"),
    ],
)
def test_canonical_time_refuses_non_strings(value: Any, got: str) -> None:
    with pytest.raises(FeedError) as info:
        canonical_time(value, "rules[0].at")
    assert info.value.key == "rules[0].at"
    assert info.value.problem == f"expected an RFC 3339 time string, got {got}"


def test_canonical_text_sorts_like_time() -> None:
    rng = random.Random(20261120)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    instants = []
    texts = []
    for _ in range(500):
        instant = base + timedelta(milliseconds=rng.randrange(-(10**11), 10**11))
        local = instant.astimezone(timezone(timedelta(minutes=rng.randrange(-720, 841, 15))))
        text = local.isoformat(timespec=rng.choice(["milliseconds", "microseconds"]))
        if instant.microsecond == 0 and rng.random() < 0.5:
            text = instant.strftime("%Y-%m-%dT%H:%M:%SZ")
        instants.append(instant)
        texts.append(text)
    canon = [canonical_time(text, "at") for text in texts]
    assert all(len(c) == 24 and c.endswith("Z") for c in canon)
    assert [datetime.fromisoformat(c) for c in canon] == instants
    assert sorted(canon) == [c for _, c in sorted(zip(instants, canon, strict=True))]


def test_canonical_text_sorts_across_offsets_example() -> None:
    texts = [
        "2026-11-20T10:00:00Z",  # 10:00 UTC
        "2026-11-20T10:30:00+01:00",  # 09:30 UTC
        "2026-11-20T05:00:01-05:00",  # 10:00:01 UTC
        "2026-11-20T09:59:59.999Z",  # 09:59:59.999 UTC
        "2026-11-19T23:59:00-10:00",  # 09:59 UTC on the 20th
    ]
    ordered = sorted(canonical_time(t, "at") for t in texts)
    assert ordered == [
        "2026-11-20T09:30:00.000Z",
        "2026-11-20T09:59:00.000Z",
        "2026-11-20T09:59:59.999Z",
        "2026-11-20T10:00:00.000Z",
        "2026-11-20T10:00:01.000Z",
    ]


# --- once bugs, now fixed: kept as regressions ----------------------------------------------


@pytest.mark.parametrize("text", ["2026-W01-1T00:00:00Z", "2026-01-01T000000.5Z"])
def test_fast_path_does_not_pass_non_rfc3339_text(text: str) -> None:
    with pytest.raises(FeedError):
        canonical_time(text, "at")


@pytest.mark.parametrize(
    "text",
    ["20260101T000000Z", "2026-01-01T00Z", "2026-01-01T00:00:00+0100", "2026-01-01X00:00:00Z"],
)
def test_non_rfc3339_iso_forms_are_refused(text: str) -> None:
    with pytest.raises(FeedError):
        canonical_time(text, "at")


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_time_out_of_range_is_a_feed_error(text: str) -> None:
    with pytest.raises(FeedError) as info:
        canonical_time(text, "at")
    assert info.value.key == "at"


def test_small_year_stays_fixed_width() -> None:
    assert canonical_time("0999-06-01T00:00:00+00:00", "at") == "0999-06-01T00:00:00.000Z"

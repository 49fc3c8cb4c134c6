"""Parse and validate one feed item (a line of a snapshot, an item of an API page).

One validator for files and the network: every item becomes a typed domain object or a
`FeedError` that names the source, the line and the key. The rules mirror
data/feed.schema.json; tests keep the two in step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from healthdesk.core.model import (
    LIST_OPS,
    UNARY_OPS,
    App,
    AppError,
    Condition,
    Connection,
    Direction,
    Event,
    Header,
    Item,
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
from healthdesk.core.rules import field_text

_SIDES = {"a": Side.A, "b": Side.B}
#: The largest event seq: the store packs (seq, failed) into one SQLite integer.
MAX_SEQ = 2**62 - 1
_OUTCOMES = {o.value: o for o in Outcome}
_DIRECTIONS = {d.value: d for d in Direction}
_PHASES = {p.value: p for p in Phase}
_OPS = {o.value: o for o in Op}


class FeedError(ValueError):
    """An item that breaks the feed format, located as precisely as we know.

    Attributes: `source` (file name or URL, may be ""), `line` (1-based, 0 if unknown),
    `key` (dotted path of the offending key, may be ""), `problem` (what is wrong).
    """

    def __init__(self, problem: str, *, source: str = "", line: int = 0, key: str = "") -> None:
        self.source = source
        self.line = line
        self.key = key
        self.problem = problem
        super().__init__(self._text())

    def _text(self) -> str:
        where = ":".join(
            part for part in (self.source, str(self.line) if self.line else "") if part
        )
        what = f'key "{self.key}": {self.problem}' if self.key else self.problem
        return f"{where}: {what}" if where else what

    def located(self, *, source: str, line: int) -> FeedError:
        """The same error, placed at a line of a source."""
        return FeedError(self.problem, source=source, line=line, key=self.key)


def type_name(value: Any) -> str:
    """A JSON value's kind in words, for messages: "a string", "null", "an object"..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _wrong(key: str, expected: str, value: Any) -> FeedError:
    return FeedError(f"expected {expected}, got {type_name(value)}", key=key)


def _required(obj: Mapping[str, Any], key: str, path: str = "") -> Any:
    try:
        return obj[key]
    except KeyError:
        raise FeedError("is missing", key=path + key) from None


def _string(obj: Mapping[str, Any], key: str, path: str = "", *, nonempty: bool = False) -> str:
    value = _required(obj, key, path)
    if type(value) is not str:
        raise _wrong(path + key, "a string", value)
    if nonempty and not value:
        raise FeedError("must not be empty", key=path + key)
    return value


def _optional_text(obj: Mapping[str, Any], key: str, path: str = "") -> str:
    """A string that may be missing or null (read as "")."""
    value = obj.get(key)
    if value is None:
        return ""
    if type(value) is not str:
        raise _wrong(path + key, "a string or null", value)
    return value


def _bool(obj: Mapping[str, Any], key: str, default: bool, path: str = "") -> bool:
    value = obj.get(key, default)
    if value is None:
        return default
    if type(value) is not bool:
        raise _wrong(path + key, "true or false", value)
    return value


def _choice(obj: Mapping[str, Any], key: str, choices: Mapping[str, Any], path: str = "") -> Any:
    value = _required(obj, key, path)
    try:
        return choices[value]
    except (KeyError, TypeError):
        allowed = ", ".join(choices)
        raise FeedError(f"{value!r} is not one of: {allowed}", key=path + key) from None


def _object(value: Any, key: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise _wrong(key, "an object", value)
    return value


#: RFC 3339 date-time with an offset, as data/feed.schema.json's pattern says.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def canonical_time(value: Any, key: str) -> str:
    """An RFC 3339 time as the canonical UTC text `YYYY-MM-DDTHH:MM:SS.mmmZ`.

    Fixed width, so that text order is time order in SQL and Python alike. Sub-millisecond
    digits are dropped; a time without an offset is refused (the feed's times are UTC).
    """
    if type(value) is not str:
        raise _wrong(key, "an RFC 3339 time string", value)
    if _RFC3339.fullmatch(value) is None:
        try:
            naive = datetime.fromisoformat(value).tzinfo is None
        except ValueError:
            naive = False
        if naive:
            raise FeedError(f"{value!r} has no UTC offset (write it as ...Z)", key=key)
        raise FeedError(f"{value!r} is not an RFC 3339 time", key=key)
    try:
        parsed = datetime.fromisoformat(value.upper())
        if len(value) == 20 and value[19] == "Z" and value[10] == "T":
            # What our service and generator write: already UTC, whole seconds.
            return value[:19] + ".000Z"
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise FeedError(f"{value!r} is not an RFC 3339 time", key=key) from None
    return (
        f"{parsed.year:04d}-{parsed.month:02d}-{parsed.day:02d}T{parsed.hour:02d}:"
        f"{parsed.minute:02d}:{parsed.second:02d}.{parsed.microsecond // 1000:03d}Z"
    )


def _fast_time(value: Any) -> str | None:
    """The canonical text of a time already in the form our feeds write, else None.

    `2026-11-20T10:00:00Z` or `2026-11-20T10:00:00.000Z`; anything else (or anything
    invalid) takes `canonical_time`, which also says what is wrong.
    """
    if type(value) is not str or not value.isascii():
        return None
    size = len(value)
    if size == 20:
        canonical = value[:19] + ".000Z"
    elif size == 24 and value[19] == "." and value[20:23].isdigit():
        canonical = value
    else:
        return None
    if (
        value[-1] != "Z"
        or value[10] != "T"
        or value[4] != "-"
        or value[7] != "-"
        or value[13] != ":"
        or value[16] != ":"
    ):
        return None
    try:
        datetime.fromisoformat(value[:19])
    except ValueError:
        return None
    return canonical


def _optional_time(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return None if value is None else canonical_time(value, key)


def parse_header(obj: Mapping[str, Any]) -> Header:
    fmt = _string(obj, "format")
    version = _required(obj, "version")
    if type(version) is not int:
        raise _wrong("version", "a whole number", version)
    return Header(format=fmt, version=version, exported_at=_optional_time(obj, "exported_at"))


def _rule_value(op: Op, cond: Mapping[str, Any], path: str) -> str | tuple[str, ...] | None:
    value = cond.get("value")
    if op in UNARY_OPS:
        if value is not None:
            raise FeedError(f"{op.value} takes no value", key=path + "value")
        return None
    if op in LIST_OPS:
        if type(value) is not list:
            raise _wrong(path + "value", "a list", value)
        texts = []
        for i, entry in enumerate(value):
            if isinstance(entry, bool) or not isinstance(entry, str | int | float):
                raise _wrong(f"{path}value[{i}]", "a string or number", entry)
            texts.append(field_text(entry))
        return tuple(texts)
    if value is None:
        raise FeedError("is missing", key=path + "value")
    if not isinstance(value, str | int | float):
        raise _wrong(path + "value", "a string, number or boolean", value)
    # The same text as a field holding this value reads as, so 5.0 equals a field of 5.
    return field_text(value)


def _parse_rules(raw: Any) -> tuple[Rule, ...]:
    if raw is None:
        return ()
    if type(raw) is not list:
        raise _wrong("rules", "a list", raw)
    rules = []
    for i, rule_raw in enumerate(raw):
        path = f"rules[{i}]."
        rule = _object(rule_raw, f"rules[{i}]")
        side = _choice(rule, "from", _SIDES, path)
        conditions_raw = rule.get("all", [])
        if type(conditions_raw) is not list:
            raise _wrong(path + "all", "a list", conditions_raw)
        conditions = []
        for j, cond_raw in enumerate(conditions_raw):
            cpath = f"{path}all[{j}]."
            cond = _object(cond_raw, f"{path}all[{j}]")
            op = _choice(cond, "op", _OPS, cpath)
            conditions.append(
                Condition(
                    field=_string(cond, "field", cpath, nonempty=True),
                    op=op,
                    value=_rule_value(op, cond, cpath),
                )
            )
        rule_id = rule.get("id")
        if rule_id is not None and type(rule_id) is not str:
            raise _wrong(path + "id", "a string", rule_id)
        rules.append(Rule(id=rule_id or f"rule {i + 1}", side=side, conditions=tuple(conditions)))
    return tuple(rules)


def _parse_app(apps: Mapping[str, Any], side: str) -> App:
    path = f"apps.{side}."
    app = _object(_required(apps, side, "apps."), f"apps.{side}")
    return App(name=_string(app, "name", path), kind=_string(app, "kind", path))


def _parse_state(raw: Any) -> SyncState:
    if raw is None:
        return SyncState(phase=Phase.ACTIVE)
    state = _object(raw, "state")
    phase = _choice(state, "phase", _PHASES, "state.")
    app = state.get("app")
    if app is not None:
        app = _choice(state, "app", _SIDES, "state.")
    locked_raw = state.get("locked_by")
    locked_by = None
    if locked_raw is not None:
        locked = _object(locked_raw, "state.locked_by")
        locked_by = LockedBy(
            id=_string(locked, "id", "state.locked_by.", nonempty=True),
            name=_optional_text(locked, "name", "state.locked_by."),
        )
    message = state.get("message")
    if message is not None and type(message) is not str:
        raise _wrong("state.message", "a string or null", message)
    return SyncState(phase=phase, app=app, locked_by=locked_by, message=message)


def parse_connection(obj: Mapping[str, Any]) -> Connection:
    apps = _object(_required(obj, "apps"), "apps")
    return Connection(
        id=_string(obj, "id", nonempty=True),
        name=_optional_text(obj, "name"),
        app_a=_parse_app(apps, "a"),
        app_b=_parse_app(apps, "b"),
        settings=Settings(
            direction=_choice(obj, "direction", _DIRECTIONS),
            avoid_duplicates=_bool(obj, "avoid_duplicates", True),
            rules=_parse_rules(obj.get("rules")),
        ),
        state=_parse_state(obj.get("state")),
    )


def parse_record(obj: Mapping[str, Any]) -> Record:
    # The common, valid shape is checked in one expression; anything else takes the
    # key-by-key path, which names the first wrong key.
    get = obj.get
    connection = get("connection")
    app = get("app")
    side = _SIDES.get(app) if type(app) is str else None
    record_id = get("id")
    name = get("name")
    email = get("email")
    fields = get("fields")
    deleted = get("deleted")
    updated = get("updated_at")
    if (
        type(connection) is str
        and connection
        and side is not None
        and type(record_id) is str
        and record_id
        and (name is None or type(name) is str)
        and (email is None or type(email) is str)
        and (fields is None or type(fields) is dict)
        and (deleted is None or type(deleted) is bool)
    ):
        created = _fast_time(get("created_at"))
        if created is not None:
            changed = created if updated is None else _fast_time(updated)
            if changed is not None:
                return Record(
                    connection,
                    side,
                    record_id,
                    name or "",
                    email or "",
                    {} if fields is None else fields,
                    created,
                    changed,
                    deleted or False,
                )
    return _parse_record_checked(obj)


def _parse_record_checked(obj: Mapping[str, Any]) -> Record:
    # Keys are checked in the order the feed writes them, so the first error is reported.
    connection = _string(obj, "connection", nonempty=True)
    app = _choice(obj, "app", _SIDES)
    record_id = _string(obj, "id", nonempty=True)
    name = _optional_text(obj, "name")
    email = _optional_text(obj, "email")
    fields = obj.get("fields")
    if fields is None:
        fields = {}
    elif type(fields) is not dict:
        raise _wrong("fields", "an object", fields)
    created_at = canonical_time(_required(obj, "created_at"), "created_at")
    updated = obj.get("updated_at")
    return Record(
        connection=connection,
        app=app,
        id=record_id,
        name=name,
        email=email,
        fields=fields,
        created_at=created_at,
        updated_at=created_at if updated is None else canonical_time(updated, "updated_at"),
        deleted=_bool(obj, "deleted", False),
    )


def parse_mapping(obj: Mapping[str, Any]) -> MappingItem:
    return MappingItem(
        connection=_string(obj, "connection", nonempty=True),
        a=_string(obj, "a", nonempty=True),
        b=_string(obj, "b", nonempty=True),
        since=_optional_time(obj, "since"),
        removed=_bool(obj, "removed", False),
    )


def _parse_error(obj: Mapping[str, Any]) -> AppError:
    raw = _object(_required(obj, "error"), "error")
    code = _required(raw, "code", "error.")
    if isinstance(code, bool) or not isinstance(code, str | int):
        raise _wrong("error.code", "a string or a whole number", code)
    return AppError(code=str(code), message=_string(raw, "message", "error."))


def parse_event(obj: Mapping[str, Any]) -> Event:
    get = obj.get
    connection = get("connection")
    seq = get("seq")
    app = get("app")
    side = _SIDES.get(app) if type(app) is str else None
    record_id = get("id")
    outcome_text = get("outcome")
    outcome = _OUTCOMES.get(outcome_text) if type(outcome_text) is str else None
    target = get("target")
    if target is None:
        target_side = None if side is None else side.other
    else:
        target_side = _SIDES.get(target) if type(target) is str else None
    error = get("error")
    if (
        type(connection) is str
        and connection
        and type(seq) is int
        and 0 <= seq <= MAX_SEQ
        and side is not None
        and type(record_id) is str
        and record_id
        and outcome is not None
        and target_side is not None
        and error is None
        and outcome is not Outcome.FAILED
    ):
        at = _fast_time(get("at"))
        if at is not None:
            return Event(connection, seq, at, side, record_id, outcome, target_side, None)
    return _parse_event_checked(obj)


def _parse_event_checked(obj: Mapping[str, Any]) -> Event:
    connection = _string(obj, "connection", nonempty=True)
    seq = _required(obj, "seq")
    if type(seq) is not int or not 0 <= seq <= MAX_SEQ:
        raise FeedError(f"expected a whole number from 0 to {MAX_SEQ}, got {seq!r}", key="seq")
    at = canonical_time(_required(obj, "at"), "at")
    app = _choice(obj, "app", _SIDES)
    record_id = _string(obj, "id", nonempty=True)
    outcome = _choice(obj, "outcome", _OUTCOMES)
    target = app.other if obj.get("target") is None else _choice(obj, "target", _SIDES)
    if outcome is Outcome.FAILED:
        error: AppError | None = _parse_error(obj)
    elif obj.get("error") is not None:
        raise FeedError(f"is only allowed with outcome failed, not {outcome.value}", key="error")
    else:
        error = None
    return Event(
        connection=connection,
        seq=seq,
        at=at,
        app=app,
        id=record_id,
        outcome=outcome,
        target=target,
        error=error,
    )


_PARSERS: dict[str, Callable[[Mapping[str, Any]], Item]] = {
    "record": parse_record,
    "event": parse_event,
    "mapping": parse_mapping,
    "connection": parse_connection,
}


def parse_item(obj: Any) -> Item:
    """Validate one decoded item (not a header) and return its domain object."""
    if type(obj) is not dict:
        raise FeedError(f"an item must be a JSON object, got {type_name(obj)}")
    kind = obj.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        if kind is None:
            raise FeedError("is missing", key="type")
        if kind == "header":
            raise FeedError("a header is only allowed on line 1", key="type")
        raise FeedError(f"unknown item type {kind!r}", key="type")
    return parser(obj)


def decode(data: bytes | str) -> Any:
    """JSON text to Python, as a FeedError when it is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FeedError(f"not valid JSON ({exc})") from None

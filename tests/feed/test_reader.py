"""feed.reader and feed.snapshot: snapshot files in and out.

The reader streams a file (plain or gzip, told apart by magic bytes), checks the header,
validates every item and locates every error as `file:LINE: key "...": problem`; it never
ends in a raw EOFError, UnicodeDecodeError or traceback on bad input. write_snapshot is
deterministic and atomic.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest

from healthdesk.core.model import Connection, Event, Header, MappingItem, Record
from healthdesk.feed import reader as reader_module
from healthdesk.feed.items import FeedError, parse_item
from healthdesk.feed.reader import Located, SnapshotReader, read_items
from healthdesk.feed.snapshot import FORMAT_NAME, FORMAT_VERSION, GZIP_MAGIC, write_snapshot
from tests.helpers import feed

HEADER: dict[str, Any] = {
    "type": "header",
    "format": "healthdesk-snapshot",
    "version": 1,
    "exported_at": "2026-01-01T00:00:00Z",
}


def sample_items() -> list[dict[str, Any]]:
    return [
        feed.connection("c-1"),
        feed.record("a", "101", email="ada@example.com", fields={"tags": ["vip"]}),
        feed.record("b", "mc-1", email="ada@example.com"),
        feed.mapping("101", "mc-1"),
        feed.event(1, "a", "101", "created"),
        feed.event(2, "a", "101", "failed", code="Invalid Resource", message="fake email"),
        feed.connection("c-2", direction="a_to_b"),
        feed.record("a", "7", cid="c-2", deleted=True),
    ]


def line(obj: Any) -> bytes:
    return orjson.dumps(obj) + b"\n"


def write_raw(path: Path, data: bytes, *, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def write_lines(path: Path, objs: list[Any], *, compress: bool = False) -> Path:
    return write_raw(path, b"".join(line(o) for o in objs), compress=compress)


def read_all(path: Path | str) -> list[Located]:
    return list(read_items(path))


def read_error(path: Path | str) -> FeedError:
    with pytest.raises(FeedError) as info:
        read_all(path)
    return info.value


def expected(items: list[dict[str, Any]], source: Path, first_line: int = 2) -> list[Located]:
    return [
        Located(str(source), number, parse_item(item))
        for number, item in enumerate(items, first_line)
    ]


# --- reading -------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_reads_every_item_in_order_with_lines(tmp_path: Path, compress: bool) -> None:
    path = feed.write(tmp_path / "snap.healthsnap", sample_items(), compress=compress)
    got = read_all(path)
    assert got == expected(sample_items(), path)
    assert [type(located.item) for located in got] == [
        Connection,
        Record,
        Record,
        MappingItem,
        Event,
        Event,
        Connection,
        Record,
    ]


def test_plain_and_gzip_give_the_same_items(tmp_path: Path) -> None:
    plain = feed.write(tmp_path / "a.jsonl", sample_items(), compress=False)
    packed = feed.write(tmp_path / "a.jsonl.gz", sample_items(), compress=True)
    assert plain.read_bytes()[:2] != GZIP_MAGIC
    assert packed.read_bytes()[:2] == GZIP_MAGIC
    assert [(x.line, x.item) for x in read_all(plain)] == [
        (x.line, x.item) for x in read_all(packed)
    ]


@pytest.mark.parametrize(
    ("name", "compress"),
    [
        ("snap.jsonl", True),
        ("snap.healthsnap", True),
        ("snap", True),
        ("snap.gz", False),
        ("snap.jsonl.gz", False),
        ("snap.healthsnap", False),
    ],
)
def test_gzip_is_told_by_magic_bytes_not_name(tmp_path: Path, name: str, compress: bool) -> None:
    path = feed.write(tmp_path / name, sample_items(), compress=compress)
    assert (path.read_bytes()[:2] == GZIP_MAGIC) is compress
    assert read_all(path) == expected(sample_items(), path)


def test_header_is_kept_on_the_reader(tmp_path: Path) -> None:
    path = feed.write(tmp_path / "s.jsonl", sample_items())
    reader = SnapshotReader(path=path)
    assert reader.header is None
    assert len(list(reader.items())) == len(sample_items())
    assert reader.header == Header(
        format=FORMAT_NAME, version=FORMAT_VERSION, exported_at="2026-01-01T00:00:00.000Z"
    )
    assert reader.source == str(path)


def test_header_only_file_has_no_items(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "h.jsonl", [{"type": "header", "format": FORMAT_NAME, "version": 1}]
    )
    reader = SnapshotReader(path=path)
    assert list(reader.items()) == []
    assert reader.header == Header(format=FORMAT_NAME, version=1, exported_at=None)


def test_reader_accepts_str_path(tmp_path: Path) -> None:
    path = feed.write(tmp_path / "s.jsonl", sample_items())
    got = read_all(str(path))
    assert got == expected(sample_items(), path)


def test_items_stream_lazily(tmp_path: Path) -> None:
    """Items come one by one: those before a bad line are yielded before the error."""
    items = [*sample_items()[:3], {"type": "record"}, *sample_items()[3:]]
    path = feed.write(tmp_path / "s.jsonl", items)
    stream = read_items(path)
    assert [next(stream).line for _ in range(3)] == [2, 3, 4]
    with pytest.raises(FeedError) as info:
        next(stream)
    assert info.value.line == 5


def test_header_extra_keys_and_item_extra_keys_are_ignored(tmp_path: Path) -> None:
    items = [feed.record("a", "1") | {"future": [1, 2, 3]}]
    path = write_lines(tmp_path / "s.jsonl", [HEADER | {"generator": "svc 1.2"}, *items])
    assert [x.item for x in read_all(path)] == [parse_item(feed.record("a", "1"))]


def test_crlf_line_endings_and_no_final_newline(tmp_path: Path) -> None:
    body = b"".join(line(o) for o in [HEADER, *sample_items()]).replace(b"\n", b"\r\n")
    path = write_raw(tmp_path / "s.jsonl", body.rstrip(b"\r\n"))
    assert read_all(path) == expected(sample_items(), path)


def test_gzip_with_several_members(tmp_path: Path) -> None:
    items = sample_items()
    first = b"".join(line(o) for o in [HEADER, *items[:3]])
    second = b"".join(line(o) for o in items[3:])
    path = tmp_path / "multi.jsonl.gz"
    path.write_bytes(gzip.compress(first, mtime=0) + gzip.compress(second, mtime=0))
    assert read_all(path) == expected(items, path)


# --- blank lines and line numbers ----------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_blank_lines_are_skipped_and_counted(tmp_path: Path, compress: bool) -> None:
    a, b = feed.record("a", "1"), feed.record("b", "2")
    body = b"\n" + line(HEADER) + b"\n   \n" + line(a) + b"\t\r\n" + line(b) + b"\n\n"
    path = write_raw(tmp_path / "s.jsonl", body, compress=compress)
    got = read_all(path)
    assert [(x.line, x.item) for x in got] == [(5, parse_item(a)), (7, parse_item(b))]


@pytest.mark.parametrize("compress", [False, True])
def test_error_after_blank_lines_names_the_physical_line(tmp_path: Path, compress: bool) -> None:
    bad = feed.record("a", "1")
    del bad["id"]
    body = line(HEADER) + b"\n" + line(feed.record("a", "2")) + b"\n" + line(bad)
    path = write_raw(tmp_path / "s.jsonl", body, compress=compress)
    err = read_error(path)
    assert (err.line, err.key) == (5, "id")
    assert str(err) == f'{path}:5: key "id": is missing'


# --- errors name file, line and key --------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_error_in_the_middle_names_file_line_and_key(tmp_path: Path, compress: bool) -> None:
    bad = feed.event(3, "a", "101", "created")
    bad["seq"] = -1
    items = [*sample_items()[:4], bad, *sample_items()[4:]]
    path = feed.write(tmp_path / "s.jsonl", items, compress=compress)
    err = read_error(path)
    assert (err.source, err.line, err.key) == (str(path), 6, "seq")
    assert err.problem == "expected a whole number from 0 to 4611686018427387903, got -1"
    assert (
        str(err)
        == f'{path}:6: key "seq": expected a whole number from 0 to 4611686018427387903, got -1'
    )


@pytest.mark.parametrize(
    ("path_in_item", "value", "key", "problem"),
    [
        (("state", "locked_by"), {"name": "x"}, "state.locked_by.id", "is missing"),
        (("apps", "b", "kind"), 5, "apps.b.kind", "expected a string, got a number"),
        (
            ("rules", 0, "all"),
            [{"field": "f", "op": "equals", "value": "x"}, {"field": "g", "op": "near"}],
            "rules[0].all[1].op",
            "'near' is not one of: equals, not_equals, contains, not_contains, starts_with, "
            "ends_with, is_empty, is_not_empty, in, not_in, has_tag, lacks_tag",
        ),
    ],
)
def test_nested_key_is_named_by_dotted_path(
    tmp_path: Path, path_in_item: tuple[str | int, ...], value: Any, key: str, problem: str
) -> None:
    conn = feed.connection(state={"phase": "locked", "locked_by": {"id": "c-7"}})
    target: Any = conn
    for part in path_in_item[:-1]:
        target = target[part]
    target[path_in_item[-1]] = value
    path = feed.write(tmp_path / "s.jsonl", [feed.record("a", "1"), conn])
    err = read_error(path)
    assert str(err) == f'{path}:3: key "{key}": {problem}'


def test_event_failed_without_error(tmp_path: Path) -> None:
    bad = feed.event(1, "a", "1", "failed")
    del bad["error"]["message"]
    path = feed.write(tmp_path / "s.jsonl", [bad])
    assert str(read_error(path)) == f'{path}:2: key "error.message": is missing'


def test_invalid_json_line(tmp_path: Path) -> None:
    body = line(HEADER) + line(feed.record("a", "1")) + b'{"type": "record", "id": \n'
    path = write_raw(tmp_path / "s.jsonl", body)
    err = read_error(path)
    assert (err.source, err.line, err.key) == (str(path), 3, "")
    assert err.problem.startswith("not valid JSON")
    assert str(err).startswith(f"{path}:3: not valid JSON")


@pytest.mark.parametrize(
    ("raw", "got"),
    [(b"[1, 2]", "a list"), (b'"record"', "a string"), (b"42", "a number"), (b"null", "null")],
)
def test_non_object_line(tmp_path: Path, raw: bytes, got: str) -> None:
    path = write_raw(tmp_path / "s.jsonl", line(HEADER) + raw + b"\n")
    err = read_error(path)
    assert str(err) == f"{path}:2: an item must be a JSON object, got {got}"


def test_header_on_a_later_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "s.jsonl", [HEADER, feed.record("a", "1"), HEADER])
    err = read_error(path)
    assert str(err) == f'{path}:3: key "type": a header is only allowed on line 1'


def test_unknown_item_type_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "s.jsonl", [HEADER, {"type": "contact", "id": "1"}])
    assert str(read_error(path)) == f"{path}:2: key \"type\": unknown item type 'contact'"


@pytest.mark.parametrize("compress", [False, True])
def test_non_utf8_bytes_are_a_feed_error(tmp_path: Path, compress: bool) -> None:
    body = line(HEADER) + b'{"type": "mapping", "connection": "c-1", "a": "caf\xe9", "b": "x"}\n'
    path = write_raw(tmp_path / "s.jsonl", body, compress=compress)
    err = read_error(path)
    assert (err.source, err.line) == (str(path), 2)
    assert err.problem.startswith("not valid JSON")


def test_utf8_text_is_read(tmp_path: Path) -> None:
    rec = feed.record("a", "1", name="Zoë Ångström ⇄ 東京")
    path = feed.write(tmp_path / "s.jsonl", [rec])
    item = read_all(path)[0].item
    assert isinstance(item, Record)
    assert item.name == "Zoë Ångström ⇄ 東京"


# --- the header ------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_missing_header_is_an_error_on_line_1(tmp_path: Path, compress: bool) -> None:
    path = write_lines(tmp_path / "s.jsonl", sample_items(), compress=compress)
    err = read_error(path)
    assert (err.source, err.line, err.key) == (str(path), 1, "")
    assert "header" in err.problem
    assert str(err).startswith(f"{path}:1: line 1 must be the header")


@pytest.mark.parametrize("first", [[1, 2], "header", {"format": FORMAT_NAME, "version": 1}])
def test_line_1_not_a_header_object(tmp_path: Path, first: Any) -> None:
    path = write_lines(tmp_path / "s.jsonl", [first, feed.record("a", "1")])
    err = read_error(path)
    assert err.line == 1
    assert str(err).startswith(f"{path}:1: line 1 must be the header")


def test_wrong_format_name(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "s.jsonl", [HEADER | {"format": "zapier-export"}])
    err = read_error(path)
    assert (err.line, err.key) == (1, "format")
    assert str(err) == (
        f"{path}:1: key \"format\": format 'zapier-export' is not 'healthdesk-snapshot'"
    )


@pytest.mark.parametrize("version", [2, 17])
def test_newer_version_is_refused_before_any_item(tmp_path: Path, version: int) -> None:
    path = write_lines(tmp_path / "s.jsonl", [HEADER | {"version": version}, *sample_items()])
    reader = SnapshotReader(path=path)
    items = reader.items()
    with pytest.raises(FeedError) as info:
        next(items)
    err = info.value
    assert (err.source, err.line, err.key) == (str(path), 1, "version")
    assert "newer" in err.problem
    assert f"version {version}" in err.problem
    assert str(err).startswith(
        f'{path}:1: key "version": snapshot format version {version} is newer'
    )
    assert reader.header is None


@pytest.mark.parametrize("version", [0, -1])
def test_version_below_1_is_refused(tmp_path: Path, version: int) -> None:
    path = write_lines(tmp_path / "s.jsonl", [HEADER | {"version": version}])
    err = read_error(path)
    assert str(err) == f'{path}:1: key "version": unknown format version {version}'


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        ({"version": "1"}, "version", "expected a whole number, got a string"),
        ({"version": None}, "version", "expected a whole number, got null"),
        ({"format": None}, "format", "expected a string, got null"),
        ({"exported_at": "today"}, "exported_at", "'today' is not an RFC 3339 time"),
    ],
)
def test_bad_header_keys(tmp_path: Path, change: dict[str, Any], key: str, problem: str) -> None:
    path = write_lines(tmp_path / "s.jsonl", [HEADER | change])
    assert str(read_error(path)) == f'{path}:1: key "{key}": {problem}'


def test_header_missing_version(tmp_path: Path) -> None:
    header = {k: v for k, v in HEADER.items() if k != "version"}
    path = write_lines(tmp_path / "s.jsonl", [header])
    assert str(read_error(path)) == f'{path}:1: key "version": is missing'


@pytest.mark.parametrize("compress", [False, True])
def test_empty_file(tmp_path: Path, compress: bool) -> None:
    path = write_raw(tmp_path / "s.jsonl", b"", compress=compress)
    err = read_error(path)
    assert (err.source, err.line, err.key) == (str(path), 1, "")
    assert "empty file" in err.problem


def test_file_of_blank_lines_is_empty(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "s.jsonl", b"\n  \n\n")
    err = read_error(path)
    assert err.source == str(path)
    assert "empty file" in err.problem


# --- broken files ----------------------------------------------------------------------------


def gz_bytes(tmp_path: Path, count: int = 3000) -> bytes:
    items = [feed.record("a", str(i), fields={"n": i}) for i in range(count)]
    return feed.write(tmp_path / "full.jsonl.gz", items, compress=True).read_bytes()


@pytest.mark.parametrize("cut", [0.5, 0.9, -4, -1])
def test_truncated_gzip_is_a_feed_error(tmp_path: Path, cut: float) -> None:
    data = gz_bytes(tmp_path)
    end = int(len(data) * cut) if cut > 0 else len(data) + int(cut)
    path = write_raw(tmp_path / "cut.jsonl.gz", data[:end])
    err = read_error(path)  # not EOFError
    assert err.source == str(path)
    assert err.problem.startswith("cannot read")
    assert str(err).startswith(f"{path}: cannot read")


def test_gzip_with_only_magic_bytes(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "s.jsonl", GZIP_MAGIC)
    err = read_error(path)
    assert err.source == str(path)
    assert err.problem.startswith("cannot read")


def test_gzip_with_a_bad_crc(tmp_path: Path) -> None:
    data = bytearray(gz_bytes(tmp_path, 50))
    data[-8] ^= 0xFF
    path = write_raw(tmp_path / "crc.gz", bytes(data))
    err = read_error(path)
    assert err.source == str(path)
    assert err.problem.startswith("cannot read")


def test_corrupt_gzip_data_is_a_feed_error(tmp_path: Path) -> None:
    data = bytearray(gz_bytes(tmp_path))
    for i in range(200, 260):
        data[i] ^= 0xFF
    path = write_raw(tmp_path / "bad.jsonl.gz", bytes(data))
    err = read_error(path)
    assert err.source == str(path)


def test_missing_file_is_a_feed_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "gone.healthsnap"
    err = read_error(path)
    assert err.source == str(path)
    assert err.line == 0
    assert str(path) in str(err)
    assert "cannot open" in err.problem


def test_directory_is_a_feed_error(tmp_path: Path) -> None:
    err = read_error(tmp_path)
    assert err.source == str(tmp_path)
    assert "cannot open" in err.problem


# --- the line-length bound -----------------------------------------------------------------

BOUND = 200


def sized_record(size: int) -> bytes:
    """A record line of exactly `size` bytes, without its newline."""
    rec = feed.record("a", "1", name="")
    rec["name"] = "x" * (size - len(orjson.dumps(rec)))
    data = orjson.dumps(rec)
    assert len(data) == size
    return data


@pytest.mark.parametrize("compress", [False, True])
def test_line_longer_than_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compress: bool
) -> None:
    monkeypatch.setattr(reader_module, "MAX_LINE_BYTES", BOUND)
    body = line(HEADER) + line(feed.record("b", "2")) + sized_record(50 * BOUND) + b"\n"
    path = write_raw(tmp_path / "s.jsonl", body, compress=compress)
    err = read_error(path)
    assert (err.source, err.line, err.key) == (str(path), 3, "")
    assert "longer than" in err.problem
    assert str(err).startswith(f"{path}:3: line is longer than")


def test_line_at_the_bound_is_read_one_more_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader_module, "MAX_LINE_BYTES", BOUND)
    ok = write_raw(tmp_path / "ok.jsonl", line(HEADER) + sized_record(BOUND) + b"\n")
    assert [x.line for x in read_all(ok)] == [2]
    too_long = write_raw(tmp_path / "long.jsonl", line(HEADER) + sized_record(BOUND + 1) + b"\n")
    assert read_error(too_long).line == 2


def test_long_last_line_without_newline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader_module, "MAX_LINE_BYTES", BOUND)
    at_bound = write_raw(tmp_path / "ok.jsonl", line(HEADER) + sized_record(BOUND))
    assert [x.line for x in read_all(at_bound)] == [2]
    over = write_raw(tmp_path / "long.jsonl", line(HEADER) + sized_record(3 * BOUND))
    err = read_error(over)
    assert err.line == 2
    assert "longer than" in err.problem


def test_default_bound_is_large() -> None:
    assert reader_module.MAX_LINE_BYTES == 16 * 1024 * 1024


# --- progress: size and position -------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_position_reaches_size_at_the_end(tmp_path: Path, compress: bool) -> None:
    path = feed.write(tmp_path / "s.healthsnap", sample_items(), compress=compress)
    reader = SnapshotReader(path=path)
    assert reader.position == 0
    list(reader.items())
    assert reader.size == path.stat().st_size
    assert reader.position == reader.size


@pytest.mark.parametrize("compress", [False, True])
def test_position_grows_during_a_long_read(tmp_path: Path, compress: bool) -> None:
    items = [
        feed.record("a", str(i), fields={"n": i, "pad": "y" * (i % 40)}) for i in range(10_000)
    ]
    path = feed.write(tmp_path / "big.healthsnap", items, compress=compress)
    reader = SnapshotReader(path=path)
    positions = [reader.position for _ in reader.items()]
    assert len(positions) == len(items)
    assert positions == sorted(positions)
    assert all(0 <= p <= path.stat().st_size for p in positions)
    if not compress:
        assert any(0 < p < path.stat().st_size for p in positions)
    assert reader.position == reader.size == path.stat().st_size


# --- write_snapshot ----------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_write_snapshot_round_trips(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "out.healthsnap"
    count = write_snapshot(
        path, iter(sample_items()), exported_at="2026-11-20T10:00:00Z", compress=compress
    )
    assert count == len(sample_items())
    assert (path.read_bytes()[:2] == GZIP_MAGIC) is compress
    reader = SnapshotReader(path=path)
    assert list(reader.items()) == expected(sample_items(), path)
    assert reader.header == Header(FORMAT_NAME, FORMAT_VERSION, "2026-11-20T10:00:00.000Z")


def test_write_snapshot_plain_bytes(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    items = sample_items()[:2]
    write_snapshot(path, items, exported_at="2026-11-20T10:00:00Z", compress=False)
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert [orjson.loads(x) for x in lines[:-1]] == [
        {
            "type": "header",
            "format": "healthdesk-snapshot",
            "version": 1,
            "exported_at": "2026-11-20T10:00:00Z",
        },
        *items,
    ]


def test_gzip_is_the_plain_file_compressed(tmp_path: Path) -> None:
    plain = tmp_path / "p.jsonl"
    packed = tmp_path / "p.jsonl.gz"
    write_snapshot(plain, sample_items(), exported_at=feed.T0, compress=False)
    write_snapshot(packed, sample_items(), exported_at=feed.T0)
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()


@pytest.mark.parametrize("compress", [False, True])
def test_write_snapshot_is_deterministic(tmp_path: Path, compress: bool) -> None:
    first = tmp_path / "one" / "first.healthsnap"
    second = tmp_path / "two" / "other-name.jsonl.gz"
    first.parent.mkdir()
    second.parent.mkdir()
    write_snapshot(first, sample_items(), exported_at=feed.T0, compress=compress)
    write_snapshot(second, sample_items(), exported_at=feed.T0, compress=compress)
    assert first.read_bytes() == second.read_bytes()
    if compress:
        data = first.read_bytes()
        assert data[4:8] == b"\0\0\0\0"  # no mtime
        assert not data[3] & 0x08  # FNAME flag unset: no file name stored


def test_write_snapshot_leaves_no_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "out.healthsnap"
    write_snapshot(path, sample_items(), exported_at=feed.T0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.healthsnap"]


def test_write_snapshot_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "out.healthsnap"
    path.write_bytes(b"old contents")
    assert write_snapshot(path, sample_items()[:1], exported_at=feed.T0) == 1
    assert [x.item for x in read_all(path)] == [parse_item(sample_items()[0])]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.healthsnap"]


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "out.healthsnap"
    path.write_bytes(b"old contents")

    def broken() -> Any:
        yield feed.record("a", "1")
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError, match="source went away"):
        write_snapshot(path, broken(), exported_at=feed.T0)
    assert path.read_bytes() == b"old contents"


def test_write_snapshot_of_no_items(tmp_path: Path) -> None:
    path = tmp_path / "empty.healthsnap"
    assert write_snapshot(path, [], exported_at=feed.T0) == 0
    reader = SnapshotReader(path=path)
    assert list(reader.items()) == []
    assert reader.header is not None

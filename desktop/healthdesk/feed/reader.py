"""Stream the items of snapshot files, validated and located (file and line)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from isal import igzip, isal_zlib

from healthdesk.core.model import Header, Item
from healthdesk.feed.items import FeedError, decode, parse_header, parse_item
from healthdesk.feed.snapshot import FORMAT_NAME, FORMAT_VERSION, GZIP_MAGIC, MAX_LINE_BYTES

#: What ISA-L raises on corrupt data (its stubs call it an instance, not a class).
_INFLATE_ERROR = cast(type[Exception], isal_zlib.error)


@dataclass(slots=True)  # not frozen: one per item, millions per import
class Located:
    """An item with where it came from, so that a later error can name the line."""

    source: str
    line: int
    item: Item
    #: The digest of the line the item was read from (store.digests), None when unknown.
    digest: int | None = None


class SnapshotReader:
    """Reads one snapshot file: the header first, then items one by one.

    Attributes: `path`, `size` (bytes on disk), `position` (bytes of the file consumed so
    far, for progress), `header` (after the first item is read).
    """

    def __init__(self, *, path: Path | str) -> None:
        self.path = Path(path)
        self.source = str(path)
        self.size = 0
        self.position = 0
        self.header: Header | None = None

    def _open(self) -> tuple[IO[bytes], IO[bytes]]:
        try:
            raw = open(self.path, "rb")  # noqa: SIM115 - closed by items()
        except OSError as exc:
            raise FeedError(f"cannot open: {exc.strerror or exc}", source=self.source) from None
        self.size = self.path.stat().st_size
        magic = raw.read(2)
        raw.seek(0)
        if magic == GZIP_MAGIC:
            # ISA-L's inflate: the same gzip, in half the time of zlib's.
            return raw, igzip.IGzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
        return raw, raw

    def items(self) -> Iterator[Located]:
        for number, data in self.lines():
            yield self.parse(number, data)

    def parse(self, number: int, data: bytes, digest: int | None = None) -> Located:
        """The item of line `number` (as `lines()` gave it), or FeedError naming the line."""
        try:
            return Located(self.source, number, parse_item(decode(data)), digest)
        except FeedError as exc:
            raise exc.located(source=self.source, line=number) from None

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """The item lines (number, bytes) after the checked header, not yet parsed."""
        for numbers, lines in self.blocks():
            yield from zip(numbers, lines, strict=True)

    def blocks(self) -> Iterator[tuple[list[int], list[bytes]]]:
        """The item lines after the checked header, a read block at a time, as (their
        numbers, their bytes): for a caller that works on lines in bulk."""
        raw, stream = self._open()
        source = self.source
        try:
            number = 0
            for first, block in _blocks(stream, source):
                self.position = raw.tell()
                numbers = []
                lines = []
                for offset, data in enumerate(block):
                    if not data or not data.strip():
                        continue
                    if self.header is None:
                        try:
                            self.header = _check_header(decode(data))
                        except FeedError as exc:
                            raise exc.located(source=source, line=first + offset) from None
                        continue
                    numbers.append(first + offset)
                    lines.append(data)
                number = first + len(block) - 1
                if lines:
                    yield numbers, lines
            if self.header is None:
                raise FeedError("empty file: no header line", source=source, line=max(number, 1))
            self.position = self.size
        except (OSError, EOFError, zlib.error, _INFLATE_ERROR) as exc:  # BadGzipFile: OSError
            raise FeedError(f"cannot read: {exc}", source=source) from None
        finally:
            stream.close()
            raw.close()


_BLOCK = 1 << 20


def _blocks(stream: IO[bytes], source: str) -> Iterator[tuple[int, list[bytes]]]:
    """The lines a block at a time, with the number of the block's first line, refusing
    one longer than MAX_LINE_BYTES.

    Reads blocks and splits them (a readline call per line costs more than parsing it);
    memory stays bounded by the block size plus one line.
    """
    number = 1
    rest = b""
    read = stream.read
    while True:
        block = read(_BLOCK)
        if not block:
            break
        text_size = len(rest) + len(block)
        lines = (rest + block).split(b"\n") if rest else block.split(b"\n")
        rest = lines.pop()
        if len(rest) > MAX_LINE_BYTES:
            raise FeedError(
                f"line is longer than {MAX_LINE_BYTES:,} bytes",
                source=source,
                line=number + len(lines),
            )
        if lines:
            # No line is longer than the text they were split from: most blocks need no
            # per-line look (MAX_LINE_BYTES is larger than a block).
            if text_size > MAX_LINE_BYTES and max(map(len, lines)) > MAX_LINE_BYTES:
                at = next(i for i, line in enumerate(lines) if len(line) > MAX_LINE_BYTES)
                raise FeedError(
                    f"line is longer than {MAX_LINE_BYTES:,} bytes", source=source, line=number + at
                )
            yield number, lines
            number += len(lines)
    if rest:
        yield number, [rest]


def _check_header(obj: object) -> Header:
    if not isinstance(obj, dict) or obj.get("type") != "header":
        raise FeedError(
            'line 1 must be the header {"type": "header", "format": "healthdesk-snapshot", ...}'
            " (is this a Health Desk snapshot?)"
        )
    header = parse_header(obj)
    if header.format != FORMAT_NAME:
        raise FeedError(f"format {header.format!r} is not {FORMAT_NAME!r}", key="format")
    if header.version > FORMAT_VERSION:
        raise FeedError(
            f"snapshot format version {header.version} is newer than this Health Desk reads "
            f"(up to {FORMAT_VERSION}); update Health Desk to open it",
            key="version",
        )
    if header.version < 1:
        raise FeedError(f"unknown format version {header.version}", key="version")
    return header


def read_items(path: Path | str) -> Iterator[Located]:
    """Every item of one snapshot file, in order."""
    return SnapshotReader(path=path).items()

"""Snapshot files: JSON Lines, optionally gzip-compressed (detected by magic bytes).

Reading streams line by line (memory stays flat whatever the file size); writing is
deterministic (gzip without a timestamp or name), so the same items give the same bytes.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson

FORMAT_NAME = "healthdesk-snapshot"
FORMAT_VERSION = 1
GZIP_MAGIC = b"\x1f\x8b"
#: The longest line the reader accepts: a record with enormous `fields` is an input error,
#: not a reason to hold gigabytes in memory.
MAX_LINE_BYTES = 16 * 1024 * 1024


def header_item(exported_at: str) -> dict[str, Any]:
    return {
        "type": "header",
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "exported_at": exported_at,
    }


def write_snapshot(
    path: Path | str,
    items: Iterable[dict[str, Any]],
    *,
    exported_at: str,
    compress: bool = True,
) -> int:
    """Write a header and `items` to `path`; return the number of items written.

    The file is written next to its target and renamed over it at the end, so a failed
    write never leaves half a snapshot under the final name.
    """
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    count = 0
    try:
        with _open_for_write(partial, compress=compress) as out:
            out.write(orjson.dumps(header_item(exported_at)) + b"\n")
            for item in items:
                out.write(orjson.dumps(item) + b"\n")
                count += 1
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return count


@contextmanager
def _open_for_write(path: Path, *, compress: bool) -> Iterator[IO[bytes]]:
    with open(path, "wb", buffering=1 << 20) as raw:
        if not compress:
            yield raw
            return
        # mtime=0 and no file name in the header: the same items give the same bytes.
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz:
            yield gz  # type: ignore[misc]

"""Import snapshot files into the database: all of them, or nothing."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from healthdesk.feed.reader import SnapshotReader
from healthdesk.store.db import open_db, raw_transaction
from healthdesk.store.digests import UnchangedLines, line_digests
from healthdesk.store.ingest import ImportCancelled, Ingestor, IngestReport

#: progress(done, total, phase): bytes of the files read so far and in all; phase is
#: "reading" while items stream in, then "deciding".
Progress = Callable[[int, int, str], None]


@contextmanager
def snapshot_database(
    snapshots: Sequence[Path | str], *, should_cancel: Callable[[], bool] | None = None
) -> Iterator[Engine]:
    """The engine of a temporary database holding `snapshots` (imported), removed with
    its folder when the block ends: a snapshot read without touching your database."""
    with tempfile.TemporaryDirectory(prefix="healthdesk-") as folder:
        engine = open_db(Path(folder) / "snapshot.sqlite3")
        try:
            import_snapshots(engine, snapshots, should_cancel=should_cancel)
            yield engine
        finally:
            engine.dispose()


def import_snapshots(
    engine: Engine,
    paths: Sequence[Path | str],
    *,
    on_progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> IngestReport:
    """Apply every item of `paths` in one transaction and decide what changed.

    Lines that rows of the database already hold (a re-import) are skipped unparsed
    (store.digests). Raises FeedError (naming file, line and key) on bad input and
    ImportCancelled when `should_cancel()` turns true; either way the database is left
    exactly as it was.
    """
    readers = [SnapshotReader(path=path) for path in paths]
    total = sum(Path(path).stat().st_size for path in paths if Path(path).is_file())
    cancelled = should_cancel or (lambda: False)
    done_before = 0
    with raw_transaction(engine, bulk=True) as cursor:
        ingestor = Ingestor(cursor=cursor, source=", ".join(str(p) for p in paths))
        # Into a database without rows, no line can be held: nothing to look up.
        unchanged = UnchangedLines(cursor=cursor) if ingestor.had_rows else None
        for reader in readers:
            for numbers, lines in reader.blocks():
                _apply(reader, ingestor, unchanged, numbers, lines)
                if cancelled():
                    raise ImportCancelled
                if on_progress:
                    on_progress(done_before + reader.position, total, "reading")
            done_before += reader.size
        if on_progress:
            on_progress(total, total, "deciding")
        report = ingestor.finish()
        if unchanged is not None:
            # The report counts the items of the files, skipped or not.
            skipped = unchanged.skipped
            report.records += skipped["records"]
            report.mappings += skipped["mappings"]
            report.events += skipped["events"]
            report.unchanged = sum(skipped.values())
        if cancelled():
            raise ImportCancelled
    return report


def _apply(
    reader: SnapshotReader,
    ingestor: Ingestor,
    unchanged: UnchangedLines | None,
    numbers: list[int],
    lines: list[bytes],
) -> None:
    """Apply a block of lines, skipping those rows hold already."""
    digests = line_digests(lines)
    parse = reader.parse
    add = ingestor.add
    if unchanged is None or not unchanged.looking:
        for number, data, digest in zip(numbers, lines, digests, strict=True):
            add(parse(number, data, digest))
        return
    held = unchanged.held(numbers, digests, lines)
    fresh = [i for i, digest in enumerate(digests) if digest not in held] if held else None
    parsed = {
        position: parse(numbers[position], lines[position], digests[position])
        for position in (range(len(lines)) if fresh is None else fresh)
    }
    unchanged.applying(located.item for located in parsed.values())
    again = unchanged.applied_anyway(digests, held) if held else []
    for position in sorted([*parsed, *again]) if again else parsed:
        add(parsed.get(position) or parse(numbers[position], lines[position], digests[position]))

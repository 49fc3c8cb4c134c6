"""Import snapshot files into the database: all of them, or nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import Engine

from healthdesk.feed.reader import SnapshotReader
from healthdesk.store.db import raw_transaction
from healthdesk.store.digests import UnchangedLines, line_digest
from healthdesk.store.ingest import BATCH_SIZE, ImportCancelled, Ingestor, IngestReport

#: progress(done, total, phase): bytes of the files read so far and in all; phase is
#: "reading" while items stream in, then "deciding".
Progress = Callable[[int, int, str], None]
#: Lines looked up (and parsed when not skipped) at a time.
LINE_BATCH = 2000


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
    with raw_transaction(engine) as cursor:
        ingestor = Ingestor(cursor=cursor, source=", ".join(str(p) for p in paths))
        # Into a database without rows, no line can be held: nothing to look up.
        unchanged = UnchangedLines(cursor=cursor) if ingestor.had_rows else None
        count = 0
        for reader in readers:
            batch: list[tuple[int, bytes]] = []
            numbers: list[int] = []
            for number, data in reader.lines():
                batch.append((line_digest(data), data))
                numbers.append(number)
                if len(batch) < LINE_BATCH:
                    continue
                _apply(reader, ingestor, unchanged, numbers, batch)
                count += len(batch)
                batch, numbers = [], []
                if count % BATCH_SIZE < LINE_BATCH:
                    if cancelled():
                        raise ImportCancelled
                    if on_progress:
                        on_progress(done_before + reader.position, total, "reading")
            _apply(reader, ingestor, unchanged, numbers, batch)
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
    batch: list[tuple[int, bytes]],
) -> None:
    if unchanged is None:
        for number, (digest, data) in zip(numbers, batch, strict=True):
            ingestor.add(reader.parse(number, data, digest))
        return
    if not unchanged.looking:
        for number, (digest, data) in zip(numbers, batch, strict=True):
            ingestor.add(reader.parse(number, data, digest))
        return
    held = unchanged.held(batch)
    parsed = {
        position: reader.parse(number, data, digest)
        for position, (number, (digest, data)) in enumerate(zip(numbers, batch, strict=True))
        if digest not in held
    }
    unchanged.applying(located.item for located in parsed.values())
    for position, (number, (digest, data)) in enumerate(zip(numbers, batch, strict=True)):
        if unchanged.skips(digest, held):
            continue
        located = parsed.get(position) or reader.parse(number, data, digest)
        ingestor.add(located)

"""Import snapshot files into the database: all of them, or nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import Engine

from healthdesk.feed.reader import SnapshotReader
from healthdesk.store.db import raw_transaction
from healthdesk.store.ingest import BATCH_SIZE, ImportCancelled, Ingestor, IngestReport

#: progress(done, total, phase): bytes of the files read so far and in all; phase is
#: "reading" while items stream in, then "deciding".
Progress = Callable[[int, int, str], None]


def import_snapshots(
    engine: Engine,
    paths: Sequence[Path | str],
    *,
    on_progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> IngestReport:
    """Apply every item of `paths` in one transaction and decide what changed.

    Raises FeedError (naming file, line and key) on bad input and ImportCancelled when
    `should_cancel()` turns true; either way the database is left exactly as it was.
    """
    readers = [SnapshotReader(path=path) for path in paths]
    total = sum(Path(path).stat().st_size for path in paths if Path(path).is_file())
    cancelled = should_cancel or (lambda: False)
    done_before = 0
    with raw_transaction(engine) as cursor:
        ingestor = Ingestor(cursor=cursor, source=", ".join(str(p) for p in paths))
        for reader in readers:
            for count, located in enumerate(reader.items(), 1):
                ingestor.add(located)
                if count % BATCH_SIZE == 0:
                    if cancelled():
                        raise ImportCancelled
                    if on_progress:
                        on_progress(done_before + reader.position, total, "reading")
            done_before += reader.size
        if on_progress:
            on_progress(total, total, "deciding")
        report = ingestor.finish()
        if cancelled():
            raise ImportCancelled
    return report

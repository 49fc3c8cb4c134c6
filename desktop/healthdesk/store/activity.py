"""Activity per day: how many events of each outcome a connection had on each (UTC) day,
kept up to date by the ingest so that the overview's chart reads a few hundred rows
rather than grouping a million events.

The table `activity_days` (schema.ActivityDayRow) holds, per connection, day and outcome,
the number of events and the lowest and highest `seq` among them: the timeline filtered
to one day walks only that range of the events' primary key. Events are append-only (a
repeated seq is ignored), so adding a batch's tally keeps the table exact; a batch with
repeats is recounted from the events, like `store.counts.recount_events`.

Writers: `DayTally`, `add`, `recount` (store.ingest only). Readers: `per_day`, `day_range`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from sqlalchemy import Engine

from healthdesk.core.model import Outcome

__all__ = ["DayActivity", "DayTally", "add", "day_range", "per_day", "recount"]


class DayTally:
    """A batch's events per (day, outcome): how many, and their lowest and highest seq."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], list[int]] = {}

    def add(self, at: str, outcome: str, seq: int) -> None:
        key = (at[:10], outcome)
        entry = self.entries.get(key)
        if entry is None:
            self.entries[key] = [1, seq, seq]
            return
        entry[0] += 1
        if seq < entry[1]:
            entry[1] = seq
        elif seq > entry[2]:
            entry[2] = seq


def add(cursor: sqlite3.Cursor, connection_id: str, batch: DayTally) -> None:
    """Add a batch of newly inserted events to the connection's days."""
    cursor.executemany(
        """
        INSERT INTO activity_days (connection_id, day, outcome, count, min_seq, max_seq)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (connection_id, day, outcome) DO UPDATE SET
            count = count + excluded.count,
            min_seq = MIN(min_seq, excluded.min_seq),
            max_seq = MAX(max_seq, excluded.max_seq)
        """,
        [
            (connection_id, day, outcome, n, low, high)
            for (day, outcome), (n, low, high) in batch.entries.items()
        ],
    )


#: The days of events, counted from the table (a connection, or every one with no filter).
RECOUNT_SQL = """
    INSERT INTO activity_days (connection_id, day, outcome, count, min_seq, max_seq)
    SELECT connection_id, substr(at, 1, 10), outcome, COUNT(*), MIN(seq), MAX(seq)
    FROM events {where} GROUP BY 1, 2, 3
"""


def recount(cursor: sqlite3.Cursor, connection_id: str) -> None:
    """Count a connection's days again from its events (when a batch's tally is unsure)."""
    cursor.execute("DELETE FROM activity_days WHERE connection_id = ?", (connection_id,))
    cursor.execute(RECOUNT_SQL.format(where="WHERE connection_id = ?"), (connection_id,))


@dataclass(frozen=True, slots=True)
class DayActivity:
    """One day of a connection's activity: events by outcome (every outcome, 0 if none)."""

    day: str
    counts: dict[Outcome, int] = field(default_factory=dict)

    def count(self, outcome: Outcome) -> int:
        return self.counts.get(outcome, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def per_day(engine: Engine, connection_id: str) -> list[DayActivity]:
    """Every day with events of the connection, oldest first (a read of the maintained
    rows: one per day and outcome)."""
    with engine.connect() as db:
        rows = db.exec_driver_sql(
            "SELECT day, outcome, count FROM activity_days WHERE connection_id = ? ORDER BY day",
            (connection_id,),
        ).all()
    days: dict[str, dict[Outcome, int]] = {}
    for day, outcome, count in rows:
        counts = days.setdefault(day, dict.fromkeys(Outcome, 0))
        counts[Outcome(outcome)] += count
    return [DayActivity(day, counts) for day, counts in days.items()]


def day_range(engine: Engine, connection_id: str, day: str) -> tuple[int, int] | None:
    """The lowest and highest seq of the connection's events on `day` (None: none)."""
    with engine.connect() as db:
        found = db.exec_driver_sql(
            "SELECT MIN(min_seq), MAX(max_seq) FROM activity_days "
            "WHERE connection_id = ? AND day = ?",
            (connection_id, day),
        ).one()
    return None if found[0] is None else (int(found[0]), int(found[1]))

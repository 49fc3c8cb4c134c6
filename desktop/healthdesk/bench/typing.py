"""Search as you type, timed in this process: `store.queries.find` as the search bar asks
it (50 results), for queries of each kind taken from the database itself."""

from __future__ import annotations

import random
import re
import statistics
import time
from pathlib import Path
from typing import Any

from healthdesk.bench.imports import largest_connection
from healthdesk.core.search_text import fold
from healthdesk.store.db import open_db
from healthdesk.store.queries import find
from healthdesk.ui.search.search_model import DEFAULT_LIMIT

#: Contacts sampled for queries, and queries per kind.
_SAMPLE = 400
_PER_KIND = 12
_ACCENTED = re.compile(r"[^\x00-\x7f]")


def _queries(engine: Any, connection_id: str, seed: int = 8) -> dict[str, list[str]]:
    with engine.connect() as db:
        (count,) = db.exec_driver_sql(
            "SELECT COUNT(*) FROM contacts WHERE connection_id = ?", (connection_id,)
        ).one()
        step = max(count // _SAMPLE, 1)
        rows = db.exec_driver_sql(
            "SELECT r.name, r.email, r.ext_id FROM contacts c JOIN records r ON r.rid = c.rid "
            "WHERE c.connection_id = ? AND c.rowid % ? = 0 LIMIT ?",
            (connection_id, step, _SAMPLE),
        ).all()
        accented = [
            row[0]
            for row in db.exec_driver_sql(
                "SELECT r.name FROM records r WHERE r.connection_id = ? "
                "AND r.name GLOB '*[^ -~]*' LIMIT 2000",
                (connection_id,),
            )
        ]
    rnd = random.Random(seed)
    names = [str(name) for name, _e, _i in rows if name and str(name).strip()]
    emails = [str(email) for _n, email, _i in rows if email and "@" in str(email)]
    ids = [str(ext_id) for _n, _e, ext_id in rows if ext_id]
    words = [word for name in names for word in name.split() if word[:1].isalpha()]

    def pick(values: list[str]) -> list[str]:
        return rnd.sample(values, min(_PER_KIND, len(values)))

    accents = ["é", "Zoë"]
    for name in pick(accented):
        accents.extend(w for w in name.split() if _ACCENTED.search(w) and w.isalpha())
    email_fragments = []
    for email in pick(emails):
        start = rnd.randrange(0, max(len(email) - 6, 1))
        email_fragments.append(email[start : start + 6])
    id_fragments = []
    for ext_id in pick(ids):
        id_fragments.append(ext_id[-5:] if len(ext_id) > 5 else ext_id)
    return {
        "1 letter": sorted({fold(w[:1]) for w in pick(words)}),
        "2 letters": [w[:2] for w in pick(words)],
        "3 letters": [w[:3] for w in pick(words)],
        "accents": accents[:_PER_KIND],
        "email fragment": email_fragments,
        "app id": id_fragments,
    }


def measure_typing(db: Path | str, *, repeat: int) -> dict[str, Any]:
    engine = open_db(db)
    try:
        largest, _size = largest_connection(engine)
        kinds = _queries(engine, largest.id)
        result: dict[str, Any] = {"connection": largest.id, "kinds": {}}
        for kind, queries in kinds.items():
            for query in queries:  # one warm-up answer each
                find(engine, largest.id, query, limit=DEFAULT_LIMIT)
            times = []
            for _ in range(repeat):
                for query in queries:
                    started = time.perf_counter()
                    find(engine, largest.id, query, limit=DEFAULT_LIMIT)
                    times.append((time.perf_counter() - started) * 1000)
            times.sort()
            result["kinds"][kind] = {
                "p50_ms": statistics.median(times),
                "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
                "queries": len(queries),
                "examples": queries[:3],
            }
        return result
    finally:
        engine.dispose()

"""The contact search (store.queries.find) on PostgreSQL: store.search_index.search's
answers, asked in PostgreSQL's words.

The texts are the same (`search_docs`, core.search_text), and so are the steps: where
SQLite asks its FTS5 trigram index for the candidates of a query (the texts holding each
of its trigrams, or for two characters the query itself), this asks for the same texts
with LIKE, which migration 0008's pg_trgm index on `search_docs.text` narrows down; then
the same check, ranking (word starts first, then by name folded as NOCASE folds it, then
rid), exact count up to `search_index.EXACT_LIMIT` and walk in name order beyond. The candidates are
counted exactly as SQLite's index counts them (every text of the connection's run of
rids), so that both say "more" for the same queries.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection as SAConnection

from healthdesk.core.search_text import Pattern
from healthdesk.store import search_index
from healthdesk.store.dialect import POSTGRES, nocase
from healthdesk.store.search_index import Hits

_ORDER = f"unnamed, {nocase('name', POSTGRES)}, rid"


def _like(text: str) -> str:
    """A LIKE pattern of the texts holding `text` (backslash, PostgreSQL's default escape)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _candidates(text: str) -> tuple[str, list[str]] | None:
    """The condition (on `search_docs` aliased `d`) that SQLite's trigram index answers
    for `text`, and its parameters; None when it answers nothing (one character)."""
    if len(text) >= 3:
        trigrams = list(dict.fromkeys(text[i : i + 3] for i in range(len(text) - 2)))
        return " AND ".join("d.text LIKE ?" for _ in trigrams), [_like(t) for t in trigrams]
    if len(text) == 2:
        # SQLite asks for every trigram that begins with it: a text holding it has one.
        return "d.text LIKE ?", [_like(text)]
    return None


def search(db: SAConnection, connection_id: str, pattern: Pattern, limit: int) -> Hits:
    """store.search_index.search on PostgreSQL (in a snapshot of `db`)."""
    if limit <= 0:
        return Hits([], 0)
    low, high = db.exec_driver_sql(
        "SELECT MIN(rid), MAX(rid) FROM search_docs WHERE connection_id = ?", (connection_id,)
    ).one()
    if low is None:
        return Hits([], 0)
    bounds = (connection_id, low, high)
    cap = max(search_index.EXACT_LIMIT, limit)
    contains = _candidates(pattern.contains)
    word = pattern.word_start
    if contains is not None:
        ranked = _ranked(db, bounds, contains, pattern.contains, word, cap, limit)
        if ranked is not None:
            return ranked
    rids: list[int] = []
    if word is not None:
        starts = _candidates(word)
        ranked = None
        if starts is not None:
            ranked = _ranked(db, bounds, starts, word, None, cap, limit)
        if ranked is not None:
            rids = ranked.rids
        else:
            rids = _walk(db, connection_id, "strpos(text, ?) > 0", (word,), limit)
    if len(rids) < limit:
        if word is None:
            rids += _walk(db, connection_id, "strpos(text, ?) > 0", (pattern.contains,), limit)
        else:
            rids += _walk(
                db,
                connection_id,
                "strpos(text, ?) > 0 AND strpos(text, ?) = 0",
                (pattern.contains, word),
                limit - len(rids),
            )
    if contains is None:
        total = db.exec_driver_sql(
            "SELECT COUNT(*) FROM (SELECT 1 FROM search_docs WHERE connection_id = ? "
            "AND strpos(text, ?) > 0 LIMIT ?) s",
            (connection_id, pattern.contains, cap + 1),
        ).scalar_one()
        if total <= cap:
            return Hits(rids, int(total))
    return Hits(rids, cap, more=True)


def _ranked(
    db: SAConnection,
    bounds: tuple[str, int, int],
    candidates: tuple[str, list[str]],
    text: str,
    word: str | None,
    cap: int,
    limit: int,
) -> Hits | None:
    """The ranked matches of `text` among the `candidates`, counted; None when there are
    more than `cap` candidates."""
    connection_id, low, high = bounds
    condition, likes = candidates
    count = db.exec_driver_sql(
        "SELECT COUNT(*) FROM (SELECT 1 FROM search_docs d "
        f"WHERE d.rid BETWEEN ? AND ? AND {condition} LIMIT ?) s",
        (low, high, *likes, cap + 1),
    ).scalar_one()
    if count > cap:
        return None
    rank = "strpos(d.text, ?) = 0" if word is not None else "false"
    params: list[Any] = [word] if word is not None else []
    params += [low, high, *likes, connection_id, text, cap + 1, limit]
    rows = db.exec_driver_sql(
        f"""
        WITH hits AS MATERIALIZED (
            SELECT d.rid, d.unnamed, d.name, {rank} AS later FROM search_docs d
            WHERE d.rid BETWEEN ? AND ? AND {condition}
                AND d.connection_id = ? AND strpos(d.text, ?) > 0
            LIMIT ?
        )
        SELECT rid, (SELECT COUNT(*) FROM hits) FROM hits
        ORDER BY later, {_ORDER} LIMIT ?
        """,
        tuple(params),
    ).all()
    total = rows[0][1] if rows else 0
    if total > cap:
        return None
    return Hits([row[0] for row in rows], int(total))


def _walk(
    db: SAConnection,
    connection_id: str,
    condition: str,
    params: tuple[str, ...],
    limit: int,
) -> list[int]:
    rows = db.exec_driver_sql(
        f"SELECT rid FROM search_docs WHERE connection_id = ? AND {condition} "
        f"ORDER BY {_ORDER} LIMIT ?",
        (connection_id, *params, limit),
    ).all()
    return [row[0] for row in rows]

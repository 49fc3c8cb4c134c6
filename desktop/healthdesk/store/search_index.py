"""The search index: each contact's search text, an FTS5 trigram index of it, and the
search that reads them.

Tables (created by migration 0007; on PostgreSQL, the team store, `search_docs` alone,
with a pg_trgm index of its text from migration 0008):

- `search_docs` (schema.SearchDocRow): one row per stored contact, keyed by its rid: the
  connection, the contact's name (to rank by) and its search text
  (core.search_text.document of its records' names, emails and app ids);
- `search_fts`: an FTS5 index of `search_docs.text` (external content, trigram
  tokenizer, `detail=none`: which texts hold a trigram, not where), written with the
  texts by the functions here;
- `search_chars`: every character any search text ever held (a superset: never shrinks),
  so that a two-character query can be asked as "one of the trigrams that begin with it".

Writers: store.decisions (`index_connection` after deciding a whole connection,
`reindex_contacts` after deciding some), store.forget (`forget_connection_texts`,
`forget_search_traces`) and the migration (`index_all`). The text is
made in SQL by `hd_search_text`, a Python function every connection of store.db has;
on PostgreSQL it is made here, from the rows read, and the texts are copied in.

Reader: `search`, for store.queries.find. How it stays fast at a million contacts:

- few matches (at most `EXACT_LIMIT`): the index gives the candidates, each is checked
  against its text (the trigrams of a longer query may all be there without the query),
  ranked (word starts first, then by name) and counted exactly;
- many matches (or a one-character query, which no trigram index answers): the
  connection's texts are walked in name order (`ix_search_docs_order`), first those with
  the query at a word start (from the index when they are few), then the others, until
  the page is full; the total is then given as "more than `EXACT_LIMIT`".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from healthdesk.core.search_text import Pattern, document
from healthdesk.store import dialect

__all__ = [
    "EXACT_LIMIT",
    "Hits",
    "index_connection",
    "install",
    "reindex_contacts",
    "search",
]

#: Up to this many matches, a search counts them exactly; beyond, it says "more than".
EXACT_LIMIT: Final = 20_000
_CHUNK: Final = 900

#: The FTS5 table over search_docs.text (written by this module alone, set-based: with
#: per-row triggers, indexing 100,000 contacts took 2.5x as long), and the character list.
FTS_DDL: Final = (
    "CREATE VIRTUAL TABLE search_fts USING fts5(text, content='search_docs', "
    "content_rowid='rid', tokenize='trigram', detail='none')",
    "CREATE TABLE search_chars (ch TEXT PRIMARY KEY) WITHOUT ROWID",
)


def _text(
    a_name: str | None,
    a_email: str | None,
    a_id: str | None,
    b_name: str | None,
    b_email: str | None,
    b_id: str | None,
) -> str:
    return document((a_name, a_email, a_id, b_name, b_email, b_id))


def install(dbapi: sqlite3.Connection) -> None:
    """Make `hd_search_text(a_name, a_email, a_id, b_name, b_email, b_id)` callable in
    SQL on this connection (store.db does it for every connection it opens: SQLite
    refuses to replace a function while a statement of the connection is running)."""
    dbapi.create_function("hd_search_text", 6, _text, deterministic=True)


_DOCS_OF_CONTACTS = """
    SELECT c.rid, c.connection_id, c.name = '', c.name,
        hd_search_text(ra.name, ra.email, ra.ext_id, rb.name, rb.email, rb.ext_id)
    FROM contacts c
    LEFT JOIN records ra ON ra.rid = c.a_rid
    LEFT JOIN records rb ON rb.rid = c.b_rid
"""
_INSERT_DOC = "INSERT INTO search_docs (rid, connection_id, unnamed, name, text) "
_DOC_COLUMNS = ("rid", "connection_id", "unnamed", "name", "text")

#: `_DOCS_OF_CONTACTS` with the fields of the text, which PostgreSQL's rows then get here.
_FIELDS_OF_CONTACTS = """
    SELECT c.rid, c.connection_id, c.name = '', c.name,
        ra.name, ra.email, ra.ext_id, rb.name, rb.email, rb.ext_id
    FROM contacts c
    LEFT JOIN records ra ON ra.rid = c.a_rid
    LEFT JOIN records rb ON rb.rid = c.b_rid
"""


def _postgres(cursor: Any) -> bool:
    return dialect.of_cursor(cursor) == dialect.POSTGRES


def _docs(rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Rows of `_FIELDS_OF_CONTACTS` as search_docs rows."""
    return [(row[0], row[1], bool(row[2]), row[3], _text(*row[4:10])) for row in rows]


def _copy_docs(cursor: Any, where: str, params: tuple[Any, ...]) -> None:
    """PostgreSQL: write the texts of the contacts `where` says, a batch at a time."""
    reader = cursor.connection.cursor()
    try:
        reader.execute(_FIELDS_OF_CONTACTS + where, params)
        while rows := reader.fetchmany(dialect.STREAM_ROWS):
            dialect.insert_rows(cursor, "search_docs", _DOC_COLUMNS, _docs(rows))
    finally:
        reader.close()


def _store_chars(cursor: sqlite3.Cursor, texts: Iterable[tuple[str]]) -> None:
    """Add the characters of `texts` to search_chars."""
    chars: set[str] = set()
    for (text,) in texts:
        chars.update(text)
    cursor.executemany(
        "INSERT OR IGNORE INTO search_chars (ch) VALUES (?)", [(c,) for c in sorted(chars)]
    )


def _drop_texts(cursor: sqlite3.Cursor, where: str, params: tuple[Any, ...]) -> int:
    """Delete the texts `where` says, and their entries in the index; how many."""
    if _postgres(cursor):
        cursor.execute(f"DELETE FROM search_docs WHERE {where}", params)
        return max(cursor.rowcount, 0)
    cursor.execute(
        "INSERT INTO search_fts (search_fts, rowid, text) "
        f"SELECT 'delete', rid, text FROM search_docs WHERE {where}",
        params,
    )
    cursor.execute(f"DELETE FROM search_docs WHERE {where}", params)
    return max(cursor.rowcount, 0)


def index_connection(cursor: sqlite3.Cursor, connection_id: str) -> None:
    """Index every contact of a connection afresh (after all of them were decided)."""
    _drop_texts(cursor, "connection_id = ?", (connection_id,))
    if _postgres(cursor):
        _copy_docs(cursor, " WHERE c.connection_id = ?", (connection_id,))
        return
    cursor.execute(_INSERT_DOC + _DOCS_OF_CONTACTS + " WHERE c.connection_id = ?", (connection_id,))
    cursor.execute(
        "INSERT INTO search_fts (rowid, text) "
        "SELECT rid, text FROM search_docs WHERE connection_id = ?",
        (connection_id,),
    )
    reader = cursor.connection.cursor()
    try:
        _store_chars(
            cursor,
            reader.execute(
                "SELECT text FROM search_docs WHERE connection_id = ?", (connection_id,)
            ),
        )
    finally:
        reader.close()


def index_all(cursor: sqlite3.Cursor) -> None:
    """Index every contact of the database (a database made before the index)."""
    cursor.execute("DELETE FROM search_docs")
    if _postgres(cursor):
        _copy_docs(cursor, "", ())
        return
    cursor.execute(_INSERT_DOC + _DOCS_OF_CONTACTS)
    cursor.execute("INSERT INTO search_fts (search_fts) VALUES ('rebuild')")
    reader = cursor.connection.cursor()
    try:
        _store_chars(cursor, reader.execute("SELECT text FROM search_docs"))
    finally:
        reader.close()


def reindex_contacts(cursor: sqlite3.Cursor, rids: Collection[int]) -> None:
    """Bring the texts of these contacts (anchor rids: removed, added or re-decided) in
    step with the contacts table; only the texts that changed are written."""
    wanted = sorted(set(rids))
    postgres = _postgres(cursor)
    old: dict[int, tuple[Any, ...]] = {}
    new: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for row in cursor.execute(
            "SELECT rid, connection_id, unnamed, name, text FROM search_docs "
            f"WHERE rid IN ({marks})",
            chunk,
        ):
            old[row[0]] = (row[0], row[1], bool(row[2]), row[3], row[4])
        if postgres:
            rows = cursor.execute(_FIELDS_OF_CONTACTS + f" WHERE c.rid IN ({marks})", chunk)
            new.update((row[0], row) for row in _docs(rows))
            continue
        for row in cursor.execute(_DOCS_OF_CONTACTS + f" WHERE c.rid IN ({marks})", chunk):
            new[row[0]] = (row[0], row[1], bool(row[2]), row[3], row[4])
    stale = [row for rid, row in old.items() if new.get(rid) != row]
    fresh = [row for rid, row in new.items() if old.get(rid) != row]
    if postgres:
        cursor.executemany("DELETE FROM search_docs WHERE rid = ?", [(row[0],) for row in stale])
        dialect.insert_rows(cursor, "search_docs", _DOC_COLUMNS, fresh)
        return
    cursor.executemany(
        "INSERT INTO search_fts (search_fts, rowid, text) VALUES ('delete', ?, ?)",
        [(row[0], row[4]) for row in stale],
    )
    cursor.executemany("DELETE FROM search_docs WHERE rid = ?", [(row[0],) for row in stale])
    cursor.executemany(_INSERT_DOC + "VALUES (?, ?, ?, ?, ?)", fresh)
    cursor.executemany(
        "INSERT INTO search_fts (rowid, text) VALUES (?, ?)", [(row[0], row[4]) for row in fresh]
    )
    _store_chars(cursor, [(row[4],) for row in fresh])


def forget_connection_texts(cursor: sqlite3.Cursor, connection_id: str) -> int:
    """Delete a connection's texts and their index entries; how many texts there were.
    Then `forget_search_traces` once the rest of its rows are gone."""
    return _drop_texts(cursor, "connection_id = ?", (connection_id,))


def forget_search_traces(cursor: sqlite3.Cursor) -> None:
    """After texts were deleted: rewrite the index without their trigrams (FTS5 keeps a
    deleted row's entries, marked, until its segments are merged) and keep only the
    characters that remaining texts hold."""
    if _postgres(cursor):
        return  # no such index there: a deleted row's space is vacuumed
    cursor.execute("INSERT INTO search_fts (search_fts) VALUES ('optimize')")
    chars: set[str] = set()
    for (text,) in cursor.execute("SELECT text FROM search_docs"):
        chars.update(text)
    cursor.execute("DELETE FROM search_chars")
    cursor.executemany("INSERT INTO search_chars (ch) VALUES (?)", [(c,) for c in sorted(chars)])


# -- searching -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hits:
    """The rids of the first matches, best first, and how many match.

    `more`: more than `total` contacts match (`total` is then the exact-count limit).
    """

    rids: list[int]
    total: int
    more: bool = False


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _fts_query(text: str, chars: Iterable[str]) -> str | None:
    """An FTS5 query whose rows include every text holding `text`; None when `text` is
    too short for one (a single character)."""
    if len(text) >= 3:
        # detail=none keeps no positions: the trigrams, each anywhere; checked after.
        trigrams = dict.fromkeys(text[i : i + 3] for i in range(len(text) - 2))
        return " AND ".join(_quoted(t) for t in trigrams)
    if len(text) == 2 and chars:
        # Every character of a field is followed by two more (FIELD at its end).
        return " OR ".join(_quoted(text + c) for c in sorted(chars))
    return None


_ORDER = "unnamed, name, rid"


def search(dbapi: sqlite3.Connection, connection_id: str, pattern: Pattern, limit: int) -> Hits:
    """The contacts of `connection_id` whose search text holds `pattern`, ranked: the
    query at a word start first, then elsewhere; each part by name (unnamed last), then
    rid. At most `limit` of them; the total as `Hits` says."""
    if limit <= 0:
        return Hits([], 0)
    low = dbapi.execute(
        "SELECT MIN(rid) FROM search_docs WHERE connection_id = ?", (connection_id,)
    ).fetchone()[0]
    if low is None:
        return Hits([], 0)
    high = dbapi.execute(
        "SELECT MAX(rid) FROM search_docs WHERE connection_id = ?", (connection_id,)
    ).fetchone()[0]
    bounds = (connection_id, low, high)
    cap = max(EXACT_LIMIT, limit)
    chars = [row[0] for row in dbapi.execute("SELECT ch FROM search_chars")]
    contains = _fts_query(pattern.contains, chars)
    word = pattern.word_start
    if contains is not None:
        ranked = _ranked(dbapi, bounds, contains, pattern.contains, word, cap, limit)
        if ranked is not None:
            return ranked
    # Many matches: walk in name order, word starts first.
    rids: list[int] = []
    if word is not None:
        starts = _fts_query(word, chars)
        ranked = None
        if starts is not None:
            ranked = _ranked(dbapi, bounds, starts, word, None, cap, limit)
        if ranked is not None:
            rids = ranked.rids
        else:
            rids = _walk(dbapi, connection_id, "instr(text, ?)", (word,), limit)
    if len(rids) < limit:
        if word is None:
            rids += _walk(dbapi, connection_id, "instr(text, ?)", (pattern.contains,), limit)
        else:
            rids += _walk(
                dbapi,
                connection_id,
                "instr(text, ?) AND NOT instr(text, ?)",
                (pattern.contains, word),
                limit - len(rids),
            )
    if contains is None:
        # One character: count up to the limit by walking (no index to count with).
        (total,) = dbapi.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM search_docs WHERE connection_id = ? "
            "AND instr(text, ?) LIMIT ?)",
            (connection_id, pattern.contains, cap + 1),
        ).fetchone()
        if total <= cap:
            return Hits(rids, int(total))
    return Hits(rids, cap, more=True)


def _ranked(
    dbapi: sqlite3.Connection,
    bounds: tuple[str, int, int],
    query: str,
    text: str,
    word: str | None,
    cap: int,
    limit: int,
) -> Hits | None:
    """The ranked matches of `text` among the index's candidates for `query`, counted;
    None when there are more than `cap` candidates."""
    connection_id, low, high = bounds
    # The index's candidates alone first: cheap to count, and never fewer than the matches.
    (candidates,) = dbapi.execute(
        "SELECT COUNT(*) FROM (SELECT rowid FROM search_fts WHERE search_fts MATCH ? "
        "AND rowid BETWEEN ? AND ? LIMIT ?)",
        (query, low, high, cap + 1),
    ).fetchone()
    if candidates > cap:
        return None
    rank = "instr(d.text, :word) = 0" if word is not None else "0"
    rows = dbapi.execute(
        f"""
        WITH hits AS MATERIALIZED (
            SELECT d.rid, d.unnamed, d.name, {rank} AS later
            FROM search_fts f CROSS JOIN search_docs d ON d.rid = f.rowid
            WHERE search_fts MATCH :query AND f.rowid BETWEEN :low AND :high
                AND d.connection_id = :connection AND instr(d.text, :text)
            LIMIT :cap
        )
        SELECT rid, (SELECT COUNT(*) FROM hits) FROM hits
        ORDER BY later, unnamed, name COLLATE NOCASE, rid LIMIT :limit
        """,
        {
            "query": query,
            "low": low,
            "high": high,
            "connection": connection_id,
            "text": text,
            "word": word,
            "cap": cap + 1,
            "limit": limit,
        },
    ).fetchall()
    total = rows[0][1] if rows else 0
    if total > cap:
        return None
    return Hits([row[0] for row in rows], int(total))


def _walk(
    dbapi: sqlite3.Connection,
    connection_id: str,
    condition: str,
    params: tuple[str, ...],
    limit: int,
) -> list[int]:
    rows = dbapi.execute(
        f"SELECT rid FROM search_docs INDEXED BY ix_search_docs_order "
        f"WHERE connection_id = ? AND {condition} ORDER BY {_ORDER} LIMIT ?",
        (connection_id, *params, limit),
    ).fetchall()
    return [row[0] for row in rows]

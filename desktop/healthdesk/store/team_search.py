"""The search (store.queries.find) on PostgreSQL: the same answers, through pg_trgm.

A query of ASCII letters is compared as SQLite's LIKE compares it (the 26 ASCII letters
folded, nothing else): `lower()` of "C" text folds just those, and migration 0008's
trigram index on the folded name, email and app id of records finds the rows holding it
without reading the others. A query with other letters is compared after Unicode case
folding, as on SQLite; PostgreSQL has no such folding, so the connection's records are
read once and compared in Python (a second or two per million records).
"""

from __future__ import annotations

from sqlalchemy import Engine

from healthdesk.store.dialect import nocase
from healthdesk.store.queries import Found, _like_pattern, _snapshot, get_contacts

_SEARCHED = ("name", "email", "ext_id")

#: The hits (records' rids) as their contacts, sorted as SQLite's find sorts them, with
#: the total counted with the page; `{hits}` selects the rids.
_CONTACTS_OF_HITS = """
    WITH hits AS MATERIALIZED ({hits}),
    found AS (
        SELECT DISTINCT COALESCE(ca.rid, cb.rid) AS rid FROM hits h
        LEFT JOIN contacts ca ON ca.rid = h.rid
        LEFT JOIN contacts cb ON cb.b_rid = h.rid
    )
    SELECT c.rid, COUNT(*) OVER () FROM found f JOIN contacts c ON c.rid = f.rid
    ORDER BY c.name = '', {name}, c.rid
    LIMIT {limit:d}
"""


def find(engine: Engine, connection_id: str, text: str, *, limit: int) -> Found:
    """store.queries.find on PostgreSQL (`text` stripped, not empty)."""
    name = nocase("c.name", "postgresql")
    with _snapshot(engine) as db:
        if text.isascii():
            folded = " OR ".join(
                f"lower({column} COLLATE \"C\") LIKE ?2 ESCAPE '\\'" for column in _SEARCHED
            )
            hits = f"SELECT rid FROM records WHERE connection_id = ?1 AND ({folded})"
            params: tuple[object, ...] = (connection_id, _like_pattern(text.lower()))
        else:
            wanted = text.casefold()
            rids = [
                rid
                for rid, *values in db.exec_driver_sql(
                    "SELECT rid, name, email, ext_id FROM records WHERE connection_id = ?",
                    (connection_id,),
                )
                if any(value and wanted in value.casefold() for value in values)
            ]
            hits = "SELECT unnest(CAST(?1 AS BIGINT[])) AS rid"
            params = (rids,)
        sql = _CONTACTS_OF_HITS.format(hits=hits, name=name, limit=limit)
        rows = list(db.exec_driver_sql(sql, params))
    keys = [row[0] for row in rows]
    total = rows[0][1] if rows else 0
    return Found(get_contacts(engine, keys), int(total))

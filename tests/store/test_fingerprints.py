"""Stored fingerprints follow the current masking rules (store.fingerprints)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from healthdesk.core.fingerprint import FINGERPRINT_VERSION, fingerprint
from healthdesk.store.db import open_db
from healthdesk.store.fingerprints import VERSION_KEY, refresh_fingerprints, stored_version
from healthdesk.store.imports import import_snapshots
from tests.helpers import feed
from tests.helpers.db import db_target_of

TOO_LONG = "Billing City: data value too large: Rome, Lazio (max length=4)"


def _import(engine: Engine, tmp_path: Path) -> None:
    r, e = feed.record, feed.event
    items = [
        feed.connection(kinds=("salesforce", "mailchimp")),
        r("a", "a1", email="ada@example.com"),
        r("a", "a2", email="bob@example.com"),
        e(1, "a", "a1", "failed", code="STRING_TOO_LONG", message=TOO_LONG),
        e(2, "a", "a2", "failed", code="", message="Read timed out"),
    ]
    import_snapshots(engine, [feed.write(tmp_path / "s.jsonl", items)])


def _stored(engine: Engine) -> tuple[list[str], list[str]]:
    with engine.connect() as db:
        events = [
            row[0] for row in db.exec_driver_sql("SELECT fingerprint FROM events ORDER BY seq")
        ]
        contacts = [
            row[0]
            for row in db.exec_driver_sql(
                "SELECT fingerprint FROM contacts WHERE fingerprint IS NOT NULL "
                "ORDER BY failure_seq"
            )
        ]
    return events, contacts


def test_a_new_database_records_the_current_version(engine: Engine) -> None:
    with engine.connect() as db:
        assert stored_version(db) == str(FINGERPRINT_VERSION)


def test_fingerprints_of_an_older_version_are_recomputed_on_open(
    engine: Engine, tmp_path: Path
) -> None:
    _import(engine, tmp_path)
    expected = [fingerprint("STRING_TOO_LONG", TOO_LONG), fingerprint("", "Read timed out")]
    assert _stored(engine) == (expected, expected)
    # What an older Health Desk left: other fingerprints, an older version.
    with engine.begin() as db:
        db.exec_driver_sql("UPDATE events SET fingerprint = 'old: ' || seq")
        db.exec_driver_sql("UPDATE contacts SET fingerprint = 'old: ' || failure_seq")
        db.exec_driver_sql("UPDATE store_meta SET value = '1' WHERE key = ?", (VERSION_KEY,))
    target = db_target_of(engine)
    engine.dispose()

    reopened = open_db(target)
    try:
        assert _stored(reopened) == (expected, expected)
        with reopened.begin() as db:
            assert stored_version(db) == str(FINGERPRINT_VERSION)
            assert refresh_fingerprints(db) == 0  # current: nothing to do
    finally:
        reopened.dispose()

"""The local database's tables, as SQLAlchemy 2 typed declarations.

Alembic migrations (store/migrations) create and evolve these; a test checks that the
migrations and this module describe the same schema. Times are canonical UTC text
(feed.items.canonical_time), so text order is time order.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.schema import CreateIndex


class Base(DeclarativeBase):
    pass


class ConnectionRow(Base):
    """A connection's settings and sync state, as its latest `connection` item said."""

    __tablename__ = "connections"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    app_a_name: Mapped[str] = mapped_column(String)
    app_a_kind: Mapped[str] = mapped_column(String)
    app_b_name: Mapped[str] = mapped_column(String)
    app_b_kind: Mapped[str] = mapped_column(String)
    direction: Mapped[str] = mapped_column(String)
    avoid_duplicates: Mapped[bool] = mapped_column(Boolean)
    #: The rules as canonical JSON; comparing it tells whether statuses must be re-decided.
    rules_json: Mapped[str] = mapped_column(Text)
    state_phase: Mapped[str] = mapped_column(String)
    state_app: Mapped[str | None] = mapped_column(String)
    locked_by_id: Mapped[str | None] = mapped_column(String)
    locked_by_name: Mapped[str | None] = mapped_column(String)
    state_message: Mapped[str | None] = mapped_column(Text)
    #: Where the data last came from (a snapshot's path, a service's URL) and when.
    source: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[str | None] = mapped_column(String)


class RecordRow(Base):
    """One contact as it lives in one app."""

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("connection_id", "app", "ext_id", name="uq_records_key"),
        Index("ix_records_email", "connection_id", "app", "email_norm"),
        Index("ix_records_digest", "digest", sqlite_where=text("digest IS NOT NULL")),
        Index("ix_records_line", "line", "digest", sqlite_where=text("digest IS NOT NULL")),
    )

    rid: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id"))
    app: Mapped[str] = mapped_column(String(1))
    ext_id: Mapped[str] = mapped_column(String)
    name: Mapped[str] = mapped_column(String)
    email: Mapped[str] = mapped_column(String)
    #: Trimmed, lower-cased email: the key of duplicate groups ("" when empty).
    email_norm: Mapped[str] = mapped_column(String)
    fields: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String)
    updated_at: Mapped[str] = mapped_column(String)
    deleted: Mapped[bool] = mapped_column(Boolean)
    #: Whether the record matches the rules of its side, as the engine evaluated them.
    matches: Mapped[bool] = mapped_column(Boolean)
    #: The digest of the snapshot line this row was last written from (store.digests):
    #: a re-import skips a line whose digest a row holds. None when not from a file.
    digest: Mapped[int | None] = mapped_column(Integer)
    #: That line's number in its file: where a re-import looks first.
    line: Mapped[int | None] = mapped_column(Integer)


class MappingRow(Base):
    """An active link between a record of app a and one of app b (by their app ids)."""

    __tablename__ = "mappings"
    __table_args__ = (
        # With a_id: finding a b-record's pair reads the index alone.
        Index("ix_mappings_b", "connection_id", "b_id", "a_id"),
        Index("ix_mappings_digest", "digest", sqlite_where=text("digest IS NOT NULL")),
        Index("ix_mappings_line", "line", "digest", sqlite_where=text("digest IS NOT NULL")),
    )

    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id"), primary_key=True)
    a_id: Mapped[str] = mapped_column(String, primary_key=True)
    b_id: Mapped[str] = mapped_column(String)
    since: Mapped[str | None] = mapped_column(String)
    #: As RecordRow.digest and RecordRow.line.
    digest: Mapped[int | None] = mapped_column(Integer)
    line: Mapped[int | None] = mapped_column(Integer)


class EventRow(Base):
    """What the sync service did with a record; append-only history."""

    __tablename__ = "events"
    __table_args__ = (
        # With outcome: a record's latest write is read from the index alone.
        Index("ix_events_record", "connection_id", "app", "ext_id", "seq", "outcome"),
        Index("ix_events_digest", "digest", sqlite_where=text("digest IS NOT NULL")),
        Index("ix_events_line", "line", "digest", sqlite_where=text("digest IS NOT NULL")),
    )

    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[str] = mapped_column(String)
    app: Mapped[str] = mapped_column(String(1))
    ext_id: Mapped[str] = mapped_column(String)
    outcome: Mapped[str] = mapped_column(String)
    target: Mapped[str] = mapped_column(String(1))
    error_code: Mapped[str | None] = mapped_column(String)
    error_message: Mapped[str | None] = mapped_column(Text)
    #: The grouping key of the raw error (core.failures.fingerprint).
    fingerprint: Mapped[str | None] = mapped_column(Text)
    #: As RecordRow.digest and RecordRow.line.
    digest: Mapped[int | None] = mapped_column(Integer)
    line: Mapped[int | None] = mapped_column(Integer)


class ContactRow(Base):
    """One visible contact with its decided status: what every list and count reads.

    Keyed by its anchor record: the a-record of a mapped pair, or the single record.
    Written only by the store's decision step, from core.health's decisions.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_list", "connection_id", "status", "name"),
        Index("ix_contacts_failure", "connection_id", "status", "fingerprint"),
        Index("ix_contacts_b", "b_rid"),
    )

    rid: Mapped[int] = mapped_column(ForeignKey("records.rid"), primary_key=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id"))
    status: Mapped[str] = mapped_column(String)
    reason: Mapped[str | None] = mapped_column(String)
    #: The app of a single record ("a" or "b"); None for a mapped pair.
    side: Mapped[str | None] = mapped_column(String(1))
    a_rid: Mapped[int | None] = mapped_column(Integer)
    b_rid: Mapped[int | None] = mapped_column(Integer)
    #: Display name and email, copied here so lists sort and page in one index; NOCASE so
    #: that lists read "ada, Bob, carl" rather than capitals first.
    name: Mapped[str] = mapped_column(String(collation="NOCASE"))
    email: Mapped[str] = mapped_column(String(collation="NOCASE"))
    since: Mapped[str | None] = mapped_column(String)
    duplicate_of: Mapped[int | None] = mapped_column(Integer)
    failure_seq: Mapped[int | None] = mapped_column(Integer)
    failure_app: Mapped[str | None] = mapped_column(String(1))
    failure_at: Mapped[str | None] = mapped_column(String)
    fingerprint: Mapped[str | None] = mapped_column(Text)
    opposite_deleted: Mapped[bool] = mapped_column(Boolean)


class FeedCursorRow(Base):
    """How far the database has applied one connection's feed from one sync service.

    Written only in the transaction that applies the page the cursor follows
    (store.cursors.apply_page), so the stored cursor always says exactly what is stored.
    """

    __tablename__ = "feed_cursors"

    #: The service's URL, normalized (sync.credentials.normalize_url).
    source: Mapped[str] = mapped_column(Text, primary_key=True)
    connection_id: Mapped[str] = mapped_column(Text, primary_key=True)
    #: The service's `next` of the last page applied; opaque to us.
    cursor: Mapped[str] = mapped_column(Text)
    #: When that page was applied (canonical UTC).
    synced_at: Mapped[str] = mapped_column(Text)


class PendingDecisionRow(Base):
    """A connection whose statuses wait for a full decision: pages of a long pull are
    applied without deciding (deciding a million contacts page by page costs many times
    more than once), and the pull's last page decides. Written in the pages' transactions,
    so an interrupted pull still decides when it resumes.
    """

    __tablename__ = "pending_decisions"

    connection_id: Mapped[str] = mapped_column(Text, primary_key=True)
    #: The rules changed meanwhile: records must be matched again before deciding.
    rematch: Mapped[bool] = mapped_column(Boolean)


class StoreMetaRow(Base):
    """Facts about the stored data itself, by key (e.g. the rules its fingerprints follow).

    Keys: ``fingerprint_version``, the ``core.fingerprint.FINGERPRINT_VERSION`` that the
    stored ``events.fingerprint`` and ``contacts.fingerprint`` were computed with
    (store.fingerprints keeps them in step).
    """

    __tablename__ = "store_meta"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ContactCountRow(Base):
    """How many contacts of a connection share a status, reason and failure group.

    Kept up to date by the decision step (store.counts), in the transaction that changes
    the contacts, so that counts, summaries and the failure tree read a few rows instead
    of counting a million. Absent values are "" (they are part of the key).
    """

    __tablename__ = "contact_counts"

    connection_id: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[str] = mapped_column(Text, primary_key=True)
    reason: Mapped[str] = mapped_column(Text, primary_key=True)
    failure_app: Mapped[str] = mapped_column(Text, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(Text, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class EventCountRow(Base):
    """How many events of a connection wrote (or tried to write) into an app, by outcome.

    Kept up to date by the ingest (store.counts) as events are inserted.
    """

    __tablename__ = "event_counts"

    connection_id: Mapped[str] = mapped_column(Text, primary_key=True)
    target: Mapped[str] = mapped_column(Text, primary_key=True)
    outcome: Mapped[str] = mapped_column(Text, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class SearchDocRow(Base):
    """A contact's search text (core.search_text.document of its records' names, emails
    and app ids), by the contact's rid: what store.search_index searches.

    Written with the contacts (store.decisions, through store.search_index, which also
    writes the FTS5 trigram index of `text`, `search_fts`, migration 0007), so it always
    describes them.
    """

    __tablename__ = "search_docs"
    __table_args__ = (
        # Walks a connection's texts in the order results are shown.
        Index("ix_search_docs_order", "connection_id", "unnamed", "name", "rid"),
        # A connection's range of rids, for the FTS index.
        Index("ix_search_docs_connection", "connection_id", "rid"),
    )

    rid: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    connection_id: Mapped[str] = mapped_column(Text)
    #: The contact has no name: it comes after those that have one.
    unnamed: Mapped[bool] = mapped_column(Boolean)
    #: The contact's shown name (as contacts.name).
    name: Mapped[str] = mapped_column(Text(collation="NOCASE"))
    text: Mapped[str] = mapped_column(Text)


class RetryAuditRow(Base):
    """One retry the agent asked of the sync service, for the audit log (store.retries).

    Who (`agent`: the configured agent name, else the OS user), when (`at`, canonical
    UTC), which connection, which group (`scope`: the failure group's path, or "N selected
    contacts"), how many contacts were asked, the service and the request's idempotency
    key. Written before the request is sent (`outcome` "sent"), then completed with the
    answer: `outcome` "answered" and what the service queued, or "refused: <why>".
    `after_seq` is the connection's latest event seq when the retry was asked: the
    timeline shows the entry right after that event.
    """

    __tablename__ = "retry_audit"
    __table_args__ = (Index("ix_retry_audit_timeline", "connection_id", "after_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[str] = mapped_column(Text)
    at: Mapped[str] = mapped_column(Text)
    agent: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    requested: Mapped[int] = mapped_column(Integer)
    queued: Mapped[int] = mapped_column(Integer)
    already_queued: Mapped[int] = mapped_column(Integer)
    unknown: Mapped[int] = mapped_column(Integer)
    service_url: Mapped[str] = mapped_column(Text)
    request_key: Mapped[str] = mapped_column(Text)
    after_seq: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(Text)


class ActivityDayRow(Base):
    """How many events of a connection had an outcome on a (UTC) day, and the lowest and
    highest seq among them (the range the timeline of that day reads).

    Kept up to date by the ingest (store.activity) as events are inserted.
    """

    __tablename__ = "activity_days"

    connection_id: Mapped[str] = mapped_column(Text, primary_key=True)
    #: YYYY-MM-DD, the first ten characters of the events' canonical UTC `at`.
    day: Mapped[str] = mapped_column(Text, primary_key=True)
    outcome: Mapped[str] = mapped_column(Text, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    min_seq: Mapped[int] = mapped_column(Integer)
    max_seq: Mapped[int] = mapped_column(Integer)


#: Secondary indexes that no write of an import reads, so that a bulk import into an
#: empty database may drop them and build them once at its end.
DEFERRABLE_INDEXES = (
    "ix_records_email",
    "ix_records_digest",
    "ix_records_line",
    "ix_mappings_digest",
    "ix_mappings_line",
    "ix_events_record",
    "ix_events_digest",
    "ix_events_line",
    "ix_contacts_list",
    "ix_contacts_failure",
    "ix_contacts_b",
    "ix_search_docs_order",
    "ix_search_docs_connection",
)


def deferrable_indexes() -> list[Index]:
    by_name = {
        str(index.name): index for table in Base.metadata.tables.values() for index in table.indexes
    }
    return [by_name[name] for name in DEFERRABLE_INDEXES]


def create_index_sql(index: Index, dialect: str = "sqlite") -> str:
    """The CREATE INDEX statement of a declared index, as SQLite (or PostgreSQL) reads it."""
    compiler = postgresql.dialect() if dialect == "postgresql" else sqlite.dialect()
    return str(CreateIndex(index).compile(dialect=compiler))


#: Objects the migrations create that no declaration here describes: the search index's
#: FTS5 table (and the tables FTS5 makes for it) and its character list.
UNDECLARED_TABLES = frozenset(
    {
        "search_fts",
        "search_fts_data",
        "search_fts_idx",
        "search_fts_docsize",
        "search_fts_config",
        "search_chars",
    }
)


def is_declared(name: str | None, type_: str, _parent: object = None) -> bool:
    """Alembic's `include_name`: compare every table but UNDECLARED_TABLES."""
    return not (type_ == "table" and name in UNDECLARED_TABLES)

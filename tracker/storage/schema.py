"""Tables of the tracker database (SQLAlchemy Core), shared by queries and migrations.

The migrations in ``migrations/versions`` create exactly these tables (a test compares
them); backend-specific search structures (SQLite FTS5, PostgreSQL tsvector) are
created by the migrations only.

Datetimes are stored in UTC and always returned aware (``UTCDateTime``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.types import TypeDecorator

UTC = dt.UTC


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime; naive datetimes are refused on the way in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise ValueError(f"expected an aware datetime, got {value!r}")
        value = value.astimezone(UTC)
        # SQLite has no time zones: store the UTC wall time as text that sorts.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("value", Text, nullable=False),
    Column("title", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_check_at", UTCDateTime, nullable=False),
    Column("last_checked_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    Column("error_count", Integer, nullable=False, default=0),
    # a worker fetching the source holds it until then (several workers share the queue)
    Column("claimed_by", String(64)),
    Column("claimed_until", UTCDateTime),
    UniqueConstraint("kind", "value"),
    Index(None, "next_check_at"),
)

http_cache = Table(
    "http_cache",
    metadata,
    Column("url", Text, primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("updated_at", UTCDateTime, nullable=False),
)

follows = Table(
    "follows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reader", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", Text, nullable=False),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # folder paths from OPML ("Science/Machine learning"), separated by U+001F
    Column("groups", Text, nullable=False, server_default=""),
    # a scholar is followed through several sources (ids, feeds, a name search)
    UniqueConstraint("reader", "kind", "value", "source_id"),
    Index(None, "source_id"),
)

rules = Table(
    "rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reader", String(64), nullable=False),
    Column("action", String(8), nullable=False),  # "mute" | "must"
    Column("text", Text),  # the search syntax
    Column("author", Text),
    Column("category", String(32)),
    Column("feed", Text),
    Column("follow_kind", String(16)),  # must rules: the follow they narrow
    Column("follow_value", Text),
    Column("in_search", Boolean, nullable=False, server_default=false()),  # mute in search too
    Column("origin", String(16), nullable=False),  # "config" | "cli"
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_rules_reader", "reader"),
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("arxiv_id", String(32), unique=True),
    Column("version", Integer),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    # names separated by U+001F (base.dumps); FTS indexes the column as it is
    Column("authors", Text, nullable=False),
    Column("url", Text),
    Column("pdf_url", Text),
    Column("doi", Text),
    Column("journal_ref", Text),
    Column("comment", Text),
    Column("primary_category", String(32)),
    Column("categories", Text, nullable=False),  # codes separated by U+001F, primary first
    # category and field tokens for filtered text search (see storage/tags.py)
    Column("tags", Text, nullable=False),
    Column("published_at", UTCDateTime),
    Column("updated_at", UTCDateTime),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("quality", Integer, nullable=False),
    # code and project links of the abstract and comments ("kind url" lines; NULL: not
    # looked for yet, read lazily), and whether one is a code repository
    Column("code_links", Text),
    Column("has_code", Boolean, nullable=False, server_default=false()),
    Index(None, "published_at"),
    Index(None, "first_seen_at", "id"),  # the newest papers (readers' models)
)

item_categories = Table(
    "item_categories",
    metadata,
    Column("category", String(32), primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Index(None, "item_id", "category"),  # an item's categories (a search's filter, per row)
)

item_versions = Table(
    "item_versions",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("updated_at", UTCDateTime),
    Column("seen_at", UTCDateTime, nullable=False),
)

item_fields = Table(
    "item_fields",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("field", String(128), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("origin", String(16), nullable=False),
    Column("basis", Text, nullable=False),
    Index(None, "field", "item_id"),
)

sightings = Table(
    "sightings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    Column("announce_type", String(16)),
    UniqueConstraint("item_id", "source_id"),
    Index(None, "source_id", "seen_at"),
)

saved = Table(
    "saved",
    metadata,
    Column("reader", String(64), primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("saved_at", UTCDateTime, nullable=False),
)

digests = Table(
    "digests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reader", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("cutoff_at", UTCDateTime, nullable=False),
    Column("built_at", UTCDateTime, nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("failing_sources", Text, nullable=False),  # JSON list, shown in the footer
    Column("rising", Text),  # JSON list of the weekly rising phrases, when there are
    # items the reader's mute and must rules kept out (said in the footer)
    Column("removed", Integer, nullable=False, server_default="0"),
    UniqueConstraint("reader", "day"),
)

# A reader's weekly digest (``rhythm = "both"``): the week's top picks of their daily
# digests and the rising phrases, recorded once per reader and day with one delivery
# per channel, as daily digests are; its items stay in their daily digests.
weekly_digests = Table(
    "weekly_digests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reader", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("cutoff_at", UTCDateTime, nullable=False),
    Column("built_at", UTCDateTime, nullable=False),
    Column("item_count", Integer, nullable=False),
    # JSON list of entries: [item id, section, kind, reasons, followed, announce, score, note]
    Column("entries", Text, nullable=False),
    Column("rising", Text),
    UniqueConstraint("reader", "day"),
)

weekly_deliveries = Table(
    "weekly_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "weekly_id", Integer, ForeignKey("weekly_digests.id", ondelete="CASCADE"), nullable=False
    ),
    Column("channel", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    Column("sent_at", UTCDateTime),
    UniqueConstraint("weekly_id", "channel"),
    Index(None, "state", "next_attempt_at"),
)

digest_items = Table(
    "digest_items",
    metadata,
    Column("digest_id", Integer, ForeignKey("digests.id", ondelete="CASCADE"), nullable=False),
    Column("reader", String(64), nullable=False),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("section", String(160), nullable=False),
    Column("section_kind", String(16), nullable=False),
    Column("reasons", Text, nullable=False),  # JSON [kind, value, [[code, [values], n]]]
    Column("followed_authors", Text, nullable=False),  # JSON list of names
    Column("announce_type", String(16)),
    # the reader's relevance score and why it ranks there (JSON), when ranked
    Column("score", Float),
    Column("note", Text),
    UniqueConstraint("reader", "item_id"),
    Index(None, "digest_id", "position"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("digest_id", Integer, ForeignKey("digests.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(16), nullable=False),  # "markdown" | "email"
    Column("state", String(16), nullable=False),  # pending | sent | failed | skipped
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    Column("sent_at", UTCDateTime),
    UniqueConstraint("digest_id", "channel"),
    Index(None, "state", "next_attempt_at"),
)

scholar_profile = Table(
    "scholar_profile",
    metadata,
    Column("scholar", Text, primary_key=True),
    Column("kind", String(16), primary_key=True),  # "variant" | "coauthor" | "category"
    Column("value", Text, primary_key=True),
)

attributions = Table(
    "attributions",
    metadata,
    Column("scholar", Text, primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("basis", String(8), nullable=False),  # "id" | "feed" | "name"
    Column("evidence", Text, nullable=False),
    Column("rejected", Integer, nullable=False),  # 1: the user said it is not theirs
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "item_id"),
)

# A reader's explicit feedback on an item: +1 (up) or -1 (down).
ratings = Table(
    "ratings",
    metadata,
    Column("reader", String(64), primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("value", Integer, nullable=False),
    Column("rated_at", UTCDateTime, nullable=False),
)

# A reader's imported library (BibTeX, CSL JSON, RIS): each entry linked to the stored
# item it matched, or kept as a text of its own for the reader's profile.
library_entries = Table(
    "library_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reader", String(64), nullable=False),
    Column("key", String(255), nullable=False),  # "arxiv:<id>", "doi:<doi>", "title:<hash>"
    Column("item_id", Integer, ForeignKey("items.id", ondelete="SET NULL")),
    Column("arxiv_id", String(32)),
    Column("doi", Text),
    Column("title", Text, nullable=False),
    Column("abstract", Text, nullable=False),
    Column("authors", Text, nullable=False),  # names separated by U+001F
    Column("year", Integer),
    Column("imported_at", UTCDateTime, nullable=False),
    UniqueConstraint("reader", "key"),
)

# Venues noticed later: a journal-ref, DOI or venue a stored paper got, once each.
venue_events = Table(
    "venue_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # "journal_ref" | "doi" | "venue"
    Column("value", Text, nullable=False),
    Column("source", String(32), nullable=False),  # "arxiv", "arxiv listing", "oai", ...
    Column("noticed_at", UTCDateTime, nullable=False),
    UniqueConstraint("item_id", "kind", "value"),
    Index(None, "noticed_at"),
)

# The watch step's schedule: when each watched paper was last asked about, and next.
venue_checks = Table(
    "venue_checks",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("checked_at", UTCDateTime),
    Column("next_check_at", UTCDateTime, nullable=False),
    Index(None, "next_check_at"),
)

# Which venue events each reader's digests held: each one in one digest of a reader.
digest_venues = Table(
    "digest_venues",
    metadata,
    Column("digest_id", Integer, ForeignKey("digests.id", ondelete="CASCADE"), nullable=False),
    Column("reader", String(64), nullable=False),
    Column("event_id", Integer, ForeignKey("venue_events.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    UniqueConstraint("reader", "event_id"),
    Index(None, "digest_id", "position"),
)

# Shared rate limits (arXiv's one request per interval) across every worker process.
pacing = Table(
    "pacing",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("next_at", UTCDateTime, nullable=False),
)

# Sign-in for the web page: one argon2 hash per reader (app/accounts.py makes them).
credentials = Table(
    "credentials",
    metadata,
    Column("reader", String(64), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

"""Initial schema: sources, follows, items with versions, fields and categories,
sightings, saved marks, digests; SQLite full-text index (FTS5) kept in sync by triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

SQLITE_FTS = [
    # External-content FTS5 over items; the triggers keep it in step with every write.
    # A prefix index of 3 characters keeps "dec*" from scanning the whole vocabulary
    # (the search syntax asks for at least 3 characters before "*").
    """CREATE VIRTUAL TABLE items_fts USING fts5(
        title, authors, summary, tags,
        content='items', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2',
        prefix='3')""",
    "CREATE VIRTUAL TABLE items_fts_vocab USING fts5vocab(items_fts, 'row')",
    """CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
        INSERT INTO items_fts(rowid, title, authors, summary, tags)
        VALUES (new.id, new.title, new.authors, new.summary, new.tags);
    END""",
    """CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
        INSERT INTO items_fts(items_fts, rowid, title, authors, summary, tags)
        VALUES ('delete', old.id, old.title, old.authors, old.summary, old.tags);
    END""",
    """CREATE TRIGGER items_fts_update AFTER UPDATE OF title, authors, summary, tags ON items BEGIN
        INSERT INTO items_fts(items_fts, rowid, title, authors, summary, tags)
        VALUES ('delete', old.id, old.title, old.authors, old.summary, old.tags);
        INSERT INTO items_fts(rowid, title, authors, summary, tags)
        VALUES (new.id, new.title, new.authors, new.summary, new.tags);
    END""",
]


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("next_check_at", TS, nullable=False),
        sa.Column("last_checked_at", TS),
        sa.Column("last_success_at", TS),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", TS),
        sa.Column("error_count", sa.Integer, nullable=False),
        sa.UniqueConstraint("kind", "value", name="uq_sources_kind_value"),
    )
    op.create_index("ix_sources_next_check_at", "sources", ["next_check_at"])
    op.create_table(
        "http_cache",
        sa.Column("url", sa.Text, primary_key=True),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "follows",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reader", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column(
            "source_id",
            sa.Integer,
            sa.ForeignKey("sources.id", name="fk_follows_source_id_sources"),
            nullable=False,
        ),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("reader", "kind", "value", name="uq_follows_reader_kind_value"),
    )
    op.create_index("ix_follows_source_id", "follows", ["source_id"])
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("arxiv_id", sa.String(32)),
        sa.Column("version", sa.Integer),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("authors", sa.Text, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("pdf_url", sa.Text),
        sa.Column("doi", sa.Text),
        sa.Column("journal_ref", sa.Text),
        sa.Column("comment", sa.Text),
        sa.Column("primary_category", sa.String(32)),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("published_at", TS),
        sa.Column("updated_at", TS),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("quality", sa.Integer, nullable=False),
        sa.UniqueConstraint("key", name="uq_items_key"),
        sa.UniqueConstraint("arxiv_id", name="uq_items_arxiv_id"),
    )
    op.create_index("ix_items_published_at", "items", ["published_at"])
    fk_item = {"ondelete": "CASCADE"}
    op.create_table(
        "item_categories",
        sa.Column("category", sa.String(32), primary_key=True),
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("items.id", name="fk_item_categories_item_id_items", **fk_item),
            primary_key=True,
        ),
    )
    op.create_table(
        "item_versions",
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("items.id", name="fk_item_versions_item_id_items", **fk_item),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("updated_at", TS),
        sa.Column("seen_at", TS, nullable=False),
    )
    op.create_table(
        "item_fields",
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("items.id", name="fk_item_fields_item_id_items", **fk_item),
            primary_key=True,
        ),
        sa.Column("field", sa.String(128), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("basis", sa.Text, nullable=False),
    )
    op.create_index("ix_item_fields_field_item_id", "item_fields", ["field", "item_id"])
    op.create_table(
        "sightings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("items.id", name="fk_sightings_item_id_items", **fk_item),
            nullable=False,
        ),
        sa.Column(
            "source_id",
            sa.Integer,
            sa.ForeignKey("sources.id", name="fk_sightings_source_id_sources"),
            nullable=False,
        ),
        sa.Column("seen_at", TS, nullable=False),
        sa.Column("announce_type", sa.String(16)),
        sa.UniqueConstraint("item_id", "source_id", name="uq_sightings_item_id_source_id"),
    )
    op.create_index("ix_sightings_source_id_seen_at", "sightings", ["source_id", "seen_at"])
    op.create_table(
        "saved",
        sa.Column("reader", sa.String(64), primary_key=True),
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("items.id", name="fk_saved_item_id_items", **fk_item),
            primary_key=True,
        ),
        sa.Column("saved_at", TS, nullable=False),
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reader", sa.String(64), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("cutoff_at", TS, nullable=False),
        sa.Column("built_at", TS, nullable=False),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("failing_sources", sa.Text, nullable=False),
        sa.UniqueConstraint("reader", "day", name="uq_digests_reader_day"),
    )
    op.create_table(
        "digest_items",
        sa.Column(
            "digest_id",
            sa.Integer,
            sa.ForeignKey("digests.id", name="fk_digest_items_digest_id_digests", **fk_item),
            nullable=False,
        ),
        sa.Column("reader", sa.String(64), nullable=False),
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("items.id", name="fk_digest_items_item_id_items", **fk_item),
            nullable=False,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("section", sa.String(160), nullable=False),
        sa.Column("section_kind", sa.String(16), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("followed_authors", sa.Text, nullable=False),
        sa.Column("announce_type", sa.String(16)),
        sa.UniqueConstraint("reader", "item_id", name="uq_digest_items_reader_item_id"),
    )
    op.create_index("ix_digest_items_digest_id_position", "digest_items", ["digest_id", "position"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "digest_id",
            sa.Integer,
            sa.ForeignKey("digests.id", name="fk_deliveries_digest_id_digests", **fk_item),
            nullable=False,
        ),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", TS),
        sa.UniqueConstraint("digest_id", "channel", name="uq_deliveries_digest_id_channel"),
    )
    op.create_index(
        "ix_deliveries_state_next_attempt_at", "deliveries", ["state", "next_attempt_at"]
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("items_fts_insert", "items_fts_delete", "items_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS items_fts_vocab")
        op.execute("DROP TABLE IF EXISTS items_fts")
    for table in (
        "meta",
        "deliveries",
        "digest_items",
        "digests",
        "saved",
        "sightings",
        "item_fields",
        "item_versions",
        "item_categories",
        "items",
        "follows",
        "http_cache",
        "sources",
    ):
        op.drop_table(table)

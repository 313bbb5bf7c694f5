"""Reading: ratings, imported libraries, each digest entry's score and reason, and a
digest's rising phrases.

Revision ID: reading_1
Revises: perf_1
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "reading_1"
down_revision = "perf_1"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("reader", sa.String(64), primary_key=True),
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("items.id", name="fk_ratings_item_id_items", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("rated_at", TS, nullable=False),
    )
    op.create_table(
        "library_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reader", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("items.id", name="fk_library_entries_item_id_items", ondelete="SET NULL"),
        ),
        sa.Column("arxiv_id", sa.String(32)),
        sa.Column("doi", sa.Text),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("abstract", sa.Text, nullable=False),
        sa.Column("authors", sa.Text, nullable=False),
        sa.Column("year", sa.Integer),
        sa.Column("imported_at", TS, nullable=False),
        sa.UniqueConstraint("reader", "key", name="uq_library_entries_reader_key"),
    )
    # Plain ADD/DROP COLUMN (SQLite 3.35+ has both): a batch would copy the tables,
    # and reflecting them trips over the expression index perf_1 put on items.
    op.add_column("digest_items", sa.Column("score", sa.Float))
    op.add_column("digest_items", sa.Column("note", sa.Text))
    op.add_column("digests", sa.Column("rising", sa.Text))


def downgrade() -> None:
    for table, column in (
        ("digests", "rising"),
        ("digest_items", "note"),
        ("digest_items", "score"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.drop_table("library_entries")
    op.drop_table("ratings")

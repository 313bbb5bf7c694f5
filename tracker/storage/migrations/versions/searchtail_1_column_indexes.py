"""Search at a million papers on PostgreSQL: ``title:`` and ``author:`` restrictions (and
the author filter) found through indexes of the title's and the authors' lexemes alone.

The GIN index on ``items.search`` cannot tell a title word from an abstract word (it
ignores weights): ``title:x`` read every row holding ``x`` anywhere and checked its
weights, a thousand rows read for every title match of a common word. Two expression
indexes hold the lexemes of one weight each (``ts_filter``: A is the title, B the
authors; ``storage/search_syntax.py``); they are small (a title has a dozen words).

``ix_items_dated`` (perf_1) is made again with the two dates it is computed from as
included columns: PostgreSQL reads an expression index alone (an index-only scan) only
when the columns of the expression are in it, and the ids of a date range (where a
search with ``--since``/``--until`` starts its walk) were read from every row instead.

``ix_item_categories_item_id_category`` (both backends): an item's categories by its id. A
common word with a category filter walks the newest matches and checks each one's
categories; with the primary key alone (category first) PostgreSQL read every item of
the category first (143,000 index entries for cs.LG at a million papers, 200 ms).

SQLite otherwise: nothing (FTS5 restricts columns in its own index; SQLite reads
expression indexes alone).

Revision ID: searchtail_1
Revises: bulk_1
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "searchtail_1"
down_revision = "bulk_1"
branch_labels = None
depends_on = None

INDEXES = {"ix_items_search_title": "a", "ix_items_search_authors": "b"}
CATEGORIES = "ix_item_categories_item_id_category"
DATED = "ix_items_dated ON items ((COALESCE(published_at, first_seen_at)), id)"


def upgrade() -> None:
    op.create_index(CATEGORIES, "item_categories", ["item_id", "category"])
    if op.get_bind().dialect.name == "sqlite":
        return
    for name, weight in INDEXES.items():
        op.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON items "
            f"USING gin (ts_filter(search, '{{{weight}}}'))"
        )
    op.execute("DROP INDEX IF EXISTS ix_items_dated")
    op.execute(f"CREATE INDEX {DATED} INCLUDE (published_at, first_seen_at)")
    op.execute("ANALYZE items")  # the planner's statistics of the new expressions


def downgrade() -> None:
    op.drop_index(CATEGORIES, table_name="item_categories")
    if op.get_bind().dialect.name == "sqlite":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("DROP INDEX IF EXISTS ix_items_dated")
    op.execute(f"CREATE INDEX {DATED}")

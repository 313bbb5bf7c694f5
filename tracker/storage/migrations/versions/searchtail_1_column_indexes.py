"""Search at a million papers on PostgreSQL: ``title:`` and ``author:`` restrictions (and
the author filter) found through indexes of the title's and the authors' lexemes alone.

The GIN index on ``items.search`` cannot tell a title word from an abstract word (it
ignores weights): ``title:x`` read every row holding ``x`` anywhere and checked its
weights, a thousand rows read for every title match of a common word. Two expression
indexes hold the lexemes of one weight each (``ts_filter``: A is the title, B the
authors; ``storage/search_syntax.py``); they are small (a title has a dozen words).
SQLite: nothing (FTS5 restricts columns in its own index).

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


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for name, weight in INDEXES.items():
        op.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON items "
            f"USING gin (ts_filter(search, '{{{weight}}}'))"
        )
    op.execute("ANALYZE items")  # the planner's statistics of the new expressions


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")

"""Search at a million papers: a prefix index for 4-letter prefixes (SQLite FTS5), the
tsvector kept in the row (PostgreSQL) and an index on the date searches filter by.

- SQLite: FTS5 can only add a prefix index when the table is made, so ``items_fts`` is
  made again with ``prefix='3 4'`` and rebuilt from ``items`` (minutes for a million
  papers). Without it, "abcd*" merges the whole posting list of every word starting
  with "abcd" before it can return the first row.
- PostgreSQL: the ``search`` tsvector is kept in the row (``STORAGE MAIN``) instead of
  out of line in the TOAST table: checking a match against it (phrases, ``title:``,
  the walk over the newest ids for common words) then reads the row's page only, not
  the TOAST index and chunks too (a quarter of the buffers read for a phrase). The
  table is rewritten once for the rows already there (``CLUSTER`` by id).
- ``ix_items_dated`` on ``(COALESCE(published_at, first_seen_at), id)``: the date an item
  is filtered and listed by (``--since``/``--until``, filter-only searches), so a narrow
  date range is read from the index instead of checking every text match's row.

Revision ID: perf_1
Revises: features_1
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "perf_1"
down_revision = "features_1"
branch_labels = None
depends_on = None

DATED = (
    "CREATE INDEX IF NOT EXISTS ix_items_dated ON items "
    "((COALESCE(published_at, first_seen_at)), id)"
)
COLUMNS = "title, authors, summary, tags"
TRIGGERS = [
    f"""CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
        INSERT INTO items_fts(rowid, {COLUMNS})
        VALUES (new.id, new.title, new.authors, new.summary, new.tags);
    END""",
    f"""CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
        INSERT INTO items_fts(items_fts, rowid, {COLUMNS})
        VALUES ('delete', old.id, old.title, old.authors, old.summary, old.tags);
    END""",
    f"""CREATE TRIGGER items_fts_update AFTER UPDATE OF {COLUMNS} ON items BEGIN
        INSERT INTO items_fts(items_fts, rowid, {COLUMNS})
        VALUES ('delete', old.id, old.title, old.authors, old.summary, old.tags);
        INSERT INTO items_fts(rowid, {COLUMNS})
        VALUES (new.id, new.title, new.authors, new.summary, new.tags);
    END""",
]


def _fts(prefix: str) -> None:
    for name in ("items_fts_insert", "items_fts_delete", "items_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS items_fts_vocab")
    op.execute("DROP TABLE IF EXISTS items_fts")
    op.execute(
        f"""CREATE VIRTUAL TABLE items_fts USING fts5(
        {COLUMNS},
        content='items', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2',
        prefix='{prefix}')"""
    )
    op.execute("CREATE VIRTUAL TABLE items_fts_vocab USING fts5vocab(items_fts, 'row')")
    for statement in TRIGGERS:
        op.execute(statement)
    op.execute("INSERT INTO items_fts(items_fts) VALUES ('rebuild')")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _fts("3 4")
    else:
        op.execute("ALTER TABLE items ALTER COLUMN search SET STORAGE MAIN")
        op.execute("CLUSTER items USING pk_items")
    op.execute(DATED)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_items_dated")
    if op.get_bind().dialect.name == "sqlite":
        _fts("3")
    else:
        op.execute("ALTER TABLE items ALTER COLUMN search SET STORAGE EXTENDED")

"""Bulk loads: papers stored by a harvest may wait for SQLite's full-text index.

SQLite: ``items_fts_pending`` holds at most one row, ``from_id``: every item with an
id from there on is not in ``items_fts`` yet (a harvest stores its pages first and
indexes them in large batches, ``storage/bulk.py``); no row, every item is indexed.
The three triggers that keep ``items_fts`` in step with ``items`` now skip the items
from that id on (``WHEN``): an item is in the index exactly when its id is below the
mark, whichever process wrote it. Indexing a batch moves the mark in the same
transaction, so a crash leaves the mark where the index really ends.

Anything that rebuilds ``items_fts`` from ``items`` (``'rebuild'``) indexes the
waiting items too, and must delete the mark in the same transaction.

Revision ID: bulk_1
Revises: digestspeed_1
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "bulk_1"
down_revision = "digestspeed_1"
branch_labels = None
depends_on = None

COLUMNS = "title, authors, summary, tags"
INDEXED = "NOT EXISTS (SELECT 1 FROM items_fts_pending WHERE from_id <= {row}.id)"


def _triggers(when: bool) -> list[str]:
    new = f"WHEN {INDEXED.format(row='new')} " if when else ""
    old = f"WHEN {INDEXED.format(row='old')} " if when else ""
    return [
        f"""CREATE TRIGGER items_fts_insert AFTER INSERT ON items {new}BEGIN
            INSERT INTO items_fts(rowid, {COLUMNS})
            VALUES (new.id, new.title, new.authors, new.summary, new.tags);
        END""",
        f"""CREATE TRIGGER items_fts_delete AFTER DELETE ON items {old}BEGIN
            INSERT INTO items_fts(items_fts, rowid, {COLUMNS})
            VALUES ('delete', old.id, old.title, old.authors, old.summary, old.tags);
        END""",
        # an item's id never changes: old.id is new.id
        f"""CREATE TRIGGER items_fts_update AFTER UPDATE OF {COLUMNS} ON items {old}BEGIN
            INSERT INTO items_fts(items_fts, rowid, {COLUMNS})
            VALUES ('delete', old.id, old.title, old.authors, old.summary, old.tags);
            INSERT INTO items_fts(rowid, {COLUMNS})
            VALUES (new.id, new.title, new.authors, new.summary, new.tags);
        END""",
    ]


def _replace_triggers(when: bool) -> None:
    for name in ("items_fts_insert", "items_fts_delete", "items_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for statement in _triggers(when):
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE IF NOT EXISTS items_fts_pending (from_id INTEGER NOT NULL)")
    _replace_triggers(when=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # what waits is indexed first: the plain triggers assume every item is
    op.execute(
        f"INSERT INTO items_fts(rowid, {COLUMNS}) SELECT id, {COLUMNS} FROM items "
        "WHERE id >= (SELECT min(from_id) FROM items_fts_pending)"
    )
    _replace_triggers(when=False)
    op.execute("DROP TABLE IF EXISTS items_fts_pending")

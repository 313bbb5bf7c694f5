"""Bulk writes for a harvest: many new papers per transaction, the search index in batches.

``store_harvested`` stores one batch of a harvest's entries (``tracker.fetch.backfill``;
no sources, so no sightings). Entries whose key is stored already go through ``ingest``
(merged, updated); the new ones, nearly all of a first harvest, are written in bulk:
their ids taken up front, their rows built as tuples and written with one
``executemany`` per table (SQLite) or one ``COPY`` per table (PostgreSQL, where the
search vector is computed by the database as for every row). The rows are the ones
``ingest`` writes for the same entries (a test compares them column by column).

SQLite's full-text index is not written row by row for them. The first new id becomes
the "not indexed from" mark (``items_fts_pending``, migration bulk_1): the triggers
skip every item from there on, whoever writes it (a fetch cycle during a harvest too),
and ``index_pending`` indexes the waiting items in batches of consecutive ids, moving
the mark in the same transaction; without waiting items the mark is gone. A text search
does not find a waiting paper (filters without text do). A crash leaves the mark where
the index really ends: the next harvest, the next fetch cycle or ``tracker db upgrade``
index the rest (``index_waiting``).

No decisions here (merging, tagging, preparing are the caller's functions).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from tracker.errors import StorageError
from tracker.models import Entry, FieldTag
from tracker.storage.base import reason
from tracker.storage.items import (
    INGEST_ATTEMPTS,
    IngestReport,
    ItemsMixin,
    MergeFn,
    NoticeFn,
    PrepareFn,
    TagFn,
    i,
)
from tracker.storage.lookups import _chunks
from tracker.storage.rows import ITEM_COLUMNS_WRITTEN as ITEM_COLUMNS
from tracker.storage.rows import SqliteTime as _SqliteTime
from tracker.storage.rows import item_tuple

FIELD_COLUMNS = "item_id, field, position, confidence, origin, basis"
CATEGORY_COLUMNS = "category, item_id"
VERSION_COLUMNS = "item_id, version, updated_at, seen_at"
INDEXED_COLUMNS = "title, authors, summary, tags"
Row = tuple[Any, ...]
Tagged = tuple[Entry, tuple[FieldTag, ...]]
INDEX_SLICE = 5_000  # items indexed per transaction by index_waiting (about a second)


class _Conflict(StorageError):
    """A new paper's key was stored by another writer meanwhile (PostgreSQL's COPY)."""


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"expected an aware datetime, got {value!r}")
    return value


class BulkMixin(ItemsMixin):
    def store_harvested(
        self,
        entries: Sequence[Entry],
        now: dt.datetime,
        *,
        merge: MergeFn,
        prepare: PrepareFn,
        tag: TagFn,
        notice: NoticeFn | None = None,
    ) -> IngestReport:
        """Store a batch of harvested entries (keys set): new ones in bulk, waiting
        for the search index on SQLite (``index_pending``), stored ones merged (with
        ``notice``, the venues they got are recorded, as ``ingest`` does)."""
        merged: dict[str, Entry] = {}
        for entry in entries:
            if not entry.key:
                raise ValueError("entry without key")
            prev = merged.get(entry.key)
            merged[entry.key] = merge(prev, entry) if prev else entry
        keys = list(merged)
        for attempt in range(INGEST_ATTEMPTS):
            try:
                stored, known, new_count = self._store_new(keys, merged, now, prepare, tag)
                break
            except StorageError as e:
                # PostgreSQL: another writer stored some of these papers meanwhile (a
                # fetch cycle): read them again, they are then merged below.
                conflict = isinstance(e, _Conflict) or isinstance(e.__cause__, IntegrityError)
                if attempt + 1 == INGEST_ATTEMPTS or not conflict:
                    raise
        updated = 0
        if known:  # a second harvest, papers known from elsewhere: the usual merge
            report = self.ingest(known, now, merge=merge, prepare=prepare, tag=tag, notice=notice)
            updated = report.updated_items
        return IngestReport(new_count, updated, 0, tuple(stored[k] for k in keys))

    def _store_new(
        self,
        keys: Sequence[str],
        merged: dict[str, Entry],
        now: dt.datetime,
        prepare: PrepareFn,
        tag: TagFn,
    ) -> tuple[dict[str, int], list[tuple[Entry, tuple[int, ...]]], int]:
        """Write the entries not stored yet, in one transaction: (the id of every key
        stored, the entries stored before for ``ingest``, how many were new)."""
        with self._write() as conn:
            stored = self._ids_of(conn, keys)
            known: list[tuple[Entry, tuple[int, ...]]] = [
                (merged[k], ()) for k in keys if k in stored
            ]
            new = [prepare(merged[k]) for k in keys if k not in stored]
            if new:
                tagged = [(e, tag(e)) for e in new]
                ids_ = self._new_ids(conn, len(new))
                if self.dialect == "sqlite":
                    self._write_sqlite(conn, tagged, ids_, now)
                else:
                    self._write_postgresql(conn, tagged, ids_, now)
                stored.update((e.key, n) for e, n in zip(new, ids_, strict=True))
        return stored, known, len(new)

    def _ids_of(self, conn: Connection, keys: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in _chunks(keys):
            rows = conn.execute(select(i.c.key, i.c.id).where(i.c.key.in_(chunk)))
            found.update((row.key, row.id) for row in rows)
        return found

    def _new_ids(self, conn: Connection, count: int) -> list[int]:
        """Ids for ``count`` new items, ascending."""
        if self.dialect == "sqlite":  # BEGIN IMMEDIATE: no other writer until commit
            top = int(conn.exec_driver_sql("SELECT max(id) FROM items").scalar() or 0)
            return list(range(top + 1, top + 1 + count))
        # PostgreSQL: from the items' sequence, as an INSERT would (others draw too)
        drawn = conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence('items', 'id')) FROM generate_series(1, %(n)s)",
            {"n": count},
        )
        return sorted(int(n) for n in drawn.scalars())

    @staticmethod
    def _rows(
        tagged: Sequence[Tagged],
        ids_: Sequence[int],
        now: dt.datetime,
        when: Callable[[dt.datetime | None], Any],
    ) -> tuple[list[Row], list[Row], list[Row], list[Row]]:
        """The rows of new items: items, item_fields, item_categories, item_versions."""
        items: list[Row] = []
        fields: list[Row] = []
        categories: list[Row] = []
        versions: list[Row] = []
        seen = when(now)
        for item_id, (e, tags) in zip(ids_, tagged, strict=True):
            items.append(item_tuple(item_id, e, tags, seen, now, when))
            fields += [
                (item_id, t.field, position, t.confidence, t.origin, t.basis)
                for position, t in enumerate(tags)
            ]
            categories += [(c, item_id) for c in set(e.categories)]
            if e.version:
                versions.append((item_id, e.version, when(e.updated), seen))
        return items, fields, categories, versions

    def _write_sqlite(
        self,
        conn: Connection,
        tagged: Sequence[Tagged],
        ids_: Sequence[int],
        now: dt.datetime,
    ) -> None:
        items, fields, categories, versions = self._rows(tagged, ids_, now, _SqliteTime())
        # the new items wait for the search index from the first of them on
        self._index_from(conn, ids_[0])
        conn.exec_driver_sql(f"INSERT INTO items ({ITEM_COLUMNS}) VALUES ({_marks(22)})", items)
        for table, columns, rows in (
            ("item_fields", FIELD_COLUMNS, fields),
            ("item_categories", CATEGORY_COLUMNS, categories),
            ("item_versions", VERSION_COLUMNS, versions),
        ):
            if rows:
                conn.exec_driver_sql(
                    f"INSERT INTO {table} ({columns}) VALUES ({_marks(len(rows[0]))})", rows
                )

    def _write_postgresql(
        self,
        conn: Connection,
        tagged: Sequence[Tagged],
        ids_: Sequence[int],
        now: dt.datetime,
    ) -> None:
        rows = self._rows(tagged, ids_, now, _aware)
        import psycopg  # only here: PostgreSQL's driver

        raw: Any = conn.connection.dbapi_connection  # the same transaction as ``conn``
        try:
            with raw.cursor() as cursor:
                for table, columns, part in zip(
                    ("items", "item_fields", "item_categories", "item_versions"),
                    (ITEM_COLUMNS, FIELD_COLUMNS, CATEGORY_COLUMNS, VERSION_COLUMNS),
                    rows,
                    strict=True,
                ):
                    if part:
                        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                            for row in part:
                                copy.write_row(row)
        except psycopg.IntegrityError as e:  # COPY bypasses SQLAlchemy: ours to wrap
            raise _Conflict(f"database write failed: {reason(e)}") from e
        except psycopg.Error as e:
            raise StorageError(f"database write failed: {reason(e)}") from e

    # --- the search index of stored items -------------------------------------------------

    def index_pending(self, limit: int | None = None) -> tuple[int, int]:
        """Put up to ``limit`` waiting items (every one: None) into the search index,
        oldest first, in one transaction: (items indexed, items still waiting)."""
        if self.dialect != "sqlite":
            return 0, 0  # PostgreSQL computes each row's search vector as it is written
        with self._write() as conn:
            start = conn.exec_driver_sql("SELECT min(from_id) FROM items_fts_pending").scalar()
            if start is None:
                return 0, 0
            top = int(conn.exec_driver_sql("SELECT max(id) FROM items").scalar() or 0)
            end = top + 1 if limit is None else min(top + 1, start + limit)
            between = (start, end)
            conn.exec_driver_sql(
                f"INSERT INTO items_fts(rowid, {INDEXED_COLUMNS}) "
                f"SELECT id, {INDEXED_COLUMNS} FROM items WHERE id >= ? AND id < ? ORDER BY id",
                between,
            )
            done = conn.exec_driver_sql(
                "SELECT count(*) FROM items WHERE id >= ? AND id < ?", between
            ).scalar()
            if end > top:
                conn.exec_driver_sql("DELETE FROM items_fts_pending")
                return int(done or 0), 0
            conn.exec_driver_sql("UPDATE items_fts_pending SET from_id = ?", (end,))
            left = conn.exec_driver_sql("SELECT count(*) FROM items WHERE id >= ?", (end,)).scalar()
            return int(done or 0), int(left or 0)

    def index_waiting(self) -> int:
        """Put every waiting item into the search index, ``INDEX_SLICE`` per
        transaction (a writer waits one slice at most); how many were indexed."""
        total = left = 0
        while True:
            indexed, left = self.index_pending(INDEX_SLICE)
            total += indexed
            if not left:
                return total

    def pending_index(self) -> int:
        """How many stored items the search index does not hold yet."""
        if self.dialect != "sqlite":
            return 0
        with self._read() as conn:
            waiting = conn.exec_driver_sql(
                "SELECT count(*) FROM items "
                "WHERE id >= (SELECT min(from_id) FROM items_fts_pending)"
            ).scalar()
            return int(waiting or 0)


def _marks(count: int) -> str:
    return ", ".join("?" * count)

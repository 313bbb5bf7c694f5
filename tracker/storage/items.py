"""Items: ingest (merge, versions, fields, sightings) and retagging; reading them is
``tracker.storage.lookups``'s.

``ingest`` is the one write path for fetched entries. It runs in one transaction
per batch: existing rows are read, merged with the new entries by the pure merge
function it is given, written back, and every (item, source) pair is recorded once
as a sighting. Re-fetching the same entries changes nothing.

The notice function given to ``ingest`` (``fetch.venues.venue_changes``) tells what a
stored paper got that it did not have (a journal-ref, a DOI); each change is recorded
as a venue event in the same transaction, once (a unique key), so a paper that gains
a journal-ref through any path is noticed exactly once.

The tag function given to ``ingest`` runs inside the write transaction, so it must
be cheap: the caller computes anything slow (the field model's predictions) for the
batch beforehand (``fields.tagger.Pretagged``). ``retag`` calls its tag function
between a read and a short write, never while holding the write lock.

A fetch cycle's new items on SQLite (``index_later``) are written as a harvest's are:
ids taken up front and rows built as tuples (``rows.item_tuple``) for one executemany,
without SQLAlchemy's work per row; the rows are the same (a test compares them).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from tracker.errors import StorageError
from tracker.models import (
    Entry,
    FieldTag,
    VenueChange,
)
from tracker.storage import schema
from tracker.storage.base import loads
from tracker.storage.lookups import ItemReadsMixin, _chunks
from tracker.storage.rows import (
    ITEM_COLUMNS_WRITTEN,
    SqliteTime,
    _entry,
    _field_row,
    _row_values,
    _with_tags,
    item_tuple,
)
from tracker.storage.tags import item_tags

i, fl, cat, ver, sg = (
    schema.items,
    schema.item_fields,
    schema.item_categories,
    schema.item_versions,
    schema.sightings,
)
MergeFn = Callable[[Entry, Entry], Entry]
PrepareFn = Callable[[Entry], Entry]
TagFn = Callable[[Entry], tuple[FieldTag, ...]]
# the entries about to be written -> a cheap tag function for their write transaction
PretagFn = Callable[[Sequence[Entry]], TagFn]
# (stored, fetched, merged) -> what the paper got that it did not have
NoticeFn = Callable[[Entry, Entry, Entry], Sequence[VenueChange]]
INGEST_ATTEMPTS = 8  # a batch whose new items another worker stored meanwhile is read again


@dataclass(frozen=True, slots=True)
class IngestReport:
    new_items: int = 0
    updated_items: int = 0
    new_sightings: int = 0
    item_ids: tuple[int, ...] = ()  # stored id of each distinct key, in input order
    venue_events: int = 0  # journal-refs and DOIs noticed on stored papers


class ItemsMixin(ItemReadsMixin):
    def ingest(
        self,
        batch: Sequence[tuple[Entry, Sequence[int]]],
        now: dt.datetime,
        *,
        merge: MergeFn,
        prepare: PrepareFn,
        tag: TagFn,
        notice: NoticeFn | None = None,
        index_later: bool = False,
    ) -> IngestReport:
        """Store entries (each with the ids of the sources that delivered it); with
        ``notice``, record the venues stored papers got (``venue_events``).

        With ``index_later``, new items wait for SQLite's search index as a
        harvest's do (``bulk.py``): the caller indexes them in batches
        (``index_waiting``); a fetch cycle does so every few thousand and at its end."""
        # Collapse repeats of one key inside the batch first.
        merged: dict[str, Entry] = {}
        delivered: dict[str, dict[int, str | None]] = {}
        for entry, source_ids in batch:
            if not entry.key:
                raise ValueError("entry without key")
            prev = merged.get(entry.key)
            merged[entry.key] = merge(prev, entry) if prev else entry
            per_source = delivered.setdefault(entry.key, {})
            for sid in source_ids:
                per_source.setdefault(sid, entry.announce_type)
        keys = list(merged)
        for attempt in range(INGEST_ATTEMPTS):
            try:
                with self._write() as conn:
                    return self._ingest(
                        conn, keys, merged, delivered, now, merge, prepare, tag, notice, index_later
                    )
            except StorageError as e:
                # Another worker stored some of the same new items first (PostgreSQL
                # runs writers side by side: the whole day's listing and a category's
                # hold the same papers): read them again and merge into them.
                if attempt + 1 == INGEST_ATTEMPTS or not _contended(e.__cause__):
                    raise
                # several workers storing one day's papers: let the others commit first
                time.sleep(random.uniform(0.0, 0.05 * (attempt + 1)))
        raise AssertionError("unreachable")

    def _ingest(
        self,
        conn: Connection,
        keys: Sequence[str],
        merged: dict[str, Entry],
        delivered: dict[str, dict[int, str | None]],
        now: dt.datetime,
        merge: MergeFn,
        prepare: PrepareFn,
        tag: TagFn,
        notice: NoticeFn | None = None,
        index_later: bool = False,
    ) -> IngestReport:
        existing = self._by_keys(conn, keys)
        to_insert = [prepare(merged[k]) for k in keys if k not in existing]
        id_of = {k: item_id for k, (item_id, _, _) in existing.items()}
        changed: list[tuple[int, Entry, tuple[FieldTag, ...]]] = []
        venues: list[tuple[int, VenueChange]] = []
        for k, (item_id, old, first_seen) in existing.items():
            new = merge(old, merged[k])
            if notice is not None:
                venues += [(item_id, c) for c in notice(old, merged[k], new)]
            if _row_values(new) != _row_values(old):
                tags = tag(new)
                conn.execute(
                    update(i).where(i.c.id == item_id).values(**_with_tags(new, tags, first_seen))
                )
                changed.append((item_id, new, tags))
        if to_insert:
            tagged = [(e, tag(e)) for e in to_insert]
            if index_later and self.dialect == "sqlite":
                self._insert_waiting(conn, tagged, now, id_of)
            else:
                rows = [dict(_with_tags(e, tags, now), first_seen_at=now) for e, tags in tagged]
                # One executemany, then the new ids by key: RETURNING with the
                # parameters' order is not batched on SQLite (one INSERT per row).
                conn.execute(i.insert(), rows)
                for chunk in _chunks([e.key for e in to_insert]):
                    for row in conn.execute(select(i.c.id, i.c.key).where(i.c.key.in_(chunk))):
                        id_of[row.key] = row.id
            changed.extend((id_of[e.key], e, tags) for e, tags in tagged)
        new_items, updated = len(to_insert), len(changed) - len(to_insert)
        self._write_derived(conn, changed, replace=updated > 0)
        versions = [
            dict(item_id=id_of[k], version=e.version, updated_at=e.updated, seen_at=now)
            for k, e in sorted(merged.items(), key=lambda pair: id_of[pair[0]])
            if e.version
        ]
        if versions:
            conn.execute(self._insert_ignore(ver), versions)
        fresh = {id_of[e.key] for e in to_insert}
        new_sightings = self._add_sightings(conn, id_of, delivered, now, fresh)
        noticed = self._add_venue_events(conn, venues, now)
        return IngestReport(
            new_items, updated, new_sightings, tuple(id_of[k] for k in keys), noticed
        )

    def _insert_waiting(
        self,
        conn: Connection,
        tagged: Sequence[tuple[Entry, tuple[FieldTag, ...]]],
        now: dt.datetime,
        id_of: dict[str, int],
    ) -> None:
        """SQLite, new items waiting for the search index (a fetch cycle's): written as
        a harvest's are (``bulk.py``), their ids taken up front (BEGIN IMMEDIATE: no
        other writer) and their rows built as tuples for one executemany, without
        SQLAlchemy's work per row. They wait from the first new id on."""
        top = int(conn.exec_driver_sql("SELECT max(id) FROM items").scalar() or 0)
        self._index_from(conn, top + 1)
        when = SqliteTime()
        seen = when(now)
        rows = [
            item_tuple(item_id, e, tags, seen, now, when)
            for item_id, (e, tags) in enumerate(tagged, start=top + 1)
        ]
        conn.exec_driver_sql(
            f"INSERT INTO items ({ITEM_COLUMNS_WRITTEN}) VALUES ({', '.join('?' * len(rows[0]))})",
            rows,
        )
        id_of.update((e.key, item_id) for item_id, (e, _) in enumerate(tagged, start=top + 1))

    def _index_from(self, conn: Connection, first: int) -> None:
        """SQLite: items from id ``first`` on wait for the search index (the mark of
        ``items_fts_pending``, moved down only; see ``bulk.py``)."""
        conn.exec_driver_sql("DELETE FROM items_fts_pending WHERE from_id > ?", (first,))
        conn.exec_driver_sql(
            "INSERT INTO items_fts_pending(from_id) SELECT ? "
            "WHERE NOT EXISTS (SELECT 1 FROM items_fts_pending)",
            (first,),
        )

    def _add_venue_events(
        self, conn: Connection, changes: Sequence[tuple[int, VenueChange]], now: dt.datetime
    ) -> int:
        """Record venue changes of stored items, each (item, kind, value) once; returns
        how many were new."""
        if not changes:
            return 0
        ve = schema.venue_events
        wanted = {(item_id, c.kind.value, c.value): c.source for item_id, c in changes}
        for chunk in _chunks(sorted({item_id for item_id, _ in changes})):
            for row in conn.execute(
                select(ve.c.item_id, ve.c.kind, ve.c.value).where(ve.c.item_id.in_(chunk))
            ):
                wanted.pop((row.item_id, row.kind, row.value), None)
        if wanted:
            conn.execute(
                self._insert_ignore(ve),
                [
                    dict(item_id=item_id, kind=kind, value=value, source=source, noticed_at=now)
                    for (item_id, kind, value), source in wanted.items()
                ],
            )
        return len(wanted)

    def _by_keys(
        self, conn: Connection, keys: Sequence[str]
    ) -> dict[str, tuple[int, Entry, dt.datetime]]:
        found: dict[str, tuple[int, Entry, dt.datetime]] = {}
        for chunk in _chunks(keys):
            for row in conn.execute(select(i).where(i.c.key.in_(chunk))):
                found[row.key] = (row.id, _entry(row), row.first_seen_at)
        return found

    def _write_derived(
        self,
        conn: Connection,
        changed: Sequence[tuple[int, Entry, tuple[FieldTag, ...]]],
        replace: bool,
    ) -> None:
        """Fields and the category index of changed items."""
        if not changed:
            return
        if replace:
            changed_ids = [item_id for item_id, _, _ in changed]
            for chunk in _chunks(changed_ids):
                conn.execute(delete(fl).where(fl.c.item_id.in_(chunk)))
                conn.execute(delete(cat).where(cat.c.item_id.in_(chunk)))
        field_rows = [
            _field_row(item_id, n, t) for item_id, _, tags in changed for n, t in enumerate(tags)
        ]
        cat_rows = [
            dict(item_id=item_id, category=c)
            for item_id, e, _ in changed
            for c in set(e.categories)
        ]
        if field_rows:
            conn.execute(fl.insert(), field_rows)
        if cat_rows:
            conn.execute(cat.insert(), cat_rows)

    def _add_sightings(
        self,
        conn: Connection,
        id_of: dict[str, int],
        delivered: dict[str, dict[int, str | None]],
        now: dt.datetime,
        fresh: set[int] | frozenset[int] = frozenset(),
    ) -> int:
        """Record each (item, source) pair once; ``fresh``: ids of items written in
        this transaction, which cannot have been seen before."""
        wanted = {
            (id_of[k], sid): announce
            for k, per_source in delivered.items()
            for sid, announce in per_source.items()
        }
        if not wanted:
            return 0
        pairs = [pair for pair in wanted if pair[0] not in fresh]
        for chunk in _chunks(pairs):
            seen = conn.execute(
                select(sg.c.item_id, sg.c.source_id).where(
                    tuple_(sg.c.item_id, sg.c.source_id).in_(chunk)
                )
            )
            for row in seen:
                wanted.pop((row.item_id, row.source_id), None)
        if wanted:
            conn.execute(
                self._insert_ignore(sg),
                [
                    dict(item_id=item_id, source_id=sid, seen_at=now, announce_type=announce)
                    for (item_id, sid), announce in sorted(wanted.items())
                ],
            )
        return len(wanted)

    def add_sightings(self, pairs: Sequence[tuple[int, int, str | None]], now: dt.datetime) -> int:
        """Record that sources delivered already stored items: (item, source, announce)."""
        delivered: dict[str, dict[int, str | None]] = {}
        id_of: dict[str, int] = {}
        for item_id, source_id, announce in pairs:
            id_of[str(item_id)] = item_id
            delivered.setdefault(str(item_id), {})[source_id] = announce
        with self._write() as conn:
            return self._add_sightings(conn, id_of, delivered, now)

    def retag(self, tag: TagFn, batch: int = 2000, *, uncategorised_only: bool = False) -> int:
        """Recompute every item's fields (after the field mapping changed), or only
        those of items without categories (after a new field model).

        A batch of rows is read, tagged outside any transaction (``tag`` may be slow:
        the field model), and written in a short transaction; a row that changed in
        between (an ingest re-tagged it) is left as its writer left it.
        """
        done, last = 0, 0
        while True:
            with self._read() as conn:
                wanted = i.c.id > last
                if uncategorised_only:
                    wanted = wanted & (i.c.categories == "")
                rows = conn.execute(select(i).where(wanted).order_by(i.c.id).limit(batch)).all()
            if not rows:
                return done
            tagged = [(r, tag(_entry(r))) for r in rows]
            with self._write() as conn:
                ids_ = [r.id for r in rows]
                current = {
                    row.id: (row.title, row.summary, row.categories)
                    for row in conn.execute(
                        select(i.c.id, i.c.title, i.c.summary, i.c.categories).where(
                            i.c.id.in_(ids_)
                        )
                    )
                }
                kept = [
                    (r, tags)
                    for r, tags in tagged
                    if current.get(r.id) == (r.title, r.summary, r.categories)
                ]
                if kept:
                    conn.execute(delete(fl).where(fl.c.item_id.in_([r.id for r, _ in kept])))
                field_rows = []
                for r, tags in kept:
                    field_rows += [_field_row(r.id, n, t) for n, t in enumerate(tags)]
                    new_tags = item_tags(
                        loads(r.categories),
                        [t.field for t in tags],
                        r.published_at or r.first_seen_at,
                    )
                    if new_tags != r.tags:  # rewrites the row's search tokens too
                        conn.execute(update(i).where(i.c.id == r.id).values(tags=new_tags))
                if field_rows:
                    conn.execute(fl.insert(), field_rows)
            last, done = rows[-1].id, done + len(rows)


def _contended(error: BaseException | None) -> bool:
    """Whether a write failed only because another writer got there first: a duplicate
    key (it stored the same new items), or PostgreSQL's deadlock or serialization
    failure (SQLSTATE 40P01, 40001); the batch is then read again and merged."""
    if isinstance(error, IntegrityError):
        return True
    code = getattr(getattr(error, "orig", None), "sqlstate", None)
    return code in ("40P01", "40001")

"""What a reader's relevance model reads and keeps: ratings, the imported library, the
reader's evidence (saved, rated, library, followed scholars' and follows' papers),
recent papers to contrast them with, and the papers of past weeks for rising phrases.

Library entries are matched to stored items by arXiv id, then DOI, then title (letter
case aside); an entry that matches nothing is kept with its own title and
abstract, and is matched again by arXiv id whenever the profile is read, so a paper
fetched later joins its entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, select, update

from tracker.errors import NotFoundError, UsageError
from tracker.models import CONFIDENT, Item, LibraryEntry, LibraryImport, LibraryRecord
from tracker.storage import schema
from tracker.storage.base import dumps, loads
from tracker.storage.items import ItemsMixin
from tracker.storage.lookups import _chunks

i, rt, le, sv = schema.items, schema.ratings, schema.library_entries, schema.saved
f, sg, at, fl = schema.follows, schema.sightings, schema.attributions, schema.item_fields
OWN_SOURCES = ("category", "query", "feed")  # follows whose papers are weak evidence


@dataclass(frozen=True, slots=True)
class ReaderPapers:
    """Everything a reader's profile is made of."""

    saved: tuple[Item, ...]
    rated: tuple[tuple[Item, int], ...]  # +1 up, -1 down
    library: tuple[LibraryEntry, ...]
    scholars: tuple[tuple[Item, str], ...]  # a followed scholar's paper, and who
    followed: tuple[tuple[Item, str], ...]  # a paper a follow brought, and the follow


def library_key(record: LibraryRecord) -> str:
    """An entry's identity within a reader's library."""
    if record.arxiv_id:
        return f"arxiv:{record.arxiv_id}"
    if record.doi:
        return f"doi:{record.doi}"[:255]
    title = " ".join(record.title.lower().split())
    digest = hashlib.sha256(f"{title}|{record.year or ''}".encode()).hexdigest()[:32]
    return f"title:{digest}"


def _title_key(title: str) -> str:
    return " ".join(title.lower().split())


class ReadingMixin(ItemsMixin):
    # --- ratings ----------------------------------------------------------------------

    def rate(self, reader: str, ref: str | int, value: int, now: dt.datetime) -> Item:
        """Rate an item up (+1) or down (-1); 0 removes the rating."""
        if value not in (-1, 0, 1):
            raise UsageError(f"a rating is up, down or none, got {value!r}")
        with self._write() as conn:
            item_id = self._resolve(conn, ref)
            if item_id is None:
                raise NotFoundError(f"no stored item {ref!r}")
            conn.execute(delete(rt).where(rt.c.reader == reader, rt.c.item_id == item_id))
            if value:
                conn.execute(
                    rt.insert().values(reader=reader, item_id=item_id, value=value, rated_at=now)
                )
            return self._items(conn, [item_id])[0]

    def ratings(self, reader: str, item_ids: Sequence[int] | None = None) -> dict[int, int]:
        """The reader's ratings (item id -> +1 or -1), of these items or of all."""
        query = select(rt.c.item_id, rt.c.value).where(rt.c.reader == reader)
        found: dict[int, int] = {}
        with self._read() as conn:
            if item_ids is None:
                return {r.item_id: r.value for r in conn.execute(query)}
            for chunk in _chunks(list(item_ids)):
                for r in conn.execute(query.where(rt.c.item_id.in_(chunk))):
                    found[r.item_id] = r.value
        return found

    # --- the library ------------------------------------------------------------------

    def import_library(
        self, reader: str, records: Sequence[LibraryRecord], now: dt.datetime
    ) -> LibraryImport:
        """Add (or update) library entries, each matched to a stored item if one is
        the same paper. Importing the same file again adds nothing."""
        usable = [r for r in records if r.title.strip() or r.arxiv_id or r.doi]
        by_key: dict[str, LibraryRecord] = {}
        for record in usable:
            by_key.setdefault(library_key(record), record)
        with self._write() as conn:
            matches = self._match(conn, list(by_key.values()))
            existing = set(
                conn.scalars(
                    select(le.c.key).where(le.c.reader == reader, le.c.key.in_(list(by_key)))
                )
            )
            for key, record in by_key.items():
                values = dict(
                    item_id=matches.get(key),
                    arxiv_id=record.arxiv_id,
                    doi=record.doi,
                    title=record.title,
                    abstract=record.abstract,
                    authors=dumps(record.authors),
                    year=record.year,
                    imported_at=now,
                )
                if key in existing:
                    conn.execute(
                        update(le).where(le.c.reader == reader, le.c.key == key).values(**values)
                    )
                else:
                    conn.execute(le.insert().values(reader=reader, key=key, **values))
        matched = sum(1 for key in by_key if matches.get(key) is not None)
        return LibraryImport(
            entries=len(by_key),
            matched=matched,
            unmatched=len(by_key) - matched,
            new=len(set(by_key) - existing),
            skipped=len(records) - len(usable),
        )

    def _match(self, conn: Connection, records: Sequence[LibraryRecord]) -> dict[str, int]:
        """Library key -> stored item id, by arXiv id, then DOI, then title."""
        found: dict[str, int] = {}
        wanted = {r.arxiv_id: library_key(r) for r in records if r.arxiv_id}
        for chunk in _chunks(list(wanted)):
            for row in conn.execute(select(i.c.id, i.c.arxiv_id).where(i.c.arxiv_id.in_(chunk))):
                found[wanted[row.arxiv_id]] = row.id
        rest = [r for r in records if library_key(r) not in found]
        dois = {r.doi: library_key(r) for r in rest if r.doi}
        for chunk in _chunks(list(dois)):
            rows = conn.execute(
                select(i.c.id, func.lower(i.c.doi).label("doi")).where(
                    func.lower(i.c.doi).in_(chunk)
                )
            )
            for row in rows:
                found.setdefault(dois[row.doi], row.id)
        rest = [r for r in rest if library_key(r) not in found and r.title.strip()]
        titles = {_title_key(r.title): library_key(r) for r in rest}
        for chunk in _chunks(list(titles)):
            rows = conn.execute(
                select(i.c.id, func.lower(i.c.title).label("title")).where(
                    func.lower(i.c.title).in_(chunk)
                )
            )
            for row in rows:
                key = titles.get(_title_key(row.title))
                if key:
                    found.setdefault(key, row.id)
        return found

    def library(self, reader: str) -> list[LibraryEntry]:
        """The reader's library, newest import first; entries whose paper has been
        stored since they were imported are linked to it now."""
        with self._read() as conn:
            rows = conn.execute(
                select(le).where(le.c.reader == reader).order_by(le.c.imported_at.desc(), le.c.id)
            ).all()
            late = {r.arxiv_id: r.id for r in rows if r.item_id is None and r.arxiv_id}
            linked: dict[int, int] = {}
            for chunk in _chunks(list(late)):
                query = select(i.c.id, i.c.arxiv_id).where(i.c.arxiv_id.in_(chunk))
                for row in conn.execute(query):
                    linked[late[row.arxiv_id]] = row.id
            ids = [r.item_id or linked.get(r.id) for r in rows]
            items = {item.id: item for item in self._items(conn, [n for n in ids if n])}
        return [
            LibraryEntry(
                r.id,
                LibraryRecord(r.title, r.abstract, loads(r.authors), r.year, r.arxiv_id, r.doi),
                items.get(n) if n else None,
            )
            for r, n in zip(rows, ids, strict=True)
        ]

    def forget_library(self, reader: str) -> int:
        """Remove the reader's whole imported library; returns how many entries."""
        with self._write() as conn:
            gone = conn.execute(delete(le).where(le.c.reader == reader))
            return int(gone.rowcount or 0)

    # --- a reader's profile -------------------------------------------------------------

    def reader_papers(self, reader: str, limit: int = 300) -> ReaderPapers:
        """The papers a reader's profile is made of, newest first, at most ``limit``
        of each kind."""
        with self._read() as conn:
            saved = conn.scalars(
                select(sv.c.item_id)
                .where(sv.c.reader == reader)
                .order_by(sv.c.saved_at.desc(), sv.c.item_id)
                .limit(limit)
            ).all()
            rated = conn.execute(
                select(rt.c.item_id, rt.c.value)
                .where(rt.c.reader == reader)
                .order_by(rt.c.rated_at.desc(), rt.c.item_id)
                .limit(limit)
            ).all()
            followed_scholars = select(f.c.value).where(f.c.reader == reader, f.c.kind == "scholar")
            scholars = conn.execute(
                select(at.c.item_id, at.c.scholar)
                .where(at.c.rejected == 0, at.c.scholar.in_(followed_scholars))
                .order_by(at.c.item_id.desc())
                .limit(limit)
            ).all()
            follows = {
                r.source_id: f"{r.kind} {r.value}"
                for r in conn.execute(
                    select(f.c.source_id, f.c.kind, f.c.value).where(
                        f.c.reader == reader, f.c.kind.in_(OWN_SOURCES)
                    )
                )
            }
            brought = (
                conn.execute(
                    select(sg.c.item_id, sg.c.source_id)
                    .where(sg.c.source_id.in_(list(follows)))
                    .order_by(sg.c.seen_at.desc(), sg.c.id.desc())
                    .limit(limit)
                ).all()
                if follows
                else []
            )
            wanted = [*saved, *(r.item_id for r in rated), *(r.item_id for r in scholars)]
            wanted += [r.item_id for r in brought]
            items = {item.id: item for item in self._items(conn, list(dict.fromkeys(wanted)))}
        library = self.library(reader)[:limit]
        return ReaderPapers(
            saved=tuple(items[n] for n in saved if n in items),
            rated=tuple((items[r.item_id], r.value) for r in rated if r.item_id in items),
            library=tuple(library),
            scholars=tuple((items[r.item_id], r.scholar) for r in scholars if r.item_id in items),
            followed=tuple(
                (items[r.item_id], follows[r.source_id]) for r in brought if r.item_id in items
            ),
        )

    def recent_texts(
        self, limit: int, exclude: Sequence[int] = (), before: dt.datetime | None = None
    ) -> list[str]:
        """Title and abstract of the newest stored items with an abstract (by when
        they were first seen; only those first seen before ``before``), other than
        ``exclude``."""
        skip = set(exclude)
        query = select(i.c.id, i.c.title, i.c.summary).where(i.c.summary != "")
        if before is not None:
            query = query.where(i.c.first_seen_at < before)
        with self._read() as conn:
            rows = conn.execute(
                query.order_by(i.c.first_seen_at.desc(), i.c.id.desc()).limit(limit + len(skip))
            ).all()
        return [f"{r.title}. {r.summary}" for r in rows if r.id not in skip][:limit]

    def texts_in_fields(
        self, fields: Sequence[str], start: dt.datetime, end: dt.datetime, limit: int
    ) -> list[tuple[int, str, str]]:
        """(id, title, abstract) of up to ``limit`` items published (else first seen)
        in [start, end) with a confident field among ``fields``, newest first."""
        when = func.coalesce(i.c.published_at, i.c.first_seen_at, type_=schema.UTCDateTime)
        in_fields = (
            select(fl.c.item_id)
            .where(fl.c.field.in_(list(fields)), fl.c.confidence >= CONFIDENT)
            .scalar_subquery()
        )
        query = (
            select(i.c.id, i.c.title, i.c.summary)
            .where(when >= start, when < end, i.c.summary != "", i.c.id.in_(in_fields))
            .order_by(when.desc(), i.c.id.desc())
            .limit(limit)
        )
        with self._read() as conn:
            return [(r.id, r.title, r.summary) for r in conn.execute(query)]

"""Items read back: by id, by arXiv id, key or link, the papers still waiting for
their metadata, a feed's known posts, versions. The read half of the items aggregate;
``tracker.storage.items`` writes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

from sqlalchemy import Connection, func, select, update

from tracker import ids
from tracker.errors import NotFoundError, UsageError
from tracker.models import FEED_POST, LINK_ONLY, FieldTag, Item
from tracker.storage import schema
from tracker.storage.base import StorageBase
from tracker.storage.rows import ITEM_COLUMNS, _item

i, fl, ver, sg = schema.items, schema.item_fields, schema.item_versions, schema.sightings
CHUNK = 500
READ_CHUNK = 5000  # ids per query when reading items (within both backends' limits)


def _chunks(values: Sequence[object], size: int = CHUNK) -> Iterator[Sequence[object]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class ItemReadsMixin(StorageBase):
    def _items(self, conn: Connection, item_ids: Sequence[int]) -> list[Item]:
        # Rows in a fixed column order, unpacked by position: a digest reads thousands
        # of items, and named access per row and column cost more than the query.
        rows: dict[int, Sequence[object]] = {}
        tags: dict[int, list[FieldTag]] = {}
        for chunk in _chunks(list(item_ids), READ_CHUNK):
            for row in conn.execute(select(*ITEM_COLUMNS).where(i.c.id.in_(chunk))):
                rows[row[0]] = row
            found = conn.execute(
                select(fl.c.item_id, fl.c.field, fl.c.confidence, fl.c.origin, fl.c.basis)
                .where(fl.c.item_id.in_(chunk))
                .order_by(fl.c.item_id, fl.c.position)
            )
            for item_id, field, confidence, origin, basis in found:
                tags.setdefault(item_id, []).append(FieldTag(field, confidence, origin, basis))
        return [_item(rows[n], tags.get(n, ())) for n in item_ids if n in rows]

    def items(self, item_ids: Sequence[int]) -> list[Item]:
        """Items by id, in the order asked; unknown ids are left out."""
        with self._read() as conn:
            return self._items(conn, item_ids)

    def item(self, ref: str | int) -> Item:
        """An item by id, arXiv id (any form: URL, with version) or key."""
        with self._read() as conn:
            item_id = self._resolve(conn, ref)
            if item_id is None:
                raise NotFoundError(f"no stored item {ref!r}")
            return self._items(conn, [item_id])[0]

    def _resolve(self, conn: Connection, ref: str | int) -> int | None:
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            return conn.scalar(select(i.c.id).where(i.c.id == int(ref)))
        ref = ref.strip()
        parsed = ids.parse_arxiv_id(ref)
        if parsed:
            return conn.scalar(select(i.c.id).where(i.c.arxiv_id == parsed[0]))
        if ref.lower().startswith(("http://", "https://")):
            return self._by_url(conn, ref)
        return conn.scalar(select(i.c.id).where(i.c.key == ref))

    def _by_url(self, conn: Connection, url: str) -> int | None:
        """A post by its link, as typed or in the canonical forms links are stored in
        (with its #fragment first, then without)."""
        full = ids.canonical_url(url, keep_fragment=True)
        forms = sorted({url, full, ids.canonical_url(url)})
        rows = conn.execute(
            select(i.c.id, i.c.url).where(i.c.url.in_(forms)).order_by(i.c.id)
        ).all()
        found = [r.id for r in rows if r.url == full] or [r.id for r in rows]
        if len(found) > 1:  # the same link in two feeds: two posts
            numbers = ", ".join(str(n) for n in found[:10])
            raise UsageError(
                f"{len(found)} stored items have the link {url}: give the number of the "
                f"one you mean ({numbers})"
            )
        return found[0] if found else None

    def items_needing_metadata(self, limit: int) -> list[Item]:
        """Papers known only from a link (no abstract yet), oldest first."""
        with self._read() as conn:
            found = conn.scalars(
                select(i.c.id)
                .where(i.c.arxiv_id.is_not(None), i.c.quality <= LINK_ONLY)
                .order_by(i.c.id)
                .limit(limit)
            ).all()
            return self._items(conn, found)

    def give_up_metadata(self, arxiv_ids: Sequence[str]) -> None:
        """Stop trying to complete these papers: arXiv does not know them."""
        with self._write() as conn:
            conn.execute(
                update(i)
                .where(i.c.arxiv_id.in_(list(arxiv_ids)), i.c.quality <= LINK_ONLY)
                .values(quality=FEED_POST)
            )

    def post_keys_by_url(self, source_id: int, urls: Sequence[str]) -> dict[str, str]:
        """Keys of posts this source delivered before, by their (canonical) link."""
        found: dict[str, str] = {}
        with self._read() as conn:
            for chunk in _chunks(list(urls)):
                # arxiv_id is tested here, not in SQL: given "arxiv_id IS NULL", SQLite
                # walks every post of every feed through that column's index instead of
                # this source's sightings (a table scan per feed, quadratic in a cycle)
                rows = conn.execute(
                    select(i.c.url, i.c.key, i.c.arxiv_id)
                    .join(sg, sg.c.item_id == i.c.id)
                    .where(sg.c.source_id == source_id, i.c.url.in_(chunk))
                )
                for url, key, arxiv_id in rows:
                    if arxiv_id is None:
                        found.setdefault(url, key)
        return found

    def count_items(self) -> int:
        with self._read() as conn:
            return int(conn.scalar(select(func.count()).select_from(i)) or 0)

    def versions(self, item_id: int) -> list[tuple[int, dt.datetime | None, dt.datetime]]:
        """The versions of a paper seen so far: (version, its date, when first seen)."""
        with self._read() as conn:
            rows = conn.execute(
                select(ver.c.version, ver.c.updated_at, ver.c.seen_at)
                .where(ver.c.item_id == item_id)
                .order_by(ver.c.version)
            )
            return [(r.version, r.updated_at, r.seen_at) for r in rows]

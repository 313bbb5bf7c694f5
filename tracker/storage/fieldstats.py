"""What the field classifier reads from the database: labelled papers to train on,
how items are spread over fields, and a reader's interests.

- ``labelled_papers``: arXiv papers with categories and an abstract, newest first
  (their categories are free labels);
- ``primary_category_counts``: enough to decide, cheaply, whether the database alone
  can train a model;
- ``field_counts``: items per field and per origin (category, model, keyword);
- ``interest_items``: what a reader saved, and the papers of their recent digests'
  own sections (scholars and own fields), for cross-domain ranking.
"""

from __future__ import annotations

from sqlalchemy import func, select

from tracker.models import Entry, Item
from tracker.storage import schema
from tracker.storage.items import ItemsMixin
from tracker.storage.rows import _entry

i, fl, sv, di = schema.items, schema.item_fields, schema.saved, schema.digest_items
OWN_SECTIONS = ("scholars", "field")


class FieldStatsMixin(ItemsMixin):
    def labelled_papers(self, limit: int) -> list[Entry]:
        """Up to ``limit`` arXiv papers with categories and an abstract, newest first."""
        query = (
            select(i)
            .where(i.c.arxiv_id.is_not(None), i.c.categories != "", i.c.summary != "")
            .order_by(i.c.published_at.desc(), i.c.id.desc())
            .limit(limit)
        )
        with self._read() as conn:
            return [_entry(row) for row in conn.execute(query)]

    def primary_category_counts(self) -> dict[str, int]:
        """Papers with an abstract per primary category."""
        query = (
            select(i.c.primary_category, func.count())
            .where(
                i.c.arxiv_id.is_not(None),
                i.c.primary_category.is_not(None),
                i.c.summary != "",
            )
            .group_by(i.c.primary_category)
        )
        with self._read() as conn:
            return {str(code): int(n) for code, n in conn.execute(query)}

    def field_counts(self) -> dict[str, dict[str, int]]:
        """Items per field, split by the origin of the field (category, model, keyword)."""
        query = select(fl.c.field, fl.c.origin, func.count()).group_by(fl.c.field, fl.c.origin)
        counts: dict[str, dict[str, int]] = {}
        with self._read() as conn:
            for name, origin, n in conn.execute(query):
                counts.setdefault(str(name), {})[str(origin)] = int(n)
        return counts

    def interest_items(self, reader: str, limit: int) -> list[tuple[Item, bool]]:
        """The reader's saved items (True), newest first, then the items of the own
        sections of their latest digests (False), up to ``limit`` in all."""
        with self._read() as conn:
            saved = conn.scalars(
                select(sv.c.item_id)
                .where(sv.c.reader == reader)
                .order_by(sv.c.saved_at.desc(), sv.c.item_id)
                .limit(limit)
            ).all()
            followed = conn.scalars(
                select(di.c.item_id)
                .where(di.c.reader == reader, di.c.section_kind.in_(OWN_SECTIONS))
                .order_by(di.c.digest_id.desc(), di.c.position)
                .limit(limit)
            ).all()
            wanted = list(dict.fromkeys([*saved, *followed]))[:limit]
            items = {item.id: item for item in self._items(conn, wanted)}
        marked = set(saved)
        return [(items[n], n in marked) for n in wanted if n in items]

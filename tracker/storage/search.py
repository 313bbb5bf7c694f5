"""Full-text search over stored items, with filters (author, field, category, source,
date range, saved).

SQLite: FTS5 with bm25 (title weighted over authors over abstract). Work is bounded
for very common terms: candidates are read newest first and at most ``RANK_WINDOW``
of them are ranked, so a query matching half the database costs the same as one
matching ``RANK_WINDOW`` papers (for such queries the ranking favours recent papers,
which is what a reader of a tracker wants). Snippets are built only for the rows
shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from tracker.errors import SearchQueryError, StorageError
from tracker.models import NO_FILTERS, SearchFilters, SearchHit, SourceKind
from tracker.searchquery import SearchQuery, parse_search
from tracker.storage import schema
from tracker.storage.items import ItemsMixin

RANK_WINDOW = 5000
BM25 = "bm25(items_fts, 10.0, 4.0, 1.0)"  # title, authors, summary
_SNIPPET = "snippet(items_fts, 2, '«', '»', '…', 24)"


def _date_bound(value: Any, end: bool) -> str:
    return f"{value.isoformat()} {'23:59:59.999999' if end else '00:00:00.000000'}"


class SearchMixin(ItemsMixin):
    def search(
        self,
        text_query: str,
        filters: SearchFilters = NO_FILTERS,
        *,
        limit: int = 20,
        offset: int = 0,
        reader: str | None = None,
    ) -> list[SearchHit]:
        """Items matching the text (ranked) and the filters; text may be empty when a
        filter is given (then newest first)."""
        parsed = parse_search(text_query) if text_query.strip() else None
        if filters.author:
            name = filters.author.replace('"', " ").strip()
            author = parse_search(f'author:"{name}"') if name else None
            if author is None:
                raise SearchQueryError("the author filter has no name in it")
        else:
            author = None
        if (
            parsed is None
            and author is None
            and not any(
                (
                    filters.field,
                    filters.category,
                    filters.source,
                    filters.since,
                    filters.until,
                    filters.saved_by,
                )
            )
        ):
            raise SearchQueryError("give words to search for or at least one filter")
        if self.dialect != "sqlite":
            raise StorageError(f"search is not available on {self.dialect} yet")
        return self._search_sqlite(parsed, author, filters, limit, offset, reader)

    def _filters(self, filters: SearchFilters, id_col: str) -> tuple[list[str], dict[str, Any]]:
        where: list[str] = []
        params: dict[str, Any] = {}
        if filters.field:
            where.append(
                f"EXISTS (SELECT 1 FROM item_fields f WHERE f.item_id = {id_col} "
                "AND (f.field = :field OR f.field LIKE :field_prefix ESCAPE '\\'))"
            )
            params["field"] = filters.field
            params["field_prefix"] = _like_escape(filters.field) + " > %"
        if filters.category:
            # Not correlated: the category index is keyed by category first, so an EXISTS
            # per item would scan it once for every item (quadratic in the item count).
            where.append(
                f"{id_col} IN (SELECT c.item_id FROM item_categories c WHERE "
                "c.category = :category OR c.category LIKE :category_prefix ESCAPE '\\')"
            )
            params["category"] = filters.category
            params["category_prefix"] = _like_escape(filters.category) + ".%"
        if filters.source:
            kinds = [k.value for k in SourceKind]
            if filters.source in kinds:
                cond = "s.kind = :source"
                params["source"] = filters.source
            else:
                cond = "s.value LIKE :source ESCAPE '\\' OR s.title LIKE :source ESCAPE '\\'"
                params["source"] = f"%{_like_escape(filters.source)}%"
            where.append(
                "EXISTS (SELECT 1 FROM sightings g JOIN sources s ON s.id = g.source_id "
                f"WHERE g.item_id = {id_col} AND ({cond}))"
            )
        if filters.since:
            where.append("COALESCE(items.published_at, items.first_seen_at) >= :since")
            params["since"] = _date_bound(filters.since, end=False)
        if filters.until:
            where.append("COALESCE(items.published_at, items.first_seen_at) <= :until")
            params["until"] = _date_bound(filters.until, end=True)
        if filters.saved_by:
            where.append(
                f"EXISTS (SELECT 1 FROM saved v WHERE v.item_id = {id_col} "
                "AND v.reader = :saved_by)"
            )
            params["saved_by"] = filters.saved_by
        return where, params

    def _search_sqlite(
        self,
        parsed: SearchQuery | None,
        author: SearchQuery | None,
        filters: SearchFilters,
        limit: int,
        offset: int,
        reader: str | None,
    ) -> list[SearchHit]:
        match = " AND ".join(f"({q.fts5()})" for q in (parsed, author) if q is not None)
        with self._read() as conn:
            if match:
                where, params = self._filters(filters, "items_fts.rowid")
                conditions = " AND ".join(["items_fts MATCH :match", *where])
                sql = (
                    "SELECT id, score FROM ("
                    f"SELECT items_fts.rowid AS id, {BM25} AS score FROM items_fts "
                    "JOIN items ON items.id = items_fts.rowid "
                    f"WHERE {conditions} ORDER BY items_fts.rowid DESC LIMIT :window"
                    ") ORDER BY score, id DESC LIMIT :limit OFFSET :offset"
                )
                params.update(match=match, window=RANK_WINDOW, limit=limit, offset=offset)
            else:
                where, params = self._filters(filters, "items.id")
                sql = (
                    "SELECT id, 0.0 AS score FROM items "
                    f"WHERE {' AND '.join(where)} "
                    "ORDER BY COALESCE(published_at, first_seen_at) DESC, id DESC "
                    "LIMIT :limit OFFSET :offset"
                )
                params.update(limit=limit, offset=offset)
            try:
                ranked = conn.execute(text(sql), params).all()
            except Exception as e:  # an FTS5 syntax error would be our bug: say so
                raise SearchQueryError(f"the search could not run: {e}") from e
            item_ids = [r.id for r in ranked]
            snippets: dict[int, str] = {}
            if parsed is not None and item_ids:
                rows = conn.execute(
                    text(
                        f"SELECT rowid, {_SNIPPET} AS snip FROM items_fts "
                        f"WHERE items_fts MATCH :match AND rowid IN ({_in_list(item_ids)})"
                    ),
                    {"match": parsed.fts5()},
                )
                snippets = {r.rowid: r.snip for r in rows}
            saved: set[int] = set()
            if reader and item_ids:
                sv = schema.saved
                saved = set(
                    conn.scalars(
                        sv.select()
                        .with_only_columns(sv.c.item_id)
                        .where(sv.c.reader == reader, sv.c.item_id.in_(item_ids))
                    )
                )
            items = {item.id: item for item in self._items(conn, item_ids)}
        return [
            SearchHit(items[r.id], float(-r.score), snippets.get(r.id, ""), r.id in saved)
            for r in ranked
            if r.id in items
        ]


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _in_list(values: Sequence[int]) -> str:
    return ", ".join(str(int(v)) for v in values)

"""Full-text search over stored items, with filters (author, field, category, source,
date range, saved).

SQLite: FTS5. Ranking is bounded so that a query matching half the database costs
about what a rare one does:

- up to ``EXACT_LIMIT`` matches: bm25 over all of them (title weighted over authors
  over abstract);
- more matches than that (common words, short prefixes): papers whose title matches,
  newest first, then the other matches, newest first. Computing bm25 for every match
  is what makes common terms slow (reader spends ~30 µs per match); for a reader of a
  tracker "the newest papers about X, title matches first" is the useful order anyway.

Filters are uncorrelated ``IN (...)`` sets so that the full-text match stays the outer
loop. Snippets are made in Python for the rows shown (``tracker.highlight``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from tracker.errors import SearchQueryError, StorageError
from tracker.models import NO_FILTERS, SearchFilters, SearchHit, SourceKind
from tracker.highlight import snippet
from tracker.searchquery import SearchQuery, parse_search
from tracker.storage import schema
from tracker.storage.items import ItemsMixin

EXACT_LIMIT = 300  # at most this many matches are ranked by bm25
BM25 = "bm25(items_fts, 10.0, 4.0, 1.0)"  # title, authors, summary


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
        # Every filter is an uncorrelated IN (...): SQLite builds each set once, and the
        # full-text match stays the outer loop (a correlated EXISTS, or letting the
        # planner start from a filter, re-runs the MATCH once per row).
        if filters.field:
            where.append(
                f"{id_col} IN (SELECT f.item_id FROM item_fields f "
                "WHERE f.field = :field OR f.field LIKE :field_prefix ESCAPE '\\')"
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
                f"{id_col} IN (SELECT g.item_id FROM sightings g "
                f"JOIN sources s ON s.id = g.source_id WHERE {cond})"
            )
        if filters.since:
            where.append("COALESCE(items.published_at, items.first_seen_at) >= :since")
            params["since"] = _date_bound(filters.since, end=False)
        if filters.until:
            where.append("COALESCE(items.published_at, items.first_seen_at) <= :until")
            params["until"] = _date_bound(filters.until, end=True)
        if filters.saved_by:
            where.append(
                f"{id_col} IN (SELECT v.item_id FROM saved v WHERE v.reader = :saved_by)"
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
            try:
                if match:
                    ranked = self._ranked(conn, match, parsed, filters, limit, offset)
                else:
                    where, params = self._filters(filters, "items.id")
                    ranked = [
                        (r.id, 0.0)
                        for r in conn.execute(
                            text(
                                f"SELECT id FROM items WHERE {' AND '.join(where)} "
                                "ORDER BY COALESCE(published_at, first_seen_at) DESC, id DESC "
                                "LIMIT :limit OFFSET :offset"
                            ),
                            {**params, "limit": limit, "offset": offset},
                        )
                    ]
            except SQLAlchemyError as e:  # an FTS5 syntax error would be our bug: say so
                raise SearchQueryError(f"the search could not run: {e}") from e
            item_ids = [item_id for item_id, _ in ranked]
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
        words = parsed.words() if parsed is not None else ()
        return [
            SearchHit(items[i], score, snippet(items[i].summary, words) if words else "",
                      i in saved)
            for i, score in ranked
            if i in items
        ]

    def _ranked(
        self,
        conn: Connection,
        match: str,
        parsed: SearchQuery | None,
        filters: SearchFilters,
        limit: int,
        offset: int,
    ) -> list[tuple[int, float]]:
        """(item id, score) of one page of results, best first."""
        # Filters name items.id, never items_fts.rowid: a rowid constraint would be handed
        # to FTS5, which would then run the MATCH once per listed id.
        where, params = self._filters(filters, "items.id")
        body = (
            "FROM items_fts CROSS JOIN items ON items.id = items_fts.rowid WHERE "
            + " AND ".join(["items_fts MATCH :match", *where])
        )
        params["match"] = match

        def newest(extra_match: str | None, count: int) -> list[int]:
            args = dict(params, n=count)
            if extra_match:
                args["match"] = extra_match
            rows = conn.execute(
                text(f"SELECT items_fts.rowid AS id {body} ORDER BY items_fts.rowid DESC "
                     "LIMIT :n"),
                args,
            )
            return [r.id for r in rows]

        probe = newest(None, EXACT_LIMIT + 1)
        if len(probe) <= EXACT_LIMIT:
            rows = conn.execute(
                text(f"SELECT items_fts.rowid AS id, {BM25} AS score {body} "
                     "ORDER BY score, id DESC LIMIT :limit OFFSET :offset"),
                dict(params, limit=limit, offset=offset),
            )
            return [(r.id, -float(r.score)) for r in rows]
        wanted = offset + limit
        title_first: list[int] = []
        if parsed is not None:
            title_first = newest(f"({{title}} : ({parsed.fts5()})) AND ({match})", wanted)
        order = title_first + [
            i for i in (probe if len(probe) >= wanted + len(title_first) else
                        newest(None, wanted + len(title_first)))
            if i not in set(title_first)
        ]
        top = set(title_first)
        return [(i, 2.0 if i in top else 1.0) for i in order[offset:wanted]]


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _in_list(values: Sequence[int]) -> str:
    return ", ".join(str(int(v)) for v in values)

"""Full-text search over stored items, with filters (author, field, category, source,
date range, saved).

SQLite: FTS5 over title, authors and abstract, plus a ``tags`` column holding each
item's category and field tokens (``storage/tags.py``), so that the common filters
are index intersections inside FTS5. Work is bounded for every query:

- when every word of the query is rarer than ``COMMON_TERM`` rows and the query has
  at most ``EXACT_LIMIT`` matches, they are ranked by bm25 (title over authors over
  abstract);
- otherwise (common words, short prefixes, broad queries) the newest ``BROAD_WINDOW``
  matches are listed title matches first, then the others, each most recently added
  first, and older matches follow newest first. bm25 is what makes
  common words slow: it scans every row of every word to weigh it (reader spends about
  30 µs per match); "the newest papers on X, title matches first" is what a reader of a
  tracker wants from a broad query anyway.

Other filters are uncorrelated ``IN (...)`` sets on ``items`` joined with CROSS JOIN,
so the full-text match stays the outer loop. Snippets are made in Python for the rows
shown (``tracker.storage.snippets``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from tracker.errors import SearchQueryError, StorageError
from tracker.models import NO_FILTERS, SearchFilters, SearchHit, SourceKind
from tracker.storage import schema
from tracker.storage.base import reason
from tracker.storage.items import ItemsMixin
from tracker.storage.search_pg import TSQUERY, in_columns, rank_postgresql, tsquery_text
from tracker.storage.search_syntax import SearchQuery, parse_search
from tracker.storage.snippets import snippet
from tracker.storage.tags import (
    MAX_MONTHS,
    archive_token,
    category_token,
    field_token,
    group_token,
    month_token,
    months,
)

COMMON_TERM = 5000  # a word in more rows than this is not weighed by bm25
EXACT_LIMIT = 300  # at most this many matches are ranked by bm25
BROAD_WINDOW = 200  # broader queries order the newest this many matches
DATED_SCAN = 25_000  # a date filter leaving at most this many items bounds the id range
BM25 = "bm25(items_fts, 10.0, 4.0, 1.0, 0.0)"  # title, authors, summary, tags
TEXT_COLUMNS = "{title authors summary}"


def _date_bound(value: dt.date, end: bool, dialect: str) -> str | dt.datetime:
    """The first or last instant of a day (UTC), as the backend compares stored times."""
    moment = dt.datetime.combine(value, dt.time.max if end else dt.time.min, tzinfo=dt.UTC)
    if dialect == "sqlite":  # UTCDateTime stores SQLite times as sortable text
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment


def _within(
    where: list[str], params: dict[str, Any], ids: tuple[int, int] | tuple[()] | None
) -> tuple[list[str], dict[str, Any]]:
    """The filters' conditions, and the id range of a narrow date filter when known."""
    if not ids:
        return where, params
    return [*where, "items_fts.rowid BETWEEN :dated_low AND :dated_high"], dict(
        params, dated_low=ids[0], dated_high=ids[1]
    )


def _in_text(expression: str, words: Iterable[str]) -> str:
    """``expression`` confined to the text columns, unless none of ``words`` can be a
    filter token: those all start with "zz" (``storage/tags.py``), and a column filter
    makes FTS5 read every position of every match to check its column (twice the cost
    of a common word's walk)."""
    if all(word.isascii() and not word.startswith("zz") for word in words):
        return f"({expression})"
    return f"{TEXT_COLUMNS} : ({expression})"


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _recent_half(filters: SearchFilters, stored: tuple[dt.date, dt.date] | None) -> bool:
    """Whether a date filter keeps the newest stored month and more than half of them
    (``--since`` a while ago): the newest matches, walked first, are then nearly all in
    the range, and checking their dates row by row is cheaper than narrowing the walk
    (an OR of every month's token in FTS5, the range's ids counted on the date index)."""
    if not stored or not (filters.since or filters.until):
        return False
    if filters.until is not None and filters.until < stored[1]:
        return False
    kept = len(list(months(max(filters.since or stored[0], stored[0]), stored[1])))
    return 2 * kept > len(list(months(*stored)))


def _tag_match(filters: SearchFilters, stored: tuple[dt.date, dt.date] | None) -> str | None:
    """The FTS5 expression for the category, field and date filters, if any; ``stored``
    is the span of dates in the database (None when empty)."""
    parts = []
    if filters.category:
        parts.append(
            f'({{tags}} : "{category_token(filters.category)}" OR '
            f'{{tags}} : "{archive_token(filters.category)}")'
        )
    if filters.field:
        parts.append(
            f'({{tags}} : "{field_token(filters.field)}" OR '
            f'{{tags}} : "{group_token(filters.field)}")'
        )
    if (filters.since or filters.until) and stored:
        # Whole months in FTS5 (only those the database has); exact days are checked in SQL.
        first = max(filters.since or stored[0], stored[0])
        last = min(filters.until or stored[1], stored[1])
        span = list(months(first, last))
        if not span:
            parts.append('{tags} : "zznothing"')  # no stored item can match
        elif len(span) <= MAX_MONTHS:
            parts.append("{tags} : (" + " OR ".join(f'"{month_token(m)}"' for m in span) + ")")
    return " AND ".join(parts) or None


def _sql_filters(
    filters: SearchFilters, with_tags: bool, dialect: str = "sqlite"
) -> tuple[list[str], dict[str, Any]]:
    """Conditions on ``items`` for the filters FTS5 does not handle (all of them when
    ``with_tags`` is False)."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if with_tags and filters.category:
        where.append(
            "items.id IN (SELECT c.item_id FROM item_categories c WHERE "
            "c.category = :category OR c.category LIKE :category_prefix ESCAPE '\\')"
        )
        params["category"] = filters.category
        params["category_prefix"] = _like_escape(filters.category) + ".%"
    if with_tags and filters.field:
        where.append(
            "items.id IN (SELECT f.item_id FROM item_fields f "
            "WHERE f.field = :field OR f.field LIKE :field_prefix ESCAPE '\\')"
        )
        params["field"] = filters.field
        params["field_prefix"] = _like_escape(filters.field) + " > %"
    if filters.source:
        if filters.source in {k.value for k in SourceKind}:
            cond = "s.kind = :source"
            params["source"] = filters.source
        else:
            cond = "s.value LIKE :source ESCAPE '\\' OR s.title LIKE :source ESCAPE '\\'"
            params["source"] = f"%{_like_escape(filters.source)}%"
        where.append(
            "items.id IN (SELECT g.item_id FROM sightings g "
            f"JOIN sources s ON s.id = g.source_id WHERE {cond})"
        )
    if filters.since:
        where.append("COALESCE(items.published_at, items.first_seen_at) >= :since")
        params["since"] = _date_bound(filters.since, False, dialect)
    if filters.until:
        where.append("COALESCE(items.published_at, items.first_seen_at) <= :until")
        params["until"] = _date_bound(filters.until, True, dialect)
    if filters.saved_by:
        where.append("items.id IN (SELECT v.item_id FROM saved v WHERE v.reader = :saved_by)")
        params["saved_by"] = filters.saved_by
    if filters.has_code:
        where.append("items.has_code = :has_code")
        params["has_code"] = True
    return where, params


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
        """Items matching the text (ranked) and the filters; the text may be empty when
        a filter is given (then most recently published first)."""
        parsed, author = self._parse(text_query, filters)
        with self._read() as conn:
            try:
                if self.dialect == "sqlite":
                    ranked = self._rank_sqlite(conn, parsed, author, filters, limit, offset)
                else:
                    ranked = self._rank_other(conn, parsed, author, filters, limit, offset)
            except SQLAlchemyError as e:  # a query syntax error would be our bug: say so
                raise StorageError(f"the search could not run: {reason(e)}") from e
            item_ids = [item_id for item_id, _ in ranked]
            saved = self._saved_among(conn, reader, item_ids)
            items = {item.id: item for item in self._items(conn, item_ids)}
        words = parsed.highlights() if parsed is not None else ()
        return [
            SearchHit(
                items[i], score, snippet(items[i].summary, words) if words else "", i in saved
            )
            for i, score in ranked
            if i in items
        ]

    def search_count(
        self, text_query: str, filters: SearchFilters = NO_FILTERS, *, cap: int = 1000
    ) -> int:
        """How many items a search finds, counted up to ``cap`` + 1 only (a count above
        ``cap`` means "more than cap"), so the count costs no more than a page of a
        broad search."""
        parsed, author = self._parse(text_query, filters)
        with self._read() as conn:
            if self.dialect == "sqlite":
                words = [_in_text(parsed.fts5(), parsed.every_word())] if parsed else []
                words += [f"({author.fts5()})"] if author else []
                span = self._date_span(conn) if filters.since or filters.until else None
                walked = bool(words) and _recent_half(filters, span)
                tags = _tag_match(filters, None if walked else span)
                if words or tags:
                    where, params = _sql_filters(filters, with_tags=False)
                    match = " AND ".join([*words, *([tags] if tags else [])])
                    inner = (
                        "SELECT items_fts.rowid FROM items_fts CROSS JOIN items "
                        "ON items.id = items_fts.rowid WHERE "
                        + " AND ".join(["items_fts MATCH :match", *where])
                    )
                    params = dict(params, match=match)
                else:
                    where, params = _sql_filters(filters, with_tags=True)
                    inner = f"SELECT id FROM items WHERE {' AND '.join(where)}"
            else:
                where, params = _sql_filters(filters, with_tags=True, dialect=self.dialect)
                if parsed or author:
                    columns, column_params = in_columns(parsed, author)
                    where = ["items.search @@ " + TSQUERY, *columns, *where]
                    params = dict(params, q=tsquery_text(parsed, author), **column_params)
                inner = f"SELECT id FROM items WHERE {' AND '.join(where)}"
            try:
                return int(
                    conn.execute(
                        text(f"SELECT count(*) FROM ({inner} LIMIT :cap) AS found"),
                        dict(params, cap=cap + 1),
                    ).scalar_one()
                )
            except SQLAlchemyError as e:
                raise SearchQueryError(f"the search could not run: {e}") from e

    def _parse(
        self, text_query: str, filters: SearchFilters
    ) -> tuple[SearchQuery | None, SearchQuery | None]:
        """The text and the author filter as queries; an error when there is nothing."""
        for name, value in (
            ("author", filters.author),
            ("field", filters.field),
            ("category", filters.category),
            ("source", filters.source),
        ):
            if value is not None and not value.strip():
                raise SearchQueryError(f"the {name} filter is empty: give a value or none")
        parsed = parse_search(text_query) if text_query.strip() else None
        author = None
        if filters.author:
            name = filters.author.replace('"', " ").strip()
            if not name:
                raise SearchQueryError("the author filter has no name in it")
            author = parse_search(f'author:"{name}"')
        if parsed is None and author is None and filters == NO_FILTERS:
            raise SearchQueryError("give words to search for or at least one filter")
        return parsed, author

    def _saved_among(self, conn: Connection, reader: str | None, ids: list[int]) -> set[int]:
        if not reader or not ids:
            return set()
        sv = schema.saved
        return set(
            conn.scalars(
                sv.select()
                .with_only_columns(sv.c.item_id)
                .where(sv.c.reader == reader, sv.c.item_id.in_(ids))
            )
        )

    def _rank_sqlite(
        self,
        conn: Connection,
        parsed: SearchQuery | None,
        author: SearchQuery | None,
        filters: SearchFilters,
        limit: int,
        offset: int,
    ) -> list[tuple[int, float]]:
        """(item id, score) of one page of results, best first."""
        words = [_in_text(parsed.fts5(), parsed.every_word())] if parsed else []
        words += [f"({author.fts5()})"] if author else []
        stored = self._date_span(conn) if filters.since or filters.until else None
        walked = bool(words) and _recent_half(filters, stored)
        tags = _tag_match(filters, None if walked else stored)
        if not words and not tags:  # only filters FTS5 cannot help with
            return self._filtered(conn, filters, limit, offset)
        ids = None if walked else self._dated_ids(conn, filters)
        if ids == ():
            return []  # nothing is dated in the range

        def newest(
            match: str, where: list[str], params: dict[str, Any], n: int, order: str = "DESC"
        ) -> list[int]:
            conditions = " AND ".join(["items_fts MATCH :match", *where])
            rows = conn.execute(
                text(
                    "SELECT items_fts.rowid AS id FROM items_fts CROSS JOIN items "
                    f"ON items.id = items_fts.rowid WHERE {conditions} "
                    f"ORDER BY items_fts.rowid {order} LIMIT :n"
                ),
                dict(params, match=match, n=n),
            )
            return [r.id for r in rows]

        if words and not self._has_common_term(conn, parsed, author):
            # Ranked by bm25, filters in SQL (a filter token would be weighed too).
            match = " AND ".join(words)
            where, params = _within(*_sql_filters(filters, with_tags=True), ids)
            if len(newest(match, where, params, EXACT_LIMIT + 1)) <= EXACT_LIMIT:
                conditions = " AND ".join(["items_fts MATCH :match", *where])
                rows = conn.execute(
                    text(
                        f"SELECT items_fts.rowid AS id, {BM25} AS score FROM items_fts "
                        f"CROSS JOIN items ON items.id = items_fts.rowid WHERE {conditions} "
                        "ORDER BY score, id DESC LIMIT :limit OFFSET :offset"
                    ),
                    dict(params, match=match, limit=limit, offset=offset),
                )
                return [(r.id, -float(r.score)) for r in rows]
        # Broad: among the newest BROAD_WINDOW matches, title matches first, then the
        # rest; most recently added first. The window bounds the title search too: a
        # title phrase that is rare among common words would otherwise scan them all.
        match = " AND ".join([*words, *([tags] if tags else [])])
        where, params = _within(*_sql_filters(filters, with_tags=False), ids)
        wanted = offset + limit
        recent = newest(match, where, params, max(wanted, BROAD_WINDOW))
        window, older = recent[:BROAD_WINDOW], recent[BROAD_WINDOW:]
        first: list[int] = []
        if parsed is not None and window:
            title = f"{{title}} : ({parsed.fts5()})"
            if parsed.excludes() or author or tags:
                # A title match is a match of the whole query only without exclusions
                # (the excluded word may be in the abstract) and other conditions.
                title = f"({title}) AND {match}"
            # Every title match from the window's oldest id up is in the window (a title
            # match is a match), so there are at most BROAD_WINDOW of them: read oldest
            # first, which FTS5 does without stepping through every row of a column
            # filter's common words (0.7 ms against 28 ms for three words in a title).
            floor = window[-1] if len(window) == BROAD_WINDOW else 0
            first = newest(
                title,
                [*where, "items_fts.rowid >= :floor"],
                dict(params, floor=floor),
                BROAD_WINDOW,
                order="ASC",
            )[::-1][: min(wanted, BROAD_WINDOW)]
        seen = set(first)
        order = [(i, 2.0) for i in first] + [(i, 1.0) for i in window + older if i not in seen]
        return order[offset:wanted]

    def _filtered(
        self, conn: Connection, filters: SearchFilters, limit: int, offset: int
    ) -> list[tuple[int, float]]:
        """Items matching filters only, most recently published first."""
        where, params = _sql_filters(filters, with_tags=True, dialect=self.dialect)
        rows = conn.execute(
            text(
                f"SELECT id FROM items WHERE {' AND '.join(where)} "
                "ORDER BY COALESCE(published_at, first_seen_at) DESC, id DESC "
                "LIMIT :limit OFFSET :offset"
            ),
            dict(params, limit=limit, offset=offset),
        )
        return [(r.id, 0.0) for r in rows]

    def _rank_other(
        self,
        conn: Connection,
        parsed: SearchQuery | None,
        author: SearchQuery | None,
        filters: SearchFilters,
        limit: int,
        offset: int,
    ) -> list[tuple[int, float]]:
        """PostgreSQL: the tsvector index for words, SQL conditions for every filter."""
        if parsed is None and author is None:
            return self._filtered(conn, filters, limit, offset)
        where, params = _sql_filters(filters, with_tags=True, dialect=self.dialect)
        dated = SearchFilters(since=filters.since, until=filters.until)
        dated_where = _sql_filters(dated, with_tags=True, dialect=self.dialect)[0]
        return rank_postgresql(
            conn,
            parsed,
            author,
            where,
            params,
            limit,
            offset,
            exact_limit=EXACT_LIMIT,
            broad_window=BROAD_WINDOW,
            common=COMMON_TERM,
            dated=dated_where,
        )

    def _dated_ids(
        self, conn: Connection, filters: SearchFilters
    ) -> tuple[int, int] | tuple[()] | None:
        """The first and last id of the items a narrow date filter leaves (at most
        DATED_SCAN of them, counted on ``ix_items_dated``), () when it leaves none, and
        None when there is no date filter or it leaves more: the text match then walks
        that id range only, instead of every newer item."""
        if not (filters.since or filters.until):
            return None
        where, params = _sql_filters(
            SearchFilters(since=filters.since, until=filters.until), with_tags=False
        )
        row = conn.execute(
            text(
                "SELECT count(*) AS n, min(id) AS low, max(id) AS high FROM (SELECT id "
                f"FROM items WHERE {' AND '.join(where)} LIMIT :cap)"
            ),
            dict(params, cap=DATED_SCAN + 1),
        ).one()
        if row.n > DATED_SCAN:
            return None
        return (row.low, row.high) if row.n else ()

    def _date_span(self, conn: Connection) -> tuple[dt.date, dt.date] | None:
        """The first and last day an item is dated by (published, else first seen),
        from indexes only."""
        row = conn.execute(
            text(
                "SELECT (SELECT min(published_at) FROM items), (SELECT max(published_at) "
                "FROM items), (SELECT first_seen_at FROM items ORDER BY id LIMIT 1), "
                "(SELECT first_seen_at FROM items ORDER BY id DESC LIMIT 1)"
            )
        ).one()
        days = [dt.date.fromisoformat(str(v)[:10]) for v in row if v is not None]
        return (min(days), max(days)) if days else None

    def _has_common_term(self, conn: Connection, *queries: SearchQuery | None) -> bool:
        """Whether any word of the queries is in more than COMMON_TERM rows (counted up
        to that bound only, so the check itself stays cheap)."""
        for q in queries:
            for term in q.term_queries() if q else ():
                count = conn.execute(
                    text(
                        "SELECT count(*) FROM (SELECT rowid FROM items_fts "
                        "WHERE items_fts MATCH :term LIMIT :cap)"
                    ),
                    {"term": _in_text(term, [term.strip('"*')]), "cap": COMMON_TERM + 1},
                ).scalar_one()
                if count > COMMON_TERM:
                    return True
        return False

"""Full-text ranking on PostgreSQL: the weighted ``items.search`` tsvector (migration
0003) with its GIN index, matched by ``to_tsquery``.

The query text is our own search language compiled by ``SearchQuery.tsquery`` rather
than ``websearch_to_tsquery``: the same syntax then means the same thing on both
backends (prefixes, ``title:``/``author:`` restrictions, grouping), and every word
reaches PostgreSQL quoted, so user text is never read as tsquery syntax.

Work is bounded the way the SQLite path bounds it (``storage/search.py``): up to
``EXACT_LIMIT`` matches are ranked by ``ts_rank`` with title over authors over abstract;
broader queries list the newest ``BROAD_WINDOW`` matches, title matches first, because
ranking means reading every matching row's vector.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from tracker.searchquery import SearchQuery

# ts_rank weights in the order D, C, B, A: abstract 1, authors 4, title 10 (bm25's on SQLite)
WEIGHTS = "'{0.0, 0.1, 0.4, 1.0}'"
CONFIG = "tracker_text"  # English stemming, no stop words, accents folded (migration 0003)
TSQUERY = f"to_tsquery('{CONFIG}', :q)"


def _tsquery(parsed: SearchQuery | None, author: SearchQuery | None) -> str:
    parts = [q.tsquery() for q in (parsed, author) if q is not None]
    return " & ".join(f"({p})" for p in parts)


def rank_postgresql(
    conn: Connection,
    parsed: SearchQuery | None,
    author: SearchQuery | None,
    where: list[str],
    params: dict[str, Any],
    limit: int,
    offset: int,
    *,
    exact_limit: int,
    broad_window: int,
) -> list[tuple[int, float]]:
    """(item id, score) of one page of matches, best first; ``where`` and ``params`` hold
    the filters as conditions on ``items``."""
    match = ["items.search @@ " + TSQUERY, *where]
    params = dict(params, q=_tsquery(parsed, author))

    def newest(conditions: list[str], extra: dict[str, Any], n: int) -> list[int]:
        rows = conn.execute(
            text(
                f"SELECT id FROM items WHERE {' AND '.join(conditions)} ORDER BY id DESC LIMIT :n"
            ),
            dict(params, **extra, n=n),
        )
        return [r.id for r in rows]

    wanted = offset + limit
    # One pass over the index gives the count that picks the strategy and the window.
    recent = newest(match, {}, max(exact_limit + 1, wanted, broad_window))
    if len(recent) <= exact_limit:
        rows = conn.execute(
            text(
                f"SELECT id, ts_rank({WEIGHTS}, items.search, {TSQUERY}) AS score FROM items "
                "WHERE id = ANY(:ids) ORDER BY score DESC, id DESC LIMIT :limit OFFSET :offset"
            ),
            dict(params, ids=recent, limit=limit, offset=offset),
        )
        return [(r.id, float(r.score)) for r in rows]
    window, older = recent[:broad_window], recent[broad_window:wanted]
    first: list[int] = []
    if parsed is not None and window:
        floor = window[-1] if len(window) == broad_window else 0
        title = [*match, f"items.search @@ to_tsquery('{CONFIG}', :title)", "items.id >= :floor"]
        first = newest(
            title, {"title": parsed.tsquery("title"), "floor": floor}, min(wanted, broad_window)
        )
    seen = set(first)
    order = [(i, 2.0) for i in first] + [(i, 1.0) for i in window + older if i not in seen]
    return order[offset:wanted]

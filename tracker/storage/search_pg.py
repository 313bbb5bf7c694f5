"""Full-text ranking on PostgreSQL: the weighted ``items.search`` tsvector (migration
0003) with its GIN index, matched by ``to_tsquery``.

The query text is our own search language compiled by ``SearchQuery.tsquery`` rather
than ``websearch_to_tsquery``: the same syntax then means the same thing on both
backends (prefixes, ``title:``/``author:`` restrictions, grouping), and every word
reaches PostgreSQL quoted, so user text is never read as tsquery syntax.

Work is bounded the way the SQLite path bounds it (``storage/search.py``): up to
``EXACT_LIMIT`` matches are ranked by ``ts_rank`` with title over authors over abstract;
broader queries list the newest ``BROAD_WINDOW`` matches, title matches first, because
ranking means reading every matching row's vector. How the matches are found is
decided here, not by the planner (see ``rank_postgresql``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, text

from tracker.storage.search_syntax import SearchQuery

# ts_rank weights in the order D, C, B, A: abstract 1, authors 4, title 10 (bm25's on SQLite)
WEIGHTS = "'{0.0, 0.1, 0.4, 1.0}'"
CONFIG = "tracker_text"  # English stemming, no stop words, accents folded (migration 0003)
TSQUERY = f"to_tsquery('{CONFIG}', :q)"
ABSENT = "'zqxjvkwpfy'"  # a word no statistics know: the planner's guess for rare words
DATED_SCAN = 50_000  # a date range the planner expects to hold fewer items is read whole
AT_ONCE = 2_000  # matches expected below a band that are read at once, not in bands
WALKED = 5_000  # rows a walk over a date range's ids may expect to check
COLUMN_WEIGHTS = {"title": "a", "authors": "b"}  # columns with an index of their own


def _estimate(conn: Connection, conditions: str, params: dict[str, Any]) -> float:
    """The planner's estimate of how many items match."""
    plan = conn.execute(
        text(f"EXPLAIN (FORMAT JSON) SELECT id FROM items WHERE {conditions}"), params
    ).scalar_one()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])


def _newest_in_bands(
    conn: Connection, conditions: str, params: dict[str, Any], need: int, estimate: float
) -> list[int]:
    """Matching ids, newest first, until ``need`` are found (or all there are). The id
    range is read in bands from the newest id down, each through the GIN index and the
    id range together (a bitmap AND), so the rows fetched are about the rows wanted,
    however common the words. Each band is as wide as the matches seen so far say the
    rest needs (a quarter more), between the last band's width and four times it: a
    phrase or a column restriction is checked row by row, and a band four times too
    wide would check four times the rows."""
    top = conn.scalar(text("SELECT max(id) FROM items")) or 0
    # The first band is a probe, a quarter of what the estimate says holds ``need``
    # (the estimate of a word below the planner's statistics is a guess); its matches
    # size the next band, or show that the few left are better read at once.
    width = max(2000, int(need * top / max(estimate, 1.0) / 2))
    found: list[int] = []
    high = top
    with _plan(conn, seqscan=False, indexscan=False):
        while high > 0 and len(found) < need:
            low = max(high - width, 0)
            rows = conn.execute(
                text(f"SELECT id FROM items WHERE {conditions} AND id > :low AND id <= :high"),
                dict(params, low=low, high=high),
            )
            found += sorted((r.id for r in rows), reverse=True)
            density = len(found) / max(top - low, 1)
            if low > 0 and len(found) < need and density * low <= AT_ONCE:
                # Few matches left below: all of them through the GIN index at once
                # (a band's id range read from the primary key would cost more: 0.5 ms
                # against 20-100 ms for a word in 500 papers of a million).
                rows = conn.execute(
                    text(f"SELECT id FROM items WHERE {conditions} ORDER BY id DESC LIMIT :n"),
                    dict(params, n=need),
                )
                return [r.id for r in rows]
            wanted = int(1.25 * (need - len(found)) / density) if density else 4 * width
            high, width = low, min(max(wanted, width), 4 * width)
    return found


def _newest_dated(
    conn: Connection,
    conditions: str,
    dated: Sequence[str],
    params: dict[str, Any],
    need: int,
    span: float,
    estimate: float,
) -> list[int]:
    """Up to ``need`` matches among the few items of a date range (``span`` of them
    expected, ``estimate`` matching), newest ids first. Where the words are common
    in the range, its ids are walked from the newest down, each row checked, until
    ``need`` are found (a few rows per match); else the index on the date and the
    text index together (a bitmap AND: a common word's index entries are read whole,
    a hundred milliseconds at a million papers)."""
    bounds = None
    if need * span / max(estimate, 1.0) <= WALKED:
        bounds = conn.execute(  # from the index on the date (a LIMIT keeps it there)
            text(
                "SELECT count(*), min(id), max(id) FROM (SELECT id FROM items WHERE "
                f"{' AND '.join(dated)} LIMIT :dated_cap) AS dated"
            ),
            dict(params, dated_cap=4 * DATED_SCAN + 1),
        ).one()
        if bounds[0] == 0:
            return []
    if bounds is not None and bounds[0] <= 4 * DATED_SCAN:  # else the estimate was wrong
        low, high = bounds[1], bounds[2]
        switches = {"seqscan": False, "bitmapscan": False}
        conditions += " AND id BETWEEN :dated_low AND :dated_high"
        params = dict(params, dated_low=low, dated_high=high)
    else:
        switches = {"seqscan": False, "indexscan": False}
    with _plan(conn, **switches):
        rows = conn.execute(
            text(f"SELECT id FROM items WHERE {conditions} ORDER BY id DESC LIMIT :n"),
            dict(params, n=need),
        )
        return [r.id for r in rows]


def _ranked(
    conn: Connection, ids: list[int], params: dict[str, Any], limit: int, offset: int
) -> list[tuple[int, float]]:
    """One page of ``ids`` (all the matches) ranked by ts_rank, title over authors over
    abstract."""
    rows = conn.execute(
        text(
            f"SELECT id, ts_rank({WEIGHTS}, items.search, {TSQUERY}) AS score "
            "FROM items WHERE id = ANY(:ids) ORDER BY score DESC, id DESC "
            "LIMIT :limit OFFSET :offset"
        ),
        dict(params, ids=ids, limit=limit, offset=offset),
    )
    return [(r.id, float(r.score)) for r in rows]


def in_columns(
    parsed: SearchQuery | None, author: SearchQuery | None
) -> tuple[list[str], dict[str, Any]]:
    """Conditions that find, through the title's or the authors' own index (migration
    searchtail_1), the rows a ``title:`` or ``author:`` restriction can match; implied
    by the query itself, so they change nothing but how the rows are found."""
    where: list[str] = []
    params: dict[str, Any] = {}
    for q in (parsed, author):
        for column, query in q.in_columns() if q else ():
            if column in COLUMN_WEIGHTS:
                name = f"in_column_{len(where)}"
                where.append(
                    f"ts_filter(items.search, '{{{COLUMN_WEIGHTS[column]}}}') "
                    f"@@ to_tsquery('{CONFIG}', :{name})"
                )
                params[name] = query
    return where, params


def _excluding(
    conn: Connection, parsed: SearchQuery | None, author: SearchQuery | None, few: float
) -> tuple[list[str], dict[str, Any]]:
    """The text condition rows are found by: the whole query through the GIN index; or,
    when it excludes words and what it wants is in at most ``few`` rows, what it wants
    through the index and each excluded word checked on those rows only. (GIN reads an
    excluded word's entries whole, a million for a word in every paper, to answer a
    rare word without it.)"""
    split = parsed.excluded_apart() if parsed is not None else None
    if split is not None:
        wanted, unwanted = split
        params: dict[str, Any] = {"wanted": tsquery_text(wanted, author)}
        condition = f"items.search @@ to_tsquery('{CONFIG}', :wanted)"
        if _estimate(conn, condition, params) <= few:
            where = [condition]
            for n, q in enumerate(unwanted):
                where.append(f"NOT (items.search @@ to_tsquery('{CONFIG}', :unwanted_{n}))")
                params[f"unwanted_{n}"] = q.tsquery()
            return where, params
    return ["items.search @@ " + TSQUERY], {}


def tsquery_text(parsed: SearchQuery | None, author: SearchQuery | None) -> str:
    parts = [q.tsquery() for q in (parsed, author) if q is not None]
    return " & ".join(f"({p})" for p in parts)


@contextmanager
def _plan(conn: Connection, **switches: bool) -> Iterator[None]:
    """Planner switches for the statements inside (and only those: SET LOCAL, reset)."""
    for name, on in switches.items():
        conn.exec_driver_sql(f"SET LOCAL enable_{name} = {'on' if on else 'off'}")
    try:
        yield
    finally:
        for name in switches:
            conn.exec_driver_sql(f"SET LOCAL enable_{name} TO DEFAULT")


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
    common: int,
    dated: Sequence[str] = (),
) -> list[tuple[int, float]]:
    """(item id, score) of one page of matches, best first; ``where`` and ``params`` hold
    the filters as conditions on ``items``.

    The planner cannot be left to choose here: it guesses a word missing from its
    statistics at a fixed share of the rows (0.5% of a million), so for a rare word (200
    matches) it walks the whole table backwards by id looking for 300 matches, and for
    a common one a GIN bitmap reads a million postings. So: when the estimate is near
    that guess or below, the newest matches are read in bands of ids through the GIN
    index (``_newest_in_bands``; the first band tells how rare the words are, and few
    matches left are read at once); above it the words are common, their matches
    dense, and the newest ones are found by walking the id index backwards.

    A date filter (``dated``: its conditions, also in ``where``) that leaves few items
    is read first (``_newest_dated``): walking ids from the newest would visit every
    newer item first (seconds for a common word and an old ``--until``).
    """
    # The planner's estimate is good for words in its statistics (the common ones) and
    # a fixed guess below them for all others: above the guess, the word is common.
    rare = _estimate(conn, "items.search @@ " + TSQUERY, {"q": ABSENT})
    columns, column_params = in_columns(parsed, author)
    found_by, found_params = _excluding(conn, parsed, author, max(3 * rare, 4 * common))
    conditions = " AND ".join([*found_by, *columns, *where])
    params = dict(params, q=tsquery_text(parsed, author), **column_params, **found_params)
    wanted = offset + limit
    need = max(exact_limit + 1, wanted, broad_window)
    estimate = _estimate(conn, conditions, params)
    span = _estimate(conn, " AND ".join(dated), params) if dated else DATED_SCAN + 1
    if span <= DATED_SCAN:
        recent = _newest_dated(conn, conditions, dated, params, need, span, estimate)
        if len(recent) <= exact_limit:
            return _ranked(conn, recent, params, limit, offset)
    elif estimate <= max(3 * rare, 4 * common):
        # The newest in bands, from the newest id down: for a phrase or a column
        # restriction (checked row by row) only the newest rows are checked.
        recent = _newest_in_bands(conn, conditions, params, need, estimate)
        if len(recent) <= exact_limit:
            return _ranked(conn, recent, params, limit, offset)
    else:
        with _plan(conn, seqscan=False, bitmapscan=False):
            rows = conn.execute(
                text(f"SELECT id FROM items WHERE {conditions} ORDER BY id DESC LIMIT :n"),
                dict(params, n=max(wanted, broad_window)),
            )
            recent = [r.id for r in rows]
    window, older = recent[:broad_window], recent[broad_window:wanted]
    first: list[int] = []
    if parsed is not None and window:
        # Title matches among the window's rows only, each row looked up by its id: the
        # index cannot tell a title word from an abstract word (and reads an excluded
        # word's entries whole), so asking it would recheck every match.
        with _plan(conn, seqscan=False, bitmapscan=False):
            rows = conn.execute(
                text(
                    "SELECT id FROM items WHERE id = ANY(:ids) AND "
                    f"items.search @@ to_tsquery('{CONFIG}', :title) ORDER BY id DESC LIMIT :n"
                ),
                {"ids": window, "title": parsed.tsquery("title"), "n": min(wanted, broad_window)},
            )
            first = [r.id for r in rows]
    seen = set(first)
    order = [(i, 2.0) for i in first] + [(i, 1.0) for i in window + older if i not in seen]
    return order[offset:wanted]

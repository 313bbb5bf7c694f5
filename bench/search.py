"""Search: p50/p95/p99 over a fixed query set (common and rare terms, phrases,
prefixes, several words, filters), first 20 results, at each database size; against a
plain ``LIKE`` scan of the same queries at the smallest size."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import median, percentile, settings
from bench.corpus import Vocabulary, papers
from tracker.fetch.merge import merge, normalise_new
from tracker.models import SearchFilters
from tracker.storage import Storage, open_storage

BATCH = 2000


def queries(vocab: Vocabulary) -> list[tuple[str, SearchFilters]]:
    """60 queries: what a researcher types, from very common words to rare ones."""
    w = vocab.words
    none = SearchFilters()
    common = [(w[i], none) for i in range(0, 10)]
    middle = [(w[i], none) for i in (50, 120, 300, 700, 1500, 3000, 5000, 8000, 12000, 20000)]
    rare = [(w[i], none) for i in (30000, 35000, 40000, 45000, 49000)]
    phrases = [
        (f'"{w[i]} {w[j]}"', none) for i, j in ((0, 1), (2, 5), (10, 40), (100, 3), (500, 900))
    ]
    prefixes = [(w[i][:3] + "*", none) for i in (12, 30, 60, 200, 1000)] + [
        (w[i][:4] + "*", none) for i in (13, 40)
    ]
    several = [
        (f"{w[i]} {w[j]}", none)
        for i, j in ((0, 2), (3, 50), (20, 400), (1, 9000), (7, 8), (60, 61))
    ]
    three = [(f"{w[i]} {w[j]} {w[k]}", none) for i, j, k in ((0, 1, 2), (5, 90, 900), (30, 31, 32))]
    either = [(f"{w[i]} OR {w[j]}", none) for i, j in ((0, 3), (400, 401), (2000, 40000))]
    titled = [(f"title:{w[i]}", none) for i in (9, 250, 6000)] + [
        (f"author:{w[i]}", none) for i in (15, 900)
    ]
    excluded = [(f"{w[i]} -{w[j]}", none) for i, j in ((2, 0), (80, 3))]
    filtered = [
        (w[3], SearchFilters(category="cs.LG")),
        (w[200], SearchFilters(field="Computer Science > Systems")),
        (w[4], SearchFilters(since=dt.date(2020, 2, 1))),
        (w[40], SearchFilters(until=dt.date(2020, 1, 15))),
        (f"{w[0]} {w[5]}", SearchFilters(category="quant-ph")),
    ]
    found = (
        common
        + middle
        + rare
        + phrases
        + prefixes
        + several
        + three
        + either
        + titled
        + excluded
        + filtered
    )
    return found[:60]


def fill(storage: Storage, count: int, tag: Any) -> float:
    """Ingest ``count`` synthetic papers; returns papers per second."""
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    started = time.perf_counter()
    batch = []
    for entry in papers(count, seed=5):
        batch.append((entry, ()))
        if len(batch) == BATCH:
            storage.ingest(batch, now, merge=merge, prepare=normalise_new, tag=tag)
            batch = []
    if batch:
        storage.ingest(batch, now, merge=merge, prepare=normalise_new, tag=tag)
    rate = count / (time.perf_counter() - started)
    if storage.dialect == "postgresql":  # what autovacuum does soon after a bulk load
        with storage.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    return rate


def _latencies(run_one: Any, qs: list[tuple[str, SearchFilters]], rounds: int = 3) -> list[float]:
    per_query: list[list[float]] = [[] for _ in qs]
    for _ in range(rounds):
        for n, (q, f) in enumerate(qs):
            start = time.perf_counter()
            run_one(q, f)
            per_query[n].append((time.perf_counter() - start) * 1000)
    return [median(v) for v in per_query]


def _like(storage: Storage, q: str, f: SearchFilters) -> None:
    words = [
        t.strip('"').rstrip("*") for t in q.replace(" OR ", " ").split() if not t.startswith("-")
    ]
    where = " AND ".join(f"(title LIKE :w{i} OR summary LIKE :w{i})" for i in range(len(words)))
    params = {f"w{i}": f"%{w}%" for i, w in enumerate(words)}
    with storage.engine.connect() as conn:
        conn.execute(
            text(f"SELECT id FROM items WHERE {where} ORDER BY published_at DESC LIMIT 20"), params
        ).all()


def _summary(values: list[float]) -> dict[str, float]:
    return {f"p{p}": round(percentile(values, p), 2) for p in (50, 95, 99)}


def _postgresql(size: int, keep: bool) -> tuple[str, bool]:
    """A database on the PostgreSQL server named by TRACKER_TEST_POSTGRESQL (``bash
    .ci/postgres``); reused when ``keep`` and it already holds the papers."""
    server = os.environ.get("TRACKER_TEST_POSTGRESQL")
    if not server:
        raise SystemExit("set TRACKER_TEST_POSTGRESQL to a PostgreSQL server (bash .ci/postgres)")
    name = f"tracker_bench_search_{size}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists and not keep:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        if not exists or not keep:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
    admin.dispose()
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    return url, bool(exists and keep)


def _megabytes(storage: Storage, path: Path) -> int:
    if storage.dialect == "sqlite":
        return round(path.stat().st_size / 1e6)
    with storage.engine.connect() as conn:
        return round(conn.scalar(text("SELECT pg_database_size(current_database())")) / 1e6)


def run(sizes: list[int], keep: Path | None = None, backend: str = "sqlite") -> dict[str, Any]:
    """Search latencies at each size; ``keep`` is a folder where the databases are
    kept (and reused when present) between runs (on PostgreSQL: the databases are kept
    on the server)."""
    vocab = Vocabulary(seed=5)
    qs = queries(vocab)
    core = [n for n, (q, f) in enumerate(qs) if f == SearchFilters() and " -" not in q]
    out: dict[str, Any] = {"queries": len(qs), "core queries": len(core)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        s = settings(folder)
        for size in sizes:
            path = folder / f"search{size}.db"
            if backend == "sqlite":
                url, reuse = f"sqlite:///{path}", path.exists()
            else:
                url, reuse = _postgresql(size, keep is not None)
            storage = open_storage(url)
            reuse = reuse and storage.count_items() == size
            out["backend"] = storage.dialect
            result: dict[str, Any] = {}
            if not reuse:
                result["ingest papers/s"] = round(fill(storage, size, s.field_map.tag))
            fts = _latencies(lambda q, f, st=storage: st.search(q, f, limit=20), qs)
            result["ms, core queries (words, phrases, prefixes, OR)"] = _summary(
                [fts[n] for n in core]
            )
            result["ms, all (with filters and exclusions)"] = _summary(fts)
            result["ms, 10 most common words"] = _summary(fts[:10])
            slowest = sorted(range(len(qs)), key=lambda n: -fts[n])[:3]
            result["slowest"] = [f"{qs[n][0]!r} {fts[n]:.1f} ms" for n in slowest]
            if size == sizes[0]:
                like = _latencies(lambda q, f, st=storage: _like(st, q, f), qs, rounds=1)
                result["LIKE scan ms, all"] = _summary(like)
                result["LIKE / fts (p50, p95, p99)"] = [
                    round(percentile(like, p) / max(percentile(fts, p), 1e-6), 1)
                    for p in (50, 95, 99)
                ]
            result["database MB"] = _megabytes(storage, path)
            storage.close()
            out[f"{size} papers"] = result
    return out

"""Web page: the search page and the digest page served by waitress on 127.0.0.1 and
asked by a real HTTP client (httpx, keep-alive, signed in), over N synthetic papers.

Search: the search benchmark's 60 queries (common and rare words, phrases, prefixes,
filters) as ``GET /search``, three rounds, the median per query; against the facade's
search call alone (the same queries, first 20 results) in the same run. Digest: one
reader's stored digest of D items as ``GET /digest``; against loading that digest
and building its view model (what the Markdown file and the e-mail render)
alone. Server time is the page's own ``Server-Timing`` figure (from
the request reaching Flask to the response leaving it); client time adds HTTP and
waitress.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from bench.common import median, percentile, settings
from bench.corpus import Vocabulary
from bench.search import fill, queries
from tracker.app.core import follow_spec, make_tracker
from tracker.models import FollowKind, SearchFilters

PASSWORD = "bench-password-1"
CATEGORIES = ("cs.DC", "quant-ph", "cs.AR")
TIMING = re.compile(r"app;dur=([\d.]+)")


def _params(text: str, f: SearchFilters) -> dict[str, str]:
    params = {"q": text}
    for key in ("author", "field", "category", "source"):
        value = getattr(f, key)
        if value:
            params[key] = value
    if f.since:
        params["since"] = f.since.isoformat()
    if f.until:
        params["until"] = f.until.isoformat()
    return params


def _summary(values: list[float]) -> dict[str, float]:
    return {f"p{p}": round(percentile(values, p), 2) for p in (50, 95, 99)}


def _ratio(a: list[float], b: list[float]) -> list[float]:
    return [round(percentile(a, p) / max(percentile(b, p), 1e-6), 2) for p in (50, 95, 99)]


def run(size: int, digest_items: int, keep: Path | None = None) -> dict[str, Any]:
    from waitress.server import create_server

    from tracker.web import create_app

    qs = queries(Vocabulary(seed=5))
    now = dt.datetime(2024, 1, 2, 12, tzinfo=dt.UTC)
    out: dict[str, Any] = {"papers": size}
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"web{size}.db"
        s = settings(
            folder,
            readers=[{"name": "bench", "timezone": "UTC", "digest_time": "07:00"}],
        )
        s = replace(s, database_url=f"sqlite:///{path}")
        tracker = make_tracker(s, clock=lambda: now, sync_follows=False)
        storage = tracker.storage
        if storage.count_items() != size:
            out["ingest papers/s"] = round(fill(storage, size, s.field_map.tag))
        if tracker.stored_digest_view("bench", now.date()) is None:
            for code in CATEGORIES:
                storage.add_follow("bench", follow_spec(FollowKind.CATEGORY, code), now)
            sources = {src.value: src.id for src in storage.followed_sources()}
            per = -(-digest_items // len(CATEGORIES))
            pairs = [
                (hit.item.id, sources[code], "new")
                for code in CATEGORIES
                for hit in tracker.search("", SearchFilters(category=code), limit=per)
            ]
            storage.add_sightings(pairs, now - dt.timedelta(hours=2))
            tracker.build_digest("bench", now.date())
        digest = tracker.stored_digest_view("bench", now.date())
        assert digest is not None
        out["digest items"] = digest.summary.total
        tracker.set_password("bench", PASSWORD)
        server = create_server(
            create_app(tracker, secret_key="b" * 64), host="127.0.0.1", port=0, threads=4
        )
        threading.Thread(target=server.run, daemon=True).start()
        base = f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
        try:
            with httpx.Client(base_url=base, timeout=30) as client:
                login = client.get("/login").text
                token = re.search(r'name="csrf_token" value="([^"]+)"', login)
                assert token
                reply = client.post(
                    "/login",
                    data={"reader": "bench", "password": PASSWORD, "csrf_token": token.group(1)},
                )
                assert reply.status_code == 302, reply.text

                def page(url: str, params: dict[str, str] | None = None) -> tuple[float, float]:
                    start = time.perf_counter()
                    reply = client.get(url, params=params)
                    wall = (time.perf_counter() - start) * 1000
                    assert reply.status_code == 200, (url, params, reply.status_code)
                    found = TIMING.search(reply.headers["Server-Timing"])
                    assert found
                    return float(found.group(1)), wall

                out["search page"] = _search(tracker, qs, page)
                out["digest page"] = _digest(tracker, now.date(), page)
        finally:
            server.task_dispatcher.shutdown()  # the threads first: a late reply needs the loop
            server.close()
            tracker.close()
    return out


def _search(tracker: Any, qs: list[tuple[str, SearchFilters]], page: Any) -> dict[str, Any]:
    server: list[list[float]] = [[] for _ in qs]
    client: list[list[float]] = [[] for _ in qs]
    alone: list[list[float]] = [[] for _ in qs]
    for q, f in qs[:5]:  # warm the caches as a running server has them
        page("/search", _params(q, f))
    for _ in range(3):
        for n, (q, f) in enumerate(qs):
            start = time.perf_counter()
            tracker.search(q, f, limit=20, reader="bench")
            alone[n].append((time.perf_counter() - start) * 1000)
            own, wall = page("/search", _params(q, f))
            server[n].append(own)
            client[n].append(wall)
    srv, cli, base = (
        [median(v) for v in server],
        [median(v) for v in client],
        [median(v) for v in alone],
    )
    slowest = sorted(range(len(qs)), key=lambda n: -srv[n])[:3]
    return {
        "queries": len(qs),
        "server ms": _summary(srv),
        "client ms": _summary(cli),
        "search call alone ms": _summary(base),
        "server / search call (p50, p95, p99)": _ratio(srv, base),
        "slowest (server ms)": [f"{qs[n][0]!r} {srv[n]:.1f}" for n in slowest],
    }


def _digest(tracker: Any, day: dt.date, page: Any) -> dict[str, Any]:
    page("/digest")
    server, client, alone = [], [], []
    for _ in range(30):
        start = time.perf_counter()
        tracker.stored_digest_view("bench", day)
        alone.append((time.perf_counter() - start) * 1000)
        own, wall = page("/digest")
        server.append(own)
        client.append(wall)
    return {
        "requests": len(server),
        "server ms": _summary(server),
        "client ms": _summary(client),
        "the digest's view model alone ms": _summary(alone),
        "server / view model (p50, p95, p99)": _ratio(server, alone),
    }

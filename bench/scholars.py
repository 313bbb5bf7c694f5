"""Request economy of one daily cycle: 300 followed scholars (100 OpenAlex ids, 50
ORCIDs, 50 arXiv author ids, 100 names only), 10 categories and 20 keyword queries,
against a loopback server that answers like arXiv and OpenAlex (with nothing new).

Reports the arXiv requests of the cycle against the naive one-request-per-follow count,
the OpenAlex requests, the gaps between arXiv requests (all at least ``min_interval``),
and the cycle's wall time at that interval.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from dataclasses import replace
from itertools import pairwise
from pathlib import Path
from typing import Any

from bench.common import LocalServer, QuietHandler, settings
from tracker.app.core import follow_spec, make_tracker, scholar_specs
from tracker.config import ScholarFollow
from tracker.models import FollowKind
from tracker.storage import FollowSpec

EMPTY_ATOM = (
    b'<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
    b'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"><title>q</title>'
    b"<opensearch:totalResults>0</opensearch:totalResults>"
    b"<opensearch:startIndex>0</opensearch:startIndex></feed>"
)
EMPTY_RSS = (
    b'<?xml version="1.0"?><rss version="2.0" xmlns:arxiv="http://arxiv.org/schemas/atom">'
    b"<channel><title>cs updates on arXiv.org</title>"
    b"<pubDate>Thu, 28 Nov 2024 00:00:00 -0500</pubDate></channel></rss>"
)
CATEGORIES = [
    "cs.DC",
    "cs.AR",
    "cs.LG",
    "cs.CL",
    "cs.CV",
    "cs.OS",
    "cs.PF",
    "cs.NI",
    "stat.ML",
    "quant-ph",
]


class _Server(LocalServer):
    def __init__(self) -> None:
        self.log: list[tuple[float, str]] = []
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                server.log.append((time.monotonic(), path))
                if path.startswith("/openalex/"):
                    body, kind = b'{"meta": {"next_cursor": null}, "results": []}', "json"
                elif path.startswith("/rss/"):
                    body, kind = EMPTY_RSS, "rss+xml"
                else:
                    body, kind = EMPTY_ATOM, "atom+xml"
                self.send_response(200)
                self.send_header("Content-Type", f"application/{kind}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)


def follows() -> tuple[list[ScholarFollow], list[str]]:
    people: list[ScholarFollow] = []
    for n in range(300):
        name = f"Person{n:03d} Scholar{n % 37:02d}x"
        if n < 100:
            people.append(ScholarFollow(name, openalex=(f"A{5000000000 + n}",)))
        elif n < 150:
            people.append(ScholarFollow(name, orcid=(f"0000-0002-{1000 + n:04d}-0000",)))
        elif n < 200:
            people.append(ScholarFollow(name, arxiv=(f"scholar{n}_p_1",)))
        else:
            people.append(ScholarFollow(name))
    queries = [f'all:"topic number {n}"' for n in range(20)]
    return people, queries


def run(min_interval: float) -> dict[str, Any]:
    server = _Server()
    people, queries = follows()
    with tempfile.TemporaryDirectory() as tmp:
        s = settings(Path(tmp), server.url)
        s = replace(
            s,
            arxiv=replace(s.arxiv, min_interval=min_interval),
            openalex=replace(s.openalex, url=server.url + "/openalex"),
        )
        now = dt.datetime(2024, 11, 28, 8, tzinfo=dt.UTC)
        tracker = make_tracker(s, clock=lambda: now, sync_follows=False)
        specs: list[FollowSpec] = [follow_spec(FollowKind.CATEGORY, c) for c in CATEGORIES]
        specs += [follow_spec(FollowKind.QUERY, q) for q in queries]
        specs += [spec for p in people for spec in scholar_specs(p)]
        tracker.storage.sync_follows("bench", specs, now, origin="cli")
        started = time.perf_counter()
        report = tracker.fetch()
        wall = time.perf_counter() - started
        tracker.close()
    arxiv = [(t, p) for t, p in server.log if not p.startswith("/openalex/")]
    starts = [t for t, _ in arxiv]
    gaps = [b - a for a, b in pairwise(starts)]
    kinds: dict[str, int] = {}
    for _, path in arxiv:
        kind = path.split("/")[1]
        kinds[kind] = kinds.get(kind, 0) + 1
    naive = len(people) + len(CATEGORIES) + len(queries)
    assert all(g >= min_interval * 0.999 for g in gaps), f"arXiv requests too close: {gaps}"
    return {
        "follows": {
            "scholars": len(people),
            "categories": len(CATEGORIES),
            "keyword queries": len(queries),
        },
        "arXiv requests": len(arxiv),
        "arXiv requests by path": kinds,
        "naive arXiv requests (one per follow)": naive,
        "requests / naive": round(len(arxiv) / naive, 3),
        "OpenAlex requests": len(server.log) - len(arxiv),
        "min gap between arXiv requests s": round(min(gaps), 3) if gaps else None,
        "min_interval s": min_interval,
        "cycle wall time s": round(wall, 1),
        "naive wall time at this interval s": round(naive * min_interval, 1),
        "errors": len(report.errors),
    }

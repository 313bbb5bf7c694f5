"""Ingest: entries per second from feed bytes to committed rows, against
``feedparser.parse`` alone on the same bytes (goal: the pipeline costs at most 1.5x
parsing, a ratio of at least 0.67), and a whole fetch cycle over HTTP (50 ms latency per
request) first with every feed new, then with nothing changed (all 304)."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import feedparser

from bench.common import median, settings, timed
from bench.corpus import papers, rss_feed
from bench.feedserver import FeedServer
from tracker.app.core import follow_spec, make_tracker
from tracker.fetch.merge import merge, normalise_new
from tracker.ids import item_key
from tracker.models import FollowKind
from tracker.sources.feeds import parse_feed
from tracker.storage import open_storage

PER_FEED = 50


def run(feeds: int) -> dict[str, Any]:
    entries = list(papers(feeds * PER_FEED, seed=11))
    docs = {
        f"/feed/{i}.xml": rss_feed(entries[i * PER_FEED : (i + 1) * PER_FEED], f"Blog {i}")
        for i in range(feeds)
    }
    total = feeds * PER_FEED
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        s = settings(folder)

        def parse_only() -> None:
            for body in docs.values():
                feedparser.parse(body)

        def pipeline(run_no: int) -> float:
            """Seconds from feed bytes to committed rows (a fresh database each run)."""
            storage = open_storage(f"sqlite:///{folder}/ingest{run_no}.db")
            tag = s.field_map.tag
            now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
            for path in docs:
                url = "https://blog.example.org" + path
                storage.add_follow("bench", follow_spec(FollowKind.FEED, url), now)
            sources = {s.value: s.id for s in storage.followed_sources()}

            def work() -> None:
                for path, body in docs.items():
                    url = "https://blog.example.org" + path
                    parsed = parse_feed(body, url=url, content_type="application/rss+xml")
                    batch = [
                        (replace(e, key=item_key(e, f"feed:{url}")), [sources[url]])
                        for e in parsed.entries
                    ]
                    storage.ingest(batch, now, merge=merge, prepare=normalise_new, tag=tag)

            seconds = timed(work)
            storage.close()
            return seconds

        # alternate the two so that machine noise hits both alike
        parse_times = [timed(parse_only)]
        pipe_times = []
        for n in range(3):
            pipe_times.append(pipeline(n))
            parse_times.append(timed(parse_only))
        parse_rate = total / median(parse_times)
        pipe_rate = total / median(pipe_times)

        # the whole cycle over HTTP, 8 feeds at a time, 50 ms per request
        server = FeedServer(docs, latency=0.05)
        try:
            cycle_settings = settings(folder / "cycle", concurrency=8)
            tracker = make_tracker(cycle_settings, sync_follows=False)
            now = dt.datetime.now(dt.UTC)
            for path in docs:
                spec = follow_spec(FollowKind.FEED, server.url + path)
                tracker.storage.add_follow("bench", spec, now)
            first = timed(lambda: tracker.fetch(everything=True))
            server.statuses.clear()
            unchanged = timed(lambda: tracker.fetch(everything=True))
            not_modified = server.statuses.count(304) / max(1, len(server.statuses))
            tracker.close()
        finally:
            server.close()
    return {
        "entries": total,
        "feedparser entries/s": round(parse_rate),
        "pipeline entries/s": round(pipe_rate),
        "pipeline / feedparser": round(pipe_rate / parse_rate, 2),
        "HTTP cycle entries/s (8 at a time, 50 ms latency)": round(total / first),
        "HTTP cycle / feedparser": round(total / first / parse_rate, 2),
        "unchanged cycle s": round(unchanged, 2),
        "unchanged answered 304": f"{not_modified:.0%}",
    }

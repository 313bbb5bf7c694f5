"""A fetch cycle keeps few feeds between fetching and storing: ``fetch --all`` claims
every feed at once, but the pool fetches at most twice its threads ahead of the
thread that stores, so a cycle's memory does not grow with the number of feeds when
storing is the slower side (each fetched feed holds its parsed entries until stored).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import LISTING_MORNING, Clock
from tests.support.server import FixtureServer
from tracker.app.core import follow_spec, make_tracker
from tracker.config import Settings
from tracker.fetch.cycle import Ingestor
from tracker.models import FollowKind

READER = """
[[readers]]
name = "ada"
"""
WIDTH = 2
FEEDS = 30


def test_fetch_all_stays_at_most_twice_the_pool_ahead_of_storing(
    server: FixtureServer,
    corpus_dir: Path,
    settings_for: Callable[..., Settings],
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_for(server.url, readers=READER, extra=f"concurrency = {WIDTH}")
    tracker = make_tracker(settings, clock=Clock(LISTING_MORNING))
    request.addfinalizer(tracker.close)
    files = sorted(p for p in (corpus_dir / "feeds-realworld").rglob("*.xml") if p.is_file())[
        :FEEDS
    ]
    hosts = FixtureServer(corpus_dir, papers=[]).start()
    request.addfinalizer(hosts.stop)
    specs = [
        follow_spec(FollowKind.FEED, f"{hosts.url}/feeds/{p.relative_to(corpus_dir)}")
        for p in files
    ]
    tracker.storage.sync_follows("ada", specs, LISTING_MORNING, origin="cli")

    lock = threading.Lock()
    counts = {"fetched": 0, "stored": 0, "most": 0}
    ahead = threading.Event()  # more feeds fetched than may wait: the bound is broken
    fetch_feed, feed = Ingestor._fetch_feed, Ingestor._feed

    def fetching(self: Ingestor, *args: object) -> object:
        found = fetch_feed(self, *args)  # type: ignore[arg-type]
        with lock:
            counts["fetched"] += 1
            waiting = counts["fetched"] - counts["stored"]
            counts["most"] = max(counts["most"], waiting)
            if waiting > 2 * WIDTH:
                ahead.set()
        return found

    def storing(self: Ingestor, *args: object) -> object:
        if counts["stored"] == 0:
            # the storing side is slow at first: the pool may run ahead meanwhile
            ahead.wait(timeout=1.0)
        try:
            return feed(self, *args)  # type: ignore[arg-type]
        finally:
            with lock:
                counts["stored"] += 1

    monkeypatch.setattr(Ingestor, "_fetch_feed", fetching)
    monkeypatch.setattr(Ingestor, "_feed", storing)

    report = tracker.fetch(everything=True)

    assert report.tried == len(files) and counts["stored"] == len(files)
    assert report.checked + len(report.errors) == len(files)
    assert counts["most"] <= 2 * WIDTH, counts

"""The whole recorded feed corpus through the real fetch-parse-store path.

About 2,400 real-world and edge-case feeds are served by the local server and followed
by one reader; one fetch cycle must store every readable feed's entries and record a
clear, per-source error for the rest, without crashing and without internal errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import LISTING_MORNING, Clock
from tests.support.server import FixtureServer
from tracker.app.core import follow_spec, make_tracker
from tracker.config import Settings
from tracker.errors import ParseError
from tracker.ids import item_key
from tracker.models import FollowKind
from tracker.sources.feeds import parse_feed

READER = """
[[readers]]
name = "ada"
"""


def corpus_files(root: Path) -> list[str]:
    found = []
    for folder in ("feeds-realworld", "feeds-feedparser-tests"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and not path.name.endswith((".serde.json", ".md")):
                found.append(str(path.relative_to(root)))
    return found


@pytest.mark.corpus
def test_every_recorded_feed_goes_through_fetch_parse_store(
    server: FixtureServer,
    corpus_dir: Path,
    settings_for: Callable[..., Settings],
    request: pytest.FixtureRequest,
) -> None:
    settings = settings_for(server.url, readers=READER, extra="concurrency = 8")
    tracker = make_tracker(settings, clock=Clock(LISTING_MORNING))
    files = corpus_files(corpus_dir)
    # the feeds' own host (not arXiv's endpoints, so they are not paced like arXiv)
    hosts = FixtureServer(corpus_dir, papers=[]).start()
    request.addfinalizer(hosts.stop)
    urls = {f"{hosts.url}/feeds/{rel}": rel for rel in files}
    specs = [follow_spec(FollowKind.FEED, url) for url in urls]
    tracker.storage.sync_follows("ada", specs, LISTING_MORNING, origin="cli")

    report = tracker.fetch()

    statuses = {s.source.value: s for s in tracker.status()}
    assert len(statuses) == len(files)
    assert report.checked + len(report.errors) == len(files)
    failed = {url: s.source.last_error for url, s in statuses.items() if s.source.error_count}
    assert not [e for e in failed.values() if e and "internal error" in e]
    for url, status in statuses.items():
        body = (corpus_dir / urls[url]).read_bytes()
        kind = "application/json" if url.endswith(".json") else "application/xml"
        try:
            parsed = parse_feed(body, url=url, content_type=kind)
        except ParseError:
            assert url in failed, f"{urls[url]} should have failed"
            assert failed[url] and failed[url].startswith("not a"), failed[url]
            continue
        keys = {item_key(replace(e), f"feed:{url}") for e in parsed.entries}
        assert status.item_count == len(keys), urls[url]
        if parsed.truncated:  # what was read in full is stored, but the source failed
            assert (failed.get(url) or "").startswith("feed ends early"), urls[url]
            continue
        assert url not in failed, f"{urls[url]}: {failed[url]}"
    assert len(failed) < len(files) // 50  # the corpus is mostly readable
    assert tracker.storage.check_integrity() == []
    print(
        f"\n{len(files)} feeds: {len(files) - len(failed)} stored "
        f"{tracker.storage.count_items()} items, {len(failed)} recorded errors"
    )
    tracker.close()

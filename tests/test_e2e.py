"""End to end on real parts: a config file, a real HTTP server on 127.0.0.1 serving
recorded arXiv and feed data, a real SQLite file, the digest written to disk, search.

The digest is checked item by item against the recorded data: every paper of the
followed categories, every match of the followed query, the followed scholar's papers
first, and feed posts; each exactly once.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest

from tests.conftest import LISTING_MORNING, Clock
from tests.support.server import FixtureServer, Paper, query_matches
from tracker.app.core import Tracker, make_tracker
from tracker.config import Settings
from tracker.models import SearchFilters
from tracker.worker import run_once

SCHOLAR = "Guido Burkard"
QUERY = '"large language models"'
FEED_PATH = "/lab/feed.xml"


def lab_feed(server: FixtureServer, posts: list[tuple[str, str]]) -> str:
    """A small RSS feed of our own: (title, link) pairs."""
    items = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<description>About {t}.</description>"
        "<pubDate>Wed, 27 Nov 2024 10:00:00 GMT</pubDate></item>"
        for t, link in posts
    )
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Example Lab</title>'
        f"<link>https://lab.example.org/</link>{items}</channel></rss>"
    )
    return server.add(FEED_PATH, body, "application/rss+xml")


READERS = f"""
[[readers]]
name = "ada"
timezone = "Europe/Berlin"
digest_time = "07:30"

[readers.follows]
categories = ["cs.DC", "cs.AR"]
queries = ['{QUERY}']
scholars = ["{SCHOLAR}"]
feeds = [{{ url = "URL", title = "Example Lab" }}]
"""


@pytest.fixture
def tracker(
    server: FixtureServer, settings_for: Callable[..., Settings]
) -> tuple[Tracker, Clock, Settings]:
    url = lab_feed(
        server,
        [
            ("Our paper on speculative decoding", "https://arxiv.org/abs/2411.17760v1"),
            ("Lab retreat", "https://lab.example.org/retreat"),
        ],
    )
    # every entry written out: the sections are not cut here (test_reading_cli cuts them)
    uncut = "[digest]\nsection_items = 1000\ncross_domain_more = 1000\n"
    settings = settings_for(server.url, readers=READERS.replace("URL", url), extra=uncut)
    clock = Clock(LISTING_MORNING)
    return make_tracker(settings, clock=clock), clock, settings


def digest_ids(text: str) -> list[str]:
    """arXiv ids of full entries, and of the compact "More from other fields" lines."""
    return re.findall(r"^(?:- .* · )?arXiv:(\S+?)v\d+ ", text, flags=re.MULTILINE)


def expected_papers(papers: list[Paper]) -> set[str]:
    followed = {"cs.DC", "cs.AR"}
    by_category = {p.id for p in papers if followed & set(p.categories)}
    by_query = {p.id for p in papers if query_matches(f"all:{QUERY}", p)}
    by_scholar = {p.id for p in papers if SCHOLAR in p.authors}
    return by_category | by_query | by_scholar


def test_fetch_digest_search_end_to_end(
    tracker: tuple[Tracker, Clock, Settings], server: FixtureServer, papers: list[Paper]
) -> None:
    t, _, settings = tracker
    report, outcomes = run_once(t)
    assert report.errors == []
    [outcome] = outcomes
    path = settings.readers[0].output_dir / "ada" / "2024-11-28.md"
    assert outcome.path == path and path.is_file()
    text = path.read_text(encoding="utf-8")

    # every expected paper, once; nothing else from arXiv
    ids = digest_ids(text)
    assert len(ids) == len(set(ids)), "an item appears twice"
    assert set(ids) == expected_papers(papers)
    # the feed's posts: the arXiv link became the paper itself, the other is a post
    assert "2411.17760" in ids
    assert "[Lab retreat](https://lab.example.org/retreat)" in text

    # the top picks come first, then followed scholars, marked
    sections = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert sections[:2] == ["Top picks", "Followed scholars"]
    scholar_part = text.split("## Followed scholars")[1].split("\n## ")[0]
    for p in papers:
        if SCHOLAR in p.authors:
            assert p.id in scholar_part
    assert f"**{SCHOLAR}**" in scholar_part

    # one entry in detail, against the recorded data
    paper = next(p for p in papers if p.categories[0] == "cs.DC")
    entry = text.split(f"### [{paper.title}]")[1].split("\n### ")[0]
    assert f"(https://arxiv.org/abs/{paper.id})" in entry
    assert f"[PDF](https://arxiv.org/pdf/{paper.id}v{paper.version})" in entry
    assert "*Why:* category cs.DC" in entry
    assert paper.abstract.split(". ")[0][:60] in entry.replace("\\", "")

    # the digest's front matter agrees with its body
    front = json.loads(re.search(r"^items: (\d+)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert front == len(re.findall(r"^(?:### |- )", text, flags=re.MULTILINE))

    # search finds what was stored, with filters
    hits = t.search("cache", SearchFilters(category="cs.AR"))
    assert hits and all("cs.AR" in h.item.categories for h in hits)
    by_author = t.search("", SearchFilters(author=SCHOLAR))
    assert {h.item.arxiv_id for h in by_author} == {p.id for p in papers if SCHOLAR in p.authors}

    # request economy and arXiv's pacing
    arxiv = server.requests("/api") + server.requests("/rss")
    assert len(server.requests("/rss")) == 1  # both categories in one listing request
    assert len(server.requests("/api")) <= 2  # the searches OR-ed, plus completing a link
    starts = sorted(r.at for r in arxiv)
    assert all(b - a >= 0.05 - 0.002 for a, b in pairwise(starts))
    assert all("mailto:tests@example.org" in r.headers["user-agent"] for r in arxiv)

    # rebuilding the day gives the same file
    again = t.build_digest("ada", dt.date(2024, 11, 28))
    assert not again.created
    assert path.read_text(encoding="utf-8") == text
    t.close()


def test_next_day_nothing_repeats_and_unchanged_sources_cost_nothing(
    tracker: tuple[Tracker, Clock, Settings], server: FixtureServer
) -> None:
    t, clock, settings = tracker
    run_once(t)
    first = set(digest_ids((settings.readers[0].output_dir / "ada" / "2024-11-28.md").read_text()))
    clock.advance(days=1)  # Friday morning: arXiv serves the same (recorded) listing
    before = len(server.requests())
    report, [outcome] = run_once(t)
    assert outcome.day == dt.date(2024, 11, 29)
    text = outcome.path.read_text()
    assert not set(digest_ids(text)) & first
    assert "Nothing new since your last digest." in text
    # conditional GET: the listing and the feed answered 304
    fresh = server.requests()[before:]
    assert report.not_modified >= 3
    assert [r.path for r in fresh if r.path.startswith("/rss")] == ["/rss/cs.DC+cs.AR"]
    t.close()


def test_a_day_of_downtime_loses_nothing_and_repeats_nothing(
    tracker: tuple[Tracker, Clock, Settings], server: FixtureServer
) -> None:
    t, clock, settings = tracker
    run_once(t)
    # the worker is down on Friday; meanwhile the lab posts twice
    lab_feed(
        server,
        [
            ("Our paper on speculative decoding", "https://arxiv.org/abs/2411.17760v1"),
            ("Lab retreat", "https://lab.example.org/retreat"),
            ("New GPU cluster", "https://lab.example.org/gpus"),
            ("Hiring", "https://lab.example.org/hiring"),
        ],
    )
    clock.now = dt.datetime(2024, 11, 30, 10, 0, tzinfo=dt.UTC)  # back on Saturday
    _, outcomes = run_once(t)
    assert [o.day for o in outcomes] == [dt.date(2024, 11, 30)]  # caught up once
    text = outcomes[0].path.read_text()
    assert "New GPU cluster" in text and "Hiring" in text
    assert "Lab retreat" not in text and "2411.17760" not in text
    assert not (settings.readers[0].output_dir / "ada" / "2024-11-29.md").exists()
    t.close()


def test_one_broken_source_never_stops_the_others(
    server: FixtureServer, settings_for: Callable[..., Settings]
) -> None:
    good = server.url + "/feeds/feeds-realworld/feedjira/FeedjiraBlog.xml"
    html = server.add("/page.html", "<!doctype html><html><body>hi</body></html>", "text/html")
    broken = server.add("/broken.xml", "<rss><channel><item><title>x", "application/xml")
    err = server.add("/err.xml", "oops", "text/plain", status=500)
    readers = f"""
[[readers]]
name = "ada"
[readers.follows]
categories = ["cs.DC", "astroph"]
feeds = ["{html}", "{broken}", "{err}", "http://127.0.0.1:9/nothing-listens-here", "{good}"]
"""
    with pytest.raises(Exception, match="astroph"):
        settings_for(server.url, readers=readers)  # a bad category is a config error
    settings = settings_for(server.url, readers=readers.replace(', "astroph"', ""))
    clock = Clock(LISTING_MORNING)
    t = make_tracker(settings, clock=clock)
    report, outcomes = run_once(t)
    assert len(report.errors) == 4  # the HTML page, the cut feed, HTTP 500, the dead port
    statuses = {s.source.value: s for s in t.status()}
    assert "not a feed" in (statuses[html].source.last_error or "")
    assert "HTTP 500" in (statuses[err].source.last_error or "")
    assert statuses[err].source.next_check > clock.now
    assert statuses[good].item_count > 0 and statuses[good].source.error_count == 0
    # a feed that ends early is a failure: its last entry may be half there
    assert statuses[broken].source.error_count == 1
    assert (statuses[broken].source.last_error or "").startswith("feed ends early (truncated?)")
    assert statuses[broken].item_count == 0
    assert outcomes and outcomes[0].digest.item_count > 0
    t.close()


def test_restart_keeps_state(
    tracker: tuple[Tracker, Clock, Settings], server: FixtureServer, tmp_path: Path
) -> None:
    t, clock, settings = tracker
    run_once(t)
    t.save("ada", "2411.17760")
    t.close()
    again = make_tracker(settings, clock=clock)
    before = len(server.requests())
    report, outcomes = run_once(again)
    assert report.checked == 0 and outcomes == []  # nothing due, digest already built
    assert len(server.requests()) == before
    assert [i.arxiv_id for i in again.saved("ada")] == ["2411.17760"]
    assert again.storage.check_integrity() == []
    again.close()


def test_a_reader_removed_from_the_config_stops_being_fetched_for(
    server: FixtureServer, settings_for: Callable[..., Settings]
) -> None:
    two = """
[[readers]]
name = "ada"
[readers.follows]
categories = ["cs.AR"]

[[readers]]
name = "bob"
[readers.follows]
categories = ["cs.DC"]
"""
    clock = Clock(LISTING_MORNING)
    t = make_tracker(settings_for(server.url, readers=two), clock=clock)
    assert {f.reader for f in t.follows()} == {"ada", "bob"}
    t.close()
    one = two.split('[[readers]]\nname = "bob"')[0]
    t = make_tracker(settings_for(server.url, readers=one), clock=clock)
    assert {(f.reader, f.value) for f in t.follows()} == {("ada", "cs.AR")}
    assert [s.value for s in t.storage.due_sources(clock.now)] == ["cs.AR"]
    t.close()


def test_a_feed_that_changes_its_ids_on_every_fetch_makes_no_duplicates(
    server: FixtureServer, settings_for: Callable[..., Settings]
) -> None:
    def feed(generation: int) -> str:
        items = "".join(
            f"<item><title>Post {n}</title><link>https://blog.example.org/p/{n}</link>"
            f"<guid isPermaLink='false'>{generation}-{n}</guid></item>"
            for n in range(5)
        )
        return f"<rss version='2.0'><channel><title>B</title>{items}</channel></rss>"

    url = server.add("/changing.xml", feed(1))
    readers = f'[[readers]]\nname = "ada"\n[readers.follows]\nfeeds = ["{url}"]\n'
    clock = Clock(LISTING_MORNING)
    t = make_tracker(settings_for(server.url, readers=readers), clock=clock)
    assert t.fetch().new_items == 5
    for generation in (2, 3):
        server.add("/changing.xml", feed(generation))
        clock.advance(hours=2)
        assert t.fetch().new_items == 0
    assert t.storage.count_items() == 5
    t.close()

"""Faults and hostile input, source by source: the fetch cycle always ends normally,
the other sources of the cycle are stored, the broken source backs off (exponentially,
with jitter, never sooner than a Retry-After), is reported as failing after
``[fetch] failing_after`` errors in a row (``tracker status``, the digest's footer), is
still retried, and is read again in full once the fault ends. Hostile bodies (far over
the size cap, gzip bombs, XML entity bombs) cost bounded memory and time.

Every case runs a real tracker against the fixture server on 127.0.0.1, which plays the
faulty host (``Reply`` in tests/support/server.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gzip
import json
import re
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from click.testing import CliRunner

from tests.conftest import LISTING_MORNING, Clock
from tests.support.server import FixtureServer, Paper, Reply
from tests.test_storage import BACKENDS, database_url
from tracker import decide
from tracker.app.core import Tracker, make_tracker
from tracker.cli import main
from tracker.config import Settings
from tracker.errors import FetchError, HTTPStatusError, RateLimitedError
from tracker.models import CacheValidators, Response, Source, SourceKind
from tracker.sources.http import Fetcher, make_client
from tracker.sources.pacing import PacingGate

GOOD = "/feeds/feeds-realworld/feedjira/FeedjiraBlog.xml"  # a good feed in every cycle
BAD = "/faulty/feed.xml"  # the feed that misbehaves
CAP_MB = 1
CAP = CAP_MB * 1024 * 1024
TIMEOUT, DEADLINE = 0.3, 1.0
FETCH = "timeout = {timeout}\ndeadline = {deadline}\nmax_body_mb = " + f"{CAP_MB}\n"
MEMORY_BOUND = 24 * 1024 * 1024  # bytes a hostile body may cost at most (tracemalloc peak)

POSTS = [(f"Post {n}", f"https://lab.example.org/posts/{n}") for n in range(1, 4)]


def rss(posts: list[tuple[str, str]], *, guid: str = "", title: str = "Faulty Lab") -> str:
    items = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}{guid}</guid>"
        f"<description>About {t}.</description>"
        "<pubDate>Wed, 27 Nov 2024 10:00:00 GMT</pubDate></item>"
        for t, link in posts
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://lab.example.org/</link>{items}</channel></rss>"
    )


def readers(
    bad_url: str, *, categories: tuple[str, ...] = (), queries: tuple[str, ...] = ()
) -> str:
    return f"""
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "07:00"

[readers.follows]
categories = {json.dumps(list(categories))}
queries = {json.dumps(list(queries))}
feeds = [{{ url = "GOOD", title = "Feedjira" }}, {{ url = "{bad_url}", title = "Faulty" }}]
"""


@dataclass
class Wired:
    tracker: Tracker
    clock: Clock
    settings: Settings
    server: FixtureServer
    bad_url: str
    good_url: str
    config: Path

    def source(self, value: str) -> Source:
        [found] = [s.source for s in self.tracker.status() if s.source.value == value]
        return found

    def items(self, value: str) -> int:
        [count] = [s.item_count for s in self.tracker.status() if s.source.value == value]
        return count

    def fetch(self) -> None:
        """One cycle; it must end normally whatever the faulty source does."""
        report = self.tracker.fetch()
        assert all("internal error" not in e for e in report.errors), report.errors

    def until_due(self, value: str) -> None:
        self.clock.now = self.source(value).next_check


@pytest.fixture
def wire(
    server: FixtureServer, settings_for: Callable[..., Settings], tmp_path: Path
) -> Iterator[Callable[..., Wired]]:
    made: list[Tracker] = []

    def build(
        bad_path: str = BAD,
        *,
        categories: tuple[str, ...] = (),
        queries: tuple[str, ...] = (),
        extra: str = "",
        timeout: float = TIMEOUT,
        start: dt.datetime = LISTING_MORNING,
    ) -> Wired:
        # The feeds live on another origin than the fake arXiv (the same server under
        # another name), so that arXiv's pacing gate is not theirs: as in production.
        feeds = server.url.replace("127.0.0.1", "localhost")
        bad_url, good_url = feeds + bad_path, feeds + GOOD
        text = readers(bad_url, categories=categories, queries=queries)
        settings = settings_for(
            server.url,
            readers=text.replace("GOOD", good_url),
            extra=FETCH.format(timeout=timeout, deadline=max(DEADLINE, timeout)) + extra,
        )
        clock = Clock(start)
        # arXiv's pacing gate keeps monotonic time: it moves on with the test's clock
        gate = PacingGate(
            settings.arxiv.min_interval,
            clock=lambda: time.monotonic() + (clock.now - start).total_seconds(),
        )
        tracker = make_tracker(settings, clock=clock, gate=gate)
        made.append(tracker)
        return Wired(tracker, clock, settings, server, bad_url, good_url, tmp_path / "tracker.toml")

    yield build
    for t in made:
        t.close()


def backoff_bounds(
    w: Wired, errors: int, retry_after: float | None = None
) -> tuple[dt.timedelta, dt.timedelta]:
    """The range of waits after the ``errors``-th failure in a row: the doubling delay
    of ``decide.after_failure`` with its ±20% jitter, never under a Retry-After."""
    base = min(decide.FIRST_ERROR_DELAY * 2 ** (errors - 1), w.settings.fetch.max_backoff)
    low, high = base * 0.8, base * 1.2
    if retry_after is not None:
        floor = dt.timedelta(seconds=retry_after)
        low, high = max(low, floor), max(high, floor)
    return low, high


def assert_failed(
    w: Wired, value: str, errors: int, reason: str, retry_after: float | None = None
) -> dt.timedelta:
    """The source's state after its ``errors``-th failure; returns its wait."""
    s = w.source(value)
    assert s.error_count == errors
    assert s.last_error is not None and re.search(reason, s.last_error), s.last_error
    assert s.last_error_at == w.clock.now
    wait = s.next_check - w.clock.now
    low, high = backoff_bounds(w, errors, retry_after)
    assert low <= wait <= high, (wait, low, high)
    return wait


def assert_good_stored(w: Wired) -> None:
    good = w.source(w.good_url)
    assert good.error_count == 0 and good.last_success == LISTING_MORNING
    assert w.items(w.good_url) > 0


def assert_recovers(w: Wired, value: str | None = None, posts: int = len(POSTS)) -> None:
    """The fault is over: the next due fetch reads the feed and reschedules it normally."""
    value = value or w.bad_url
    w.server.unscript(BAD)
    w.until_due(value)
    due = [s.value for s in w.tracker.storage.due_sources(w.clock.now)]
    assert value in due
    w.fetch()
    s = w.source(value)
    assert s.error_count == 0 and s.last_success == w.clock.now
    assert w.items(value) == posts
    interval = w.settings.fetch.feed_interval
    assert interval <= s.next_check - w.clock.now <= interval * 1.1


# --- one test per fault -------------------------------------------------------------------


def http_date(clock: Clock, seconds: int) -> str:
    return format_datetime(clock.now + dt.timedelta(seconds=seconds), usegmt=True)


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_error_without_retry_after_backs_off(
    wire: Callable[..., Wired], status: int
) -> None:
    w = wire()
    w.server.add(BAD, rss(POSTS), "application/rss+xml")
    w.server.script(BAD, [Reply(status, b"busy", {"Content-Type": "text/plain"})])
    w.fetch()
    assert_good_stored(w)
    assert w.items(w.bad_url) == 0
    assert_failed(w, w.bad_url, 1, rf"^HTTP {status} \({re.escape(w.bad_url)}\)$")
    assert_recovers(w)


@pytest.mark.parametrize("status", [503, 429])
@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_retry_after_is_honoured_for_feeds(
    wire: Callable[..., Wired], status: int, form: str
) -> None:
    w = wire()
    w.server.add(BAD, rss(POSTS), "application/rss+xml")
    wait = 7200  # well beyond the first backoff (5 minutes ± 20%)
    value = str(wait) if form == "seconds" else http_date(w.clock, wait)
    w.server.script(BAD, [Reply(status, b"slow down", {"Retry-After": value})])
    w.fetch()
    assert_good_stored(w)
    assert w.items(w.bad_url) == 0
    got = assert_failed(w, w.bad_url, 1, rf"HTTP {status}, retry after {wait}s", wait)
    assert got == dt.timedelta(seconds=wait)
    # not due a second before the server allows it
    w.clock.now += got - dt.timedelta(seconds=1)
    assert w.bad_url not in [s.value for s in w.tracker.storage.due_sources(w.clock.now)]
    assert_recovers(w)


@pytest.mark.parametrize("status", [503, 429])
@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_retry_after_is_honoured_for_arxiv_listings(
    wire: Callable[..., Wired], status: int, form: str
) -> None:
    """A listing throttled for longer than the client waits in place: the cycle gives
    up on arXiv at once (no hour-long sleep), the other arXiv sources of the cycle wait
    as well, the feeds are stored, and the listing is next due after the Retry-After."""
    # arXiv answers its searches in good time here; the local fake takes ~0.5 s
    w = wire(categories=("cs.DC",), queries=('"large language models"',), timeout=5)
    w.server.add(BAD, rss(POSTS), "application/rss+xml")
    wait = 3600
    value = str(wait) if form == "seconds" else http_date(w.clock, wait)
    w.server.script("/rss/cs.DC", [Reply(status, b"slow down", {"Retry-After": value})])
    started = time.monotonic()
    w.fetch()
    assert time.monotonic() - started < 10
    assert_good_stored(w)
    assert w.items(w.bad_url) == len(POSTS)
    assert len(w.server.requests("/rss/")) == 1  # no retry against a long Retry-After
    assert w.items("cs.DC") == 0
    listing = w.source("cs.DC")
    assert listing.error_count == 1
    assert listing.last_error is not None and f"{wait}" in listing.last_error
    assert listing.next_check - w.clock.now >= dt.timedelta(seconds=wait)
    # the search was not sent into the throttle either; it waits as long
    [query] = [r.source for r in w.tracker.status() if r.source.kind is SourceKind.ARXIV_QUERY]
    assert query.error_count == 1 and query.last_error is not None
    assert query.last_error.startswith(f"rate limited: wait {wait}s more")
    assert query.next_check - w.clock.now >= dt.timedelta(seconds=wait * 0.9)
    # once the time has come, the listing is read
    w.server.unscript("/rss/cs.DC")
    w.clock.now = max(listing.next_check, query.next_check)
    w.fetch()
    assert w.source("cs.DC").error_count == 0 and w.items("cs.DC") > 0
    assert w.source(query.value).error_count == 0 and w.items(query.value) > 0


def test_timeout(wire: Callable[..., Wired]) -> None:
    w = wire()
    w.server.add(BAD, rss(POSTS), "application/rss+xml")
    w.server.script(BAD, [Reply(200, rss(POSTS).encode(), delay=TIMEOUT * 4)])
    started = time.monotonic()
    w.fetch()
    assert time.monotonic() - started < TIMEOUT * 4 + 1
    assert_good_stored(w)
    assert w.items(w.bad_url) == 0
    assert_failed(w, w.bad_url, 1, r"^timed out")
    assert_recovers(w)


def test_slow_trickle_stops_at_the_deadline(wire: Callable[..., Wired]) -> None:
    w = wire()
    w.server.add(BAD, rss(POSTS), "application/rss+xml")
    body = rss(POSTS * 10).encode()  # ~4 KB in 64-byte pieces, 0.05 s apart: ~3 s
    w.server.script(BAD, [Reply(200, body, {"Content-Type": "application/rss+xml"}, trickle=0.05)])
    started = time.monotonic()
    w.fetch()
    assert time.monotonic() - started < DEADLINE + 1
    assert_good_stored(w)
    assert w.items(w.bad_url) == 0
    assert_failed(w, w.bad_url, 1, rf"exceeded the {DEADLINE:g}s deadline")
    assert_recovers(w)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(reset=True), r"connection failed: .*(reset|Disconnected|disconnected)"),
        (
            Reply(200, rss(POSTS).encode(), truncate=True),
            (
                r"transfer failed: RemoteProtocolError: peer closed connection without "
                r"sending complete message body \(received 387 bytes, expected 774\)"
            ),
        ),
        (Reply(200, rss(POSTS).encode(), truncate=True, reset=True), r"transfer failed: .*"),
        (Reply(drop=True), r"connection failed|transfer failed"),
    ],
    ids=["reset", "truncated", "reset-mid-body", "dropped"],
)
def test_broken_connection(wire: Callable[..., Wired], reply: Reply, reason: str) -> None:
    w = wire()
    w.server.add(BAD, rss(POSTS), "application/rss+xml")
    w.server.script(BAD, [reply])
    w.fetch()
    assert_good_stored(w)
    assert w.items(w.bad_url) == 0
    assert_failed(w, w.bad_url, 1, reason)
    assert_recovers(w)


def atom(posts: list[tuple[str, str]]) -> str:
    entries = "".join(
        f'<entry><title>{t}</title><link href="{link}"/><id>{link}</id>'
        f"<updated>2024-11-27T10:00:00Z</updated><summary>About {t}.</summary></entry>"
        for t, link in posts
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Faulty Lab</title><id>https://lab.example.org/</id>"
        f"<updated>2024-11-27T10:00:00Z</updated>{entries}</feed>"
    )


def json_feed(posts: list[tuple[str, str]]) -> str:
    items = [
        {"id": link, "url": link, "title": t, "content_text": f"About {t}."} for t, link in posts
    ]
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "Faulty Lab", "items": items}
    )


@pytest.mark.parametrize(
    ("make", "content_type", "cut", "whole"),
    [
        (rss, "application/rss+xml", 0.5, 1),  # inside the second item: the first is kept
        (rss, "application/rss+xml", 0.995, 3),  # only the end tags are missing
        (atom, "application/atom+xml", 0.75, 2),  # inside the third entry
        (json_feed, "application/feed+json", 0.6, 0),  # JSON cannot be read in part
    ],
    ids=["rss-half", "rss-end-tags", "atom", "json-feed"],
)
def test_a_feed_cut_without_content_length_is_a_failure_and_keeps_no_validators(
    wire: Callable[..., Wired],
    make: Callable[[list[tuple[str, str]]], str],
    content_type: str,
    cut: float,
    whole: int,
) -> None:
    """A body without Content-Length ends when the connection closes, so a transfer cut
    short looks complete to HTTP. A document that stops before it ends is a failure
    (with backoff), what was read in full may be stored, and the cut response's ETag is
    not kept: the next fetch must get the whole feed, not a 304."""
    w = wire()
    body = make(POSTS).encode()
    w.server.add(BAD, body, content_type)
    url = w.server.url + BAD
    etag = httpx.get(url).headers["ETag"]  # what the whole feed is known by
    short = body[: int(len(body) * cut)]
    headers = {"Content-Type": content_type, "ETag": etag}
    w.server.script(BAD, [Reply(200, short, headers, length=False)])
    w.fetch()
    assert_good_stored(w)
    assert_failed(w, w.bad_url, 1, r"^feed ends early \(truncated\?\) \(")
    assert w.tracker.storage.validators(w.bad_url) == CacheValidators(None, None)
    # nothing half-read was stored: every stored post is one of the feed's, whole
    stored = {
        (c.item.title, c.item.url)
        for c in w.tracker.storage.digest_candidates("ada", w.clock.now, dt.timedelta(days=1))
        if c.item.url and c.item.url.startswith("https://lab.example.org/")
    }
    assert stored <= set(POSTS) and len(stored) == whole
    assert_recovers(w)
    last = w.server.requests(BAD)[-1]
    assert "if-none-match" not in last.headers


def test_an_arxiv_listing_cut_without_content_length_is_refused(wire: Callable[..., Wired]) -> None:
    """arXiv's XML is read strictly: a listing cut short stores nothing and keeps no
    validators, so the next fetch reads it whole."""
    w = wire(categories=("cs.DC",))
    w.server.add(BAD, rss(POSTS), "application/rss+xml")
    whole = httpx.get(w.server.url + "/rss/cs.DC")
    short = whole.content[: len(whole.content) * 2 // 3]
    headers = {"Content-Type": "application/rss+xml", "ETag": whole.headers["ETag"]}
    w.server.script("/rss/cs.DC", [Reply(200, short, headers, length=False)])
    w.fetch()
    assert_good_stored(w)
    assert w.items("cs.DC") == 0
    assert_failed(w, "cs.DC", 1, r"^malformed arXiv listing XML: ")
    listing_url = w.server.url + "/rss/cs.DC"
    assert w.tracker.storage.validators(listing_url) == CacheValidators(None, None)
    w.until_due("cs.DC")
    w.fetch()
    assert w.source("cs.DC").error_count == 0 and w.items("cs.DC") > 0
    assert "if-none-match" not in w.server.requests("/rss/cs.DC")[-1].headers


# --- hostile bodies: bounded memory ---------------------------------------------------------


def peak_memory(run: Callable[[], None]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@functools.cache
def gzip_bomb(layers: int) -> bytes:
    """200 MB of zeros, gzipped ``layers`` times (a few hundred KB, or a few hundred
    bytes with two layers, whose inner layer alone inflates to 200 MB)."""
    body = b"\0" * (200 * 1024 * 1024)
    for _ in range(layers):
        body = gzip.compress(body, 9)
    return body


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            lambda: Reply(200, b"<rss>" + b"x" * (20 * CAP)),
            rf"body of {20 * CAP + 5} bytes exceeds the cap of {CAP}",
        ),
        (
            lambda: Reply(200, b"<rss>" + b"x" * (20 * CAP), length=False),
            rf"body exceeds the cap of {CAP} bytes",
        ),
        (
            lambda: Reply(200, gzip_bomb(1), {"Content-Encoding": "gzip"}),
            rf"body exceeds the cap of {CAP} bytes",
        ),
        (
            lambda: Reply(200, gzip_bomb(2), {"Content-Encoding": "gzip, gzip"}),
            rf"body exceeds the cap of {CAP} bytes",
        ),
    ],
    ids=["over-cap", "over-cap-no-length", "gzip-bomb", "double-gzip-bomb"],
)
def test_body_over_the_cap_costs_bounded_memory(
    wire: Callable[..., Wired], make: Callable[[], Reply], reason: str
) -> None:
    w = wire()
    w.server.add(BAD, rss(POSTS), "application/rss+xml")
    w.server.script(BAD, [make()])
    started = time.monotonic()
    peak = peak_memory(w.fetch)
    assert time.monotonic() - started < 5
    assert peak < MEMORY_BOUND, f"peak {peak / 1e6:.0f} MB"
    assert_good_stored(w)
    assert w.items(w.bad_url) == 0
    assert_failed(w, w.bad_url, 1, reason)
    assert_recovers(w)


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10 if n > 1 else "&lol;" * 10}">\n'
        for n in range(1, 10)
    )
    + "]>\n"
    '<rss version="2.0"><channel><title>Laughs &lol9;</title><link>https://lab.example.org/</link>'
    "<item><title>Bomb &lol9;</title><link>https://lab.example.org/bomb</link>"
    "<description>&lol9;</description></item></channel></rss>"
)


def test_xml_entity_bomb_in_a_feed_is_read_unexpanded(wire: Callable[..., Wired]) -> None:
    """A billion laughs (10^9 "lol"s, 3 GB expanded): feedparser drops the entity
    declarations, so the entity stays a literal; the cycle stays fast and small."""
    w = wire()
    w.server.add(BAD, rss(POSTS), "application/rss+xml")
    bomb = BILLION_LAUGHS.encode()
    w.server.script(BAD, [Reply(200, bomb, {"Content-Type": "application/rss+xml"})])
    started = time.monotonic()
    peak = peak_memory(w.fetch)
    assert time.monotonic() - started < 5
    assert peak < MEMORY_BOUND, f"peak {peak / 1e6:.0f} MB"
    assert_good_stored(w)
    s = w.source(w.bad_url)
    assert s.error_count == 0 and s.title == "Laughs &lol9;"
    [bomb_item] = [
        c.item
        for c in w.tracker.storage.digest_candidates("ada", w.clock.now, dt.timedelta(days=1))
        if c.item.url == "https://lab.example.org/bomb"
    ]
    assert bomb_item.title == "Bomb &lol9;" and len(bomb_item.summary) < 20
    assert_recovers(w, posts=len(POSTS) + 1)


def test_xml_entity_bomb_in_an_arxiv_listing_is_refused(wire: Callable[..., Wired]) -> None:
    """lxml reads arXiv's XML with entity expansion off and refuses the amplification."""
    w = wire(categories=("cs.DC",))
    w.server.add(BAD, rss(POSTS), "application/rss+xml")
    bomb = BILLION_LAUGHS.encode()
    w.server.script("/rss/cs.DC", [Reply(200, bomb, {"Content-Type": "application/rss+xml"})])
    started = time.monotonic()
    peak = peak_memory(w.fetch)
    assert time.monotonic() - started < 5
    assert peak < MEMORY_BOUND, f"peak {peak / 1e6:.0f} MB"
    assert_good_stored(w)
    assert w.items("cs.DC") == 0
    assert_failed(w, "cs.DC", 1, r"^malformed arXiv listing XML: .*entity amplification")
    w.until_due("cs.DC")
    w.fetch()
    assert w.source("cs.DC").error_count == 0 and w.items("cs.DC") > 0


def test_html_page_instead_of_a_feed(wire: Callable[..., Wired]) -> None:
    w = wire()
    w.server.add(BAD, rss(POSTS), "application/rss+xml")
    page = b"<!DOCTYPE html><html><head><title>Blog</title></head><body>Hi</body></html>"
    w.server.script(BAD, [Reply(200, page, {"Content-Type": "text/html; charset=utf-8"})])
    w.fetch()
    assert_good_stored(w)
    assert w.items(w.bad_url) == 0
    assert_failed(w, w.bad_url, 1, r"^not a feed: the address returned an HTML page \(")
    assert_recovers(w)


def test_redirect_loop(wire: Callable[..., Wired]) -> None:
    w = wire("/loop/a")
    w.server.add("/loop/a", b"", status=302, headers={"Location": "/loop/b"})
    w.server.add("/loop/b", b"", status=302, headers={"Location": "/loop/a"})
    w.fetch()
    assert_good_stored(w)
    assert w.items(w.bad_url) == 0
    assert len(w.server.requests("/loop/")) == 2
    assert_failed(w, w.bad_url, 1, r"^redirect loop \(.*/loop/a\)$")
    w.server.add("/loop/b", rss(POSTS), "application/rss+xml")  # the loop is fixed
    assert_recovers(w)


# --- input that is odd but readable ------------------------------------------------------------

ACCENTED = [("Café Müller à Zürich", "https://lab.example.org/cafe"), *POSTS[:2]]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        # declared utf-8 in the header, but written in windows-1252
        (rss(ACCENTED).replace('encoding="utf-8"', "").encode("cp1252"), "text/xml; charset=utf-8"),
        # declared utf-8 in the document, but written in latin-1
        (rss(ACCENTED).encode("latin-1"), "application/rss+xml"),
        # no charset anywhere, utf-8 bytes
        (rss(ACCENTED).replace(' encoding="utf-8"', "").encode(), "application/rss+xml"),
        # no charset anywhere, latin-1 bytes
        (rss(ACCENTED).replace(' encoding="utf-8"', "").encode("latin-1"), "application/xml"),
    ],
    ids=["header-utf8-body-cp1252", "decl-utf8-body-latin1", "none-utf8", "none-latin1"],
)
def test_wrong_or_missing_charset_is_read(
    wire: Callable[..., Wired], body: bytes, content_type: str
) -> None:
    w = wire()
    w.server.script(BAD, [Reply(200, body, {"Content-Type": content_type})])
    w.fetch()
    assert_good_stored(w)
    s = w.source(w.bad_url)
    assert s.error_count == 0 and s.last_success == w.clock.now
    assert w.items(w.bad_url) == len(ACCENTED)
    titles = {
        c.item.title
        for c in w.tracker.storage.digest_candidates("ada", w.clock.now, dt.timedelta(days=1))
    }
    assert "Café Müller à Zürich" in titles


HAZARDS = "\x00\x1b\u202e\u202a\u2066\u2067\u2068\u2069\u200b\u200d\u200e\u200f\ufeff"
LONG_TITLE = "Long " + "title " * 500  # 3,005 characters
HOSTILE_RSS = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
    "<title>Faulty\x00 Lab</title><link>https://lab.example.org/</link>"
    "<item><title>Nul\x00 in the title</title><link>https://lab.example.org/1</link>"
    "<description>A\x00b</description><author>jo@example.org (Jo\x00 Doe)</author></item>"
    "<item><title>\u202egnp.exe invoice</title><link>https://lab.example.org/2</link>"
    "<description>zero\u200bwidth \u2066isolate\u2069 \x1b[31mred</description></item>"
    f"<item><title>{LONG_TITLE}</title><link>https://lab.example.org/3</link></item>"
    "<item><title>pay\u200dpal \ufeff\u200e</title><link>https://lab.example.org/4</link></item>"
    "</channel></rss>"
).encode()
HOSTILE_JSON = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Faulty\u0000 Lab",
        "items": [
            {
                "id": "1",
                "url": "https://lab.example.org/1\u0000",
                "title": "Nul\u0000 in the title",
                "content_text": "A\u0000b",
                "authors": [{"name": "Jo\u0000 Doe"}],
            },
            {
                "id": "2",
                "url": "https://lab.example.org/2",
                "title": "\u202egnp.exe invoice",
                "content_text": "zero\u200bwidth \u2066isolate\u2069 \u001b[31mred",
            },
            {"id": "3", "url": "https://lab.example.org/3", "title": LONG_TITLE},
            {"id": "4", "url": "https://lab.example.org/4", "title": "pay\u200dpal \ufeff\u200e"},
        ],
    }
).encode()  # json.dumps writes the escapes: "\u0000", "\u202e", ...


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("body", "content_type"),
    [(HOSTILE_RSS, "application/rss+xml"), (HOSTILE_JSON, "application/feed+json")],
    ids=["rss", "json-feed"],
)
def test_nul_bidi_and_zero_width_characters_are_neutralised_before_storage(
    wire: Callable[..., Wired],
    backend: str,
    body: bytes,
    content_type: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One NUL must not block a feed (PostgreSQL refuses NUL in text), and no control,
    bidi override or zero-width character reaches storage, search or a digest; a very
    long title is cut."""
    with database_url(backend, tmp_path) as url:
        monkeypatch.setenv("TRACKER_DATABASE_URL", url)
        w = wire()
        w.server.add(BAD, body, content_type)
        w.fetch()
        assert_good_stored(w)
        s = w.source(w.bad_url)
        assert s.error_count == 0 and s.last_error is None, s.last_error
        assert s.last_success == w.clock.now and w.items(w.bad_url) == 4
        items = {
            c.item.url: c.item
            for c in w.tracker.storage.digest_candidates("ada", w.clock.now, dt.timedelta(days=1))
            if c.item.url and c.item.url.startswith("https://lab.example.org/")
        }
        site = "https://lab.example.org/"
        assert items[site + "1"].title == "Nul in the title"
        assert items[site + "1"].summary == "Ab" and items[site + "1"].authors == ("Jo Doe",)
        assert items[site + "2"].title == "gnp.exe invoice"
        assert items[site + "2"].summary == "zerowidth isolate [31mred"
        long = items[site + "3"].title
        assert len(long) <= 300 and long.endswith("title…") and LONG_TITLE.startswith(long[:-1])
        assert items[site + "4"].title == "paypal"
        for item in items.values():
            texts = [item.title, item.summary, *item.authors]
            assert not any(h in t for t in texts for h in HAZARDS), texts
        digest = w.tracker.build_digest("ada").path.read_text(encoding="utf-8")
        assert "gnp.exe invoice" in digest
        assert not any(h in digest for h in HAZARDS)


def test_items_that_change_ids_on_every_fetch_are_stored_once(
    wire: Callable[..., Wired],
) -> None:
    w = wire()
    w.server.script(
        BAD,
        [
            Reply(200, rss(POSTS, guid=f"#fetch-{n}").encode(), {"Content-Type": "text/xml"})
            for n in range(4)
        ],
    )
    for _ in range(4):
        w.fetch()
        assert w.source(w.bad_url).error_count == 0
        assert w.items(w.bad_url) == len(POSTS)
        w.until_due(w.bad_url)
    outcome = w.tracker.build_digest("ada")
    text = outcome.path.read_text(encoding="utf-8")
    for title, link in POSTS:
        assert text.count(f"[{title}]({link})") == 1


def _without_guids(posts: list[tuple[str, str]]) -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>{link}</link><description>{t}.</description></item>"
        for t, link in posts
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Comments</title><link>https://lab.example.org/</link>{items}</channel></rss>"
    ).encode()


def test_entries_without_guids_on_one_page_stay_apart(wire: Callable[..., Wired]) -> None:
    """Comments on one page: one link, told apart by its #fragment only."""
    w = wire()
    page = "https://lab.example.org/posts/launch"
    comments = [(f"Comment {n} on the launch", f"{page}#comment-{n}") for n in (1, 2, 3)]
    xml = {"Content-Type": "text/xml"}
    w.server.script(
        BAD,
        [
            Reply(200, _without_guids(comments), xml),
            Reply(200, _without_guids([*comments[2:], ("The launch", page)]), xml),
        ],
    )
    w.fetch()
    assert w.items(w.bad_url) == 3
    w.until_due(w.bad_url)
    w.fetch()  # the last comment, now alone with its page: the same post, and one more
    assert w.items(w.bad_url) == 4
    text = w.tracker.build_digest("ada").path.read_text(encoding="utf-8")
    for title, link in [*comments, ("The launch", page)]:
        assert text.count(f"[{title}]({link})") == 1


def test_a_fragment_that_changes_on_every_fetch_is_one_post(wire: Callable[..., Wired]) -> None:
    w = wire()
    page = "https://lab.example.org/posts/launch"
    w.server.script(
        BAD,
        [
            Reply(
                200, _without_guids([("The launch", f"{page}#t={n}")]), {"Content-Type": "text/xml"}
            )
            for n in range(3)
        ],
    )
    for _ in range(3):
        w.fetch()
        assert w.items(w.bad_url) == 1
        w.until_due(w.bad_url)


# --- a source that keeps failing ----------------------------------------------------------


def test_failing_source_is_reported_retried_and_recovers_with_the_gap(
    wire: Callable[..., Wired],
) -> None:
    w = wire(extra="failing_after = 2\n")
    threshold = w.settings.fetch.failing_after
    assert threshold == 2
    w.server.add(BAD, rss(POSTS[:1]), "application/rss+xml")
    w.fetch()  # the feed works at first: one post
    assert w.items(w.bad_url) == 1
    w.server.script(BAD, [Reply(503, b"down")] * 40)
    waits: list[dt.timedelta] = []
    for n in range(1, threshold + 1):
        w.until_due(w.bad_url)
        w.fetch()
        waits.append(assert_failed(w, w.bad_url, n, r"^HTTP 503"))
        runner = CliRunner()
        status = runner.invoke(main, ["--config", str(w.config), "status", "--json"])
        [row] = [r for r in json.loads(status.output) if r["value"] == w.bad_url]
        assert row["error_count"] == n and row["last_error"].startswith("HTTP 503")
        assert row["failing"] is (n >= threshold)
    assert waits == sorted(waits)  # growing (the jitter does not undo the doubling)
    plain = [decide.FIRST_ERROR_DELAY * 2**n for n in range(threshold)]
    assert all(a != b for a, b in zip(waits, plain, strict=True))  # but jittered

    # reported: in `tracker status` and in the next digest's footer
    text_status = CliRunner().invoke(main, ["--config", str(w.config), "status"]).output
    faulty = text_status.split("Faulty")[1].split("\nfeed ")[0]
    assert re.search(rf"FAILING \({threshold} errors in a row\): HTTP 503", faulty), faulty
    digest = w.tracker.build_digest("ada").path.read_text(encoding="utf-8")
    footer = digest.split("**Sources failing:**")[1]
    assert "feed Faulty: HTTP 503" in footer
    assert "Feedjira" not in footer  # the good feed is not failing

    # still retried, ever more slowly, up to the longest backoff: never dropped
    longest = w.settings.fetch.max_backoff
    for n in range(threshold + 1, threshold + 12):
        w.until_due(w.bad_url)
        w.fetch()
        wait = assert_failed(w, w.bad_url, n, r"^HTTP 503")
        assert wait <= longest * 1.2
    assert wait >= longest * 0.8
    requests_so_far = len(w.server.requests(BAD))
    assert requests_so_far == 1 + threshold + 11

    # the feed recovers with two more posts written meanwhile: all of them arrive
    w.server.add(BAD, rss(POSTS), "application/rss+xml")
    assert_recovers(w)
    digest_day = w.clock.now.date() + dt.timedelta(days=1)
    w.clock.now = dt.datetime.combine(digest_day, dt.time(7, 0), dt.UTC)
    [outcome] = w.tracker.deliver_due()
    text = outcome.path.read_text(encoding="utf-8")
    for title, link in POSTS[1:]:
        assert f"[{title}]({link})" in text
    assert "Sources failing" not in text


# --- the pieces behind the fixes: bounded decoding, a long-closed pacing gate --------------


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib-wrapped, as RFC 9110 says
        ("deflate", _raw_deflate),  # raw, as some servers send it
        ("gzip, gzip", lambda b: gzip.compress(gzip.compress(b))),
        ("identity", lambda b: b),
        ("utf-8", lambda b: b),  # a bogus coding passes unchanged, as httpx does
    ],
)
def test_bodies_are_decoded_in_bounded_pieces(
    server: FixtureServer, coding: str, encode: Callable[[bytes], bytes]
) -> None:
    body = rss(POSTS * 500).encode()  # ~190 KB: several pieces
    url = server.add("/encoded.xml", encode(body), headers={"Content-Encoding": coding})
    with make_client(5, trust_env=False) as client:
        fetcher = Fetcher(client, user_agent="tests", max_body_bytes=CAP, deadline=5)
        response = fetcher.get(url)
    assert response.body == body
    [request] = server.requests("/encoded.xml")
    assert request.headers["accept-encoding"] == "gzip, deflate"


def test_a_long_closed_gate_fails_at_once_instead_of_waiting(server: FixtureServer) -> None:
    gate = PacingGate(0.01)
    gate.defer(600)  # a Retry-After of ten minutes, from an earlier answer
    url = server.add("/gated.xml", rss(POSTS), "application/rss+xml")
    with make_client(5, trust_env=False) as client:
        fetcher = Fetcher(
            client, user_agent="tests", max_body_bytes=CAP, deadline=5, gate_for=lambda u: gate
        )
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"^rate limited: wait 600s more \(") as info:
            fetcher.get(url)
    assert time.monotonic() - started < 1
    assert info.value.retry_after == pytest.approx(600, abs=2)
    assert not info.value.retryable
    assert server.requests("/gated.xml") == []


def _gated_fetches(
    server: FixtureServer, gate: PacingGate, paths: list[str], cap: float
) -> list[object]:
    """GET each path from its own thread, all at once, through one arXiv gate; each
    thread's outcome: the response or the error raised."""
    urls = [server.url + p for p in paths]
    outcomes: list[object] = [None] * len(urls)
    start = threading.Barrier(len(urls))
    with make_client(5, trust_env=False) as client:
        fetcher = Fetcher(
            client,
            user_agent="tests",
            max_body_bytes=CAP,
            deadline=5,
            gate_for=lambda u: gate,
            max_gate_wait=cap,
        )

        def run(n: int) -> None:
            start.wait()
            try:
                outcomes[n] = fetcher.get(urls[n])
            except FetchError as e:
                outcomes[n] = e

        threads = [threading.Thread(target=run, args=(n,)) for n in range(len(urls))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return outcomes


def test_requests_queued_at_the_gate_give_up_when_a_retry_after_arrives(
    server: FixtureServer,
) -> None:
    """Four feeds on arXiv's origin share its gate. The first request gets a 503 with a
    Retry-After longer than a request may wait while the others are queued behind it:
    they give up at once, without sleeping and without sending anything."""
    paths = [f"/a/scholar_{n}.atom" for n in range(4)]
    for path in paths:
        server.add(path, rss(POSTS), "application/atom+xml")
        server.script(path, [Reply(503, b"busy", {"Retry-After": "3"}, delay=0.3)])
    gate = PacingGate(0.01)
    outcomes = _gated_fetches(server, gate, paths, cap=0.5)
    assert len(server.requests("/a/")) == 1  # only the first reached the server
    refused = [o for o in outcomes if isinstance(o, RateLimitedError)]
    assert len(refused) == 3 and gate.waited == 0
    for error in refused:
        assert str(error).startswith("rate limited: wait 3s more (")
        assert error.retry_after == pytest.approx(3, abs=0.5) and not error.retryable
    [answered] = [o for o in outcomes if isinstance(o, HTTPStatusError)]
    assert answered.status == 503 and answered.retry_after == 3


def test_requests_queued_behind_a_slow_one_give_up_at_the_cap(server: FixtureServer) -> None:
    """A request that holds the gate longer than the others may wait: they fail with a
    rate-limit error (their sources back off) instead of queueing on."""
    paths = [f"/a/slow_{n}.atom" for n in range(3)]
    for path in paths:
        server.add(path, rss(POSTS), "application/atom+xml")
        server.script(path, [Reply(200, rss(POSTS).encode(), delay=1.5)])
    outcomes = _gated_fetches(server, PacingGate(0.01), paths, cap=0.3)
    assert len(server.requests("/a/")) == 1
    refused = [o for o in outcomes if isinstance(o, RateLimitedError)]
    assert [str(e).split(" (")[0] for e in refused] == [
        "rate limited: the gate stayed busy for 0.3s"
    ] * 2
    assert sum(1 for o in outcomes if isinstance(o, Response)) == 1


def test_headers_trickled_under_the_read_timeout_stop_at_the_deadline() -> None:
    """httpx's timeouts are per read: a status line and headers trickled a byte at a
    time, each within the read timeout, must still end at the fetch's deadline."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 15:  # 2 s in all
                conn.sendall(bytes([byte]))
                time.sleep(0.05)
            conn.sendall(b"\r\nContent-Length: 6\r\n\r\n<rss/>")

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml"
    with listener, make_client(TIMEOUT, trust_env=False) as client:
        fetcher = Fetcher(client, user_agent="tests", max_body_bytes=CAP, deadline=DEADLINE)
        started = time.monotonic()
        with pytest.raises(FetchError, match="deadline"):
            fetcher.get(url)
        assert time.monotonic() - started < DEADLINE + 0.5


def test_a_listing_that_failed_for_days_catches_up_through_the_api(
    wire: Callable[..., Wired], papers: list[Paper]
) -> None:
    """The listing shows one day only: after days of errors, the days it missed come
    from an API search. Here every listing the tracker gets is empty, so whatever of
    cs.DC is stored came through the catch-up."""
    wednesday = dt.datetime(2024, 11, 27, 8, 0, tzinfo=dt.UTC)
    w = wire(categories=("cs.DC",), timeout=5, start=wednesday)
    w.server.add(BAD, rss(POSTS), "application/rss+xml")
    empty = httpx.get(w.server.url + "/rss/zz.ZZ").content  # a real listing, no items
    assert b"<item>" not in empty
    listing = Reply(200, empty, {"Content-Type": "application/rss+xml"})
    w.server.script("/rss/cs.DC", [listing])
    w.fetch()
    assert w.source("cs.DC").last_success == w.clock.now and w.items("cs.DC") == 0

    w.clock.now = dt.datetime(2024, 11, 28, 8, 0, tzinfo=dt.UTC)  # Thursday: arXiv is down
    w.server.script("/rss/cs.DC", [Reply(503, b"down")] * 4)  # the client's retries too
    w.fetch()
    assert w.source("cs.DC").error_count == 1 and w.items("cs.DC") == 0

    w.clock.now = dt.datetime(2024, 11, 29, 8, 0, tzinfo=dt.UTC)  # Friday: back
    w.server.script("/rss/cs.DC", [listing])
    w.fetch()
    s = w.source("cs.DC")
    assert s.error_count == 0 and s.last_success == w.clock.now
    searches = [parse_qs(r.query) for r in w.server.requests("/api/query")]
    assert any("cat:cs.DC" in q.get("search_query", [""])[0] for q in searches)
    expected = {p.id for p in papers if any(c.startswith("cs.DC") for c in p.categories)}
    stored = {
        c.item.arxiv_id
        for c in w.tracker.storage.digest_candidates("ada", w.clock.now, dt.timedelta(days=7))
        if any(x.source_id == s.id for x in c.sightings)
    }
    assert stored == expected and w.items("cs.DC") == len(expected)

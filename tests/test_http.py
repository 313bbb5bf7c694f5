"""Tests for tracker.sources.http: the Fetcher against real servers on 127.0.0.1.

Most cases use the shared fixture server (tests/support/server.py). Bodies it cannot produce
(chunked without Content-Length, a body trickled slowly) come from a small raw server
defined here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import socket
import threading
import time
from collections.abc import Iterator
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.support.server import FixtureServer, Reply
from tracker.errors import BodyTooLargeError, FetchError, HTTPStatusError
from tracker.models import CacheValidators
from tracker.sources.http import Fetcher, make_client, parse_retry_after
from tracker.sources.pacing import PacingGate

UA = "tracker-tests/1.0 (mailto:tests@example.org)"
NOW = dt.datetime(2024, 11, 28, 12, 0, tzinfo=dt.UTC)
CAP = 64 * 1024


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client(5, trust_env=False) as c:
        yield c


@pytest.fixture
def fetcher(client: httpx.Client) -> Fetcher:
    return Fetcher(client, user_agent=UA, max_body_bytes=CAP, deadline=5.0, now=lambda: NOW)


def make_fetcher(client: httpx.Client, **kwargs: object) -> Fetcher:
    options: dict[str, object] = {
        "user_agent": UA,
        "max_body_bytes": CAP,
        "deadline": 5.0,
        "now": lambda: NOW,
    }
    options.update(kwargs)
    return Fetcher(client, **options)  # type: ignore[arg-type]


# --- a raw server for streamed bodies --------------------------------------------------


class StreamServer:
    """Serves ``/chunked/<n>`` (n bytes, chunked, no Content-Length), ``/eof/<n>`` (n bytes
    delimited by closing the connection) and ``/trickle/<n>`` (n chunks 50 ms apart)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                kind, _, number = self.path.strip("/").partition("/")
                # the client may give up early, as it should
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    stream(self, kind, int(number))

        def stream(h: BaseHTTPRequestHandler, kind: str, n: int) -> None:
            h.send_response(200)
            h.send_header("Content-Type", "application/xml")
            if kind == "eof":
                h.send_header("Connection", "close")
                h.end_headers()
                h.close_connection = True
                h.wfile.write(b"x" * n)
                return
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            sent = 0
            while sent < n:
                size = 1 if kind == "trickle" else min(4096, n - sent)
                h.wfile.write(b"%x\r\n%s\r\n" % (size, b"y" * size))
                h.wfile.flush()
                sent += size
                if kind == "trickle":
                    time.sleep(0.05)
            h.wfile.write(b"0\r\n\r\n")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def streams() -> Iterator[StreamServer]:
    srv = StreamServer()
    try:
        yield srv
    finally:
        srv.stop()


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --- plain answers ------------------------------------------------------------------------


def test_200_returns_body_validators_and_sends_user_agent(
    server: FixtureServer, fetcher: Fetcher
) -> None:
    url = server.add("/feed.xml", b"<rss/>", content_type="application/rss+xml")
    response = fetcher.get(url, accept="application/rss+xml")
    assert response.status == 200
    assert response.body == b"<rss/>"
    assert response.url == url
    assert response.content_type == "application/rss+xml"
    assert response.etag and response.etag.startswith('"')
    assert response.last_modified == "Thu, 28 Nov 2024 00:00:00 GMT"
    assert not response.not_modified
    [logged] = server.requests("/feed.xml")
    assert logged.headers["user-agent"] == UA
    assert logged.headers["accept"] == "application/rss+xml"
    assert "if-none-match" not in logged.headers


def test_query_parameters_are_sent(server: FixtureServer, fetcher: Fetcher) -> None:
    url = server.add("/q", b"ok")
    response = fetcher.get(url, params={"search_query": "au:Dao_T AND cat:cs.DC", "start": 10})
    assert response.body == b"ok"
    [logged] = server.requests("/q")
    assert "search_query=au%3ADao_T+AND+cat%3Acs.DC" in logged.query
    assert "start=10" in logged.query
    assert response.url.endswith("?" + logged.query)


def test_conditional_get_with_etag_gives_304(server: FixtureServer, fetcher: Fetcher) -> None:
    url = server.add("/cond.xml", b"<rss>same</rss>")
    first = fetcher.get(url)
    second = fetcher.get(url, validators=CacheValidators(etag=first.etag))
    assert second.status == 304
    assert second.not_modified
    assert second.body == b""
    sent = server.requests("/cond.xml")[1].headers
    assert sent["if-none-match"] == first.etag
    assert "if-modified-since" not in sent


def test_conditional_get_with_last_modified_gives_304(
    server: FixtureServer, fetcher: Fetcher
) -> None:
    url = server.add("/cond.xml", b"<rss>same</rss>")
    first = fetcher.get(url)
    second = fetcher.get(url, validators=CacheValidators(last_modified=first.last_modified))
    assert second.not_modified
    assert server.requests("/cond.xml")[1].headers["if-modified-since"] == first.last_modified


def test_stale_etag_gets_the_new_body(server: FixtureServer, fetcher: Fetcher) -> None:
    url = server.add("/cond.xml", b"<rss>new</rss>")
    response = fetcher.get(url, validators=CacheValidators(etag='"old"'))
    assert response.status == 200
    assert response.body == b"<rss>new</rss>"


# --- size caps ----------------------------------------------------------------------------


def test_body_at_the_cap_is_accepted(server: FixtureServer, fetcher: Fetcher) -> None:
    url = server.add("/exact", b"a" * CAP)
    assert len(fetcher.get(url).body) == CAP


def test_content_length_over_the_cap_is_refused(server: FixtureServer, fetcher: Fetcher) -> None:
    url = server.add("/big", b"a" * (CAP + 1))
    with pytest.raises(BodyTooLargeError, match=f"{CAP + 1} bytes exceeds") as info:
        fetcher.get(url)
    assert info.value.url == url
    assert not info.value.retryable


@pytest.mark.parametrize("kind", ["chunked", "eof"])
def test_streamed_body_over_the_cap_is_refused(
    streams: StreamServer, fetcher: Fetcher, kind: str
) -> None:
    url = f"{streams.url}/{kind}/{4 * CAP}"
    with pytest.raises(BodyTooLargeError, match="exceeds the cap") as info:
        fetcher.get(url)
    assert info.value.url == url


@pytest.mark.parametrize("kind", ["chunked", "eof"])
def test_streamed_body_under_the_cap_is_read(
    streams: StreamServer, fetcher: Fetcher, kind: str
) -> None:
    response = fetcher.get(f"{streams.url}/{kind}/{CAP // 2}")
    assert len(response.body) == CAP // 2


def test_gzip_bomb_stops_at_the_cap(server: FixtureServer, fetcher: Fetcher) -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))
    assert len(bomb) < CAP  # the Content-Length check cannot catch it
    url = server.add("/bomb.xml", bomb, headers={"Content-Encoding": "gzip"})
    started = time.monotonic()
    with pytest.raises(BodyTooLargeError, match="exceeds the cap"):
        fetcher.get(url)
    assert time.monotonic() - started < 2.0


def test_gzip_body_is_decoded(server: FixtureServer, fetcher: Fetcher) -> None:
    url = server.add(
        "/small.xml.gz", gzip.compress(b"<rss/>"), headers={"Content-Encoding": "gzip"}
    )
    assert fetcher.get(url).body == b"<rss/>"


def test_broken_gzip_raises_fetch_error(server: FixtureServer, fetcher: Fetcher) -> None:
    url = server.add("/broken.gz", b"not gzip at all", headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="undecodable") as info:
        fetcher.get(url)
    assert info.value.url == url


# --- redirects ------------------------------------------------------------------------------


def test_redirects_are_followed_absolute_and_relative(
    server: FixtureServer, fetcher: Fetcher
) -> None:
    target = server.add("/final/feed.xml", b"<rss>final</rss>")
    server.add("/start", b"", status=301, headers={"Location": server.url + "/dir/a"})
    server.add("/dir/a", b"", status=302, headers={"Location": "b"})  # relative to /dir/
    server.add("/dir/b", b"", status=307, headers={"Location": "../final/feed.xml"})
    response = fetcher.get(server.url + "/start", params={"x": 1})
    assert response.status == 200
    assert response.body == b"<rss>final</rss>"
    assert response.url == target
    assert [r.path for r in server.requests()] == ["/start", "/dir/a", "/dir/b", "/final/feed.xml"]
    assert server.requests("/start")[0].query == "x=1"
    assert server.requests("/final")[0].query == ""  # params belong to the first URL only
    assert all(r.headers["user-agent"] == UA for r in server.requests())


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_status_is_followed(
    server: FixtureServer, fetcher: Fetcher, status: int
) -> None:
    server.add("/moved", b"", status=status, headers={"Location": "/here"})
    server.add("/here", b"here")
    assert fetcher.get(server.url + "/moved").body == b"here"


def test_redirect_without_location_is_an_http_error(
    server: FixtureServer, fetcher: Fetcher
) -> None:
    url = server.add("/nowhere", b"", status=302)
    with pytest.raises(HTTPStatusError) as info:
        fetcher.get(url)
    assert info.value.status == 302


@pytest.mark.parametrize(
    "chain",
    [["/self"], ["/loop-a", "/loop-b"], ["/loop-a", "/loop-b", "/loop-c"]],
    ids=["self", "two", "three"],
)
def test_redirect_loop_raises(server: FixtureServer, fetcher: Fetcher, chain: list[str]) -> None:
    for here, there in zip(chain, chain[1:] + chain[:1], strict=True):
        server.add(here, b"", status=302, headers={"Location": there})
    with pytest.raises(FetchError, match="redirect loop"):
        fetcher.get(server.url + chain[0])
    assert len(server.requests()) == len(chain)


def test_too_many_redirects_raise(server: FixtureServer, client: httpx.Client) -> None:
    for n in range(10):
        server.add(f"/hop{n}", b"", status=302, headers={"Location": f"/hop{n + 1}"})
    fetcher = make_fetcher(client, max_redirects=3)
    with pytest.raises(FetchError, match="more than 3 redirects") as info:
        fetcher.get(server.url + "/hop0")
    assert info.value.url == server.url + "/hop0"
    assert len(server.requests()) == 4


def test_max_redirects_hops_are_allowed(server: FixtureServer, client: httpx.Client) -> None:
    for n in range(3):
        server.add(f"/hop{n}", b"", status=302, headers={"Location": f"/hop{n + 1}"})
    server.add("/hop3", b"arrived")
    assert make_fetcher(client, max_redirects=3).get(server.url + "/hop0").body == b"arrived"


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml", "gopher://127.0.0.1/"]
)
def test_redirect_to_a_non_http_scheme_is_refused(
    server: FixtureServer, fetcher: Fetcher, location: str
) -> None:
    url = server.add("/evil", b"", status=302, headers={"Location": location})
    with pytest.raises(FetchError, match="refusing") as info:
        fetcher.get(url)
    assert info.value.url == location
    assert len(server.requests()) == 1


@pytest.mark.parametrize(
    "location", ["javascript:alert(1)", "mailto:someone@example.org", "http://[::1/feed"]
)
def test_redirect_to_an_unusable_location_is_a_fetch_error(
    server: FixtureServer, fetcher: Fetcher, location: str
) -> None:
    # httpx itself chokes on these Locations; the error must still be ours.
    url = server.add("/evil", b"", status=302, headers={"Location": location})
    with pytest.raises(FetchError, match=r"(?i)refusing|invalid") as info:
        fetcher.get(url)
    assert info.value.url in (url, location)
    assert len(server.requests()) == 1


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "/relative"])
def test_non_http_start_url_is_refused(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchError, match="refusing"):
        fetcher.get(url)


# --- transfer failures ----------------------------------------------------------------------


def test_connection_refused_names_the_url(fetcher: Fetcher) -> None:
    url = f"http://127.0.0.1:{closed_port()}/feed.xml"
    with pytest.raises(FetchError, match="connection failed") as info:
        fetcher.get(url)
    assert url in str(info.value)
    assert info.value.url == url
    assert info.value.retryable
    assert isinstance(info.value.__cause__, httpx.HTTPError)


def test_dropped_connection_names_the_url(server: FixtureServer, fetcher: Fetcher) -> None:
    url = server.add("/drop", b"never sent")
    server.script("/drop", [Reply(drop=True)])
    with pytest.raises(FetchError) as info:
        fetcher.get(url)
    assert not isinstance(info.value, HTTPStatusError)
    assert url in str(info.value)
    assert fetcher.get(url).body == b"never sent"  # the next attempt works


def test_slow_response_beyond_the_deadline(server: FixtureServer, client: httpx.Client) -> None:
    url = server.add("/slow", b"<rss/>")
    server.script("/slow", [Reply(status=200, body=b"<rss>late</rss>", delay=0.4)])
    fetcher = make_fetcher(client, deadline=0.1)
    with pytest.raises(FetchError, match="deadline") as info:
        fetcher.get(url)
    assert info.value.url == url


def test_trickled_body_stops_at_the_deadline(streams: StreamServer, client: httpx.Client) -> None:
    url = f"{streams.url}/trickle/100"  # would take five seconds
    fetcher = make_fetcher(client, deadline=0.2)
    started = time.monotonic()
    with pytest.raises(FetchError, match="deadline"):
        fetcher.get(url)
    assert time.monotonic() - started < 1.5


def test_read_timeout_raises_fetch_error(server: FixtureServer) -> None:
    url = server.add("/stall", b"<rss/>")
    server.script("/stall", [Reply(body=b"<rss/>", delay=0.5)])
    with (
        make_client(0.1, trust_env=False) as short,
        pytest.raises(FetchError, match="timed out") as info,
    ):
        make_fetcher(short).get(url)
    assert info.value.url == url


@pytest.mark.parametrize("url", ["http://[::1/feed", "http://exa mple.org/", "http://:80/"])
def test_invalid_url_raises_fetch_error(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchError, match=r"(?i)invalid|connection failed"):
        fetcher.get(url)


# --- statuses -------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "retryable"), [(404, False), (410, False), (500, True)])
def test_error_statuses_raise_http_status_error(
    server: FixtureServer, fetcher: Fetcher, status: int, retryable: bool
) -> None:
    url = server.add(f"/status{status}", b"error page", status=status)
    with pytest.raises(HTTPStatusError) as info:
        fetcher.get(url)
    assert info.value.status == status
    assert info.value.retryable is retryable
    assert info.value.retry_after is None
    assert info.value.body == b"error page"
    assert info.value.url == url
    assert f"HTTP {status}" in str(info.value)


def test_unknown_path_is_404(server: FixtureServer, fetcher: Fetcher) -> None:
    with pytest.raises(HTTPStatusError) as info:
        fetcher.get(server.url + "/no/such/feed")
    assert info.value.status == 404


def test_long_error_body_is_cut(server: FixtureServer, fetcher: Fetcher) -> None:
    url = server.add("/huge-error", b"e" * (1024 * 1024), status=500)
    with pytest.raises(HTTPStatusError) as info:
        fetcher.get(url)
    assert 0 < len(info.value.body) <= 64 * 1024


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (format_datetime(NOW + dt.timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - dt.timedelta(hours=1), usegmt=True), 0.0),
        ("soon", None),
    ],
    ids=["seconds", "date", "past-date", "garbage"],
)
def test_retry_after_is_reported(
    server: FixtureServer,
    fetcher: Fetcher,
    status: int,
    header: str,
    expected: float | None,
) -> None:
    url = server.add("/busy", b"busy", status=status, headers={"Retry-After": header})
    with pytest.raises(HTTPStatusError) as info:
        fetcher.get(url)
    assert info.value.status == status
    assert info.value.retryable
    assert info.value.retry_after == (pytest.approx(expected) if expected is not None else None)


# --- the pacing gate ------------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 50.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def gated(client: httpx.Client, gate: PacingGate, prefix: str) -> Fetcher:
    def lookup(url: str) -> PacingGate | None:
        return gate if prefix in url else None

    return make_fetcher(client, gate_for=lookup)


def test_gate_is_used_only_for_matching_urls(server: FixtureServer, client: httpx.Client) -> None:
    fake = FakeTime()
    gate = PacingGate(3.0, clock=fake, sleep=fake.sleep)
    fetcher = gated(client, gate, "/paced/")
    server.add("/paced/a", b"a")
    server.add("/free/b", b"b")
    for _ in range(3):
        fetcher.get(server.url + "/paced/a")
        fetcher.get(server.url + "/free/b")
    assert gate.requests == 3
    assert fake.sleeps == pytest.approx([3.0, 3.0])


def test_gate_is_deferred_by_retry_after(server: FixtureServer, client: httpx.Client) -> None:
    fake = FakeTime()
    gate = PacingGate(3.0, clock=fake, sleep=fake.sleep)
    fetcher = gated(client, gate, "/paced/")
    url = server.add("/paced/busy", b"ok")
    server.script("/paced/busy", [Reply(status=503, headers={"Retry-After": "40"})])
    with pytest.raises(HTTPStatusError) as info:
        fetcher.get(url)
    assert info.value.retry_after == 40.0
    assert fetcher.get(url).body == b"ok"
    assert fake.sleeps == pytest.approx([40.0])


def test_gate_follows_redirect_hops(server: FixtureServer, client: httpx.Client) -> None:
    fake = FakeTime()
    gate = PacingGate(3.0, clock=fake, sleep=fake.sleep)
    fetcher = gated(client, gate, "/paced/")
    server.add("/paced/old", b"", status=301, headers={"Location": "/paced/new"})
    server.add("/paced/new", b"new")
    assert fetcher.get(server.url + "/paced/old").body == b"new"
    assert gate.requests == 2  # each hop is a request to the paced host
    assert fake.sleeps == pytest.approx([3.0])


# --- parse_retry_after ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("0", 0.0),
        ("7", 7.0),
        (" 120 ", 120.0),
        ("Thu, 28 Nov 2024 12:01:00 GMT", 60.0),
        ("Thursday, 28-Nov-24 12:00:30 GMT", 30.0),  # RFC 850, still allowed by RFC 9110
        ("Thu Nov 28 12:00:10 2024", 10.0),  # asctime
        ("Thu, 28 Nov 2024 11:00:00 GMT", 0.0),  # in the past
        ("Mon, 01 Jan 1990 00:00:00 GMT", 0.0),
        ("Thu, 28 Nov 2024 13:00:00 +0100", 0.0),  # = 12:00 UTC
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("Thu, 99 Foo 2024 99:99:99 GMT", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    result = parse_retry_after(value, NOW)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)

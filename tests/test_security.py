"""Private-address blocking, secrets kept out of URLs and errors."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import trustme

from tests.conftest import CONFIG_DIR, LISTING_MORNING, Clock
from tests.support.server import FixtureServer
from tracker import PROJECT_URL, USER_AGENT, __version__
from tracker.app.core import make_tracker
from tracker.config import Settings, load_settings
from tracker.errors import FetchError
from tracker.ids import canonical_url
from tracker.sources.addresses import AddressGuard, is_public
from tracker.sources.http import Fetcher, make_client

PUBLIC = "93.184.216.34"


def fetcher(client: httpx.Client, addresses: dict[str, list[str]]) -> Fetcher:
    return Fetcher(
        client,
        user_agent="t",
        max_body_bytes=10_000,
        deadline=5,
        guard=AddressGuard(block_private=True, resolve=lambda host, port: addresses[host]),
    )


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fd00::1",
        "fe80::1",
        "224.0.0.1",
    ],
)
def test_private_addresses_are_refused(address: str) -> None:
    calls: list[httpx.Request] = []
    client = httpx.Client(
        transport=httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(200))
    )
    f = fetcher(client, {"internal.example.org": [PUBLIC, address]})
    with pytest.raises(FetchError, match="not a public address") as caught:
        f.get("http://internal.example.org/feed.xml")
    assert not caught.value.retryable
    assert calls == []  # nothing was sent


def test_a_redirect_to_a_private_address_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "blog.example.org":
            return httpx.Response(302, headers={"Location": "http://10.0.0.5/admin"})
        raise AssertionError(f"must not reach {request.url}")

    client = httpx.Client(transport=httpx.MockTransport(handler))
    f = fetcher(client, {"blog.example.org": [PUBLIC], "10.0.0.5": ["10.0.0.5"]})
    with pytest.raises(FetchError, match=r"10\.0\.0\.5 is not a public address"):
        f.get("https://blog.example.org/feed")


def test_public_addresses_pass() -> None:
    client = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=b"<rss/>"))
    )
    assert (
        fetcher(client, {"blog.example.org": [PUBLIC]}).get("https://blog.example.org/feed").body
        == b"<rss/>"
    )


def test_blocking_is_a_setting_and_an_environment_switch(
    server: FixtureServer, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    feed = server.url + "/feeds/feeds-realworld/feedjira/FeedjiraBlog.xml"
    readers = f'[[readers]]\nname = "ada"\n[readers.follows]\nfeeds = ["{feed}"]\n'
    settings = settings_for(server.url, readers=readers, extra="block_private_addresses = true")
    t = make_tracker(settings, clock=Clock(LISTING_MORNING))
    report = t.fetch()
    assert report.new_items == 0
    assert "is not a public address" in report.errors[0]
    t.close()
    example = CONFIG_DIR / "tracker.example.toml"
    assert not load_settings(example, environ={}).fetch.block_private_addresses
    on = load_settings(example, environ={"TRACKER_BLOCK_PRIVATE_ADDRESSES": "1"})
    assert on.fetch.block_private_addresses


def test_credentials_in_feed_urls_never_reach_storage_or_messages() -> None:
    assert canonical_url("https://user:hunter2@example.org/feed") == "https://example.org/feed"


def test_the_contact_address_goes_only_to_services_that_ask_for_it(
    server: FixtureServer, settings_for: Callable[..., Settings]
) -> None:
    """arXiv (its terms) and OpenAlex (its polite pool) get the User-Agent with the
    operator's contact address; every other host, a redirect's target included, gets
    the product's User-Agent with the project's address and no e-mail address."""
    arxiv = server.url  # the configured arXiv and OpenAlex endpoints
    other = server.url.replace("127.0.0.1", "localhost")  # a feed host: another origin
    blog = other + "/feeds/feeds-realworld/feedjira/FeedjiraBlog.xml"
    server.add("/to-arxiv.xml", b"", status=302, headers={"Location": arxiv + "/mirror.xml"})
    server.add(
        "/mirror.xml", (server.fixtures / "feeds-realworld/feedjira/TechCrunch.xml").read_bytes()
    )
    server.add("/away.xml", b"", status=302, headers={"Location": other + "/moved.xml"})
    server.add(
        "/moved.xml", (server.fixtures / "feeds-realworld/feedjira/SamRuby.xml").read_bytes()
    )
    readers = f"""
[[readers]]
name = "ada"
[readers.follows]
categories = ["cs.DC"]
queries = ['"large language models"']
scholars = [{{ name = "Wei Zhang", openalex = "A1000100" }}]
feeds = ["{blog}", "{other}/to-arxiv.xml", "{arxiv}/away.xml"]
"""
    t = make_tracker(settings_for(server.url, readers=readers), clock=Clock(LISTING_MORNING))
    try:
        report = t.fetch()
    finally:
        t.close()
    assert report.errors == []
    seen: dict[tuple[str, str], str] = {
        (r.headers["host"].split(":")[0], r.path): r.headers["user-agent"] for r in server.log
    }
    contact = f"tracker/{__version__} (+{PROJECT_URL}; mailto:tests@example.org)"
    asked = {
        path for (host, path), agent in seen.items() if host == "127.0.0.1" and agent == contact
    }
    assert {"/rss/cs.DC", "/api/query", "/openalex/works", "/away.xml", "/mirror.xml"} <= asked
    elsewhere = {(host, path): agent for (host, path), agent in seen.items() if host == "localhost"}
    assert set(elsewhere) == {
        ("localhost", "/feeds/feeds-realworld/feedjira/FeedjiraBlog.xml"),
        ("localhost", "/to-arxiv.xml"),
        ("localhost", "/moved.xml"),
    }
    assert set(elsewhere.values()) == {USER_AGENT}
    assert f"tracker/{__version__} (+{PROJECT_URL})" == USER_AGENT and "@" not in USER_AGENT


# --- DNS rebinding: the address connected to is the address checked ----------------------

FEED = "/feeds/feeds-realworld/feedjira/FeedjiraBlog.xml"


class Answers:
    """A resolver seam: each name answers its next list of addresses (the last one
    again once they run out), and every question is recorded."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        queue = self.answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]


def guarded(
    server: FixtureServer, guard: AddressGuard, **client: object
) -> tuple[Fetcher, httpx.Client]:
    http = make_client(5, trust_env=False, guard=guard, **client)  # type: ignore[arg-type]
    return Fetcher(http, user_agent="t", max_body_bytes=1_000_000, deadline=5, guard=guard), http


def test_a_name_that_turns_private_after_the_check_is_refused_where_it_connects(
    server: FixtureServer,
) -> None:
    """``localhost`` answers a public address to the check before the request and
    127.0.0.1 when the connection is made (DNS rebinding): nothing is sent, and the
    refusal is final. Without the connect-time check, the system's resolver would have
    connected to the local server."""
    port = server.url.rsplit(":", 1)[1]
    answers = Answers({"localhost": [[PUBLIC], ["127.0.0.1"]]})
    fetcher, http = guarded(server, AddressGuard(block_private=True, resolve=answers))
    with (
        http,
        pytest.raises(
            FetchError, match=r"^refusing to fetch localhost: 127\.0\.0\.1 is not a public address"
        ) as caught,
    ):
        fetcher.get(f"http://localhost:{port}{FEED}")
    assert not caught.value.retryable
    assert answers.asked == ["localhost", "localhost"]  # the check, then the connection
    assert server.requests() == []


def test_every_redirect_hop_is_checked_where_it_connects(server: FixtureServer) -> None:
    """Here 127.0.0.1 plays the public internet (the address rule is a seam): the first
    hop connects; its redirect names a host that answers a public address to the check
    and a private one at connect time, and is refused before any connection."""
    port = server.url.rsplit(":", 1)[1]
    server.add(
        "/hop", b"", status=302, headers={"Location": f"http://internal.example.org:{port}/secret"}
    )
    answers = Answers(
        {"blog.example.org": [["127.0.0.1"]], "internal.example.org": [[PUBLIC], ["10.0.0.5"]]}
    )
    guard = AddressGuard(
        block_private=True, resolve=answers, allowed=lambda a: a == "127.0.0.1" or is_public(a)
    )
    fetcher, http = guarded(server, guard)
    with (
        http,
        pytest.raises(FetchError, match=r"internal\.example\.org: 10\.0\.0\.5 is not a public"),
    ):
        fetcher.get(f"http://blog.example.org:{port}/hop")
    assert [r.path for r in server.requests()] == ["/hop"]
    assert answers.asked == [
        "blog.example.org",
        "blog.example.org",
        "internal.example.org",
        "internal.example.org",
    ]


def test_the_connection_goes_to_the_checked_address_and_the_request_keeps_the_name(
    server: FixtureServer,
) -> None:
    """Blocking off: the transport connects to the address the resolver gave (no
    system DNS: the name does not exist), and the Host header still names the host."""
    port = server.url.rsplit(":", 1)[1]
    answers = Answers({"feeds.example.org": [["127.0.0.1"]]})
    fetcher, http = guarded(server, AddressGuard(resolve=answers))
    with http:
        response = fetcher.get(f"http://feeds.example.org:{port}{FEED}")
    assert response.status == 200 and b"Feedjira Blog" in response.body[:500]
    [request] = server.requests()
    assert request.headers["host"] == f"feeds.example.org:{port}"
    assert answers.asked == ["feeds.example.org"]  # once: no check with blocking off


def test_tls_still_verifies_the_name_when_connecting_to_the_checked_address(
    tmp_path: Path,
) -> None:
    """The certificate is issued for the name only; connecting to 127.0.0.1 by address
    must still present and verify the name (SNI and hostname check)."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("feeds.example.org").configure_cert(context)
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            seen.append(self.headers["Host"])
            self.send_response(200)
            self.send_header("Content-Length", "6")
            self.end_headers()
            self.wfile.write(b"<rss/>")

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        port = httpd.server_address[1]
        trusting = ssl.create_default_context()
        ca.configure_trust(trusting)
        answers = Answers(
            {"feeds.example.org": [["127.0.0.1"]], "other.example.org": [["127.0.0.1"]]}
        )
        fetcher, http = guarded(None, AddressGuard(resolve=answers), ssl_context=trusting)  # type: ignore[arg-type]
        with http:
            assert fetcher.get(f"https://feeds.example.org:{port}/feed").body == b"<rss/>"
            # the same address under a name the certificate does not cover: refused
            with pytest.raises(FetchError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
                fetcher.get(f"https://other.example.org:{port}/feed")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert seen == [f"feeds.example.org:{port}"]

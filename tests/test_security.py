"""Private-address blocking, secrets kept out of URLs and errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import CONFIG_DIR, LISTING_MORNING, Clock
from tests.support.server import FixtureServer
from tracker.app.core import make_tracker
from tracker.config import Settings, load_settings
from tracker.errors import FetchError
from tracker.ids import canonical_url
from tracker.sources.http import Fetcher

PUBLIC = "93.184.216.34"


def fetcher(client: httpx.Client, addresses: dict[str, list[str]]) -> Fetcher:
    return Fetcher(
        client,
        user_agent="t",
        max_body_bytes=10_000,
        deadline=5,
        block_private=True,
        resolve=lambda host, port: addresses[host],
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

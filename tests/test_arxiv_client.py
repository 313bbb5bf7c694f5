"""Tests for tracker.sources.arxiv: the ArxivClient against the fake arXiv on 127.0.0.1.

Everything goes through a real ``PacingGate`` (50 ms) and a seeded RNG, with small
backoffs, so retries are exercised for real without slowing the suite down. The
expected answers come from tests/support/server.py's own reading of the query language.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import random
import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import FixtureServer, Logged, Paper, Reply, atom_feed, query_matches
from tracker.errors import FetchError, HTTPStatusError, ParseError, UpstreamError
from tracker.models import API, LISTING, CacheValidators
from tracker.sources.arxiv import ArxivClient
from tracker.sources.http import Fetcher, make_client
from tracker.sources.pacing import PacingGate

MIN_INTERVAL = 0.05
TOLERANCE = 0.002
UA = "tracker-tests/1.0 (mailto:tests@example.org)"


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client(5, trust_env=False) as c:
        yield c


@pytest.fixture
def gate() -> PacingGate:
    return PacingGate(MIN_INTERVAL)


def make_arxiv(
    server: FixtureServer, client: httpx.Client, gate: PacingGate, **kwargs: object
) -> ArxivClient:
    fetcher = Fetcher(
        client,
        user_agent=UA,
        max_body_bytes=8 * 1024 * 1024,
        deadline=5.0,
        gate_for=lambda url: gate,  # every request here is to "arXiv"
    )
    options: dict[str, object] = {
        "page_size": 5,
        "max_pages": 10,
        "retries": 3,
        "base_backoff": 0.01,
        "max_wait": 5.0,
        "rng": random.Random(0),
    }
    options.update(kwargs)
    return ArxivClient(
        fetcher,
        gate,
        api_url=server.url + "/api/query",
        listing_url=server.url + "/rss/",
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def arxiv(server: FixtureServer, client: httpx.Client, gate: PacingGate) -> ArxivClient:
    return make_arxiv(server, client, gate)


def matching(papers: list[Paper], query: str) -> list[Paper]:
    found = [p for p in papers if query_matches(query, p)]
    return sorted(found, key=lambda p: p.updated, reverse=True)


def params(logged: Logged) -> dict[str, str]:
    return dict(httpx.QueryParams(logged.query))


def assert_paced(requests: list[Logged]) -> None:
    gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    assert all(gap >= MIN_INTERVAL - TOLERANCE for gap in gaps), gaps


# --- search -----------------------------------------------------------------------------


def test_search_pages_down_to_since(
    arxiv: ArxivClient, server: FixtureServer, papers: list[Paper]
) -> None:
    expected = matching(papers, "cat:cs.DC")
    assert len(expected) > 12
    since = expected[11].updated  # the 12th newest: on the third page of five
    found = arxiv.search("cat:cs.DC", since)
    assert [e.arxiv_id for e in found] == [p.id for p in expected[:12]]
    assert all(e.updated is not None and e.updated >= since for e in found)
    starts = [params(r)["start"] for r in server.requests("/api")]
    assert starts == ["0", "5", "10"]
    first = params(server.requests("/api")[0])
    assert first["search_query"] == "cat:cs.DC"
    assert first["max_results"] == "5"
    assert first["sortBy"] == "lastUpdatedDate"
    assert first["sortOrder"] == "descending"
    assert_paced(server.requests("/api"))


def test_search_without_since_reads_one_page(arxiv: ArxivClient, server: FixtureServer) -> None:
    assert len(arxiv.search("cat:cs.DC", None)) == 5
    assert len(server.requests("/api")) == 1


def test_search_stops_when_all_results_are_read(
    arxiv: ArxivClient, server: FixtureServer, papers: list[Paper]
) -> None:
    expected = matching(papers, "cat:cs.AR")
    long_ago = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    found = arxiv.search("cat:cs.AR", long_ago)
    assert [e.arxiv_id for e in found] == [p.id for p in expected]
    assert len(server.requests("/api")) == -(-len(expected) // 5)


def test_search_stops_at_max_pages(
    server: FixtureServer,
    client: httpx.Client,
    gate: PacingGate,
    papers: list[Paper],
    caplog: pytest.LogCaptureFixture,
) -> None:
    arxiv = make_arxiv(server, client, gate, max_pages=3)
    expected = matching(papers, "cat:math.CO")
    assert len(expected) > 15
    with caplog.at_level(logging.WARNING, logger="tracker.sources.arxiv"):
        found = arxiv.search("cat:math.CO", dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert [e.arxiv_id for e in found] == [p.id for p in expected[:15]]
    assert len(server.requests("/api")) == 3
    assert "max_pages=3" in caplog.text


def test_search_with_no_results(arxiv: ArxivClient, server: FixtureServer) -> None:
    assert arxiv.search("ti:nosuchwordanywhere", None) == []
    assert len(server.requests("/api")) == 1


def test_search_entries_carry_api_metadata(arxiv: ArxivClient, papers: list[Paper]) -> None:
    [paper] = matching(papers, "cat:cs.DC")[:1]
    entry = arxiv.search("cat:cs.DC", None)[0]
    assert entry.arxiv_id == paper.id
    assert entry.version == paper.version
    assert entry.quality == API
    assert entry.categories[0] == paper.categories[0] == entry.primary_category
    assert entry.published == paper.published
    assert entry.updated == paper.updated


# --- by id ----------------------------------------------------------------------------------


def test_by_ids_in_chunks_of_page_size(
    arxiv: ArxivClient, server: FixtureServer, papers: list[Paper]
) -> None:
    wanted = [p.id for p in papers[:12]]
    found = arxiv.by_ids(wanted)
    assert [e.arxiv_id for e in found] == wanted
    lists = [params(r)["id_list"] for r in server.requests("/api")]
    assert lists == [",".join(wanted[i : i + 5]) for i in (0, 5, 10)]
    assert [params(r)["max_results"] for r in server.requests("/api")] == ["5", "5", "2"]
    assert_paced(server.requests("/api"))


def test_by_ids_with_nothing_asked_makes_no_request(
    arxiv: ArxivClient, server: FixtureServer
) -> None:
    assert arxiv.by_ids([]) == []
    assert server.requests() == []


def test_bad_id_raises_upstream_error_without_retrying(
    arxiv: ArxivClient, server: FixtureServer
) -> None:
    with pytest.raises(UpstreamError, match="incorrect id format") as info:
        arxiv.by_ids(["abc"])
    assert isinstance(info.value.__cause__, HTTPStatusError)
    assert info.value.__cause__.status == 400
    assert len(server.requests("/api")) == 1


# --- retries --------------------------------------------------------------------------------


def test_503_with_retry_after_zero_is_retried(
    arxiv: ArxivClient, server: FixtureServer, papers: list[Paper]
) -> None:
    server.script("/api/query", [Reply(503, b"busy", {"Retry-After": "0"})])
    found = arxiv.by_ids([papers[0].id])
    assert [e.arxiv_id for e in found] == [papers[0].id]
    requests = server.requests("/api")
    assert len(requests) == 2
    assert requests[0].query == requests[1].query
    assert_paced(requests)


def test_retry_after_is_honoured(
    server: FixtureServer, client: httpx.Client, gate: PacingGate, papers: list[Paper]
) -> None:
    arxiv = make_arxiv(server, client, gate, max_wait=10.0)
    server.script("/api/query", [Reply(429, b"slow down", {"Retry-After": "1"})])
    assert len(arxiv.by_ids([papers[0].id])) == 1
    first, second = server.requests("/api")
    assert second.at - first.at >= 1.0 - TOLERANCE


def test_backoff_spaces_the_retry(
    server: FixtureServer, client: httpx.Client, gate: PacingGate, papers: list[Paper]
) -> None:
    arxiv = make_arxiv(server, client, gate, base_backoff=0.2)
    delay = 0.2 * random.Random(0).uniform(0.5, 1.5)  # the first backoff, same seed
    assert delay > MIN_INTERVAL
    server.script("/api/query", [Reply(500, b"oops")])
    assert len(arxiv.by_ids([papers[0].id])) == 1
    first, second = server.requests("/api")
    assert second.at - first.at >= delay - TOLERANCE


def test_retry_after_beyond_max_wait_gives_up_at_once(
    server: FixtureServer, client: httpx.Client, gate: PacingGate, papers: list[Paper]
) -> None:
    arxiv = make_arxiv(server, client, gate, max_wait=30.0)
    server.script("/api/query", [Reply(429, b"slow down", {"Retry-After": "600"})])
    with pytest.raises(FetchError) as info:
        arxiv.by_ids([papers[0].id])
    assert info.value.retry_after == pytest.approx(600.0)
    assert "600" in str(info.value)
    assert len(server.requests("/api")) == 1


def test_server_errors_are_retried_then_raised(
    server: FixtureServer, client: httpx.Client, gate: PacingGate, papers: list[Paper]
) -> None:
    arxiv = make_arxiv(server, client, gate, retries=2)
    server.script("/api/query", [Reply(502, b"bad gateway")] * 3)
    with pytest.raises(HTTPStatusError) as info:
        arxiv.by_ids([papers[0].id])
    assert info.value.status == 502
    assert len(server.requests("/api")) == 3
    assert_paced(server.requests("/api"))


def test_not_found_is_not_retried(arxiv: ArxivClient, server: FixtureServer) -> None:
    server.script("/api/query", [Reply(404, b"gone")])
    with pytest.raises(HTTPStatusError) as info:
        arxiv.search("cat:cs.DC", None)
    assert info.value.status == 404
    assert len(server.requests("/api")) == 1


def test_dropped_connection_is_retried(
    arxiv: ArxivClient, server: FixtureServer, papers: list[Paper]
) -> None:
    server.script("/api/query", [Reply(drop=True)])
    assert len(arxiv.by_ids([papers[0].id])) == 1
    assert len(server.requests("/api")) == 2


def test_empty_page_with_results_is_retried(arxiv: ArxivClient, server: FixtureServer) -> None:
    server.script("/api/query", [Reply(200, atom_feed([], total=5, start=0))])
    found = arxiv.search("cat:cs.DC", None)
    assert len(found) == 5
    assert len(server.requests("/api")) == 2
    assert_paced(server.requests("/api"))


def test_empty_pages_until_retries_run_out_raise(
    server: FixtureServer, client: httpx.Client, gate: PacingGate
) -> None:
    arxiv = make_arxiv(server, client, gate, retries=2)
    server.script("/api/query", [Reply(200, atom_feed([], total=5, start=0))] * 3)
    with pytest.raises(FetchError, match="empty page") as info:
        arxiv.search("cat:cs.DC", None)
    assert not isinstance(info.value, HTTPStatusError)
    assert info.value.url is not None and "/api/query" in info.value.url
    assert len(server.requests("/api")) == 3


def test_truly_empty_result_is_not_retried(arxiv: ArxivClient, server: FixtureServer) -> None:
    server.script("/api/query", [Reply(200, atom_feed([], total=0, start=0))])
    assert arxiv.search("cat:cs.DC", None) == []
    assert len(server.requests("/api")) == 1


def test_truncated_body_is_retried(
    arxiv: ArxivClient, server: FixtureServer, papers: list[Paper]
) -> None:
    body = atom_feed(matching(papers, "cat:cs.DC")[:5], total=19, start=0)
    server.script("/api/query", [Reply(200, body[: len(body) // 2])])
    found = arxiv.search("cat:cs.DC", None)
    assert len(found) == 5
    assert len(server.requests("/api")) == 2


def test_truncated_bodies_until_retries_run_out_raise_parse_error(
    server: FixtureServer, client: httpx.Client, gate: PacingGate, papers: list[Paper]
) -> None:
    arxiv = make_arxiv(server, client, gate, retries=1)
    body = atom_feed(papers[:5], total=5, start=0)
    server.script("/api/query", [Reply(200, body[: len(body) // 2])] * 2)
    with pytest.raises(ParseError):
        arxiv.search("cat:cs.DC", None)
    assert len(server.requests("/api")) == 2


def test_error_entry_with_200_is_not_retried(arxiv: ArxivClient, server: FixtureServer) -> None:
    error_feed = server.fixtures / "arxiv-api/arxivpy-recorded/id_abc_s0_m100_b79c8dcf6bc3.xml"
    server.script("/api/query", [Reply(200, error_feed.read_bytes())])
    with pytest.raises(UpstreamError, match="incorrect id format"):
        arxiv.search("cat:cs.DC", None)
    assert len(server.requests("/api")) == 1


# --- listings -------------------------------------------------------------------------------


def test_listing_for_several_categories_in_one_request(
    arxiv: ArxivClient, server: FixtureServer
) -> None:
    response, listing = arxiv.listing(["cs.DC", "cs.AR"])
    assert listing is not None
    assert response.status == 200
    assert listing.day == dt.date(2024, 11, 28)
    assert listing.entries
    for entry in listing.entries:
        assert entry.quality == LISTING
        assert {"cs.DC", "cs.AR"} & set(entry.categories), entry.categories
    kinds = {e.announce_type for e in listing.entries}
    assert "new" in kinds and "cross" in kinds
    [logged] = server.requests("/rss")
    assert logged.path == "/rss/cs.DC+cs.AR"
    assert logged.headers["user-agent"] == UA
    assert "rss" in logged.headers["accept"]


def test_listing_second_call_with_validators_is_not_modified(
    arxiv: ArxivClient, server: FixtureServer
) -> None:
    first, listing = arxiv.listing(["cs.DC", "cs.AR"])
    assert listing is not None and first.etag
    validators = CacheValidators(etag=first.etag, last_modified=first.last_modified)
    second, again = arxiv.listing(["cs.DC", "cs.AR"], validators)
    assert second.status == 304
    assert second.not_modified
    assert again is None
    requests = server.requests("/rss")
    assert len(requests) == 2
    assert requests[1].headers["if-none-match"] == first.etag
    assert_paced(requests)


def test_listing_error_feed_raises_upstream_error(
    arxiv: ArxivClient, server: FixtureServer
) -> None:
    error = server.fixtures / "arxiv-rss/new-format-2024/rss_error_bad_archive_astroph.xml"
    server.script("/rss/astroph", [Reply(200, error.read_bytes())])
    with pytest.raises(UpstreamError, match="Bad archive"):
        arxiv.listing(["astroph"])


def test_listing_address(arxiv: ArxivClient, server: FixtureServer) -> None:
    assert arxiv.listing_address(["cs.DC", "cs.AR"]) == server.url + "/rss/cs.DC+cs.AR"


# --- pacing across everything ---------------------------------------------------------------


def test_all_requests_are_paced(
    arxiv: ArxivClient, server: FixtureServer, papers: list[Paper], gate: PacingGate
) -> None:
    server.script("/api/query", [Reply(503, b"busy", {"Retry-After": "0"})])
    arxiv.search("cat:cs.DC", dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    arxiv.by_ids([p.id for p in papers[:7]])
    response, _ = arxiv.listing(["cs.DC", "cs.AR"])
    arxiv.listing(["cs.DC", "cs.AR"], CacheValidators(etag=response.etag))
    arxiv.listing(["math.CO"])
    api, rss = server.requests("/api"), server.requests("/rss")
    assert len(api) == 1 + 4 + 2  # the 503, four pages of cs.DC, two id chunks
    assert len(rss) == 3
    assert_paced(api)
    assert_paced(rss)
    assert_paced(server.requests())  # one gate for both
    assert gate.requests == len(server.requests())


def test_threads_sharing_a_gate_are_paced(
    server: FixtureServer, client: httpx.Client, gate: PacingGate, papers: list[Paper]
) -> None:
    clients = [make_arxiv(server, client, gate) for _ in range(3)]
    errors: list[BaseException] = []

    def work(arxiv: ArxivClient, n: int) -> None:
        try:
            arxiv.by_ids([p.id for p in papers[n * 10 : n * 10 + 10]])
            arxiv.listing(["cs.DC"])
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(c, n)) for n, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert errors == []
    assert len(server.requests()) == 9
    assert_paced(server.requests())

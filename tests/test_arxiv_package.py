"""A differential test: the ``arxiv`` package and our arXiv client read the same answers.

tracker talks to arXiv's API with httpx and parses it with its own lxml reader (README,
"httpx, not the arxiv package"). The ``arxiv`` package (a test dependency only) is the
reference implementation everyone else uses, so here it reads the same responses through
its public ``Client``, its ``query_url_format`` pointed at the local server, and both
must agree on every paper: id and version, title, authors, categories (primary first
for us) and both dates. First the recorded arXiv responses byte for byte, then searches
and id lookups that page through the local server's arXiv API.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

import arxiv
import pytest

from tests.support.server import ERROR_ENTRY, FixtureServer, Paper, Reply, atom_feed
from tracker.errors import FetchError
from tracker.models import Entry
from tracker.names import tex_to_unicode
from tracker.sources.arxiv import ArxivClient
from tracker.sources.arxiv_xml import parse_api
from tracker.sources.http import Fetcher, make_client
from tracker.sources.pacing import PacingGate

RECORDED = ("arxiv-api/arxivpy-recorded", "arxiv-api/arxivpy-2016")
PAGE_SIZE = 7
LONG_AGO = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)  # every page of a search, for us


def reference_client(page_size: int = PAGE_SIZE) -> arxiv.Client:
    """The package's client without its 3 s pause and with no retries: the local server
    answers at once and the same every time."""
    return arxiv.Client(page_size=page_size, delay_seconds=0.0, num_retries=0)


def ours(result: Entry) -> tuple[object, ...]:
    assert result.categories[0] == result.primary_category  # primary first
    return (
        f"{result.arxiv_id}v{result.version}",
        result.title,
        result.authors,
        result.primary_category,
        frozenset(result.categories),
        result.published,
        result.updated,
    )


def theirs(result: arxiv.Result) -> tuple[object, ...]:
    return (
        result.get_short_id(),
        " ".join(result.title.split()),
        # our one deliberate difference: TeX accents in names become letters (B\\'ereng\\`ere)
        tuple(tex_to_unicode(" ".join(a.name.split())) for a in result.authors),
        result.primary_category,
        frozenset([result.primary_category, *result.categories]),
        result.published,
        result.updated,
    )


@pytest.fixture
def ours_client(server: FixtureServer) -> Iterator[ArxivClient]:
    gate = PacingGate(0.0)
    with make_client(5, trust_env=False) as client:
        fetcher = Fetcher(
            client, user_agent="tracker-tests/1.0", max_body_bytes=8 << 20, deadline=5.0
        )
        yield ArxivClient(
            fetcher,
            gate,
            api_url=f"{server.url}/api/query",
            listing_url=f"{server.url}/rss/",
            page_size=PAGE_SIZE,
            max_pages=100,
            retries=0,
            base_backoff=0.0,
            rng=random.Random(0),
        )


def recorded_pages(root: Path) -> list[Path]:
    pages = [p for folder in RECORDED for p in sorted((root / folder).glob("*.xml"))]
    return [p for p in pages if not str(p).endswith(Path(ERROR_ENTRY).name)]


def test_recorded_answers_read_the_same(server: FixtureServer, fixtures_dir: Path) -> None:
    pages = recorded_pages(fixtures_dir)
    assert len(pages) == 21  # 22 recorded, one of them an error entry
    compared = 0
    for n, page in enumerate(pages):
        body = page.read_bytes()
        expected = [ours(e) for e in parse_api(body).entries]
        # served as is, whatever the query: the package asks for exactly this page
        server.add(f"/recorded/{n}", body, "application/atom+xml")
        client = reference_client(page_size=max(len(expected), 1))
        client.query_url_format = f"{server.url}/recorded/{n}?{{}}"
        search = arxiv.Search(query="recorded", max_results=len(expected))
        got = [theirs(r) for r in client.results(search)] if expected else []
        assert got == expected, page.name
        compared += len(got)
    assert compared > 100


@pytest.mark.parametrize(
    "query",
    ["cat:cs.DC", "cat:cs.AR OR cat:cs.PF", 'ti:"language models"', "abs:quantum AND cat:quant-ph"],
)
def test_searches_page_through_to_the_same_papers(
    server: FixtureServer, ours_client: ArxivClient, query: str
) -> None:
    client = reference_client()
    client.query_url_format = f"{server.url}/api/query?{{}}"
    search = arxiv.Search(
        query=query,
        max_results=None,
        sort_by=arxiv.SortCriterion.LastUpdatedDate,
        sort_order=arxiv.SortOrder.Descending,
    )
    got = [theirs(r) for r in client.results(search)]
    expected = [ours(e) for e in ours_client.search(query, since=LONG_AGO)]
    assert len(got) > PAGE_SIZE  # several pages
    assert got == expected


def test_id_lookups_read_the_same(server: FixtureServer, ours_client: ArxivClient) -> None:
    ids = [p.id for p in server.papers[::97]]
    client = reference_client(page_size=len(ids))
    client.query_url_format = f"{server.url}/api/query?{{}}"
    got = [theirs(r) for r in client.results(arxiv.Search(id_list=ids))]
    expected = [ours(e) for e in ours_client.by_ids(ids)]
    assert len(got) == len(ids) > 10
    assert got == expected


def page(papers: list[Paper], total: int, start: int) -> Reply:
    return Reply(
        body=atom_feed(papers, total, start), headers={"Content-Type": "application/atom+xml"}
    )


def test_an_empty_later_page_is_an_error_for_both(
    server: FixtureServer, ours_client: ArxivClient
) -> None:
    """arXiv sometimes answers an empty page in the middle of a result set: neither
    client takes it for the end of the results."""
    first, empty = page(server.papers[:PAGE_SIZE], 100, 0), page([], 100, PAGE_SIZE)
    client = reference_client()
    client.query_url_format = f"{server.url}/api/query?{{}}"
    server.script("/api/query", [first, empty])
    results = client.results(arxiv.Search(query="cat:cs.DC", max_results=None))
    assert len([next(results) for _ in range(PAGE_SIZE)]) == PAGE_SIZE
    with pytest.raises(arxiv.UnexpectedEmptyPageError):
        next(results)

    server.script("/api/query", [first, empty])
    with pytest.raises(FetchError, match="empty page"):
        ours_client.search("cat:cs.DC", since=LONG_AGO)

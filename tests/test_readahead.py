"""Tests for ``tracker.fetch.readahead``: pages read in a thread arrive as reading them in
line would give them (records in order, chunks of at most the batch size, each page's
end, errors where they happened), and closing stops the thread."""

from __future__ import annotations

import threading

import pytest

from tests.test_backfill import envelope, error_doc, record_xml
from tracker.errors import ParseError
from tracker.fetch.readahead import DEPTH, PageEnd, ReadAhead
from tracker.sources.oai import OaiError, OaiPage, OaiRecord


def _pages(sizes: list[int], deleted: set[int] = frozenset()) -> dict[str | None, bytes]:
    pages: dict[str | None, bytes] = {}
    start = 0
    for index, size in enumerate(sizes):
        body = "".join(record_xml(n, deleted=n in deleted) for n in range(start, start + size))
        token = f"t{index + 1}" if index + 1 < len(sizes) else ""
        pages[None if index == 0 else f"t{index}"] = envelope(body, token, sum(sizes), start)
        start += size
    return pages


def _reader(pages: dict[str | None, bytes], asked: list[str | None]) -> ReadAhead:
    def fetch(token: str | None) -> OaiPage:
        asked.append(token)
        return OaiPage(pages[token], f"page {token}")

    return ReadAhead(fetch, None, chunk=4)


def test_pages_arrive_in_order_in_chunks_with_their_ends() -> None:
    pages = _pages([10, 3], deleted={2})
    asked: list[str | None] = []
    ahead = _reader(pages, asked)
    chunks: list[list[OaiRecord]] = []
    first = ahead.read_page(chunks.append)
    assert first == PageEnd("t1", 13, False)
    # at most 4 stored entries per chunk; the deleted record rides along uncounted
    assert [sum(r.entry is not None for r in c) for c in chunks] == [4, 4, 1]
    assert [len(c) for c in chunks] == [5, 4, 1]
    second: list[list[OaiRecord]] = []
    assert ahead.read_page(second.append) == PageEnd(None, 13, False)
    numbers = [r.arxiv_id for c in chunks + second for r in c]
    assert numbers == [r.arxiv_id for r in OaiPage(pages[None], "x")] + [
        r.arxiv_id for r in OaiPage(pages["t1"], "x")
    ]
    ahead.close()
    assert asked == [None, "t1"]


def test_a_page_cut_short_gives_its_full_chunks_then_the_error() -> None:
    pages = _pages([10])
    pages[None] = pages[None][: len(pages[None]) * 2 // 3]
    ahead = _reader(pages, [])
    chunks: list[list[OaiRecord]] = []
    with pytest.raises(ParseError, match="malformed or truncated"):
        ahead.read_page(chunks.append)
    assert chunks and all(sum(r.entry is not None for r in c) == 4 for c in chunks)
    ahead.close()


def test_a_protocol_error_is_raised_where_the_page_is_read() -> None:
    ahead = _reader({None: error_doc("badResumptionToken", "expired")}, [])
    with pytest.raises(OaiError) as raised:
        ahead.read_page(lambda chunk: None)
    assert raised.value.code == "badResumptionToken"
    ahead.close()


def test_closing_stops_a_thread_waiting_on_a_full_queue() -> None:
    pages = _pages([4 * (DEPTH + 3), 5])
    asked: list[str | None] = []
    ahead = _reader(pages, asked)
    full = threading.Event()
    for _ in range(3000):  # the thread fills the queue with page 1 and waits
        if ahead._events.full():
            full.set()
            break
        full.wait(0.01)
    assert full.is_set()
    ahead.close()
    assert not ahead._thread.is_alive()
    assert asked == [None]  # it never went on to the next page

"""Reading a harvest's OAI-PMH pages one page ahead of storing them, in a thread.

Fetching and parsing a page is Python work; storing it is mostly the database's (its
full-text index), which runs without the GIL. So while the caller stores page n, a
thread fetches page n+1 (through the same client, so through arXiv's pacing gate) and
reads it into records, handing them over in chunks of at most ``chunk`` stored entries
through a short queue: at most ``DEPTH`` chunks wait, so memory stays bounded by a page
or two whatever the harvest's size.

What the caller sees is what reading the pages in line would give: the records of each
page in order, then the page's end (its resumption token), and an error where the
synchronous read would have raised it, after the full chunks read before it (so a page
cut short stores the batches before the break, as before). After an error, or the last
page, the thread stops; ``close`` stops it early (the caller failed or was interrupted).

No storage here: the caller stores.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from tracker.sources.oai import OaiPage, OaiRecord

DEPTH = 4  # chunks waiting at most: with 500-record chunks, two arXiv pages
_POLL = 0.1  # seconds between checks of the stop flag while the queue is full


@dataclass(frozen=True, slots=True)
class PageEnd:
    """A page read to its end: what the server said about the rest of the list."""

    token: str | None
    complete_size: int | None
    no_records: bool


_Event = tuple[str, object]  # ("chunk", list[OaiRecord]) | ("end", PageEnd) | ("error", exc)


class ReadAhead:
    """The pages of one harvest from ``token`` on (None: the first page), read in a
    thread; ``fetch(token)`` fetches one page."""

    def __init__(self, fetch: Callable[[str | None], OaiPage], token: str | None, chunk: int):
        self._fetch = fetch
        self._chunk = chunk
        self._events: queue.Queue[_Event] = queue.Queue(maxsize=DEPTH)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(token,), name="oai-read-ahead", daemon=True
        )
        self._thread.start()

    def read_page(self, store: Callable[[list[OaiRecord]], None]) -> PageEnd:
        """Hand the next page's records to ``store`` chunk by chunk; its end, or the
        error that reading it raised."""
        while True:
            kind, value = self._events.get()
            if kind == "chunk":
                store(value)  # type: ignore[arg-type]
            elif kind == "end":
                return value  # type: ignore[return-value]
            else:
                raise value  # type: ignore[misc]

    def close(self) -> None:
        """Stop reading (the thread ends at its next chunk or page)."""
        self._stop.set()
        try:
            while True:  # let a producer blocked on a full queue see the flag
                self._events.get_nowait()
        except queue.Empty:
            pass
        self._thread.join(timeout=5)

    def _put(self, event: _Event) -> bool:
        while not self._stop.is_set():
            try:
                self._events.put(event, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, token: str | None) -> None:
        while not self._stop.is_set():
            try:
                page = self._fetch(token)
                chunk: list[OaiRecord] = []
                entries = 0
                for record in page:
                    chunk.append(record)
                    entries += record.entry is not None
                    if entries >= self._chunk:
                        if not self._put(("chunk", chunk)):
                            return
                        chunk, entries = [], 0
                if chunk and not self._put(("chunk", chunk)):
                    return
            except BaseException as e:  # raised in the caller, where reading in line would
                self._put(("error", e))
                return
            token = page.token
            if not self._put(("end", PageEnd(token, page.complete_size, page.no_records))):
                return
            if token is None:
                return

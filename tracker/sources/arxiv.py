"""The arXiv adapter: API searches, id lookups and daily listings, all paced.

We call arXiv with httpx ourselves instead of through the ``arxiv`` package: that
package sets no timeouts, paces per client object instead of per process, retries
every non-200 (a 400 for a bad id included) without honouring Retry-After, and
returns empty or partial results for empty pages and malformed XML without saying so.
Here every request goes through the process-wide ``PacingGate``, retries back off
exponentially with jitter and honour Retry-After, and an empty page for a query that
reported results is retried, then reported as an error.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Sequence

from tracker.errors import FetchError, HTTPStatusError, ParseError, UpstreamError
from tracker.models import CacheValidators, Entry, Response
from tracker.sources.arxiv_xml import Listing, parse_api, parse_listing
from tracker.sources.http import Fetcher, backoff_delay, with_retries
from tracker.sources.pacing import PacingGate

log = logging.getLogger(__name__)
ATOM = "application/atom+xml, application/xml;q=0.9, */*;q=0.1"
# The whole day of arXiv: one listing request with every archive joined by "+"
# (https://info.arxiv.org/help/rss.html). A listing source with this value asks for it.
WHOLE_DAY = "*"
ARCHIVES = (
    "astro-ph",
    "cond-mat",
    "physics",
    "quant-ph",
    "math",
    "cs",
    "econ",
    "eess",
    "gr-qc",
    "hep-ex",
    "hep-lat",
    "hep-ph",
    "hep-th",
    "math-ph",
    "nlin",
    "nucl-ex",
    "nucl-th",
    "q-bio",
    "q-fin",
    "stat",
)
RSS = "application/rss+xml, application/xml;q=0.9, */*;q=0.1"


class ArxivClient:
    def __init__(
        self,
        fetcher: Fetcher,
        gate: PacingGate,
        *,
        api_url: str,
        listing_url: str,
        page_size: int = 200,
        max_pages: int = 5,
        retries: int = 3,
        base_backoff: float = 5.0,
        max_wait: float = 120.0,
        rng: random.Random | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.gate = gate
        self.api_url = api_url
        self.listing_url = listing_url
        self.page_size = page_size
        self.max_pages = max_pages
        self.retries = retries
        self.base_backoff = base_backoff
        self.max_wait = max_wait
        self.rng = rng or random.Random()

    # --- API ----------------------------------------------------------------------------

    def search(self, expression: str, since: dt.datetime | None) -> list[Entry]:
        """Results of a search, newest update first, down to ``since`` (or one page)."""
        found: list[Entry] = []
        for page_no in range(self.max_pages):
            start = page_no * self.page_size
            params: dict[str, str | int] = {
                "search_query": expression,
                "start": start,
                "max_results": self.page_size,
                "sortBy": "lastUpdatedDate",
                "sortOrder": "descending",
            }
            entries, total = self._api_page(params, start)
            found.extend(entries)
            if (
                len(entries) < self.page_size
                or start + len(entries) >= total
                or since is None
                or any(e.updated is not None and e.updated < since for e in entries)
            ):
                break
        else:
            log.warning("arXiv search stopped at max_pages=%d query=%r", self.max_pages, expression)
        if since is not None:
            found = [e for e in found if e.updated is None or e.updated >= since]
        return found

    def by_ids(self, arxiv_ids: Sequence[str]) -> list[Entry]:
        """Full records of papers by id (one request for up to ``page_size`` ids)."""
        found: list[Entry] = []
        for start in range(0, len(arxiv_ids), self.page_size):
            chunk = arxiv_ids[start : start + self.page_size]
            params: dict[str, str | int] = {
                "id_list": ",".join(chunk),
                "start": 0,
                "max_results": len(chunk),
            }
            entries, _ = self._api_page(params, 0)
            found.extend(entries)
        return found

    def _api_page(self, params: dict[str, str | int], start: int) -> tuple[list[Entry], int]:
        for attempt in range(self.retries + 1):
            response = self._get(self.api_url, params, accept=ATOM)
            try:
                page = parse_api(response.body)
            except UpstreamError:
                raise
            except ParseError as e:
                # A truncated or garbled body is a transfer problem: try again.
                if attempt == self.retries:
                    raise
                self._back_off(attempt, None, str(e))
                continue
            if page.entries or page.total <= start:
                return list(page.entries), page.total
            # arXiv sometimes answers an empty page for a query that has results.
            if attempt == self.retries:
                raise FetchError(
                    f"arXiv returned an empty page although it reported {page.total} results",
                    url=response.url,
                )
            self._back_off(attempt, None, "empty page")
        raise AssertionError("unreachable")

    # --- listings -----------------------------------------------------------------------

    def listing_address(self, categories: Sequence[str]) -> str:
        """The listing of these categories; with ``WHOLE_DAY`` among them, of every
        archive (which holds every category)."""
        codes = ARCHIVES if WHOLE_DAY in categories else categories
        return self.listing_url.rstrip("/") + "/" + "+".join(codes)

    def listing(
        self, categories: Sequence[str], validators: CacheValidators | None = None
    ) -> tuple[Response, Listing | None]:
        """Today's listing for several categories in one request; None when unchanged."""
        response = self._get(self.listing_address(categories), None, validators, accept=RSS)
        if response.not_modified:
            return response, None
        return response, parse_listing(response.body)

    # --- retries ------------------------------------------------------------------------

    def _get(
        self,
        url: str,
        params: dict[str, str | int] | None,
        validators: CacheValidators | None = None,
        *,
        accept: str,
    ) -> Response:
        def explain(e: HTTPStatusError) -> Exception | None:
            if e.status == 400 and e.body:
                # The API explains a bad query in an Atom error entry.
                try:
                    parse_api(e.body)
                except UpstreamError as upstream:
                    return upstream
                except ParseError:
                    pass
            return None

        return with_retries(
            lambda: self.fetcher.get(url, params=params, validators=validators, accept=accept),
            retries=self.retries,
            back_off=self._back_off,
            explain=explain,
        )

    def _back_off(self, attempt: int, retry_after: float | None, why: str) -> None:
        delay = backoff_delay(self.base_backoff, attempt, self.rng)
        if retry_after is not None:
            delay = max(delay, retry_after)
        if delay > self.max_wait:
            error = FetchError(f"arXiv asked to wait {delay:.0f}s ({why}); will retry later")
            error.retry_after = delay
            raise error
        log.warning(
            "arXiv request failed, retrying in %.1fs attempt=%d why=%s", delay, attempt + 1, why
        )
        self.gate.defer(delay)

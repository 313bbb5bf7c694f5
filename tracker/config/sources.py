"""The ``[arxiv]`` and ``[fetch]`` tables: where and how sources are fetched."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from tracker.config.checker import (
    _Checker,
    _url,
    environ_flag,
)
from tracker.config.settings import (
    _EMAIL,
    ARXIV_HOSTS,
    ARXIV_MIN_INTERVAL,
    DEFAULT_API_URL,
    DEFAULT_LISTING_URL,
    DEFAULT_OAI_URL,
    ArxivSettings,
    FetchSettings,
    PublishedSettings,
)


def _arxiv(c: _Checker, data: Mapping[str, Any], environ: Mapping[str, str]) -> ArxivSettings:
    allowed = {
        "contact_email",
        "api_url",
        "listing_url",
        "oai_url",
        "min_interval",
        "page_size",
        "max_pages",
        "lookback_days",
        "max_query_chars",
        "listing_batch",
        "id_batch",
        "author_url",
        "author_feed_days",
        "author_feeds_per_cycle",
    }
    t = c.table(data, "arxiv", allowed)
    contact = environ.get("TRACKER_ARXIV_CONTACT") or c.get(t, "arxiv", "contact_email", str, "")
    if not _EMAIL.match(contact):
        c.problem(
            "arxiv.contact_email",
            "expected your e-mail address (arXiv asks API users for a contact in the "
            f"User-Agent), got {contact!r}",
        )
    settings = ArxivSettings(
        contact_email=contact,
        api_url=_url(c, "arxiv.api_url", c.get(t, "arxiv", "api_url", str, DEFAULT_API_URL)),
        listing_url=_url(
            c, "arxiv.listing_url", c.get(t, "arxiv", "listing_url", str, DEFAULT_LISTING_URL)
        ),
        oai_url=_url(c, "arxiv.oai_url", c.get(t, "arxiv", "oai_url", str, DEFAULT_OAI_URL)),
        min_interval=c.get(t, "arxiv", "min_interval", float, ARXIV_MIN_INTERVAL),
        page_size=c.positive(t, "arxiv", "page_size", int, 200),
        max_pages=c.positive(t, "arxiv", "max_pages", int, 5),
        lookback_days=c.positive(t, "arxiv", "lookback_days", int, 7),
        max_query_chars=c.positive(t, "arxiv", "max_query_chars", int, 1000),
        listing_batch=c.positive(t, "arxiv", "listing_batch", int, 25),
        id_batch=c.positive(t, "arxiv", "id_batch", int, 100),
        author_url=_url(
            c, "arxiv.author_url", c.get(t, "arxiv", "author_url", str, "https://arxiv.org/a/")
        ),
        author_feed_days=c.positive(t, "arxiv", "author_feed_days", float, 7.0),
        author_feeds_per_cycle=c.positive(t, "arxiv", "author_feeds_per_cycle", int, 5),
    )
    if settings.page_size > 2000:
        c.problem("arxiv.page_size", "arXiv serves at most 2000 results per page")
    real_arxiv = any(h == a or h.endswith("." + a) for h in settings.hosts for a in ARXIV_HOSTS)
    if settings.min_interval < 0 or (real_arxiv and settings.min_interval < ARXIV_MIN_INTERVAL):
        c.problem(
            "arxiv.min_interval",
            f"expected at least {ARXIV_MIN_INTERVAL:g} seconds for arXiv's servers "
            f"(their terms of use), got {settings.min_interval:g}",
        )
    return settings


def _fetch(c: _Checker, data: Mapping[str, Any], environ: Mapping[str, str]) -> FetchSettings:
    allowed = {
        "timeout",
        "deadline",
        "max_body_mb",
        "max_redirects",
        "feed_interval_minutes",
        "max_backoff_hours",
        "concurrency",
        "use_env_proxy",
        "block_private_addresses",
        "failing_after",
    }
    t = c.table(data, "fetch", allowed)
    return FetchSettings(
        timeout=c.positive(t, "fetch", "timeout", float, 20.0),
        deadline=c.positive(t, "fetch", "deadline", float, 60.0),
        max_body_bytes=int(c.positive(t, "fetch", "max_body_mb", float, 10.0) * 1024 * 1024),
        max_redirects=c.get(t, "fetch", "max_redirects", int, 5),
        feed_interval=dt.timedelta(
            minutes=c.positive(t, "fetch", "feed_interval_minutes", float, 60.0)
        ),
        max_backoff=dt.timedelta(hours=c.positive(t, "fetch", "max_backoff_hours", float, 24.0)),
        concurrency=c.positive(t, "fetch", "concurrency", int, 4),
        use_env_proxy=c.get(t, "fetch", "use_env_proxy", bool, True),
        block_private_addresses=environ_flag(environ, "TRACKER_BLOCK_PRIVATE_ADDRESSES")
        or c.get(t, "fetch", "block_private_addresses", bool, False),
        failing_after=c.positive(t, "fetch", "failing_after", int, 3),
    )


MAX_ID_LIST = 2000  # the API's largest max_results: more ids than that in one request fail


def _published(c: _Checker, data: Mapping[str, Any]) -> PublishedSettings:
    """[published]: the watch for venues noticed later."""
    allowed = {
        "enabled",
        "window_days",
        "check_hours",
        "batch_size",
        "batches_per_cycle",
        "openalex",
    }
    t = c.table(data, "published", allowed)
    batch = c.positive(t, "published", "batch_size", int, 100)
    if batch > MAX_ID_LIST:
        c.problem(
            "published.batch_size",
            f"expected at most {MAX_ID_LIST} ids per request (arXiv's largest page), got {batch}",
        )
        batch = 100
    return PublishedSettings(
        enabled=c.get(t, "published", "enabled", bool, True),
        window=dt.timedelta(days=c.positive(t, "published", "window_days", float, 365.0)),
        check_every=dt.timedelta(hours=c.positive(t, "published", "check_hours", float, 24.0)),
        batch_size=batch,
        batches_per_cycle=c.positive(t, "published", "batches_per_cycle", int, 3),
        openalex=c.get(t, "published", "openalex", bool, True),
    )

"""The watch for venues noticed later: the fetch cycle's last step.

A journal reference or DOI added on arXiv makes no new version, so no listing or
search announces it. Papers readers care about (saved by someone, or by a followed
scholar), recent enough (``[published] window_days``) and without a venue yet are
asked about again about once per ``check_hours`` (``storage.claim_venue_checks``,
spread by ``fetch.venues.next_check``):

- arXiv: their ids in ``id_list`` requests of ``batch_size`` ids, at most
  ``batches_per_cycle`` requests per cycle, each through the arXiv client and so its
  pacing gate (one request per ``min_interval`` for the installation, Retry-After
  honoured). What comes back is stored like any fetched entry, and ``ingest`` records
  the journal-refs and DOIs that are new (``fetch.venues.venue_changes``).
- OpenAlex, where configured: the same papers by their arXiv DOIs, OR-ed ``[openalex]
  batch`` at a time; a primary location in a journal or a conference is a venue event.

A failing request costs only its batch: the others go on, and its papers stay claimed
for ``RETRY`` and are asked about again then (nothing is marked checked that was not).
When arXiv asks to wait longer than the client waits, the rest of the watch's arXiv
requests wait for the next cycle.

No decisions here beyond the order of requests (``fetch.venues`` decides), and no
writes but through storage and the ``store`` function the cycle hands in.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from tracker import ids
from tracker.config import Settings
from tracker.errors import TrackerError
from tracker.fetch import venues
from tracker.models import Entry, VenueChange
from tracker.sources.arxiv import ArxivClient
from tracker.sources.openalex import OpenAlexClient
from tracker.storage import Storage

log = logging.getLogger(__name__)
RETRY = dt.timedelta(hours=1)  # a claimed paper whose check failed is asked about again then
OPENALEX_MAX_VALUES = 100  # OpenAlex's most values OR-ed in one filter
Store = Callable[[Sequence[tuple[Entry, Sequence[int]]]], object]


@dataclass
class WatchReport:
    due: int = 0  # papers claimed for a check
    checked: int = 0  # ... asked about arXiv successfully
    arxiv_requests: int = 0  # batches sent (retries inside the client not counted)
    openalex_requests: int = 0
    openalex_noticed: int = 0  # venue events from OpenAlex
    errors: list[str] = field(default_factory=list)


def watch_published(
    storage: Storage,
    arxiv: ArxivClient,
    openalex: OpenAlexClient | None,
    settings: Settings,
    clock: Callable[[], dt.datetime],
    *,
    store: Store,
    errors: list[str] | None = None,
) -> WatchReport:
    """Ask about the watched papers that are due; failures go to ``errors`` too."""
    report = WatchReport()
    p = settings.published
    if not p.enabled:
        return report
    now = clock()
    size = max(1, min(p.batch_size, settings.arxiv.page_size))  # one request per batch
    due = storage.claim_venue_checks(
        now,
        since=now - p.window,
        settled=now - p.check_every,
        limit=size * p.batches_per_cycle,
        lease=RETRY,
        early=venues.early(p.check_every),
    )
    report.due = len(due)
    if not due:
        return report
    _ask_arxiv(due, size, storage, arxiv, settings, clock, store, report)
    if openalex is not None and p.openalex:
        _ask_openalex(due, settings, storage, openalex, clock, report)
    log.info(
        "venue watch due=%d checked=%d arxiv_requests=%d openalex_requests=%d "
        "openalex_noticed=%d errors=%d",
        report.due,
        report.checked,
        report.arxiv_requests,
        report.openalex_requests,
        report.openalex_noticed,
        len(report.errors),
    )
    if errors is not None:
        errors.extend(report.errors)
    return report


def _ask_arxiv(
    due: Sequence[tuple[int, str]],
    size: int,
    storage: Storage,
    arxiv: ArxivClient,
    settings: Settings,
    clock: Callable[[], dt.datetime],
    store: Store,
    report: WatchReport,
) -> None:
    every = settings.published.check_every
    for batch in venues.batches([a for _, a in due], size):
        wanted = set(batch)
        report.arxiv_requests += 1
        try:
            found = arxiv.by_ids(batch)
        except Exception as e:  # one batch's failure (or a bug) never stops the cycle
            _failed(report, f"arXiv venue check of {len(batch)} papers", e)
            if getattr(e, "retry_after", None) is not None:
                break  # arXiv asked us to wait: the rest waits for a later cycle
            continue
        store([(replace(e, key=ids.item_key(e, "")), []) for e in found])
        # Papers arXiv did not return are checked too: asking again sooner would not help.
        now = clock()
        storage.venue_checked(
            [
                (item_id, venues.next_check(item_id, now, every))
                for item_id, arxiv_id in due
                if arxiv_id in wanted
            ],
            now,
        )
        report.checked += len(wanted)


def _ask_openalex(
    due: Sequence[tuple[int, str]],
    settings: Settings,
    storage: Storage,
    openalex: OpenAlexClient,
    clock: Callable[[], dt.datetime],
    report: WatchReport,
) -> None:
    item_of = {arxiv_id: item_id for item_id, arxiv_id in due}
    size = max(1, min(settings.openalex.batch, OPENALEX_MAX_VALUES))
    for batch in venues.batches(list(item_of), size):
        report.openalex_requests += 1
        try:
            found = openalex.publications(batch)
        except Exception as e:
            _failed(report, f"OpenAlex venue check of {len(batch)} papers", e)
            continue
        changes: list[tuple[int, VenueChange]] = [
            (item_of[arxiv_id], change)
            for arxiv_id, found_changes in found.items()
            if arxiv_id in item_of
            for change in found_changes
        ]
        report.openalex_noticed += storage.record_venue_changes(changes, clock())


def _failed(report: WatchReport, what: str, error: Exception) -> None:
    if isinstance(error, TrackerError):
        log.warning("venue check failed what=%r error=%s", what, error)
        message = str(error)
    else:  # a bug or an unforeseen input: keep the cycle going, keep the trace
        log.exception("venue check failed unexpectedly what=%r", what)
        message = f"internal error: {type(error).__name__}: {error}"
    report.errors.append(f"{what}: {message}")

"""One fetch cycle: due sources are fetched, parsed, merged into storage, rescheduled.

Request economy: all due listing categories go out in a few requests (categories
joined with "+"), all due arXiv queries are OR-ed into a few API requests within
``max_query_chars`` and attributed back by local matching, and papers known only from
a link are completed by id in batches. Feeds are fetched concurrently (arXiv hosts
still pass the pacing gate one at a time) and written by the calling thread.

Every source kind is read by a step that returns one ``Outcome`` (entries, validators,
next check, or an error), recorded the same way by ``fetch.outcome.Recorder``: one
broken source never stops the others; each batch's failure is recorded on its sources,
with backoff, and the cycle goes on. When sources are next due is decided in
``tracker.decide`` only.

Several workers share the queue: sources are claimed before they are fetched, a batch
at a time (a listing request's categories, the cycle's searches, a few feeds more than
the pool has threads), so each due source is fetched by one worker (``fetch.claims``).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace

from tracker import decide, ids
from tracker.config import Settings
from tracker.errors import ParseError, SourceError
from tracker.fetch.claims import Claimer, new_worker_id
from tracker.fetch.merge import merge, normalise_new
from tracker.fetch.outcome import Batch, CycleReport, Outcome, Recorder, Stored
from tracker.fetch.published import watch_published
from tracker.fetch.scholars import Attributor, author_feed, openalex_batches, openalex_works
from tracker.fetch.venues import venue_changes
from tracker.models import CacheValidators, Entry, Response, Source, SourceKind
from tracker.sources import arxiv_query as query
from tracker.sources.arxiv import WHOLE_DAY, ArxivClient
from tracker.sources.feeds import TRUNCATED, ParsedFeed, parse_feed
from tracker.sources.http import Fetcher
from tracker.sources.openalex import OpenAlexClient
from tracker.storage import Storage
from tracker.storage.items import PretagFn

__all__ = ["CycleReport", "Ingestor", "Progress"]

log = logging.getLogger(__name__)
QUERY_OVERLAP = dt.timedelta(days=2)  # re-ask this far back: arXiv's index lags
ENRICH_REQUESTS = 2  # id lookups per cycle at most
INDEX_BATCH = 5_000  # new items of a cycle put into SQLite's search index together
FEED_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, "
    "application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)
Progress = Callable[[str], None]
Fetched = tuple[ParsedFeed | None, Response]


class Ingestor:
    def __init__(
        self,
        storage: Storage,
        arxiv: ArxivClient,
        fetcher: Fetcher,
        settings: Settings,
        clock: Callable[[], dt.datetime],
        openalex: OpenAlexClient | None = None,
        pretag: PretagFn | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.worker_id = worker_id or new_worker_id()
        self.storage = storage
        self.arxiv = arxiv
        self.fetcher = fetcher
        self.settings = settings
        self.clock = clock
        self.field_map = settings.field_map
        # the composition root gives the field model's (computed before each write)
        self.pretag = pretag or (lambda entries: settings.field_map.tag)
        self.openalex = openalex
        self._attributor: Attributor | None = None
        self._unindexed = 0  # new items of this cycle waiting for the search index

    def run(self, *, everything: bool = False, progress: Progress | None = None) -> CycleReport:
        report = CycleReport()
        self._attributor = None  # the followed scholars are read again each cycle
        claims = Claimer(
            self.storage,
            self.worker_id,
            self.settings.schedule.claim_lease,
            self.clock,
            everything=everything,
        )
        recorder = Recorder(
            self.storage,
            functools.partial(self._store, report=report),
            self.clock,
            self.settings.fetch.max_backoff,
            report,
        )
        self._unindexed = 0
        try:
            with claims.kept():
                self._cycle(claims, recorder, progress or (lambda message: None))
        finally:
            # What this cycle stored waits for SQLite's search index, and so do the
            # papers of a harvest (running, or interrupted): indexed here in large
            # batches, which costs half as much as a row at a time (storage/bulk.py).
            self.storage.index_waiting()
        log.info(
            "cycle done tried=%d failed=%d checked=%d not_modified=%d new_items=%d "
            "new_sightings=%d errors=%d",
            report.tried,
            report.failed,
            report.checked,
            report.not_modified,
            report.new_items,
            report.new_sightings,
            len(report.errors),
        )
        return report

    def _cycle(self, claims: Claimer, recorder: Recorder, say: Progress) -> None:
        report = recorder.report
        # Scholars' id-keyed sources first: what they bring tells apart namesakes in
        # everything found by name later in the cycle.
        if self.openalex is not None:
            client = self.openalex
            found = report.trying(claims.claim([SourceKind.OPENALEX]))
            if found:
                say(f"OpenAlex: {len(found)} scholar ids")
            for key, batch in openalex_batches(found, self.settings.openalex.batch):
                step = functools.partial(
                    openalex_works,
                    key,
                    batch,
                    settings=self.settings,
                    client=client,
                    clock=self.clock,
                )
                recorder.contain(batch, step)
        a = self.settings.arxiv
        found = report.trying(
            claims.claim([SourceKind.ARXIV_AUTHOR], limit=a.author_feeds_per_cycle)
        )
        if found:
            say(f"arXiv author feeds: {len(found)} due")
        for source in decide.oldest_due(found, a.author_feeds_per_cycle):
            step = functools.partial(
                author_feed,
                source,
                settings=self.settings,
                fetcher=self.fetcher,
                storage=self.storage,
                clock=self.clock,
            )
            recorder.contain([source], step)
        self._listings(claims, recorder, say)
        # together: OR-ed into few requests
        found = report.trying(claims.claim([SourceKind.ARXIV_QUERY]))
        if found:
            say(f"arXiv searches: {len(found)} queries")
        for indexes in query.batch([s.value for s in found], a.max_query_chars):
            group = [found[n] for n in indexes]
            recorder.contain(group, functools.partial(self._query_batch, group))
        self._feeds(claims, recorder, say)
        self._enrich(report)
        # venues noticed later: papers readers care about, asked about again (paced)
        watch_published(
            self.storage,
            self.arxiv,
            self.openalex,
            self.settings,
            self.clock,
            store=lambda b: self._store(b, report),
            errors=report.errors,
        )

    # --- storing ------------------------------------------------------------------------

    def _store(self, batch: Batch, report: CycleReport) -> Stored:
        """Store entries, then attribute them to the scholars followed. Their fields
        are computed first: the write transaction only maps categories."""
        if not batch:
            return []
        tag = self.pretag([entry for entry, _ in batch])
        result = self.storage.ingest(
            batch,
            self.clock(),
            merge=merge,
            prepare=normalise_new,
            tag=tag,
            notice=venue_changes,
            index_later=True,
        )
        # the new items are searchable a few thousand at a time during the cycle
        self._unindexed += result.new_items
        if self._unindexed >= INDEX_BATCH:
            self.storage.index_waiting()
            self._unindexed = 0
        report.new_items += result.new_items
        report.new_sightings += result.new_sightings
        sources: dict[str, set[int]] = {}
        entries: dict[str, Entry] = {}
        for entry, source_ids in batch:
            sources.setdefault(entry.key, set()).update(source_ids)
            entries.setdefault(entry.key, entry)
        stored = [
            (entries[key], item_id, tuple(sorted(sources[key])))
            for key, item_id in zip(entries, result.item_ids, strict=True)
        ]
        if self._attributor is None:
            self._attributor = Attributor(self.storage, self.clock)
        report.attributed += self._attributor(stored)
        return stored

    # --- arXiv listings -----------------------------------------------------------------

    def _listings(self, claims: Claimer, recorder: Recorder, say: Progress) -> None:
        """One listing request's categories claimed at a time, until none is due."""
        size = self.settings.arxiv.listing_batch
        while sources := recorder.report.trying(
            claims.claim([SourceKind.ARXIV_LISTING], limit=size)
        ):
            say(f"arXiv listings: {len(sources)} categories")
            for start in range(0, len(sources), size):
                group = sources[start : start + size]
                recorder.contain(group, functools.partial(self._listing_batch, group))

    def _listing_batch(self, group: list[Source]) -> Outcome:
        codes = [s.value for s in group]
        url = self.arxiv.listing_address(codes)
        response, listing = self.arxiv.listing(codes, self.storage.validators(url))
        now = self.clock()
        if listing is None:  # 304: not rebuilt since we last looked
            next_check = decide.after_listing(now, dt.date.min)
            return Outcome(tuple(group), next_check, now, not_modified=True)
        batch: list[tuple[Entry, Sequence[int]]] = [
            (replace(e, key=ids.item_key(e, "")), self._category_sources(e, group))
            for e in listing.entries
        ]
        # The listing shows one day only: sources that missed days catch up by search
        # (the whole day's listing does not: its missed days are not worth the requests).
        behind = [
            s for s in group if s.value != WHOLE_DAY and decide.missed_listings(s.last_success, now)
        ]
        if behind:
            since = min(s.last_success for s in behind if s.last_success) - dt.timedelta(days=1)
            expression = query.combine([f"cat:{s.value}" for s in behind])
            batch += [
                (replace(e, key=ids.item_key(e, "")), self._category_sources(e, behind))
                for e in self.arxiv.search(expression, since)
            ]
        return Outcome(
            tuple(group),
            decide.after_listing(now, listing.day),
            now,
            entries=batch,
            validators=(url, CacheValidators(response.etag, response.last_modified)),
        )

    def _category_sources(self, entry: Entry, group: Sequence[Source]) -> list[int]:
        codes = [self.field_map.canonical(c) for c in entry.categories]
        return [
            s.id
            for s in group
            if s.value == WHOLE_DAY
            or any(c == s.value or c.startswith(s.value + ".") for c in codes)
        ]

    # --- arXiv searches -----------------------------------------------------------------

    def _query_batch(self, group: list[Source]) -> Outcome:
        now = self.clock()
        since = decide.ask_since(
            [s.last_success for s in group],
            now,
            overlap=QUERY_OVERLAP,
            lookback=dt.timedelta(days=self.settings.arxiv.lookback_days),
        )
        nodes = [query.parse(s.value) for s in group]
        found = self.arxiv.search(query.combine([s.value for s in group]), since)
        batch: list[tuple[Entry, Sequence[int]]] = []
        for entry in found:
            matched = [
                s.id for s, node in zip(group, nodes, strict=True) if query.matches(node, entry)
            ]
            # arXiv matched it but our local reading cannot tell which part of the OR
            # did (its stemming differs): credit the whole batch rather than drop it.
            batch.append(
                (replace(entry, key=ids.item_key(entry, "")), matched or [s.id for s in group])
            )
        next_check = decide.after_success(
            SourceKind.ARXIV_QUERY, now, self.settings.fetch.feed_interval
        )
        return Outcome(tuple(group), next_check, now, entries=batch)

    # --- feeds --------------------------------------------------------------------------

    def _fetch_feed(self, source: Source, validators: CacheValidators) -> Fetched:
        """In a pool thread: the transfer and the parse, no database (each thread
        would hold a connection of its own, and SQLite a page cache with it)."""
        response = self.fetcher.get(source.value, validators=validators, accept=FEED_ACCEPT)
        if response.not_modified:
            return None, response
        parsed = parse_feed(response.body, url=response.url, content_type=response.content_type)
        # the body is not needed once parsed: a feed waiting to be stored keeps its entries
        return parsed, replace(response, body=b"")

    def _feeds(self, claims: Claimer, recorder: Recorder, say: Progress) -> None:
        """Feeds fetched by a pool of threads and written by this one. Claims stay a
        little ahead of the pool (twice its threads), so that several workers share
        the feeds and a claim is not held long before its fetch begins. At most twice
        as many feeds as the pool has threads are fetched and not yet stored (``fetch
        --all`` claims every feed at once: the rest wait, unfetched), so a cycle's
        memory does not grow with the number of feeds when storing is slower than
        fetching."""
        width = max(1, self.settings.fetch.concurrency)
        running: dict[Future[Fetched], Source] = {}
        waiting: deque[Source] = deque()  # claimed, not fetched yet
        more, done = True, 0
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="feed") as pool:
            while True:
                if more and not waiting and len(running) < width:
                    fresh = recorder.report.trying(
                        claims.claim([SourceKind.FEED], limit=2 * width - len(running))
                    )
                    more = bool(fresh)
                    waiting.extend(fresh)
                while waiting and len(running) < 2 * width:
                    s = waiting.popleft()
                    validators = self.storage.validators(s.value)
                    running[pool.submit(self._fetch_feed, s, validators)] = s
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    source = running.pop(future)
                    recorder.contain([source], functools.partial(self._feed, source, future))
                    done += 1
                    if done % 50 == 0:
                        say(f"feeds: {done} fetched")

    def _feed(self, source: Source, fetched: Future[Fetched]) -> Outcome:
        parsed, response = fetched.result()  # the pool thread's error, if any, is raised here
        now = self.clock()
        next_check = decide.after_success(
            source.kind, now, self.settings.fetch.feed_interval, seed=source.id
        )
        if parsed is None:
            return Outcome((source,), next_check, now, not_modified=True)
        if parsed.warning:
            log.info(
                "feed read with warnings source=%d url=%s warning=%s",
                source.id,
                source.value,
                parsed.warning,
            )
        return Outcome(
            (source,),
            next_check,
            now,
            entries=[(e, [source.id]) for e in self._keyed(source, parsed.entries)],
            validators=(source.value, CacheValidators(response.etag, response.last_modified)),
            title=parsed.title,
            # What was read in full is kept (storing never loses anything), but the
            # source failed, and the cut response's validators are not kept: the next
            # fetch must get the whole body, not a 304 for the part that never came.
            error=ParseError(TRUNCATED, url=response.url) if parsed.truncated else None,
        )

    def _keyed(self, source: Source, entries: Sequence[Entry]) -> list[Entry]:
        """Entries with their keys. A post is known by its feed and guid (or its link,
        ``ids.post_keys``); but some feeds give their posts a new guid on every fetch,
        so a post whose key is new while its link (unique in the feed, #fragment
        included) is already stored from this feed keeps the stored key instead of
        becoming a duplicate."""
        scope = f"feed:{source.value}"
        keys = ids.post_keys(entries, scope)
        keyed = [replace(e, key=k) for e, k in zip(entries, keys, strict=True)]
        posts = [e for e in keyed if not e.arxiv_id and e.url and (e.guid or not e.doi)]
        links = [e.url for e in posts if e.url]
        unique = {link for link in links if links.count(link) == 1}
        if not unique:
            return keyed
        stored = self.storage.post_keys_by_url(source.id, sorted(unique))
        fixed = {
            e.key: stored[e.url]
            for e in posts
            if e.url in stored and stored[e.url] != e.key and e.url in unique
        }
        if fixed:
            log.info("feed gave known posts new ids source=%d count=%d", source.id, len(fixed))
        return [replace(e, key=fixed[e.key]) if e.key in fixed else e for e in keyed]

    # --- completing papers known only from links ------------------------------------------

    def _enrich(self, report: CycleReport) -> None:
        size = self.settings.arxiv.id_batch
        for _ in range(ENRICH_REQUESTS):
            pending = self.storage.items_needing_metadata(size)
            if not pending:
                return
            wanted = [item.arxiv_id for item in pending if item.arxiv_id]
            try:
                found = self.arxiv.by_ids(wanted)
            except SourceError as e:
                log.warning("could not complete papers by id count=%d error=%s", len(wanted), e)
                report.errors.append(f"arXiv id lookup: {e}")
                return
            self._store([(replace(e, key=ids.item_key(e, "")), []) for e in found], report)
            missing = set(wanted) - {e.arxiv_id for e in found}
            if missing:
                # arXiv does not know these ids (a typo in someone's link): stop asking.
                self.storage.give_up_metadata(sorted(missing))
            report.enriched += len(found)

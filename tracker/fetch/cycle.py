"""One fetch cycle: due sources are fetched, parsed, merged into storage, rescheduled.

Request economy: all due listing categories go out in a few requests (categories
joined with "+"), all due arXiv queries are OR-ed into a few API requests within
``max_query_chars`` and attributed back by local matching, and papers known only from
a link are completed by id in batches. Feeds are fetched concurrently (arXiv hosts
still pass the pacing gate one at a time) and written by the calling thread.

One broken source never stops the others: each batch's failure is recorded on its
sources, with backoff, and the cycle goes on.

Several workers share the queue: sources are claimed before they are fetched, a batch
at a time (a listing request's categories, the cycle's searches, a few feeds more than
the pool has threads), so each due source is fetched by one worker (``fetch.claims``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace

from tracker import decide, ids
from tracker.config import Settings
from tracker.errors import ParseError, SourceError, TrackerError
from tracker.fetch.claims import Claimer, new_worker_id
from tracker.fetch.merge import merge, normalise_new
from tracker.fetch.scholars import Attributor, author_feeds, openalex_works
from tracker.models import CacheValidators, Entry, Response, Source, SourceKind
from tracker.sources import arxiv_query as query
from tracker.sources.arxiv import WHOLE_DAY, ArxivClient
from tracker.sources.feeds import TRUNCATED, ParsedFeed, parse_feed
from tracker.sources.http import Fetcher
from tracker.sources.openalex import OpenAlexClient
from tracker.storage import Storage
from tracker.storage.items import PretagFn
from tracker.text import clean_line, shorten

log = logging.getLogger(__name__)
QUERY_OVERLAP = dt.timedelta(days=2)  # re-ask this far back: arXiv's index lags
ENRICH_REQUESTS = 2  # id lookups per cycle at most
MAX_ERROR = 500  # characters of a source's last error
Progress = Callable[[str], None]


@dataclass
class CycleReport:
    checked: int = 0
    not_modified: int = 0
    new_items: int = 0
    new_sightings: int = 0
    enriched: int = 0
    attributed: int = 0
    errors: list[str] = field(default_factory=list)
    tried_sources: set[int] = field(default_factory=set)  # ids of the sources fetched
    failed_sources: set[int] = field(default_factory=set)  # ... of those that failed

    @property
    def tried(self) -> int:
        return len(self.tried_sources)

    @property
    def failed(self) -> int:
        return len(self.failed_sources & self.tried_sources)

    @property
    def all_failed(self) -> bool:
        """Nothing could be fetched: every source tried failed (none tried: False)."""
        return bool(self.tried_sources) and self.tried_sources <= self.failed_sources

    def trying(self, sources: Sequence[Source]) -> list[Source]:
        self.tried_sources.update(s.id for s in sources)
        return list(sources)


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
        with claims.kept():
            self._cycle(claims, report, progress or (lambda message: None))
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

    def _cycle(self, claims: Claimer, report: CycleReport, say: Progress) -> None:
        # Scholars' id-keyed sources first: what they bring tells apart namesakes in
        # everything found by name later in the cycle.
        found = report.trying(
            claims.claim([SourceKind.OPENALEX]) if self.openalex is not None else []
        )
        if found and self.openalex is not None:
            say(f"OpenAlex: {len(found)} scholar ids")
            openalex_works(
                found,
                settings=self.settings,
                client=self.openalex,
                storage=self.storage,
                store=lambda b: self._store(b, report),
                fail=lambda s, e: self._fail(s, e, report),
                clock=self.clock,
            )
        found = report.trying(
            claims.claim(
                [SourceKind.ARXIV_AUTHOR], limit=self.settings.arxiv.author_feeds_per_cycle
            )
        )
        if found:
            say(f"arXiv author feeds: {len(found)} due")
            report.checked += author_feeds(
                found,
                settings=self.settings,
                fetcher=self.fetcher,
                storage=self.storage,
                store=lambda b: self._store(b, report),
                fail=lambda s, e: self._fail(s, e, report),
                clock=self.clock,
            )
        self._listings(claims, report, say)
        # together: OR-ed into few requests
        found = report.trying(claims.claim([SourceKind.ARXIV_QUERY]))
        if found:
            say(f"arXiv searches: {len(found)} queries")
            self._queries(found, report)
        self._feeds(claims, report, say)
        self._enrich(report)

    # --- storing ------------------------------------------------------------------------

    def _store(
        self, batch: Sequence[tuple[Entry, Sequence[int]]], report: CycleReport
    ) -> list[tuple[Entry, int, tuple[int, ...]]]:
        """Store entries, then attribute them to the scholars followed. Their fields
        are computed first: the write transaction only maps categories."""
        if not batch:
            return []
        tag = self.pretag([entry for entry, _ in batch])
        result = self.storage.ingest(
            batch, self.clock(), merge=merge, prepare=normalise_new, tag=tag
        )
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

    def _fail(self, sources: Sequence[Source], error: Exception, report: CycleReport) -> None:
        now = self.clock()
        if isinstance(error, TrackerError):
            message = str(error)
            log.warning("source failed sources=%s error=%s", [s.id for s in sources], message)
        else:  # a bug or an unforeseen input: keep the cycle going, keep the trace
            message = f"internal error: {type(error).__name__}: {error}"
            log.exception("source failed unexpectedly sources=%s", [s.id for s in sources])
        # Stored and shown by `tracker status` and the digest: one line, bounded.
        message = shorten(clean_line(message), MAX_ERROR)
        retry_after = getattr(error, "retry_after", None)
        for source in sources:
            next_check = decide.after_failure(
                source.error_count + 1,
                now,
                retry_after=retry_after,
                max_backoff=self.settings.fetch.max_backoff,
                seed=source.id,
            )
            self.storage.record_failure(source.id, now, message, next_check)
            report.errors.append(f"{source.kind.value} {source.value}: {message}")
            report.failed_sources.add(source.id)

    # --- arXiv listings -----------------------------------------------------------------

    def _listings(self, claims: Claimer, report: CycleReport, say: Progress) -> None:
        """One listing request's categories claimed at a time, until none is due."""
        size = self.settings.arxiv.listing_batch
        while sources := report.trying(claims.claim([SourceKind.ARXIV_LISTING], limit=size)):
            say(f"arXiv listings: {len(sources)} categories")
            for start in range(0, len(sources), size):
                group = sources[start : start + size]
                try:
                    self._listing_batch(group, report)
                except Exception as e:
                    self._fail(group, e, report)

    def _listing_batch(self, group: list[Source], report: CycleReport) -> None:
        codes = [s.value for s in group]
        url = self.arxiv.listing_address(codes)
        response, listing = self.arxiv.listing(codes, self.storage.validators(url))
        report.checked += len(group)
        now = self.clock()
        if listing is None:  # 304: not rebuilt since we last looked
            report.not_modified += len(group)
            self.storage.record_success(
                [s.id for s in group], now, decide.after_listing(now, dt.date.min)
            )
            return
        batch = [
            (replace(e, key=ids.item_key(e, "")), self._category_sources(e, group))
            for e in listing.entries
        ]
        self._store(batch, report)
        # The listing shows one day only: sources that missed days catch up by search
        # (the whole day's listing does not: its missed days are not worth the requests).
        behind = [
            s for s in group if s.value != WHOLE_DAY and decide.missed_listings(s.last_success, now)
        ]
        if behind:
            since = min(s.last_success for s in behind if s.last_success) - dt.timedelta(days=1)
            expression = query.combine([f"cat:{s.value}" for s in behind])
            found = self.arxiv.search(expression, since)
            self._store(
                [
                    (replace(e, key=ids.item_key(e, "")), self._category_sources(e, behind))
                    for e in found
                ],
                report,
            )
        self.storage.store_validators(
            url, CacheValidators(response.etag, response.last_modified), now
        )
        self.storage.record_success(
            [s.id for s in group], now, decide.after_listing(now, listing.day)
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

    def _queries(self, sources: list[Source], report: CycleReport) -> None:
        expressions = [s.value for s in sources]
        for indexes in query.batch(expressions, self.settings.arxiv.max_query_chars):
            group = [sources[n] for n in indexes]
            try:
                self._query_batch(group, report)
            except Exception as e:
                self._fail(group, e, report)

    def _query_batch(self, group: list[Source], report: CycleReport) -> None:
        now = self.clock()
        lookback = now - dt.timedelta(days=self.settings.arxiv.lookback_days)
        since = min((s.last_success - QUERY_OVERLAP) if s.last_success else lookback for s in group)
        nodes = [query.parse(s.value) for s in group]
        found = self.arxiv.search(query.combine([s.value for s in group]), since)
        report.checked += len(group)
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
        self._store(batch, report)
        self.storage.record_success(
            [s.id for s in group],
            now,
            decide.after_success(SourceKind.ARXIV_QUERY, now, self.settings.fetch.feed_interval),
        )

    # --- feeds --------------------------------------------------------------------------

    def _fetch_feed(self, source: Source) -> tuple[ParsedFeed | None, Response]:
        validators = self.storage.validators(source.value)
        response = self.fetcher.get(
            source.value,
            validators=validators,
            accept="application/atom+xml, application/rss+xml, application/feed+json, "
            "application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1",
        )
        if response.not_modified:
            return None, response
        parsed = parse_feed(response.body, url=response.url, content_type=response.content_type)
        return parsed, response

    def _feeds(self, claims: Claimer, report: CycleReport, say: Progress) -> None:
        """Feeds fetched by a pool of threads and written by this one. Claims stay a
        little ahead of the pool (twice its threads), so that several workers share
        the feeds and a claim is not held long before its fetch begins."""
        width = max(1, self.settings.fetch.concurrency)
        running: dict[Future[tuple[ParsedFeed | None, Response]], Source] = {}
        more, done = True, 0
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="feed") as pool:
            while True:
                if more and len(running) < width:
                    fresh = report.trying(
                        claims.claim([SourceKind.FEED], limit=2 * width - len(running))
                    )
                    more = bool(fresh)
                    for s in fresh:
                        running[pool.submit(self._fetch_feed, s)] = s
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    source = running.pop(future)
                    try:
                        parsed, response = future.result()
                        self._feed_done(source, parsed, response, report)
                    except Exception as e:
                        self._fail([source], e, report)
                    done += 1
                    if done % 50 == 0:
                        say(f"feeds: {done} fetched")

    def _feed_done(
        self, source: Source, parsed: ParsedFeed | None, response: Response, report: CycleReport
    ) -> None:
        now = self.clock()
        next_check = decide.after_success(
            source.kind, now, self.settings.fetch.feed_interval, seed=source.id
        )
        if parsed is None:
            report.checked += 1
            report.not_modified += 1
            self.storage.record_success([source.id], now, next_check)
            return
        if parsed.warning:
            log.info(
                "feed read with warnings source=%d url=%s warning=%s",
                source.id,
                source.value,
                parsed.warning,
            )
        self._store([(e, [source.id]) for e in self._keyed(source, parsed.entries)], report)
        if parsed.truncated:
            # What was read in full is kept (storing never loses anything), but the
            # source failed, and the cut response's validators are not kept: the next
            # fetch must get the whole body, not a 304 for the part that never came.
            raise ParseError(TRUNCATED, url=response.url)
        report.checked += 1
        self.storage.store_validators(
            source.value, CacheValidators(response.etag, response.last_modified), now
        )
        self.storage.record_success([source.id], now, next_check, title=parsed.title)

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

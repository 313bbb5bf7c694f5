"""The composition root: ``make_tracker`` wires settings, storage, HTTP and arXiv into
one ``Tracker``, the facade that the CLI and the worker call.

Every stage (fetch, digest, search, export) is a method here that runs on its own;
the worker only calls the same methods on a schedule. Tests pass their own HTTP
client, clock and pacing gate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tracker import decide, query
from tracker.bibtex import to_bibtex, to_json
from tracker.config import ReaderSettings, Settings, origin
from tracker.delivery import digest_path, write_atomic
from tracker.digest import ReaderView, build_digest
from tracker.errors import StorageError, UsageError
from tracker.ids import canonical_url
from tracker.ingest import CycleReport, Ingestor, Progress
from tracker.models import (
    NO_FILTERS,
    Digest,
    DigestEntry,
    DigestSection,
    Follow,
    FollowKind,
    Item,
    SearchFilters,
    SearchHit,
    SourceKind,
    SourceStatus,
)
from tracker.names import arxiv_author_term, split_name
from tracker.render import render_markdown
from tracker.sources.arxiv import ArxivClient
from tracker.sources.http import Fetcher, make_client
from tracker.sources.pacing import PacingGate
from tracker.storage import DigestRow, FollowSpec, Storage, StoredDigest, open_storage

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
FAILING_AFTER = 3  # consecutive errors before a source is listed as failing
NOT_BEFORE_SLACK = dt.timedelta(days=1)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    reader: str
    day: dt.date
    path: Path
    digest: Digest
    created: bool  # False when an existing digest was written again


def follow_spec(kind: FollowKind, value: str, title: str | None = None) -> FollowSpec:
    """The source that serves a follow. Scholars by name share an ``au:`` search
    (every T. Dao is one request); their own names filter the results."""
    if kind is FollowKind.CATEGORY:
        return FollowSpec(kind, value, SourceKind.ARXIV_LISTING, value)
    if kind is FollowKind.QUERY:
        return FollowSpec(kind, value, SourceKind.ARXIV_QUERY, value)
    if kind is FollowKind.SCHOLAR:
        return FollowSpec(kind, value, SourceKind.ARXIV_QUERY, arxiv_author_term(value))
    return FollowSpec(kind, value, SourceKind.FEED, value, title)


class Tracker:
    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        ingestor: Ingestor,
        clock: Clock,
        closers: Sequence[Callable[[], None]] = (),
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.ingestor = ingestor
        self.clock = clock
        self._closers = list(closers)

    def close(self) -> None:
        for close in self._closers:
            close()
        self.storage.close()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- follows ------------------------------------------------------------------------

    def sync_config_follows(self) -> None:
        """Make the database's config-origin follows match the config file."""
        now = self.clock()
        dropped = self.storage.forget_readers([r.name for r in self.settings.readers])
        if dropped:
            log.info("follows of readers no longer configured removed count=%d", dropped)
        for reader in self.settings.readers:
            f = reader.follows
            specs = (
                [follow_spec(FollowKind.CATEGORY, c) for c in f.categories]
                + [follow_spec(FollowKind.QUERY, q) for q in f.queries]
                + [follow_spec(FollowKind.SCHOLAR, s) for s in f.scholars]
                + [follow_spec(FollowKind.FEED, feed.url, feed.title) for feed in f.feeds]
            )
            self.storage.sync_follows(reader.name, specs, now, origin="config")

    def normalise_follow(self, kind: FollowKind, value: str) -> str:
        """Validate what a user typed for a follow and return its stored form."""
        value = value.strip()
        if kind is FollowKind.CATEGORY:
            fmap = self.settings.field_map
            if not fmap.knows(value):
                raise UsageError(
                    f"unknown arXiv category {value!r} (see {self.settings.fields_file})"
                )
            return fmap.canonical(value)
        if kind is FollowKind.QUERY:
            try:
                return query.normalise(value)
            except query.QuerySyntaxError as e:
                raise UsageError(f"not a valid arXiv query: {e}") from e
        if kind is FollowKind.SCHOLAR:
            if not split_name(value).surname:
                raise UsageError(f"{value!r} has no surname")
            return " ".join(value.split())
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"feed must be an http(s) URL, got {value!r}")
        return canonical_url(value)

    def follow(
        self, reader: str | None, kind: FollowKind, value: str, title: str | None = None
    ) -> bool:
        name = self.settings.reader(reader).name
        stored = self.normalise_follow(kind, value)
        return self.storage.add_follow(name, follow_spec(kind, stored, title), self.clock())

    def unfollow(self, reader: str | None, kind: FollowKind, value: str) -> None:
        name = self.settings.reader(reader).name
        self.storage.remove_follow(name, kind, self.normalise_follow(kind, value))

    def follows(self, reader: str | None = None) -> list[Follow]:
        return self.storage.follows(reader)

    # --- fetching -----------------------------------------------------------------------

    def fetch(self, *, everything: bool = False, progress: Progress | None = None) -> CycleReport:
        return self.ingestor.run(everything=everything, progress=progress)

    def status(self) -> list[SourceStatus]:
        return self.storage.source_statuses()

    # --- digests ------------------------------------------------------------------------

    def _own_fields(self, reader: ReaderSettings, follows: Sequence[Follow]) -> list[str]:
        if reader.fields:
            return list(reader.fields)
        fields = (
            self.settings.field_map.field_of(f.value)
            for f in follows
            if f.kind is FollowKind.CATEGORY
        )
        return list(dict.fromkeys(f for f in fields if f))

    def _view(self, reader: ReaderSettings) -> ReaderView:
        follows = self.storage.follows(reader.name)
        titles = {s.id: s.title for s in self.storage.followed_sources() if s.title}
        return ReaderView(
            name=reader.name,
            follows=follows,
            own_fields=self._own_fields(reader, follows),
            source_titles=titles,
            aliases=self.settings.field_map.aliases,
        )

    def _failing(self, reader: str) -> list[str]:
        mine = {f.source_id for f in self.storage.follows(reader)}
        return [
            f"{s.source.kind.value} {s.source.title or s.source.value}: {s.source.last_error}"
            for s in self.storage.source_statuses()
            if s.source.id in mine and s.source.error_count >= FAILING_AFTER
        ]

    def build_digest(self, reader_name: str | None, day: dt.date | None = None) -> DigestOutcome:
        """Build (or, if it exists, write again) a reader's digest for a local day."""
        reader = self.settings.reader(reader_name)
        now = self.clock()
        today = now.astimezone(reader.tz).date()
        day = day or today
        stored = self.storage.stored_digest(reader.name, day)
        created = False
        if stored is None:
            if day > today:
                raise UsageError(f"{day} has not begun yet for {reader.name} ({reader.timezone})")
            last = self.storage.last_digest(reader.name)
            if last is not None and day < last[0]:
                raise UsageError(
                    f"a later digest ({last[0]}) exists for {reader.name}; everything before "
                    f"it went there, so a digest for {day} cannot be built any more"
                )
            not_before = last[1] - NOT_BEFORE_SLACK if last else None
            candidates = self.storage.digest_candidates(
                reader.name, now, self.settings.digest.first_lookback, not_before
            )
            digest = build_digest(
                self._view(reader),
                day,
                now,
                [(c.item, c.sightings) for c in candidates],
                self._failing(reader.name),
            )
            rows = [
                DigestRow(
                    e.item.id, s.title, s.kind, e.reasons, e.announce_type, e.followed_authors
                )
                for s in digest.sections
                for e in s.entries
            ]
            try:
                self.storage.record_digest(reader.name, day, now, rows, now, digest.sources_failing)
                created = True
            except StorageError:
                # Another process built it first: use theirs.
                stored = self.storage.stored_digest(reader.name, day)
                if stored is None:
                    raise
        if not created:
            assert stored is not None
            digest = self._from_stored(stored)
        path = digest_path(reader.output_dir, reader.name, day)
        write_atomic(path, self.render(digest))
        log.info(
            "digest written reader=%s day=%s items=%d created=%s path=%s",
            reader.name,
            day,
            digest.item_count,
            created,
            path,
        )
        return DigestOutcome(reader.name, day, path, digest, created)

    def render(self, digest: Digest) -> str:
        return render_markdown(
            digest,
            sentences=self.settings.digest.abstract_sentences,
            max_chars=self.settings.digest.abstract_max_chars,
        )

    def _from_stored(self, stored: StoredDigest) -> Digest:
        items = {i.id: i for i in self.storage.items([r.item_id for r in stored.rows])}
        sections: list[DigestSection] = []
        current: list[DigestEntry] = []
        head: tuple[str, str] | None = None
        for row in stored.rows:
            if row.item_id not in items:
                continue
            if head != (row.section, row.section_kind):
                if head and current:
                    sections.append(DigestSection(head[0], head[1], tuple(current)))
                head, current = (row.section, row.section_kind), []
            current.append(
                DigestEntry(
                    items[row.item_id], row.reasons, row.followed_authors, row.announce_type
                )
            )
        if head and current:
            sections.append(DigestSection(head[0], head[1], tuple(current)))
        return Digest(
            stored.reader, stored.day, stored.cutoff, tuple(sections), stored.failing_sources
        )

    def deliver_due(self) -> list[DigestOutcome]:
        """Build every reader's digest whose delivery time has passed (once per day),
        and write again any stored digest whose file went missing."""
        outcomes: list[DigestOutcome] = []
        now = self.clock()
        for reader in self.settings.readers:
            last = self.storage.last_digest_day(reader.name)
            day = decide.due_digest_day(now, reader.digest_time, reader.tz, last)
            if day is not None:
                outcomes.append(self.build_digest(reader.name, day))
            elif (
                last is not None and not digest_path(reader.output_dir, reader.name, last).exists()
            ):
                # Stored but never written (a crash between commit and write).
                outcomes.append(self.build_digest(reader.name, last))
        return outcomes

    # --- search, saving, export ---------------------------------------------------------

    def search(
        self,
        text: str,
        filters: SearchFilters = NO_FILTERS,
        *,
        limit: int = 20,
        offset: int = 0,
        reader: str | None = None,
    ) -> list[SearchHit]:
        if filters.category:
            filters = replace(filters, category=self.settings.field_map.canonical(filters.category))
        return self.storage.search(text, filters, limit=limit, offset=offset, reader=reader)

    def item(self, ref: str) -> Item:
        return self.storage.item(ref)

    def save(self, reader: str | None, ref: str) -> Item:
        return self.storage.save(self.settings.reader(reader).name, ref, self.clock())

    def unsave(self, reader: str | None, ref: str) -> Item:
        return self.storage.unsave(self.settings.reader(reader).name, ref)

    def saved(self, reader: str | None) -> list[Item]:
        return self.storage.saved_items(self.settings.reader(reader).name)

    @staticmethod
    def export(items: Sequence[Item], fmt: str) -> str:
        if fmt == "bibtex":
            return to_bibtex(items)
        if fmt == "json":
            return to_json(items)
        raise UsageError(f"unknown export format {fmt!r} (use bibtex or json)")


def _field_map_hash(settings: Settings) -> str:
    return hashlib.sha256(settings.fields_file.read_bytes()).hexdigest()


def make_tracker(
    settings: Settings,
    *,
    client: httpx.Client | None = None,
    clock: Clock = utc_now,
    gate: PacingGate | None = None,
    sync_follows: bool = True,
) -> Tracker:
    """Wire the real parts together (tests hand in their own client, clock and gate)."""
    storage = open_storage(settings.database_url)
    owned_client = client is None
    http = client or make_client(settings.fetch.timeout, trust_env=settings.fetch.use_env_proxy)
    gate = gate or PacingGate(settings.arxiv.min_interval)
    endpoints = settings.arxiv.origins

    def gate_for(url: str) -> PacingGate | None:
        """arXiv's hosts, and the configured endpoints (a mirror, a test server), share
        the gate; a feed served elsewhere on the same machine does not."""
        where = origin(url)
        host = where[0]
        is_arxiv = where in endpoints or host == "arxiv.org" or host.endswith(".arxiv.org")
        return gate if is_arxiv else None

    fetcher = Fetcher(
        http,
        user_agent=settings.arxiv.user_agent,
        max_body_bytes=settings.fetch.max_body_bytes,
        deadline=settings.fetch.deadline,
        max_redirects=settings.fetch.max_redirects,
        gate_for=gate_for,
        now=clock,
    )
    arxiv = ArxivClient(
        fetcher,
        gate,
        api_url=settings.arxiv.api_url,
        listing_url=settings.arxiv.listing_url,
        page_size=settings.arxiv.page_size,
        max_pages=settings.arxiv.max_pages,
        base_backoff=max(settings.arxiv.min_interval, 0.01),
    )
    tracker = Tracker(
        settings,
        storage,
        Ingestor(storage, arxiv, fetcher, settings, clock),
        clock,
        closers=[http.close] if owned_client else [],
    )
    try:
        if sync_follows:
            tracker.sync_config_follows()
        mapping = _field_map_hash(settings)
        if storage.get_meta("field_map") != mapping:
            count = storage.retag(settings.field_map.tag)
            storage.set_meta("field_map", mapping)
            if count:
                log.info("fields recomputed after the mapping changed items=%d", count)
    except Exception:
        tracker.close()
        raise
    return tracker

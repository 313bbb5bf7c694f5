"""The composition root: ``make_tracker`` wires settings, storage, HTTP and arXiv into
one ``Tracker``, the facade that the CLI and the worker call.

Every stage (fetch, digest, search, export) is a method here that runs on its own;
the worker only calls the same methods on a schedule. Tests pass their own HTTP
client, clock and pacing gate.

The front ends (``cli``, ``worker``) import only this package, ``config``, ``models``
and ``errors`` (the dependency rule, checked by ``lint-imports``): what they need of
the stages' own types and formatters is re-exported here with ``X as X``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tracker import USER_AGENT, decide
from tracker.app.accounts import Accounts
from tracker.app.browsing import Browsing
from tracker.app.filters import check_filters
from tracker.app.follows import (
    FollowSummary,
    OpmlImport,
    config_place,
    follow_summaries,
    opml_follows,
)
from tracker.app.leader import Leadership
from tracker.config import ScholarFollow, Settings, check_scholar, origin
from tracker.digest.rules import check_rule
from tracker.digest.service import DigestOutcome as DigestOutcome  # re-exported: see the docstring
from tracker.digest.service import DigestService
from tracker.digest.smtp import SmtpMailer
from tracker.digest.view import DigestView
from tracker.errors import NotFoundError, SourceError, UsageError
from tracker.fetch.attribution import Candidate, candidates
from tracker.fetch.backfill import Backfill, BackfillReport, Harvest
from tracker.fetch.claims import new_worker_id
from tracker.fetch.cycle import CycleReport as CycleReport
from tracker.fetch.cycle import Ingestor
from tracker.fetch.cycle import Progress as Progress
from tracker.fields.evaluate import MIN_SUPPORT as MIN_SUPPORT
from tracker.fields.evaluate import Evaluation
from tracker.fields.evaluate import report_lines as report_lines
from tracker.fields.service import Explanation, FieldCount, FieldService, TrainReport
from tracker.ids import canonical_url, id_month
from tracker.library.bibtex import item_dict as item_dict
from tracker.library.bibtex import to_bibtex, to_json
from tracker.library.opml import OpmlError, OpmlFollow, OpmlProblem, parse_opml, write_opml
from tracker.models import (
    NO_FILTERS,
    Delivery,
    Digest,
    Follow,
    FollowKind,
    Item,
    Rule,
    SearchFilters,
    SearchHit,
    SourceKind,
    SourceStatus,
)
from tracker.names import arxiv_author_term, name_key, split_name
from tracker.sources import arxiv_query as query
from tracker.sources.addresses import AddressGuard
from tracker.sources.arxiv import ArxivClient
from tracker.sources.http import MAX_GATE_WAIT, Fetcher, make_client
from tracker.sources.oai import (
    OAI_DEADLINE,
    OAI_GATE_WAIT,
    OAI_MAX_BODY,
    OAI_SET,
    PREFIXES,
    OaiClient,
)
from tracker.sources.openalex import AuthorMatch, OpenAlexClient
from tracker.sources.pacing import PacingGate
from tracker.sources.shared_pacing import SharedPacingGate
from tracker.storage import (
    FollowSpec,
    NamedLock,
    ScholarSummary,
    Seeds,
    Storage,
    open_storage,
)

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
NOT_BEFORE_SLACK = dt.timedelta(days=1)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def dated_by_month(item: Item) -> bool:
    """Whether a paper's first-version date is only the month of its arXiv id (it was
    first seen as a new version of an older paper; see ``fetch.merge``)."""
    return bool(item.arxiv_id) and item.published == id_month(item.arxiv_id or "")


def scholar_specs(scholar: ScholarFollow) -> list[FollowSpec]:
    """The sources that serve a scholar: each stable id (arXiv author feed, OpenAlex by
    id or ORCID), their own feeds, and, only when no id is known, the arXiv name search."""
    name, kind = scholar.name, FollowKind.SCHOLAR
    specs = [FollowSpec(kind, name, SourceKind.ARXIV_AUTHOR, a) for a in scholar.arxiv]
    specs += [FollowSpec(kind, name, SourceKind.OPENALEX, o) for o in scholar.openalex]
    specs += [FollowSpec(kind, name, SourceKind.OPENALEX, f"orcid:{o}") for o in scholar.orcid]
    specs += [FollowSpec(kind, name, SourceKind.FEED, url) for url in scholar.feeds]
    if not scholar.has_ids:
        specs.append(FollowSpec(kind, name, SourceKind.ARXIV_QUERY, arxiv_author_term(name)))
    return specs


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


class Tracker(Browsing):
    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        ingestor: Ingestor,
        clock: Clock,
        *,
        fields: FieldService,
        digests: DigestService,
        closers: Sequence[Callable[[], None]] = (),
        oai: OaiClient | None = None,
        leadership: Leadership | None = None,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.ingestor = ingestor
        # which process of the installation runs digests and training (see app/leader.py)
        self.leadership = leadership or Leadership(NamedLock("scheduler"), ingestor.worker_id)
        self.oai = oai
        self.clock = clock
        self._closers = list(closers)
        self.fields = fields
        self.digests = digests
        self.accounts = Accounts(storage, clock)

    def close(self) -> None:
        for close in self._closers:
            close()
        self.leadership.close()
        self.storage.close()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- follows ------------------------------------------------------------------------

    def sync_config_follows(self) -> None:
        """Make the database's config-origin follows match the config file."""
        now = self.clock()
        names = [r.name for r in self.settings.readers]
        dropped = self.storage.forget_readers(names)
        self.storage.forget_rules(names)
        if dropped:
            log.info("follows of readers no longer configured removed count=%d", dropped)
        for reader in self.settings.readers:
            f = reader.follows
            specs = (
                [follow_spec(FollowKind.CATEGORY, c) for c in f.categories]
                + [follow_spec(FollowKind.QUERY, q) for q in f.queries]
                + [spec for s in f.scholars for spec in scholar_specs(s)]
                + [follow_spec(FollowKind.FEED, feed.url, feed.title) for feed in f.feeds]
            )
            self.storage.sync_follows(reader.name, specs, now, origin="config")
            self.storage.sync_rules(reader.name, reader.rules, now)
            for s in f.scholars:
                if s.variants or s.coauthors or s.categories:
                    self.storage.set_seeds(s.name, Seeds(s.variants, s.coauthors, s.categories))

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
        if kind is FollowKind.SCHOLAR:
            return self.follow_scholar(name, ScholarFollow(stored))
        return self.storage.add_follow(name, follow_spec(kind, stored, title), self.clock())

    def follow_scholar(self, reader: str | None, scholar: ScholarFollow) -> bool:
        """Follow a scholar through every id and feed given (or their name alone)."""
        name = self.settings.reader(reader).name
        added = self.storage.add_follows(name, scholar_specs(scholar), self.clock())
        if scholar.variants or scholar.coauthors or scholar.categories:
            self.storage.set_seeds(
                scholar.name, Seeds(scholar.variants, scholar.coauthors, scholar.categories)
            )
        return added

    def scholar_candidates(self, name: str) -> tuple[list[Candidate], list[AuthorMatch]]:
        """Who a name may stand for: the people behind it in an arXiv search (grouped by
        co-authors) and OpenAlex's author matches (two requests)."""
        name = " ".join(name.split())
        papers = self.ingestor.arxiv.search(arxiv_author_term(name), None)
        found = candidates(name, papers)
        authors: list[AuthorMatch] = []
        if self.ingestor.openalex is not None:
            try:
                authors = self.ingestor.openalex.authors(name)
            except SourceError as e:
                log.warning("OpenAlex author search failed name=%r error=%s", name, e)
        return found, authors

    def scholars(self) -> list[ScholarSummary]:
        return self.storage.scholar_summaries()

    def followed_scholar(self, name: str) -> str:
        """The followed scholar a typed name stands for: the name as followed, or the
        same name typed otherwise ("Schütze, Hinrich" for "Hinrich Schuetze")."""
        followed = self.storage.followed_scholars()
        if name in followed:
            return name
        same = [n for n in followed if name_key(n) == name_key(name)]
        if len(same) != 1:
            raise NotFoundError(f"nobody follows a scholar named {name!r}")
        return same[0]

    def scholar_items(self, name: str, limit: int = 30) -> list[tuple[Item, str, str, bool]]:
        return self.storage.scholar_items(self.followed_scholar(name), limit)

    def reject(self, scholar: str, ref: str) -> Item:
        """Say an item is not this scholar's: it is never attributed to them again."""
        scholar = self.followed_scholar(scholar)
        item = self.storage.item(ref)
        self.storage.reject(scholar, item.id, self.clock())
        return item

    def unfollow(self, reader: str | None, kind: FollowKind, value: str) -> None:
        """Remove a follow added with ``follow``. One declared in the config file would
        come back at the next command: refused, saying where it is written."""
        name = self.settings.reader(reader).name
        stored = self.normalise_follow(kind, value)
        place = config_place(self.settings, name, kind, stored)
        if place is not None:
            raise UsageError(
                f"{name} follows {kind.value} {stored!r} through the config file "
                f"{self.settings.path} ({place}): remove it there; nothing changed "
                "(tracker unfollow removes follows added with tracker follow)"
            )
        self.storage.remove_follow(name, kind, stored, origin="cli")

    def follows(self, reader: str | None = None) -> list[Follow]:
        return self.storage.follows(reader)

    # --- mute and must rules ----------------------------------------------------------------

    def rules(self, reader: str | None) -> list[Rule]:
        return self.storage.rules(self.settings.reader(reader).name)

    def add_rule(self, reader: str | None, rule: Rule) -> Rule:
        """A mute or must rule of the reader's (checked like the config file's)."""
        name = self.settings.reader(reader).name
        problem = check_rule(rule)
        if problem:
            raise UsageError(problem)
        if rule.category:
            if not self.settings.field_map.knows_prefix(rule.category):
                raise UsageError(f"unknown arXiv category or archive {rule.category!r}")
            rule = replace(rule, category=self.settings.field_map.canonical(rule.category))
        if rule.feed:
            rule = replace(rule, feed=self.normalise_follow(FollowKind.FEED, rule.feed))
        if rule.follow:
            kind, value = rule.follow
            rule = replace(rule, follow=(kind, self.normalise_follow(kind, value)))
        return self.storage.add_rule(name, rule, self.clock())

    def remove_rule(self, reader: str | None, rule_id: int) -> Rule:
        return self.storage.remove_rule(self.settings.reader(reader).name, rule_id)

    def import_opml(
        self, reader: str | None, data: bytes, *, skip_invalid: bool = False, dry_run: bool = False
    ) -> OpmlImport:
        """Follow everything an OPML file lists, with its folders as groups, in one
        transaction. Every outline is checked first: unless ``skip_invalid``, one that
        cannot be followed stops the import with every problem listed (nothing changes)."""
        name = self.settings.reader(reader).name
        doc = parse_opml(data)
        problems = [str(p) for p in doc.problems]
        wanted: list[tuple[list[FollowSpec], tuple[str, ...]]] = []
        for f in doc.follows:
            try:
                wanted.append((self._opml_specs(f), f.groups))
            except UsageError as e:
                problems.append(f"{f.kind.value} {f.value!r}: {e}")
        if problems and not skip_invalid:
            raise OpmlError(
                f"nothing imported: {len(problems)} outline(s) cannot be followed "
                "(--skip-invalid imports the rest)",
                [OpmlProblem(None, p) for p in problems],
            )
        groups = len({g for _, gs in wanted for g in gs})
        if dry_run:
            have = {(f.kind, f.value) for f in self.storage.follows(name)}
            known = sum(1 for specs, _ in wanted if (specs[0].kind, specs[0].value) in have)
            return OpmlImport(len(wanted) - known, known, tuple(problems), groups)
        added, known = self.storage.import_follows(name, wanted, self.clock())
        return OpmlImport(added, known, tuple(problems), groups)

    def _opml_specs(self, f: OpmlFollow) -> list[FollowSpec]:
        if f.kind is not FollowKind.SCHOLAR:
            return [follow_spec(f.kind, self.normalise_follow(f.kind, f.value), f.title)]
        table = {
            "name": f.value,
            "arxiv": list(f.arxiv),
            "orcid": list(f.orcid),
            "openalex": list(f.openalex),
            "feeds": list(f.feeds),
        }
        return scholar_specs(check_scholar(table, self.settings.field_map))

    def export_opml(self, reader: str | None) -> bytes:
        """A reader's follows as an OPML 2.0 file another feed reader can import; tracker
        reads it back as the same follows, groups included."""
        name = self.settings.reader(reader).name
        follows = opml_follows(follow_summaries(self.storage, name))
        return write_opml(follows, title=f"tracker: {name}", created=self.clock())

    def follow_summaries(self, reader: str | None = None) -> list[FollowSummary]:
        """Each follow once (a scholar with every source that serves them)."""
        if reader is not None:
            reader = self.settings.reader(reader).name
        return follow_summaries(self.storage, reader)

    # --- fetching -----------------------------------------------------------------------

    def fetch(self, *, everything: bool = False, progress: Progress | None = None) -> CycleReport:
        return self.ingestor.run(everything=everything, progress=progress)

    def backfill(
        self,
        set_spec: str,
        *,
        since: dt.date | None,
        until: dt.date | None = None,
        prefix: str = "arXiv",
        progress: Progress | None = None,
    ) -> BackfillReport:
        """Harvest arXiv's OAI-PMH records of a set into storage; the same harvest run
        again continues where an interrupted one stopped."""
        if self.oai is None:
            raise UsageError("this tracker has no OAI-PMH client (see make_tracker)")
        if not OAI_SET.match(set_spec):
            raise UsageError(
                f"--set: expected an OAI set such as cs or physics:hep-th, got {set_spec!r}"
            )
        if prefix not in PREFIXES:
            raise UsageError(f"--prefix: expected one of {', '.join(PREFIXES)}, got {prefix!r}")
        if since and until and since > until:
            raise UsageError(f"--from {since} is after --until {until}")
        job = Backfill(self.storage, self.oai, pretag=self.fields.pretag, clock=self.clock)
        return job.run(Harvest(set_spec, since, until, prefix), progress)

    def status(self) -> list[SourceStatus]:
        """Every followed source's state; listing sources with the days they have not
        seen yet (caught up through the API at their next success)."""
        now = self.clock()
        return [
            replace(s, unseen_days=tuple(decide.unseen_listing_days(s.source.last_success, now)))
            if s.source.kind is SourceKind.ARXIV_LISTING
            else s
            for s in self.storage.source_statuses()
        ]

    # --- digests ------------------------------------------------------------------------

    @contextmanager
    def _delivering(self) -> Iterator[bool]:
        """Whether this process may deliver now: only the scheduler leader delivers, so
        a digest typed at the command line while a worker leads is left to the worker
        (which sends within a minute) instead of racing it to send the same e-mail."""
        taken = not self.leadership.held and self.leadership.try_lead()
        try:
            yield self.leadership.held
        finally:
            if taken:
                self.leadership.release()

    def build_digest(self, reader_name: str | None, day: dt.date | None = None) -> DigestOutcome:
        """Build (or find) a reader's digest for a local day and deliver it."""
        with self._delivering() as leading:
            return self.digests.build(reader_name, day, deliver=leading)

    def render(self, digest: Digest) -> str:
        return self.digests.render(digest)

    def deliver_due(self) -> list[DigestOutcome]:
        """Build every digest that is due, then deliver everything pending."""
        return self.digests.due()

    def send_digest(self, reader: str | None, day: dt.date | None = None) -> DigestOutcome:
        with self._delivering() as leading:
            return self.digests.send_now(reader, day, deliver=leading)

    def preview_digest(self, reader: str | None, day: dt.date | None, folder: Path) -> list[Path]:
        """The e-mail's HTML and text written to ``folder``; nothing else changes."""
        return self.digests.preview(reader, day, folder)

    def digest_view(self, reader: str | None, day: dt.date | None = None) -> DigestView:
        """What every renderer shows of a reader's digest for a day: the recorded one,
        or what it would hold now (not recorded)."""
        return self.digests.view(self.digests.peek(reader, day))

    def reader_status(self, name: str) -> tuple[dt.datetime | None, list[Delivery]]:
        """A reader's next delivery time and the deliveries of their latest digest."""
        reader = self.settings.reader(name)
        upcoming = decide.next_delivery(
            self.clock(), reader.digest_time, reader.tz, reader.days, reader.arxiv_days
        )
        last = self.storage.last_digest(reader.name)
        return upcoming, self.storage.deliveries(reader.name, last[0]) if last else []

    # --- fields -------------------------------------------------------------------------

    def sync_fields(self) -> tuple[int, int]:
        """Re-tag what the field mapping or a new model made out of date (items
        re-tagged for each); ``tracker fields`` and the worker's leader call it, other
        commands leave the database as it is."""
        return self.fields.sync()

    def field_counts(self) -> list[FieldCount]:
        return self.fields.counts()

    def explain_fields(self, ref: str) -> Explanation:
        return self.fields.explain(ref)

    def train_fields(self, extra: Sequence[Path] = ()) -> TrainReport:
        """Train a new field model (database papers, training data, ``extra`` files)."""
        return self.fields.train(extra)

    def retrain_fields_if_due(self) -> TrainReport | None:
        """The weekly job; also the cold start when there is no model yet."""
        return self.fields.retrain_if_due()

    def ensure_field_model(self) -> TrainReport | None:
        return self.fields.ensure_model()

    def evaluate_fields(
        self,
        data: Path | None = None,
        split: str = "time",
        *,
        stored: Sequence[Path] = (),
        test: Path | None = None,
        model: str | None = None,
        min_support: int = MIN_SUPPORT,
    ) -> Evaluation:
        return self.fields.evaluate(
            data, split=split, stored=stored, test=test, model=model, min_support=min_support
        )

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
        filters = check_filters(self.settings, filters)
        if limit < 1 or offset < 0:
            raise UsageError(f"--limit: expected 1 or more, got {limit}")
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


def make_tracker(
    settings: Settings,
    *,
    client: httpx.Client | None = None,
    clock: Clock = utc_now,
    gate: PacingGate | None = None,
    sync_follows: bool = True,
    environ: Mapping[str, str] | None = None,
) -> Tracker:
    """Wire the real parts together (tests hand in their own client, clock and gate)."""
    storage = open_storage(settings.database_url)
    owned_client = client is None
    guard = AddressGuard(block_private=settings.fetch.block_private_addresses)
    http = client or make_client(
        settings.fetch.timeout, trust_env=settings.fetch.use_env_proxy, guard=guard
    )
    worker_id = new_worker_id()
    closers = [http.close] if owned_client else []
    if gate is None:
        # arXiv's pacing holds across every worker of the installation (shared_pacing.py)
        holder = storage.named_lock("arxiv")
        gate = SharedPacingGate(storage, holder, settings.arxiv.min_interval)
        closers.append(holder.close)
    endpoints = settings.arxiv.origins
    openalex_gate = PacingGate(settings.openalex.min_interval)
    openalex_origin = origin(settings.openalex.url)

    def gate_for(url: str) -> PacingGate | None:
        """arXiv's hosts, and the configured endpoints (a mirror, a test server), share
        the arXiv gate; OpenAlex has its own; a feed served elsewhere has none."""
        where = origin(url)
        host = where[0]
        if where in endpoints or host == "arxiv.org" or host.endswith(".arxiv.org"):
            return gate
        return openalex_gate if where == openalex_origin else None

    def wants_contact(url: str) -> bool:
        """arXiv asks for a contact address in the User-Agent, OpenAlex for one to
        enter its polite pool; other hosts are not given the operator's address."""
        return gate_for(url) is not None

    def fetcher_with(
        max_body_bytes: int, deadline: float, max_gate_wait: float = MAX_GATE_WAIT
    ) -> Fetcher:
        return Fetcher(
            http,
            user_agent=USER_AGENT,
            contact_user_agent=settings.arxiv.user_agent,
            wants_contact=wants_contact,
            max_body_bytes=max_body_bytes,
            deadline=deadline,
            max_redirects=settings.fetch.max_redirects,
            gate_for=gate_for,
            now=clock,
            guard=guard,
            max_gate_wait=max_gate_wait,
        )

    fetcher = fetcher_with(settings.fetch.max_body_bytes, settings.fetch.deadline)
    arxiv = ArxivClient(
        fetcher,
        gate,
        api_url=settings.arxiv.api_url,
        listing_url=settings.arxiv.listing_url,
        page_size=settings.arxiv.page_size,
        max_pages=settings.arxiv.max_pages,
        base_backoff=max(settings.arxiv.min_interval, 0.01),
    )
    # OAI-PMH pages run to tens of MB: the same seam and gate, a larger cap and deadline.
    oai_fetcher = fetcher_with(
        max(settings.fetch.max_body_bytes, OAI_MAX_BODY),
        max(settings.fetch.deadline, OAI_DEADLINE),
        OAI_GATE_WAIT,  # a harvest has nothing else to do: it waits its turn longer
    )
    oai = OaiClient(
        oai_fetcher,
        gate,
        url=settings.arxiv.oai_url,
        base_backoff=max(settings.arxiv.min_interval, 0.01),
    )
    fields = FieldService(settings, storage, clock)
    digests = DigestService(
        storage,
        clock,
        readers=settings.readers,
        settings=settings.digest,
        field_map=settings.field_map,
        email=settings.email,
        mailer=SmtpMailer(settings.email, environ if environ is not None else os.environ)
        if settings.email
        else None,
    )
    tracker = Tracker(
        settings,
        storage,
        Ingestor(
            storage,
            arxiv,
            fetcher,
            settings,
            clock,
            OpenAlexClient(fetcher, url=settings.openalex.url, mailto=settings.openalex.mailto),
            pretag=fields.pretag,
            worker_id=worker_id,
        ),
        clock,
        fields=fields,
        digests=digests,
        closers=closers,
        oai=oai,
        leadership=Leadership(storage.named_lock("scheduler"), worker_id),
    )
    try:
        if sync_follows:
            tracker.sync_config_follows()
        fields.start()
    except Exception:
        tracker.close()
        raise
    return tracker

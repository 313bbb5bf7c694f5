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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import httpx

from tracker import decide
from tracker.app.accounts import Accounts
from tracker.app.browsing import Browsing
from tracker.app.clients import connect
from tracker.app.digesting import Digesting
from tracker.app.filters import check_filters, muted_in_search
from tracker.app.following import Following
from tracker.app.following import follow_spec as follow_spec
from tracker.app.following import scholar_specs as scholar_specs
from tracker.app.leader import Leadership
from tracker.config import Settings
from tracker.digest.picks import why_lines as why_lines
from tracker.digest.service import DigestOutcome as DigestOutcome  # re-exported: see the docstring
from tracker.digest.service import DigestService
from tracker.digest.smtp import SmtpMailer
from tracker.errors import UsageError
from tracker.fetch.backfill import Backfill, BackfillReport, Harvest
from tracker.fetch.claims import new_worker_id
from tracker.fetch.cycle import CycleReport as CycleReport
from tracker.fetch.cycle import Ingestor
from tracker.fetch.cycle import Progress as Progress
from tracker.fields.evaluate import MIN_SUPPORT as MIN_SUPPORT
from tracker.fields.evaluate import Evaluation
from tracker.fields.evaluate import report_lines as report_lines
from tracker.fields.service import Explanation, FieldCount, FieldService, TrainReport
from tracker.ids import id_month
from tracker.library.bibtex import item_dict as item_dict
from tracker.library.bibtex import to_bibtex, to_json
from tracker.library.importing import FORMATS
from tracker.models import (
    NO_FILTERS,
    Item,
    LibraryEntry,
    SearchFilters,
    SearchHit,
    SourceKind,
    SourceStatus,
)
from tracker.reading.service import ImportReport, ReadingService
from tracker.sources.oai import (
    OAI_SET,
    PREFIXES,
    OaiClient,
)
from tracker.sources.openalex import OpenAlexClient
from tracker.sources.pacing import PacingGate
from tracker.storage import (
    NamedLock,
    Storage,
    open_storage,
)

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
NOT_BEFORE_SLACK = dt.timedelta(days=1)
LIBRARY_FORMATS = FORMATS  # what ``tracker library import --format`` accepts


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def dated_by_month(item: Item) -> bool:
    """Whether a paper's first-version date is only the month of its arXiv id (it was
    first seen as a new version of an older paper; see ``fetch.merge``)."""
    return bool(item.arxiv_id) and item.published == id_month(item.arxiv_id or "")


class Tracker(Browsing, Following, Digesting):
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
        reading: ReadingService | None = None,
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
        self.reading = reading or ReadingService(storage, clock)

    def close(self) -> None:
        for close in self._closers:
            close()
        self.leadership.close()
        self.storage.close()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        hits = self.storage.search(text, filters, limit=limit, offset=offset, reader=reader)
        # the reader's mute rules marked "search" leave their search results too
        return muted_in_search(self.storage.rules(reader), hits) if reader else hits

    def item(self, ref: str) -> Item:
        return self.storage.item(ref)

    def save(self, reader: str | None, ref: str) -> Item:
        return self.storage.save(self.settings.reader(reader).name, ref, self.clock())

    def unsave(self, reader: str | None, ref: str) -> Item:
        return self.storage.unsave(self.settings.reader(reader).name, ref)

    def saved(self, reader: str | None) -> list[Item]:
        return self.storage.saved_items(self.settings.reader(reader).name)

    # --- reading: feedback, library ---------------------------------------------------

    def rate(self, reader: str | None, ref: str, rating: str) -> Item:
        """Rate an item ``up``, ``down`` or ``none`` for a reader (the command line and
        the web page both call this); the reader's ranking learns from it."""
        return self.reading.rate(self.settings.reader(reader).name, ref, rating)

    def ratings(self, reader: str | None, item_ids: Sequence[int] | None = None) -> dict[int, int]:
        """A reader's ratings (item id -> +1 up, -1 down), of these items or of all."""
        return self.reading.ratings(self.settings.reader(reader).name, item_ids)

    def import_library(
        self, reader: str | None, path: Path, fmt: str | None = None
    ) -> ImportReport:
        """Import a BibTeX, CSL JSON or RIS library file for a reader."""
        return self.reading.import_library(self.settings.reader(reader).name, path, fmt)

    def library(self, reader: str | None) -> list[LibraryEntry]:
        return self.reading.library(self.settings.reader(reader).name)

    def forget_library(self, reader: str | None) -> int:
        return self.storage.forget_library(self.settings.reader(reader).name)

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
    parts = connect(settings, storage, client=client, clock=clock, gate=gate)
    worker_id = new_worker_id()
    fields = FieldService(settings, storage, clock)
    reading = ReadingService(storage, clock, models=settings.data_dir / "readers")
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
        rank=reading.ranking,
        rising=lambda fields, now: reading.rising(
            fields,
            now,
            phrases=settings.digest.rising_phrases,
            weeks=settings.digest.rising_weeks,
        ),
    )
    tracker = Tracker(
        settings,
        storage,
        Ingestor(
            storage,
            parts.arxiv,
            parts.fetcher,
            settings,
            clock,
            OpenAlexClient(
                parts.fetcher, url=settings.openalex.url, mailto=settings.openalex.mailto
            ),
            pretag=fields.pretag,
            worker_id=worker_id,
        ),
        clock,
        fields=fields,
        digests=digests,
        reading=reading,
        closers=parts.closers,
        oai=parts.oai,
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

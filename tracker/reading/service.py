"""The reading stage: ratings, library imports, each reader's relevance model, and the
rankings and rising phrases the digest shows.

A reader's model is trained from their evidence (``profile``) against the newest
stored papers as unlabelled negatives. It is a function of exactly those texts, so it
is kept, in memory and on disk (``store``), under a fingerprint of them: while
neither changed, the kept model is the one training would give, and a digest scores
with it instead of training (a rating, a save, an import or newly fetched papers
change the fingerprint, and the next use trains again). ``prepare`` trains ahead:
the scheduler leader calls it after each fetch for the readers whose digest is due
soon, so the digest itself finds the model ready.

NumPy, SciPy and scikit-learn are imported only when a ranking is asked for, so
commands that rate, import or show nothing ranked do not load them.

Composition: wired by ``make_tracker``; the ``Tracker`` facade and the digest stage
call it. Decisions are the pure modules' (``profile``, ``model``, ``rank``,
``rising``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.errors import UsageError
from tracker.library.importing import ParsedLibrary, parse
from tracker.models import FollowKind, Item, LibraryEntry, LibraryImport, RisingPhrase
from tracker.reading.profile import UNLABELLED_WEIGHT, WEIGHTS, Evidence
from tracker.reading.profile import evidence as assemble
from tracker.storage import Storage

if TYPE_CHECKING:
    from tracker.reading.model import ReaderModel
    from tracker.reading.rank import Ranking
    from tracker.reading.store import ReaderModelStore
    from tracker.reading.text import Tokens

log = logging.getLogger(__name__)
UNLABELLED = 2000  # newest stored papers taken as unlabelled negatives
PROFILE_LIMIT = 300  # papers of each kind of evidence
MAX_LIBRARY_BYTES = 50 * 1024 * 1024
RATINGS = {"up": 1, "down": -1, "none": 0}


@dataclass(frozen=True, slots=True)
class ImportReport:
    path: Path
    format: str
    unreadable: int  # entries the file's parser could not read
    result: LibraryImport


class ReadingService:
    def __init__(
        self,
        storage: Storage,
        clock: Callable[[], dt.datetime],
        *,
        models: Path | None = None,
    ) -> None:
        """``models``: the folder where readers' models are kept across restarts
        (None: in memory only)."""
        self.storage = storage
        self.clock = clock
        self.models_folder = models
        self._models: dict[str, tuple[str, ReaderModel]] = {}
        self._store: ReaderModelStore | None = None
        self._tokens: Tokens | None = None  # candidates' words, for every reader's ranking
        self.trained = 0  # models trained by this process (the others were kept ones)

    # --- feedback -----------------------------------------------------------------------

    def rate(self, reader: str, ref: str, rating: str) -> Item:
        """Rate an item ``up``, ``down`` or ``none`` (forget the rating)."""
        if rating not in RATINGS:
            raise UsageError(f"a rating is up, down or none, got {rating!r}")
        return self.storage.rate(reader, ref, RATINGS[rating], self.clock())

    def ratings(self, reader: str, item_ids: Sequence[int] | None = None) -> dict[int, int]:
        return self.storage.ratings(reader, item_ids)

    # --- the library ------------------------------------------------------------------

    def import_library(self, reader: str, path: Path, fmt: str | None = None) -> ImportReport:
        """Import a BibTeX, CSL JSON or RIS file into the reader's library."""
        try:
            if path.stat().st_size > MAX_LIBRARY_BYTES:
                raise UsageError(f"{path}: larger than {MAX_LIBRARY_BYTES // 2**20} MB")
            text = path.read_text(encoding="utf-8-sig", errors="replace")
        except OSError as e:
            raise UsageError(f"cannot read {path}: {e.strerror or e}") from e
        parsed: ParsedLibrary = parse(path.name, text, fmt)
        result = self.storage.import_library(reader, parsed.records, self.clock())
        log.info(
            "library imported reader=%s file=%s entries=%d matched=%d",
            reader,
            path,
            result.entries,
            result.matched,
        )
        return ImportReport(path, parsed.format, parsed.unreadable, result)

    def library(self, reader: str) -> list[LibraryEntry]:
        return self.storage.library(reader)

    # --- the model ----------------------------------------------------------------------

    def evidence(self, reader: str) -> list[Evidence]:
        papers = self.storage.reader_papers(reader, PROFILE_LIMIT)
        queries = [f.value for f in self.storage.follows(reader) if f.kind is FollowKind.QUERY]
        return assemble(
            saved=papers.saved,
            rated=papers.rated,
            library=papers.library,
            scholars=papers.scholars,
            followed=papers.followed,
            queries=queries,
        )

    def model(self, reader: str) -> ReaderModel:
        """The reader's model: the kept one while their evidence and the recent papers
        it is contrasted with are unchanged, else trained (and kept)."""
        found = self.evidence(reader)
        exclude = [e.item_id for e in found if e.item_id is not None]
        # A time split: the papers it is contrasted with (and its vocabulary) are those
        # first seen before the reader's previous digest, so the candidates of the next
        # one, which came since, are never among its negatives: a model trained to push
        # a paper down would rank that very paper low when it is relevant.
        last = self.storage.last_digest(reader)
        unlabelled = self.storage.recent_texts(UNLABELLED, exclude, last[1] if last else None)
        key = fingerprint(found, unlabelled)
        cached = self._models.get(reader)
        if cached and cached[0] == key:
            return cached[1]
        store = self._model_store()
        model = store.load(reader, key) if store else None
        if model is None:
            from tracker.reading.model import train

            model = train(found, unlabelled)
            self.trained += 1
            if store:
                store.save(reader, key, model)
            log.info(
                "reader model trained reader=%s evidence=%d unlabelled=%d terms=%d",
                reader,
                len(found),
                len(unlabelled),
                model.vocabulary.size,
            )
        self._models[reader] = (key, model)
        return model

    def prepare(self, readers: Sequence[str]) -> int:
        """Train ahead the models of these readers that are out of date (the scheduler
        leader does it for the digests due soon); returns how many were trained. A
        model that cannot be trained is left to the digest, which is then unranked."""
        before = self.trained
        for reader in readers:
            try:
                self.model(reader)
            except ValueError as e:  # scikit-learn's word for data it cannot fit
                log.warning("reader model not trained reader=%s error=%s", reader, e)
        return self.trained - before

    def _model_store(self) -> ReaderModelStore | None:
        if self.models_folder is None:
            return None
        if self._store is None:
            from tracker.reading.store import ReaderModelStore

            self._store = ReaderModelStore(self.models_folder)
        return self._store

    def ranking(self, reader: str, items: Sequence[Item]) -> Ranking:
        """The reader's ranking of these items (scores, reasons, cross-domain picks)."""
        from tracker.reading.rank import Candidate, Ranking
        from tracker.reading.text import Tokens

        if self._tokens is None:
            self._tokens = Tokens()
        candidates = [
            Candidate(item.id, item.title, f"{item.title}. {item.summary}", item.categories)
            for item in items
        ]
        return Ranking(self.model(reader), candidates, self._tokens)

    # --- rising phrases ---------------------------------------------------------------

    def rising(
        self, fields: Sequence[str], now: dt.datetime, *, phrases: int, weeks: int
    ) -> list[RisingPhrase]:
        """Phrases whose share of papers in ``fields`` grew most in the week before
        ``now`` against the ``weeks`` before it, with example papers."""
        from tracker.reading.rising import WEEK_SAMPLE, Paper, rising

        if not fields:
            return []
        end = now
        start = end - dt.timedelta(days=7)
        current = [
            Paper(n, title, summary)
            for n, title, summary in self.storage.texts_in_fields(fields, start, end, WEEK_SAMPLE)
        ]
        before = [
            Paper(n, title, summary)
            for n, title, summary in self.storage.texts_in_fields(
                fields, start - dt.timedelta(days=7 * weeks), start, WEEK_SAMPLE * weeks
            )
        ]
        found = rising(current, before, limit=phrases)
        wanted = [n for r in found for n, _ in r.examples]
        items = {i.id: i for i in self.storage.items(wanted)}

        def ref(n: int) -> str:
            item = items.get(n)
            if item is None:
                return ""
            return f"arXiv:{item.arxiv_id}" if item.arxiv_id else item.url or ""

        return [
            RisingPhrase(
                r.phrase,
                r.papers,
                round(r.share, 4),
                round(r.before, 4),
                tuple((ref(n), title) for n, title in r.examples),
            )
            for r in found
        ]


def fingerprint(evidence: Sequence[Evidence], unlabelled: Sequence[str]) -> str:
    """What a reader's model is a function of: every text it is trained on, in order,
    with its kind, and the settings and library that shape training."""
    from tracker.reading.model import MODEL_SETTINGS

    digest = hashlib.sha256()
    head = [MODEL_SETTINGS, sorted(WEIGHTS.items()), UNLABELLED_WEIGHT, _sklearn_version()]
    digest.update(repr(head).encode())
    for e in evidence:
        parts = (e.key, e.kind, e.title, e.text, str(e.item_id), e.detail)
        digest.update("\x00".join(parts).encode())
        digest.update(b"\x1e")
    digest.update(b"\x1d")
    for text in unlabelled:
        digest.update(text.encode())
        digest.update(b"\x1e")
    return digest.hexdigest()


def _sklearn_version() -> str:
    # from the package metadata: importing scikit-learn itself takes seconds
    global _SKLEARN
    if _SKLEARN is None:
        try:
            _SKLEARN = importlib.metadata.version("scikit-learn")
        except importlib.metadata.PackageNotFoundError:
            _SKLEARN = ""
    return _SKLEARN


_SKLEARN: str | None = None

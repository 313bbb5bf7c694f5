"""The reading stage: ratings, library imports, each reader's relevance model, and the
rankings and rising phrases the digest shows.

A reader's model is trained from their evidence (``profile``) against the newest
stored papers as unlabelled negatives, and kept in memory for the day while the
evidence is unchanged (a rating or an import trains it again on next use). Training
takes well under a second; scoring a day's candidates a fraction of that.

NumPy, SciPy and scikit-learn are imported only when a ranking is asked for, so
commands that rate, import or show nothing ranked do not load them.

Composition: wired by ``make_tracker``; the ``Tracker`` facade and the digest stage
call it. Decisions are the pure modules' (``profile``, ``model``, ``rank``,
``rising``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.errors import UsageError
from tracker.library.importing import ParsedLibrary, parse
from tracker.models import FollowKind, Item, LibraryEntry, LibraryImport, RisingPhrase
from tracker.reading.profile import Evidence
from tracker.reading.profile import evidence as assemble
from tracker.storage import Storage

if TYPE_CHECKING:
    from tracker.reading.model import ReaderModel
    from tracker.reading.rank import Ranking

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
    def __init__(self, storage: Storage, clock: Callable[[], dt.datetime]) -> None:
        self.storage = storage
        self.clock = clock
        self._models: dict[str, tuple[str, ReaderModel]] = {}

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
        """The reader's model, trained again when their evidence changed (or a new
        day brought new papers to contrast it with)."""
        from tracker.reading.model import train

        found = self.evidence(reader)
        day = self.clock().date().isoformat()
        keys = "\n".join(sorted(f"{e.kind} {e.key}" for e in found))
        fingerprint = hashlib.sha256(f"{day}\n{keys}".encode()).hexdigest()
        cached = self._models.get(reader)
        if cached and cached[0] == fingerprint:
            return cached[1]
        exclude = [e.item_id for e in found if e.item_id is not None]
        unlabelled = self.storage.recent_texts(UNLABELLED, exclude)
        model = train(found, unlabelled)
        self._models[reader] = (fingerprint, model)
        log.info(
            "reader model trained reader=%s evidence=%d unlabelled=%d terms=%d",
            reader,
            len(found),
            len(unlabelled),
            model.vocabulary.size,
        )
        return model

    def ranking(self, reader: str, items: Sequence[Item]) -> Ranking:
        """The reader's ranking of these items (scores, reasons, cross-domain picks)."""
        from tracker.reading.rank import Candidate, Ranking

        candidates = [
            Candidate(item.id, item.title, f"{item.title}. {item.summary}", item.categories)
            for item in items
        ]
        return Ranking(self.model(reader), candidates)

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

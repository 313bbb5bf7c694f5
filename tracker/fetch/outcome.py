"""One shape for every fetch step, and one way to record it.

Every source kind (listings, searches, author feeds, OpenAlex ids, feeds) is read by
a step that returns an ``Outcome``: the entries it found, each with the ids of the
sources that delivered it, the cache validators to keep, and when its sources are
next due (or the error that cut the read short). ``Recorder.contain`` runs a step and
records its outcome the same way for every kind: entries stored first (storing never
loses what was read), then either the validators and the success, or the failure
with its backoff. Whatever goes wrong in the step or in recording it, a fetch error,
an unreadable body, a storage error or a bug, fails only the step's sources: the
cycle goes on with the others.

No fetching and no scheduling decisions here: steps fetch, ``tracker.decide``
decides; this module only records.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tracker import decide
from tracker.errors import TrackerError
from tracker.models import CacheValidators, Entry, Source
from tracker.storage import Storage
from tracker.text import clean_line, shorten

log = logging.getLogger(__name__)
MAX_ERROR = 500  # characters of a source's last error
Batch = Sequence[tuple[Entry, Sequence[int]]]
Stored = list[tuple[Entry, int, tuple[int, ...]]]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What reading a group of sources came to."""

    sources: tuple[Source, ...]
    next_check: dt.datetime  # when they are next due (unused when ``error`` is set)
    at: dt.datetime  # when they were read
    entries: Batch = ()  # (entry, ids of the sources that delivered it)
    validators: tuple[str, CacheValidators] | None = None  # (URL, validators) to keep
    not_modified: bool = False  # answered 304: nothing new since the last read
    title: str | None = None  # the source's own title (feeds), kept on success
    # The read went wrong after some entries were read in full (a body cut short):
    # those are stored, the sources fail, and no validators are kept.
    error: TrackerError | None = None


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


@dataclass
class Recorder:
    """Records every step's outcome in storage and in the cycle's report."""

    storage: Storage
    store: Callable[[Batch], Stored]  # stores entries (and attributes them)
    clock: Callable[[], dt.datetime]
    max_backoff: dt.timedelta
    report: CycleReport

    def contain(self, sources: Sequence[Source], step: Callable[[], Outcome]) -> bool:
        """Run a step over ``sources`` and record what it came to; any error fails
        those sources only. Returns whether they succeeded."""
        try:
            outcome = step()
            self.store(outcome.entries)
            if outcome.error is not None:
                raise outcome.error
            self._succeeded(outcome)
        except Exception as e:  # contained: the cycle goes on with the other sources
            self.fail(sources, e)
            return False
        return True

    def _succeeded(self, outcome: Outcome) -> None:
        ids = [s.id for s in outcome.sources]
        self.storage.record_success(
            ids, outcome.at, outcome.next_check, title=outcome.title, validators=outcome.validators
        )
        self.report.checked += len(ids)
        if outcome.not_modified:
            self.report.not_modified += len(ids)

    def fail(self, sources: Sequence[Source], error: Exception) -> None:
        now = self.clock()
        if isinstance(error, TrackerError):
            message = str(error)
            log.warning("source failed sources=%s error=%s", [s.id for s in sources], message)
        else:  # a bug or an unforeseen input: keep the cycle going, keep the trace
            message = f"internal error: {type(error).__name__}: {error}"
            log.error(
                "source failed unexpectedly sources=%s",
                [s.id for s in sources],
                exc_info=error,
            )
        # Stored and shown by `tracker status` and the digest: one line, bounded.
        message = shorten(clean_line(message), MAX_ERROR)
        retry_after = getattr(error, "retry_after", None)
        for source in sources:
            next_check = decide.after_failure(
                source.error_count + 1,
                now,
                retry_after=retry_after,
                max_backoff=self.max_backoff,
                seed=source.id,
            )
            self.storage.record_failure(source.id, now, message, next_check)
            self.report.errors.append(f"{source.kind.value} {source.value}: {message}")
            self.report.failed_sources.add(source.id)

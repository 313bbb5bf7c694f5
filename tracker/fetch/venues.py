"""Venues noticed later: the decisions behind "Now published".

A paper on arXiv gets its journal reference or DOI long after it was announced, and
adding them does not make a new version (https://info.arxiv.org/help/jref.html). So
what changed is told apart here, from what was stored and what a source says now:

- ``venue_changes``: the journal-ref or DOI a stored paper did not have and now has
  (whichever path brought it: the listing, a search, an id lookup, OAI-PMH). arXiv's
  own DataCite DOIs (``10.48550/arXiv.<id>``) name the preprint, not a publication,
  and are never a change; neither is anything learnt about a paper known only from a
  link (its metadata was not known before: nothing was "noticed later").
- ``next_check``: when a watched paper is asked about next: once per ``interval``,
  spread over a tenth of it by the item's id, so that papers first checked together
  do not stay one burst of requests every day; ``early``: how much sooner papers are
  taken to fill a request that goes out anyway, so that the spread does not turn into
  many small requests. (Which papers are watched is a query: ``storage.venues``.)

Pure: no I/O here, no clock (``now`` is passed in).
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterator, Sequence

from tracker.models import API, LINK_ONLY, LISTING, Entry, VenueChange, VenueKind

PREPRINT_DOI = "10.48550/"  # arXiv's DataCite prefix: the preprint's own DOI
SPREAD = 0.1  # of the interval: how far apart the checks of papers drift


def normalise_doi(doi: str | None) -> str | None:
    """A DOI as stored: lower case, without a resolver or ``doi:`` in front; None for
    nothing or arXiv's own preprint DOI."""
    if not doi:
        return None
    value = doi.strip().lower()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "doi:"):
        value = value.removeprefix(prefix)
    if not value.startswith("10.") or value.startswith(PREPRINT_DOI):
        return None
    return value


def source_of(entry: Entry) -> str:
    """Where a change came from, by the kind of entry that brought it."""
    if entry.quality >= API:
        return "arxiv"
    if entry.quality == LISTING:
        return "arxiv listing"
    return "feed"


def venue_changes(
    old: Entry, incoming: Entry, merged: Entry, source: str | None = None
) -> tuple[VenueChange, ...]:
    """What a stored paper (``old``) got from a newly fetched entry: the merged record's
    journal-ref and DOI when they are new. ``source`` names the path (default: from the
    incoming entry's kind)."""
    if not old.arxiv_id or old.quality <= LINK_ONLY:
        return ()
    where = source or source_of(incoming)
    found: list[VenueChange] = []
    ref = " ".join((merged.journal_ref or "").split())
    if ref and ref != " ".join((old.journal_ref or "").split()):
        found.append(VenueChange(VenueKind.JOURNAL_REF, ref, where))
    doi = normalise_doi(merged.doi)
    if doi and doi != normalise_doi(old.doi):
        found.append(VenueChange(VenueKind.DOI, doi, where))
    return tuple(found)


def next_check(item_id: int, now: dt.datetime, interval: dt.timedelta) -> dt.datetime:
    """When a paper checked now is checked again: ``interval`` later, give or take
    ``SPREAD`` of it, the same for the same paper."""
    fraction = zlib.crc32(str(item_id).encode()) / 0xFFFFFFFF  # 0..1, stable per item
    return now + interval * (1.0 - SPREAD / 2 + SPREAD * fraction)


def early(interval: dt.timedelta) -> dt.timedelta:
    """How much sooner than its time a paper is checked to fill a request that goes
    out anyway: as much as the checks are spread (so a paper is never asked about more
    than about once per interval, and requests go out full)."""
    return interval * SPREAD


def batches(arxiv_ids: Sequence[str], size: int) -> Iterator[list[str]]:
    """The ids in requests of at most ``size`` ids, in order."""
    step = max(1, size)
    for start in range(0, len(arxiv_ids), step):
        yield list(arxiv_ids[start : start + step])

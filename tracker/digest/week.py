"""What a reader's weekly digest holds beside their daily ones (``rhythm = "both"``):
the week's top picks, chosen from the entries of the daily digests built since the
previous weekly digest, and the rising phrases (given).

The picks are the best-scored entries when the dailies were ranked (a score is the
entry's relevance to the reader on its day); without scores, the dailies' own top
picks and followed scholars' work come first, then the reader's fields, then the rest,
in the order they were delivered. New versions of older papers and the compact "More
from other fields" lines are not picks. Each item once.

Pure: no I/O here, no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from tracker.models import Digest, DigestEntry, DigestSection, RisingPhrase

WEEK_TOP = "week-top"  # the section kind of the week's top picks
WEEK_TOP_TITLE = "Top picks of the week"
_NOT_PICKS = frozenset({"cross-more", "revised"})
_ORDER = {"top": 0, "scholars": 1, "field": 2, "cross": 3, "other": 4}


def weekly_digest(
    reader: str,
    day: dt.date,
    cutoff: dt.datetime,
    entries: Sequence[tuple[str, DigestEntry]],
    limit: int,
    rising: Sequence[RisingPhrase] = (),
) -> Digest:
    """The weekly digest from the week's daily entries: (section kind, entry), in the
    order they were delivered."""
    seen: set[int] = set()
    eligible: list[tuple[int, str, DigestEntry]] = []
    for n, (kind, entry) in enumerate(entries):
        if kind in _NOT_PICKS or entry.item.id in seen:
            continue
        seen.add(entry.item.id)
        eligible.append((n, kind, entry))
    if any(e.score is not None for _, _, e in eligible):
        eligible.sort(key=lambda x: (-(x[2].score if x[2].score is not None else -1e9), x[0]))
    else:
        eligible.sort(key=lambda x: (_ORDER.get(x[1], 5), x[0]))
    chosen = tuple(e for _, _, e in eligible[:limit])
    sections = (DigestSection(WEEK_TOP_TITLE, WEEK_TOP, chosen),) if chosen else ()
    return Digest(reader, day, cutoff, sections, rising=tuple(rising), weekly=True)

"""How a digest words "Now published": one line per paper that got a journal
reference, a DOI or a venue since the reader's last digest.

Which events are shown is decided by storage and the digest service (each event once
per reader); this module only words each line (the heading and intro are the
templates' own texts). The venue shown is arXiv's journal-ref when
there is one (the authors' own words), else the journal or conference OpenAlex names;
a DOI is shown with its link. Every fixed text goes through the ``Translator`` given
(``N_`` marks it where it is defined); titles, journal-refs and venue names stay as
they are.

Pure: no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tracker.digest.links import safe_link
from tracker.models import PublishedEntry, VenueKind

if TYPE_CHECKING:
    from tracker.digest.view import Translator


def N_(message: str) -> str:
    """Marks a text for translation where it is defined (it is translated where used)."""
    return message


_IN = N_("in %(venue)s")
_DOI = N_("DOI %(doi)s")


@dataclass(frozen=True, slots=True)
class PublishedView:
    """One line of "Now published"."""

    item_id: int
    title: str
    link: str | None  # the paper's safe link (its arXiv page), or None
    arxiv_id: str | None
    venue: str | None  # "in Phys. Rev. Lett. 118, 221101 (2017)", translated
    doi: str | None  # "10.1103/physrevlett.118.221101"
    doi_link: str | None  # https://doi.org/..., safe, or None
    detail: str  # venue and DOI in one text: "in J. Foo 1 (2025); DOI 10.1/x"


def published_note(count: int, t: Translator) -> str:
    """The summary's sentence about them."""
    note = t.ngettext(
        "%(num)d paper is now published (listed below).",
        "%(num)d papers are now published (listed below).",
        count,
    )
    return note % {"num": count}


def published_views(
    entries: tuple[PublishedEntry, ...], t: Translator
) -> tuple[PublishedView, ...]:
    found = []
    for entry in entries:
        latest = {e.kind: e.value for e in entry.events}
        where = latest.get(VenueKind.JOURNAL_REF) or entry.item.journal_ref
        where = where or latest.get(VenueKind.VENUE)
        doi = latest.get(VenueKind.DOI)
        venue = t.gettext(_IN) % {"venue": where} if where else None
        parts = [venue] if venue else []
        if doi:
            parts.append(t.gettext(_DOI) % {"doi": doi})
        item = entry.item
        found.append(
            PublishedView(
                item_id=item.id,
                title=item.title,
                link=safe_link(item.url),
                arxiv_id=item.arxiv_id,
                venue=venue,
                doi=doi,
                doi_link=safe_link(f"https://doi.org/{doi}") if doi else None,
                detail="; ".join(parts),
            )
        )
    return tuple(found)

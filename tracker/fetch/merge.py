"""Merging what several sources say about the same paper into one record.

The same arXiv paper arrives from the API, the daily listing and blog posts that
link it. The richer source (``Entry.quality``) wins field by field; anything it
lacks is kept from the other; the version is the highest seen. Posts are never
merged across feeds (their key includes the feed).

Dates: ``published`` is the paper's first version's (the earliest known), ``updated``
the latest version's (the latest known). A listing announces a new version of an
older paper without its first version's date; a paper first seen that way is dated
by the month of its id (``ids.id_month``: "2305.01234" is May 2023), so that it is
not taken for a new paper, until a source that knows the day (the API, OAI-PMH, an
author feed) says it: a known date always replaces the month.

Pure: no I/O here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from tracker import ids
from tracker.models import Entry
from tracker.text import clean_entry


def merge(old: Entry, new: Entry) -> Entry:
    """One entry from a stored one and a newly fetched one with the same key."""
    if new.quality > old.quality or (
        new.quality == old.quality and (new.version or 0) >= (old.version or 0)
    ):
        rich, poor = new, old
    else:
        rich, poor = old, new
    version = max(old.version or 0, new.version or 0) or None
    rich, poor = clean_entry(rich), clean_entry(poor)
    merged = replace(
        rich,
        title=rich.title or poor.title,
        summary=rich.summary or poor.summary,
        authors=rich.authors or poor.authors,
        url=rich.url or poor.url,
        pdf_url=rich.pdf_url or poor.pdf_url,
        doi=rich.doi or poor.doi,
        journal_ref=rich.journal_ref or poor.journal_ref,
        comment=rich.comment or poor.comment,
        primary_category=rich.primary_category or poor.primary_category,
        categories=rich.categories or poor.categories,
        published=_first_version(old.arxiv_id or new.arxiv_id, rich.published, poor.published),
        updated=_latest(rich.updated, poor.updated),
        version=version,
        quality=max(old.quality, new.quality),
        announce_type=None,
        guid=rich.guid or poor.guid,
        key=old.key or new.key,
    )
    if merged.arxiv_id:
        merged = replace(
            merged,
            url=ids.abs_url(merged.arxiv_id),
            pdf_url=ids.pdf_url(merged.arxiv_id, version),
        )
    return merged


def normalise_new(entry: Entry) -> Entry:
    """A first-seen entry as it is stored: papers get their canonical links, and the
    month of their id when nothing dates their first version; text is neutralised (the
    sources do it when they parse; this keeps storage safe whatever made the entry)."""
    entry = clean_entry(entry)
    if entry.arxiv_id:
        return replace(
            entry,
            url=ids.abs_url(entry.arxiv_id),
            pdf_url=ids.pdf_url(entry.arxiv_id, entry.version),
            published=entry.published or ids.id_month(entry.arxiv_id),
            announce_type=None,
        )
    return replace(entry, announce_type=None) if entry.announce_type else entry


def dated_by_id(entry: Entry) -> bool:
    """Whether a paper's first-version date is only the month of its id."""
    return bool(entry.arxiv_id) and entry.published == ids.id_month(entry.arxiv_id or "")


def _first_version(
    arxiv_id: str | None, a: dt.datetime | None, b: dt.datetime | None
) -> dt.datetime | None:
    """The earliest known date of a paper's first version; the month of its id only
    when no source knows the day."""
    if not arxiv_id:
        return _earliest(a, b)
    month = ids.id_month(arxiv_id)
    return _earliest(*(v if v != month else None for v in (a, b))) or month


def _earliest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None


def _latest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    values = [v for v in (a, b) if v is not None]
    return max(values) if values else None

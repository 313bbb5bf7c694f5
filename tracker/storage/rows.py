"""Rows of the ``items`` table and the records they are: an ``Entry`` read back for
merging, the values an entry is written with (its search tags and code links
included), a field's row, and an ``Item`` read by column position (the digest and the
web page read thousands at a time).

Part of the storage adapter (``items.py`` writes and reads through these); no
queries here.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Row

from tracker.codelinks import decode_links, encode_links, find_links, has_code
from tracker.models import Entry, FieldTag, Item, ItemKind
from tracker.storage import schema
from tracker.storage.base import dumps, loads
from tracker.storage.tags import item_tags

i = schema.items


def _entry(row: Row[tuple[object, ...]]) -> Entry:
    m = row._mapping
    return Entry(
        key=m["key"],
        title=m["title"],
        summary=m["summary"],
        authors=loads(m["authors"]),
        url=m["url"],
        arxiv_id=m["arxiv_id"],
        version=m["version"],
        pdf_url=m["pdf_url"],
        doi=m["doi"],
        journal_ref=m["journal_ref"],
        comment=m["comment"],
        primary_category=m["primary_category"],
        categories=loads(m["categories"]),
        published=m["published_at"],
        updated=m["updated_at"],
        quality=m["quality"],
    )


def _with_tags(e: Entry, tags: Sequence[FieldTag], first_seen: dt.datetime) -> dict[str, object]:
    when = e.published or first_seen  # the date search filters use
    links = find_links(e.summary, e.comment)  # only for rows written: cheap enough here
    return dict(
        _row_values(e),
        tags=item_tags(e.categories, [t.field for t in tags], when),
        code_links=encode_links(links),
        has_code=has_code(links),
    )


def _row_values(e: Entry) -> dict[str, object]:
    return dict(
        key=e.key,
        kind=e.kind.value,
        arxiv_id=e.arxiv_id,
        version=e.version,
        title=e.title,
        summary=e.summary,
        authors=dumps(e.authors),
        url=e.url,
        pdf_url=e.pdf_url,
        doi=e.doi,
        journal_ref=e.journal_ref,
        comment=e.comment,
        primary_category=e.primary_category,
        categories=dumps(e.categories),
        published_at=e.published,
        updated_at=e.updated,
        quality=e.quality,
    )


def _field_row(item_id: int, position: int, t: FieldTag) -> dict[str, object]:
    return dict(
        item_id=item_id,
        field=t.field,
        position=position,
        confidence=t.confidence,
        origin=t.origin,
        basis=t.basis,
    )


ITEM_COLUMNS = (
    i.c.id,
    i.c.key,
    i.c.kind,
    i.c.title,
    i.c.summary,
    i.c.authors,
    i.c.url,
    i.c.arxiv_id,
    i.c.version,
    i.c.pdf_url,
    i.c.doi,
    i.c.journal_ref,
    i.c.comment,
    i.c.primary_category,
    i.c.categories,
    i.c.published_at,
    i.c.updated_at,
    i.c.first_seen_at,
    i.c.quality,
    i.c.code_links,
)
_KINDS = {k.value: k for k in ItemKind}


def _item(row: Sequence[Any], tags: Sequence[FieldTag]) -> Item:
    """An item from a row of ``ITEM_COLUMNS``."""
    (
        id_,
        key,
        kind,
        title,
        summary,
        authors,
        url,
        arxiv_id,
        version,
        pdf_url,
        doi,
        journal_ref,
        comment,
        primary_category,
        categories,
        published,
        updated,
        first_seen,
        quality,
        code_links,
    ) = row
    return Item(
        id=id_,
        key=key,
        kind=_KINDS.get(kind) or ItemKind(kind),
        title=title,
        summary=summary,
        authors=loads(authors),
        url=url,
        arxiv_id=arxiv_id,
        version=version,
        pdf_url=pdf_url,
        doi=doi,
        journal_ref=journal_ref,
        comment=comment,
        primary_category=primary_category,
        categories=loads(categories),
        published=published,
        updated=updated,
        first_seen=first_seen,
        quality=quality,
        fields=tuple(tags),
        # rows written before links were stored get theirs when read
        code=find_links(summary, comment) if code_links is None else decode_links(code_links),
    )


# --- new items' rows as tuples, for one executemany (bulk.py, and a fetch cycle's) ----

ITEM_COLUMNS_WRITTEN = (
    "id, key, kind, arxiv_id, version, title, summary, authors, url, pdf_url, doi, "
    "journal_ref, comment, primary_category, categories, tags, published_at, updated_at, "
    "first_seen_at, quality, code_links, has_code"
)
_TIMES = 4096  # datetimes kept formatted for SQLite (a harvest's days repeat)


def item_tuple(
    item_id: int,
    e: Entry,
    tags: Sequence[FieldTag],
    seen: object,
    now: dt.datetime,
    when: Callable[[dt.datetime | None], Any],
) -> tuple[Any, ...]:
    """A new item's row in the order of ``ITEM_COLUMNS_WRITTEN``: the values of
    ``_with_tags(e, tags, now)``, first seen ``now`` (``seen``: ``now`` as ``when``
    writes it), the datetimes as ``when`` writes them."""
    dated = e.published or now  # the date search filters use
    links = find_links(e.summary, e.comment)
    return (
        item_id,
        e.key,
        e.kind.value,
        e.arxiv_id,
        e.version,
        e.title,
        e.summary,
        dumps(e.authors),
        e.url,
        e.pdf_url,
        e.doi,
        e.journal_ref,
        e.comment,
        e.primary_category,
        dumps(e.categories),
        _tags(e.categories, tuple(t.field for t in tags), _month(dated)),
        when(e.published),
        when(e.updated),
        seen,
        e.quality,
        encode_links(links),
        has_code(links),
    )


@functools.lru_cache(maxsize=65536)
def _tags(categories: tuple[str, ...], fields: tuple[str, ...], month: dt.datetime) -> str:
    """``item_tags`` (hashes of every token), for combinations a harvest meets again."""
    return item_tags(categories, fields, month)


def _month(when: dt.datetime) -> dt.datetime:
    return when.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class SqliteTime:
    """Aware datetimes as ``UTCDateTime`` stores them in SQLite: UTC wall time as text."""

    def __init__(self) -> None:
        self.known: dict[dt.datetime, str] = {}

    def __call__(self, value: dt.datetime | None) -> str | None:
        if value is None:
            return None
        found = self.known.get(value)
        if found is None:
            if value.tzinfo is None:
                raise ValueError(f"expected an aware datetime, got {value!r}")
            v = value.astimezone(dt.UTC)
            found = (
                f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
                f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
            )
            if len(self.known) >= _TIMES:
                self.known.clear()
            self.known[value] = found
        return found

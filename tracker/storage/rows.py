"""Rows of the ``items`` table and the records they are: an ``Entry`` read back for
merging, the values an entry is written with (its search tags and code links
included), a field's row, and an ``Item`` read by column position (the digest and the
web page read thousands at a time).

Part of the storage adapter (``items.py`` writes and reads through these); no
queries here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
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

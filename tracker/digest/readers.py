"""What a reader's digest depends on, read from storage: the reader's follows and feed
titles, their interests (saved papers, then those of their recent digests' own
sections), their own fields, and the sources that failed them.

Composition: called by ``DigestService``; the decisions are ``select``'s and
``crossdomain``'s. Nothing is written here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from tracker import decide
from tracker.config import DigestSettings, ReaderSettings
from tracker.digest.crossdomain import Interest
from tracker.digest.select import ReaderView
from tracker.errors import UsageError
from tracker.fields.mapping import FieldMap
from tracker.fields.tagger import own_fields_from_saved
from tracker.models import CONFIDENT, FollowKind
from tracker.storage import Storage

INTEREST_LIMIT = 300  # saved and followed papers a reader's interests are read from


def find_reader(readers: Sequence[ReaderSettings], name: str | None) -> ReaderSettings:
    """The reader of that name; with None, the only one there is."""
    if name is None:
        if len(readers) == 1:
            return readers[0]
        names = ", ".join(r.name for r in readers)
        raise UsageError(f"several readers are configured ({names}); choose one with --reader")
    for r in readers:
        if r.name == name:
            return r
    names = ", ".join(r.name for r in readers) or "none"
    raise UsageError(f"unknown reader {name!r} (configured: {names})")


def due_by(
    storage: Storage, readers: Sequence[ReaderSettings], at: dt.datetime
) -> list[ReaderSettings]:
    """The readers whose next digest is due by ``at`` (those due already too)."""
    due = []
    for reader in readers:
        last = storage.last_digest(reader.name)
        day = decide.due_digest_day(
            at,
            reader.digest_time,
            reader.tz,
            last[0] if last else None,
            reader.days,
            reader.arxiv_days,
        )
        if day is not None:
            due.append(reader)
    return due


def own_fields(
    reader: ReaderSettings,
    categories: Sequence[str],
    field_map: FieldMap,
    learned: Sequence[str] = (),
) -> list[str]:
    """From the config; else the followed categories' fields, then those learned from
    the reader's saved papers."""
    if reader.fields:
        return list(reader.fields)
    fields = (field_map.field_of(code) for code in categories)
    return list(dict.fromkeys([*(f for f in fields if f), *learned]))


def reader_view(
    storage: Storage, reader: ReaderSettings, settings: DigestSettings, field_map: FieldMap
) -> ReaderView:
    """What digest selection needs to know about a reader (attributions are added per
    digest, for its candidates)."""
    follows = storage.follows(reader.name)
    titles = {s.id: s.title for s in storage.followed_sources() if s.title}
    found = storage.interest_items(reader.name, INTEREST_LIMIT)
    interests = [Interest(i.id, f"{i.title}. {i.summary}", saved) for i, saved in found]
    saved_fields = [
        [t.field for t in i.fields if t.confidence >= CONFIDENT] for i, saved in found if saved
    ]
    categories = [f.value for f in follows if f.kind is FollowKind.CATEGORY]
    return ReaderView(
        name=reader.name,
        follows=follows,
        own_fields=own_fields(reader, categories, field_map, own_fields_from_saved(saved_fields)),
        source_titles=titles,
        aliases=field_map.aliases,
        interests=interests,
        cross_limit=settings.cross_domain_items,
        cross_fields=settings.cross_domain_fields,
    )


def failing_sources(storage: Storage, reader: str) -> list[str]:
    """The reader's sources whose latest fetch failed, from the first failure on: a
    digest says why it may be missing something ("feed Lab blog: HTTP 503")."""
    mine = {f.source_id for f in storage.follows(reader)}
    return [
        f"{s.kind.value} {s.title or s.value}: {s.last_error}"
        for s in storage.followed_sources()
        if s.id in mine and s.error_count > 0
    ]

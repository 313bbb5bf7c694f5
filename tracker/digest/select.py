"""What goes into a reader's digest, why, and in which section.

Input: the candidates (items sighted in the reader's followed sources since their
last digest), the reader's follows and own fields. Output: a ``Digest`` whose
sections are, in order: followed scholars; the reader's own fields; cross-domain
reading (fields outside the reader's own); other items; new versions of older
papers. Every item appears once, under the first section it qualifies for. An item
that matches none of the reader's follows (a namesake of a followed scholar, say) is
left out. Only confident fields (``CONFIDENT``) place an item.

Cross-domain reading is capped: the ``cross_limit`` items closest to the reader's
interests (``tracker.digest.crossdomain``) get full entries with a one-line reason, and the
rest are listed compactly under "More from other fields", so nothing that matched a
follow is skipped.

Pure: no I/O here; ``now`` is not needed (the digest's cutoff is given).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tracker.digest.crossdomain import Interest, rank_cross, with_note
from tracker.models import (
    CONFIDENT,
    Detail,
    Digest,
    DigestEntry,
    DigestSection,
    Follow,
    FollowKind,
    Item,
    Reason,
    Sighting,
)
from tracker.names import same_person_name
from tracker.reasons import CROSS_LIST, from_attribution

SCHOLARS = "Followed scholars"
OTHER = "Other items"
REVISED = "New versions"
MORE_CROSS = "More from other fields"
TODAY_INTERESTS = 200  # of today's own-section entries, the newest count as interests
_REVISION = frozenset({"replace", "replace-cross"})
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class ReaderView:
    """What digest selection needs to know about a reader."""

    name: str
    follows: Sequence[Follow]
    own_fields: Sequence[str]  # in the reader's order; empty: no cross-domain split
    source_titles: Mapping[int, str]  # feed titles for "why" lines
    aliases: Mapping[str, str]  # alias category code -> canonical code
    interests: Sequence[Interest] = ()  # saved and recently followed papers
    cross_limit: int | None = None  # full cross-domain entries at most; None: all
    cross_fields: Sequence[str] = ()  # fields or groups that count as neighbouring; (): all
    # item id -> (followed scholar, basis, evidence) of the item's attributions
    attributions: Mapping[int, Sequence[tuple[str, str, str]]] = field(default_factory=dict)

    def canonical(self, code: str) -> str:
        return self.aliases.get(code, code)


def reasons_for(item: Item, sightings: Sequence[Sighting], reader: ReaderView) -> list[Reason]:
    """Every follow of the reader that this item matches, most specific first."""
    sighted = {s.source_id for s in sightings}
    categories = [reader.canonical(c) for c in item.categories]
    primary = reader.canonical(item.primary_category) if item.primary_category else None
    found: list[Reason] = []
    for follow in reader.follows:
        if follow.kind is FollowKind.SCHOLAR:
            # Theirs only when attributed (by id, their feed, or by name with evidence),
            # so a namesake's paper is not presented as theirs.
            for scholar, basis, evidence in reader.attributions.get(item.id, ()):
                if scholar == follow.value:
                    details = from_attribution(basis, evidence)
                    found.append(Reason(FollowKind.SCHOLAR, follow.value, details))
        elif follow.kind is FollowKind.CATEGORY:
            if follow.value in categories:
                cross = primary and primary != follow.value
                details = (Detail(CROSS_LIST),) if cross else ()
                found.append(Reason(FollowKind.CATEGORY, follow.value, details))
        elif follow.source_id in sighted:
            if follow.kind is FollowKind.QUERY:
                found.append(Reason(FollowKind.QUERY, follow.value))
            else:
                title = reader.source_titles.get(follow.source_id) or follow.value
                found.append(Reason(FollowKind.FEED, title))
    order = {FollowKind.SCHOLAR: 0, FollowKind.QUERY: 1, FollowKind.FEED: 2, FollowKind.CATEGORY: 3}
    return sorted(dict.fromkeys(found), key=lambda r: order[r.kind])


def followed_authors(item: Item, scholars: Iterable[str]) -> tuple[str, ...]:
    """The authors who are the item's attributed followed scholars (to mark them)."""
    names = list(scholars)
    return tuple(a for a in item.authors if any(same_person_name(s, a) for s in names))


def _announce(sightings: Sequence[Sighting]) -> str | None:
    types = [s.announce_type for s in sightings if s.announce_type]
    for preferred in ("new", "cross"):
        if preferred in types:
            return preferred
    return types[0] if types else None


def _sort_key(entry: DigestEntry) -> tuple[object, ...]:
    item = entry.item
    when = item.published or item.first_seen
    return (-(when - _EPOCH).total_seconds(), item.key)


def _cross_sections(
    entries: Sequence[DigestEntry], reader: ReaderView, followed: Sequence[DigestEntry]
) -> list[DigestSection]:
    """The chosen cross-domain entries, one section per field (fields in the order of
    their best entry), then the rest compactly; newest first among equals. Today's
    entries of the reader's own sections (``followed``) count as interests too, so the
    ranking means something from the first digest on."""
    newest = sorted(followed, key=_sort_key)[:TODAY_INTERESTS]
    today = [Interest(e.item.id, f"{e.item.title}. {e.item.summary}", False) for e in newest]
    chosen, rest = rank_cross(
        sorted(entries, key=_sort_key),
        [*reader.interests, *today],
        limit=reader.cross_limit,
        neighbours=reader.cross_fields,
    )
    by_field: dict[str, list[DigestEntry]] = {}
    for ranked in chosen:
        name = next(t.field for t in ranked.entry.item.fields if t.confidence >= CONFIDENT)
        by_field.setdefault(name, []).append(with_note(ranked.entry, ranked.note))
    sections = [DigestSection(name, "cross", tuple(found)) for name, found in by_field.items()]
    if rest:
        sections.append(DigestSection(MORE_CROSS, "cross-more", tuple(rest)))
    return sections


def build_digest(
    reader: ReaderView,
    day: dt.date,
    cutoff: dt.datetime,
    candidates: Sequence[tuple[Item, Sequence[Sighting]]],
    failing_sources: Sequence[str] = (),
) -> Digest:
    own = list(dict.fromkeys(reader.own_fields))
    scholars: list[DigestEntry] = []
    mine: dict[str, list[DigestEntry]] = {f: [] for f in own}
    cross: list[DigestEntry] = []
    other: list[DigestEntry] = []
    revised: list[DigestEntry] = []
    for item, sightings in candidates:
        reasons = reasons_for(item, sightings, reader)
        if not reasons:
            continue
        announce = _announce(sightings)
        attributed = [r.value for r in reasons if r.kind is FollowKind.SCHOLAR]
        entry = DigestEntry(item, tuple(reasons), followed_authors(item, attributed), announce)
        fields = [t.field for t in item.fields if t.confidence >= CONFIDENT]
        if any(r.kind is FollowKind.SCHOLAR for r in reasons):
            scholars.append(entry)
        elif announce in _REVISION:
            revised.append(entry)
        elif not fields:
            other.append(entry)
        elif not own:
            mine.setdefault(fields[0], []).append(entry)
        elif mine_field := next((f for f in fields if f in mine), None):
            mine[mine_field].append(entry)
        else:
            cross.append(entry)
    sections: list[DigestSection] = []
    if scholars:
        sections.append(DigestSection(SCHOLARS, "scholars", tuple(sorted(scholars, key=_sort_key))))
    for name, entries in mine.items():
        if entries:
            sections.append(DigestSection(name, "field", tuple(sorted(entries, key=_sort_key))))
    sections += _cross_sections(cross, reader, [*scholars, *(e for m in mine.values() for e in m)])
    if other:
        sections.append(DigestSection(OTHER, "other", tuple(sorted(other, key=_sort_key))))
    if revised:
        sections.append(DigestSection(REVISED, "revised", tuple(sorted(revised, key=_sort_key))))
    return Digest(reader.name, day, cutoff, tuple(sections), tuple(failing_sources))

"""What goes into a reader's digest, why, and in which section.

Input: the candidates (items sighted in the reader's followed sources since their
last digest), the reader's follows and own fields. Output: a ``Digest`` whose
sections are, in order: followed scholars; the reader's own fields; cross-domain
reading (fields outside the reader's own); other items; new versions of older
papers. Every item appears once, under the first section it qualifies for. An item
that matches none of the reader's follows (a namesake of a followed scholar, say) is
left out. Only confident fields (``CONFIDENT``) place an item.

With a ranking (the reader's relevance model, ``tracker.reading``), the digest opens
with "Top picks": the best-scored items of the reader's own fields and other items
(at most ``top_picks``, at most half of those items, and only ones scoring above a
usual paper), each with why; followed scholars' work keeps its section, next; and
every section is ordered by score.

Cross-domain reading is capped: the ``cross_limit`` items closest to the reader's
interests get full entries with a one-line reason, and the rest that matched a follow
are listed compactly under "More from other fields", so nothing that matched a follow
is skipped. With a ranking the candidates include the whole day of arXiv (items
whose only reason is the reader's ``discovery`` follow): those become picks when they
are among the closest, and are left out otherwise. Without one, the older similarity
to the reader's interests decides (``tracker.digest.crossdomain``).

The reader's mute and must rules (``tracker.digest.rules``) are applied to every
candidate first: what they remove is left out and counted (``Digest.removed``: only
items that arrived since the previous digest, so that none is counted twice).

Pure: no I/O here; ``now`` is not needed (the digest's cutoff is given).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from tracker.digest.crossdomain import Interest, rank_cross, with_note
from tracker.digest.rules import RuleSet
from tracker.models import (
    CONFIDENT,
    Detail,
    Digest,
    DigestEntry,
    DigestSection,
    Follow,
    FollowKind,
    Item,
    RankReason,
    Reason,
    Sighting,
)
from tracker.names import same_person_name
from tracker.reasons import CROSS_LIST, from_attribution

TOP = "Top picks"
SCHOLARS = "Followed scholars"
OTHER = "Other items"
REVISED = "New versions"
MORE_CROSS = "More from other fields"
TODAY_INTERESTS = 200  # of today's own-section entries, the newest count as interests
_REVISION = frozenset({"replace", "replace-cross"})
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class Pick(Protocol):
    """An item a ranking chose, with its score and why."""

    @property
    def key(self) -> Hashable: ...
    @property
    def score(self) -> float: ...
    @property
    def reason(self) -> RankReason | None: ...


class Ranker(Protocol):
    """The reader's ranking of today's candidates (``tracker.reading.rank.Ranking``)."""

    @property
    def scores(self) -> Mapping[Hashable, float]: ...
    def top(self, n: int, keys: Iterable[Hashable] | None = None) -> Sequence[Pick]: ...
    def cross(self, keys: Iterable[Hashable], limit: int) -> Sequence[Pick]: ...


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
    ranking: Ranker | None = None  # the reader's relevance ranking of the candidates
    top_picks: int = 0  # "Top picks" at most (with a ranking)
    # the previous digest's cutoff: the whole day's papers count when seen after it
    # (what no follow brought is not carried over to the next digest)
    since: dt.datetime | None = None
    rules: RuleSet | None = None  # the reader's mute and must rules

    def canonical(self, code: str) -> str:
        return self.aliases.get(code, code)


_ORDER = {
    FollowKind.SCHOLAR: 0,
    FollowKind.QUERY: 1,
    FollowKind.FEED: 2,
    FollowKind.CATEGORY: 3,
    FollowKind.DISCOVERY: 4,
}


def reasons_for(item: Item, sightings: Sequence[Sighting], reader: ReaderView) -> list[Reason]:
    """Every follow of the reader that this item matches, most specific first."""
    sighted = {s.source_id for s in sightings}
    if reader.aliases:
        categories: Sequence[str] = [reader.canonical(c) for c in item.categories]
        primary = reader.canonical(item.primary_category) if item.primary_category else None
    else:  # the common case, and thousands of items a day
        categories, primary = item.categories, item.primary_category or None
    found: list[Reason] = []
    for follow in reader.follows:
        if follow.kind is FollowKind.SCHOLAR:
            # Theirs only when attributed (by id, their feed, or by name with evidence),
            # so a namesake's paper is not presented as theirs.
            for scholar, basis, evidence in reader.attributions.get(item.id, ()):
                if scholar == follow.value:
                    details = from_attribution(basis, evidence)
                    found.append(Reason(FollowKind.SCHOLAR, follow.value, details))
        elif follow.kind is FollowKind.DISCOVERY:
            if follow.source_id in sighted:
                found.append(Reason(FollowKind.DISCOVERY, follow.value))
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
    if len(found) < 2:
        return found
    ordered = sorted(dict.fromkeys(found), key=lambda r: _ORDER[r.kind])
    # the whole day's listing is a reason only for what no follow brought
    return [r for r in ordered if r.kind is not FollowKind.DISCOVERY] or ordered


def followed_authors(item: Item, scholars: Iterable[str]) -> tuple[str, ...]:
    """The authors who are the item's attributed followed scholars (to mark them)."""
    names = list(scholars)
    if not names:
        return ()
    return tuple(a for a in item.authors if any(same_person_name(s, a) for s in names))


def _announce(sightings: Sequence[Sighting]) -> str | None:
    types = [s.announce_type for s in sightings if s.announce_type]
    for preferred in ("new", "cross"):
        if preferred in types:
            return preferred
    return types[0] if types else None


def _sort_key(entry: DigestEntry) -> tuple[object, ...]:
    """Best score first (when ranked), then newest first."""
    item = entry.item
    when = item.published or item.first_seen
    return (-(entry.score or 0.0), -(when - _EPOCH).total_seconds(), item.key)


def _neighbouring(entry: DigestEntry, neighbours: Sequence[str]) -> bool:
    if not neighbours:
        return True
    wanted = set(neighbours)
    return any(
        t.field in wanted or t.field.split(" > ", 1)[0] in wanted
        for t in entry.item.fields
        if t.confidence >= CONFIDENT
    )


def _first_field(entry: DigestEntry) -> str:
    return next(t.field for t in entry.item.fields if t.confidence >= CONFIDENT)


def _by_field(entries: Iterable[DigestEntry]) -> list[DigestSection]:
    """Cross-domain picks, one section per field (fields in the order of their best
    entry)."""
    by_field: dict[str, list[DigestEntry]] = {}
    for entry in entries:
        by_field.setdefault(_first_field(entry), []).append(entry)
    return [DigestSection(name, "cross", tuple(found)) for name, found in by_field.items()]


def _cross_sections(
    entries: Sequence[DigestEntry], reader: ReaderView, followed: Sequence[DigestEntry]
) -> list[DigestSection]:
    """Without a ranking: the entries closest to the reader's interests (saved and
    recent own-section papers, today's included, so that it means something from the
    first digest on), then the rest compactly; newest first among equals."""
    newest = sorted(followed, key=_sort_key)[:TODAY_INTERESTS]
    today = [Interest(e.item.id, f"{e.item.title}. {e.item.summary}", False) for e in newest]
    chosen, rest = rank_cross(
        sorted(entries, key=_sort_key),
        [*reader.interests, *today],
        limit=reader.cross_limit,
        neighbours=reader.cross_fields,
    )
    sections = _by_field(with_note(r.entry, r.note) for r in chosen)
    if rest:
        sections.append(DigestSection(MORE_CROSS, "cross-more", tuple(rest)))
    return sections


def _ranked_cross(
    entries: Sequence[DigestEntry],
    discovered: Sequence[DigestEntry],
    reader: ReaderView,
    ranking: Ranker,
) -> list[DigestSection]:
    """With a ranking: the picks from the entries of other fields (those that matched
    a follow and the whole day's), then the rest that matched a follow compactly, by
    score."""
    pool: dict[Hashable, DigestEntry] = {
        e.item.id: e for e in [*entries, *discovered] if _neighbouring(e, reader.cross_fields)
    }
    limit = len(pool) if reader.cross_limit is None else reader.cross_limit
    picks = ranking.cross(list(pool), limit)
    chosen = [replace(pool[p.key], note=p.reason) for p in picks if p.key in pool]
    taken = {e.item.id for e in chosen}
    sections = _by_field(chosen)
    rest = sorted((e for e in entries if e.item.id not in taken), key=_sort_key)
    if rest:
        sections.append(DigestSection(MORE_CROSS, "cross-more", tuple(rest)))
    return sections


def _top_picks(
    reader: ReaderView, ranking: Ranker, groups: Sequence[list[DigestEntry]]
) -> list[DigestEntry]:
    """The best entries of the reader's own sections, taken out of them: at most
    ``top_picks``, at most half of those entries, and none that scores no higher than
    a usual paper."""
    eligible: dict[Hashable, DigestEntry] = {e.item.id: e for group in groups for e in group}
    most = min(reader.top_picks, len(eligible) // 2)
    if most <= 0:
        return []
    picks = [p for p in ranking.top(most, list(eligible)) if p.score > 0]
    chosen = [replace(eligible[p.key], note=p.reason) for p in picks]
    taken = {e.item.id for e in chosen}
    for group in groups:
        group[:] = [e for e in group if e.item.id not in taken]
    return chosen


def build_digest(
    reader: ReaderView,
    day: dt.date,
    cutoff: dt.datetime,
    candidates: Sequence[tuple[Item, Sequence[Sighting]]],
    failing_sources: Sequence[str] = (),
) -> Digest:
    own = list(dict.fromkeys(reader.own_fields))
    ranking = reader.ranking
    scores = ranking.scores if ranking is not None else {}
    scholars: list[DigestEntry] = []
    mine: dict[str, list[DigestEntry]] = {f: [] for f in own}
    cross: list[DigestEntry] = []
    discovered: list[DigestEntry] = []
    other: list[DigestEntry] = []
    revised: list[DigestEntry] = []
    removed = 0
    feed_urls = {
        reader.source_titles.get(f.source_id) or f.value: f.value
        for f in reader.follows
        if f.kind is FollowKind.FEED
    }
    for item, sightings in candidates:
        reasons = reasons_for(item, sightings, reader)
        if reasons and reader.rules:
            # what only the whole day's listing brought is not counted as removed
            followed = any(r.kind is not FollowKind.DISCOVERY for r in reasons)
            reasons, rule = reader.rules.apply(item, reasons, feed_urls)
            fresh = reader.since is None or any(s.seen_at > reader.since for s in sightings)
            if rule is not None and followed and fresh:
                removed += 1
        if not reasons:
            continue
        announce = _announce(sightings)
        attributed = [r.value for r in reasons if r.kind is FollowKind.SCHOLAR]
        score = scores.get(item.id)
        entry = DigestEntry(
            item, tuple(reasons), followed_authors(item, attributed), announce, score
        )
        fields = [t.field for t in item.fields if t.confidence >= CONFIDENT]
        if all(r.kind is FollowKind.DISCOVERY for r in reasons):
            # only the whole day's listing brought it: a cross-domain pick or nothing
            outside = own and fields and not any(f in mine for f in fields)
            fresh = reader.since is None or any(s.seen_at > reader.since for s in sightings)
            if ranking is not None and outside and fresh and announce not in _REVISION:
                discovered.append(entry)
        elif any(r.kind is FollowKind.SCHOLAR for r in reasons):
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
    if ranking is not None and reader.top_picks > 0:
        # followed scholars' work keeps its own section, whole, right after the picks
        picks = _top_picks(reader, ranking, [*mine.values(), other])
        if picks:
            sections.append(DigestSection(TOP, "top", tuple(picks)))
    if scholars:
        sections.append(DigestSection(SCHOLARS, "scholars", tuple(sorted(scholars, key=_sort_key))))
    for name, entries in mine.items():
        if entries:
            sections.append(DigestSection(name, "field", tuple(sorted(entries, key=_sort_key))))
    if ranking is not None:
        sections += _ranked_cross(cross, discovered, reader, ranking)
    else:
        own_entries = [*scholars, *(e for m in mine.values() for e in m)]
        sections += _cross_sections(cross, reader, own_entries)
    if other:
        sections.append(DigestSection(OTHER, "other", tuple(sorted(other, key=_sort_key))))
    if revised:
        sections.append(DigestSection(REVISED, "revised", tuple(sorted(revised, key=_sort_key))))
    return Digest(
        reader.name, day, cutoff, tuple(sections), tuple(failing_sources), removed=removed
    )

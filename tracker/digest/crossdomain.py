"""Cross-domain reading: of the items from fields outside a reader's own, the few
closest to the reader's interests, each with a one-line reason.

Interests are texts: the papers the reader saved and the papers of their recent
digests' own sections (scholars and own fields). Relevance is TF-IDF cosine
similarity (idf over the candidates and the interests together, sublinear tf, words
stemmed as the search index stems them, by ``tracker.words``), the best match counting
fully for a saved paper and at ``FOLLOWED_WEIGHT`` for a followed one. Reasons, first
that applies: "similar to 3 papers you saved", "similar to 2 papers in your fields",
"cross-listed in cs.AR and cs.LG" (as ``Detail``s of ``tracker.reasons``: the view
words them).

``rank_cross`` returns the chosen entries (at most ``limit``, best first) and the rest
in their given order; nothing is dropped, the caller lists the rest compactly.

Pure: no I/O here, and no third-party library: a digest's few hundred texts do not
need one.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from tracker import reasons
from tracker.models import CONFIDENT, Detail, DigestEntry
from tracker.words import content_stems

FOLLOWED_WEIGHT = 0.8  # a followed paper is weaker evidence of interest than a saved one
SIMILAR = 0.15  # cosine from which two abstracts are "similar" in a reason
MAX_CATEGORIES_NAMED = 3


@dataclass(frozen=True, slots=True)
class Interest:
    """A text that shows what a reader cares about."""

    item_id: int
    text: str
    saved: bool  # True: the reader saved it; False: it was in their own sections


@dataclass(frozen=True, slots=True)
class Ranked:
    entry: DigestEntry
    score: float
    note: Detail | None  # why it was chosen, when there is something to say


def terms(text: str) -> list[str]:
    """The words that carry meaning, as stems (``tracker.words``: no stop words, numbers
    or words under 3 letters; Porter stems, so "models" and "modelling" are one term)."""
    return content_stems(text)


def _unit(counts: Counter[str], idf: Mapping[str, float]) -> dict[str, float]:
    weights = {t: idf[t] * (1.0 if c == 1 else 1.0 + math.log(c)) for t, c in counts.items()}
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    return {t: w / norm for t, w in weights.items()}


def similarities(texts: Sequence[str], others: Sequence[str]) -> list[list[float]]:
    """Cosine similarity of each text to each other text, (texts, others)."""
    if not others:
        return [[] for _ in texts]
    counted = [Counter(terms(t)) for t in [*texts, *others]]
    df = Counter(term for counts in counted for term in counts)
    total = len(counted)
    idf = {t: math.log((1 + total) / (1 + d)) + 1 for t, d in df.items()}
    index: dict[str, list[tuple[int, float]]] = {}
    for k, counts in enumerate(counted[len(texts) :]):
        for term, weight in _unit(counts, idf).items():
            index.setdefault(term, []).append((k, weight))
    result = []
    for counts in counted[: len(texts)]:
        row = [0.0] * len(others)
        for term, weight in _unit(counts, idf).items():
            for k, other in index.get(term, ()):
                row[k] += weight * other
        result.append(row)
    return result


def text_of(entry: DigestEntry) -> str:
    return f"{entry.item.title}. {entry.item.summary}"


def _neighbouring(entry: DigestEntry, neighbours: Sequence[str]) -> bool:
    if not neighbours:
        return True
    wanted = set(neighbours)
    return any(
        t.field in wanted or t.field.split(" > ", 1)[0] in wanted
        for t in entry.item.fields
        if t.confidence >= CONFIDENT
    )


def rank_cross(
    entries: Sequence[DigestEntry],
    interests: Sequence[Interest],
    *,
    limit: int | None,
    neighbours: Sequence[str] = (),
) -> tuple[list[Ranked], list[DigestEntry]]:
    """The best ``limit`` entries (all when None) among those in ``neighbours`` (fields
    or groups; empty: any), by relevance to the interests; ties keep the given order.
    Returns them with their reasons, and every other entry in the given order."""
    eligible = [e for e in entries if _neighbouring(e, neighbours)]
    sims = similarities([text_of(e) for e in eligible], [i.text for i in interests])
    ranked: list[Ranked] = []
    for entry, row in zip(eligible, sims, strict=True):
        pairs = [(s, i) for s, i in zip(row, interests, strict=True) if i.item_id != entry.item.id]
        saved = [s for s, i in pairs if i.saved]
        followed = [s for s, i in pairs if not i.saved]
        score = max([*saved, *(FOLLOWED_WEIGHT * s for s in followed), 0.0])
        saved_hits = sum(s >= SIMILAR for s in saved)
        followed_hits = sum(s >= SIMILAR for s in followed)
        note: Detail | None = None
        if saved_hits:
            note = Detail(reasons.SIMILAR_SAVED, (), saved_hits)
        elif followed_hits:
            note = Detail(reasons.SIMILAR_FIELDS, (), followed_hits)
        elif len(entry.item.categories) > 1:
            shown = entry.item.categories[:MAX_CATEGORIES_NAMED]
            note = Detail(reasons.CROSS_LISTED_IN, tuple(shown))
        ranked.append(Ranked(entry, round(score, 6), note))
    ranked.sort(key=lambda r: -r.score)  # stable: equal scores keep the given order
    chosen = ranked if limit is None else ranked[:limit]
    kept = {id(r.entry) for r in chosen}
    return chosen, [e for e in entries if id(e) not in kept]


def with_note(entry: DigestEntry, note: Detail | None) -> DigestEntry:
    """The entry with its ranking reason added to the first reason's details (stored
    with the digest, so a rebuilt digest reads the same)."""
    if note is None or not entry.reasons:
        return entry
    first, *others = entry.reasons
    return replace(entry, reasons=(replace(first, details=(*first.details, note)), *others))

"""A reader's evidence: the texts their relevance model learns from.

From strongest to weakest: what they rated down (a negative), rated up, saved, have
in their imported library (a stored paper, or the entry's own title and abstract),
what the scholars they follow wrote, and what their follows brought (followed
categories' and searches' papers, and each search's own words). The last are weak
positives that let the model start from follows alone, before anything was saved or
rated; they stay, with little weight, once there is more.

An item counts once, as its strongest kind of evidence: a paper rated down is a
negative even when a followed scholar wrote it.

Pure: no I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tracker.models import Item, LibraryEntry

# How much one piece of evidence says about a reader's interest (sample weights).
WEIGHTS = {
    "saved": 1.0,
    "up": 1.0,
    "library": 1.0,
    "scholar": 0.6,  # a followed scholar's paper: their interests, not quite the reader's
    "follow": 0.3,  # cold start: what a followed category or query brought
    "down": 2.0,  # rated down: a negative that weighs more than an unlabelled one
}
UNLABELLED_WEIGHT = 1.0


@dataclass(frozen=True, slots=True)
class Evidence:
    """One text that tells what a reader cares about (or, ``down``, does not)."""

    key: str  # "item:<id>", "library:<id>", "query:<expression>": unique per reader
    kind: str  # a key of WEIGHTS
    title: str  # shown in reasons
    text: str  # title and abstract
    item_id: int | None = None  # the stored item, when there is one
    detail: str = ""  # the scholar, category or query behind it

    @property
    def positive(self) -> bool:
        return self.kind != "down"


FOLLOWED_LIMIT = 100  # papers of follows taken as weak positives
_QUERY_NOISE = re.compile(r"\b(?:cat|au|jr|rn|id):\S+|\b(?:AND|OR|ANDNOT)\b|\b\w+:|[()\"]")


def _text(item: Item) -> str:
    return f"{item.title}. {item.summary}"


def query_words(expression: str) -> str:
    """The words of an arXiv search expression, without fields, operators,
    categories and author names."""
    return " ".join(_QUERY_NOISE.sub(" ", expression).split())


def evidence(
    *,
    saved: Sequence[Item] = (),
    rated: Sequence[tuple[Item, int]] = (),
    library: Sequence[LibraryEntry] = (),
    scholars: Sequence[tuple[Item, str]] = (),
    followed: Sequence[tuple[Item, str]] = (),
    queries: Sequence[str] = (),
) -> list[Evidence]:
    """The reader's evidence, each item once as its strongest kind."""
    found: dict[str, Evidence] = {}

    def add(e: Evidence) -> None:
        if e.text.strip():
            found.setdefault(e.key, e)

    for item, value in rated:
        if value < 0:
            add(Evidence(f"item:{item.id}", "down", item.title, _text(item), item.id))
    for item, value in rated:
        if value > 0:
            add(Evidence(f"item:{item.id}", "up", item.title, _text(item), item.id))
    for item in saved:
        add(Evidence(f"item:{item.id}", "saved", item.title, _text(item), item.id))
    for entry in library:
        if entry.item is not None:
            item = entry.item
            add(Evidence(f"item:{item.id}", "library", item.title, _text(item), item.id))
        else:
            r = entry.record
            text = f"{r.title}. {r.abstract}" if r.abstract else r.title
            add(Evidence(f"library:{entry.id}", "library", r.title, text))
    for item, scholar in scholars:
        add(Evidence(f"item:{item.id}", "scholar", item.title, _text(item), item.id, scholar))
    for item, follow in followed[:FOLLOWED_LIMIT]:
        add(Evidence(f"item:{item.id}", "follow", item.title, _text(item), item.id, follow))
    for expression in queries:
        words = query_words(expression)
        if words:
            add(Evidence(f"query:{expression}", "follow", words, words, None, f"query {words}"))
    return list(found.values())

"""Rising phrases: the two-word phrases whose share of papers grew most this week
against the weeks before, in a reader's neighbouring fields.

A phrase is two neighbouring words of a title or abstract, neither a stop word
("language model", "inverse problem"); it counts once per paper. Its growth is the
ratio of its share of this week's papers to its share of the earlier weeks', both
smoothed by one paper (so a phrase new this week does not grow without bound), and
it must occur in ``MIN_PAPERS`` papers this week and have grown by ``MIN_GROWTH``.
Each comes with the first papers of the week that use it, titles first.

Pure: no I/O here, and no third-party library.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tracker.reading.text import fold, words

MIN_PAPERS = 3  # papers this week a phrase needs to be shown
MIN_GROWTH = 1.5  # its share must have grown by half at least
EXAMPLES = 2
WEEK_SAMPLE = 3000  # papers read per week at most (shares need no more)


@dataclass(frozen=True, slots=True)
class Paper:
    item_id: int
    title: str
    summary: str


@dataclass(frozen=True, slots=True)
class Rising:
    phrase: str
    papers: int  # this week's papers with the phrase
    share: float  # of this week's papers
    before: float  # share of the earlier weeks' papers
    examples: tuple[tuple[int, str], ...]  # (item id, title), titles using it first

    @property
    def growth(self) -> float:
        return self.share / self.before if self.before else math.inf


def phrases(text: str) -> set[str]:
    """The two-word phrases of a text (folded words, no stop words)."""
    folded = [fold(w) for w in words(text)]
    return {f"{a} {b}" for a, b in itertools.pairwise(folded) if a and b and a != b}


def rising(current: Sequence[Paper], before: Sequence[Paper], *, limit: int) -> list[Rising]:
    """The ``limit`` phrases that grew most, most growth first."""
    if not current:
        return []
    now_sets = [phrases(f"{p.title}. {p.summary}") for p in current]
    now = Counter(ph for s in now_sets for ph in s)
    then = Counter(ph for p in before for ph in phrases(f"{p.title}. {p.summary}"))
    n_now, n_then = len(current), len(before)
    scored = []
    for phrase, count in now.items():
        if count < MIN_PAPERS:
            continue
        share = (count + 1) / (n_now + 1)
        earlier = (then.get(phrase, 0) + 1) / (n_then + 1)
        if share / earlier >= MIN_GROWTH:
            scored.append((share / earlier, count, phrase))
    scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
    chosen: list[Rising] = []
    for _, count, phrase in scored:
        # "neural operator" and "operator learning" rising together: keep the first
        if any(set(phrase.split()) & set(c.phrase.split()) for c in chosen):
            continue
        in_title = [p for p in current if phrase in phrases(p.title)]
        in_text = [p for p, s in zip(current, now_sets, strict=True) if phrase in s]
        examples = list(dict.fromkeys([*in_title, *in_text]))[:EXAMPLES]
        chosen.append(
            Rising(
                phrase,
                count,
                count / n_now,
                then.get(phrase, 0) / n_then if n_then else 0.0,
                tuple((p.item_id, p.title) for p in examples),
            )
        )
        if len(chosen) == limit:
            break
    return chosen

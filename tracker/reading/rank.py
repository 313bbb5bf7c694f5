"""Ranking a reader's candidates with their model, and the one-line reasons.

A ``Ranking`` turns the candidates into TF-IDF rows once and scores them all (array
arithmetic); ``top`` and ``explain`` give the few shown ones their reason: the
nearest of the reader's own papers (saved, rated up, in their library, by a scholar
they follow) and the words and phrases the two share; when no paper of theirs is
near, the words of the candidate that weigh most in the reader's model.

``cross`` chooses papers from fields the reader does not follow (the caller says
which candidates those are): the closest to the reader's papers (the model's score
and the cosine to the nearest of them, each turned into a rank among those
candidates, averaged), at most ``PER_CATEGORY`` of one primary category, each with a
reason naming the nearest paper of the reader's and what the two share; a candidate
that shares no word with any of the reader's papers is never a pick.

A reason (the model's ``RankReason``) is data, not a sentence: the digest's view
words it (and translates it).

Pure: no I/O here.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from tracker.models import RankReason
from tracker.reading.model import ReaderModel
from tracker.reading.profile import Evidence
from tracker.reading.text import Tokens

NEAR = 0.1  # cosine from which one of the reader's papers is named in a reason
SHARED_TERMS = 3  # words or phrases named in a reason
PER_CATEGORY = 2  # cross-domain picks of one primary category at most
PHRASE_BONUS = 1.5  # a shared phrase says more than a shared word
# A near paper of a stronger kind of evidence is named before a weaker one.
KIND_PREFERENCE = {"saved": 1.0, "up": 1.0, "library": 1.0, "scholar": 0.9, "follow": 0.7}


@dataclass(frozen=True, slots=True)
class Candidate:
    key: Hashable  # the caller's: an item id
    title: str
    text: str  # title and abstract
    categories: tuple[str, ...] = ()  # primary first


@dataclass(frozen=True, slots=True)
class Scored:
    key: Hashable
    score: float
    reason: RankReason | None = None


class Ranking:
    """The candidates of one reader scored once; their order, reasons and picks."""

    def __init__(
        self, model: ReaderModel, candidates: Sequence[Candidate], tokens: Tokens | None = None
    ) -> None:
        """``tokens``: the candidates' words kept for other readers' rankings."""
        self.model = model
        self.candidates = list(candidates)
        self._at = {c.key: n for n, c in enumerate(self.candidates)}
        self.rows = model.rows([c.text for c in self.candidates], tokens)
        # a candidate that is itself one of the reader's papers is never its own reason
        mine: dict[Hashable, int] = {
            e.item_id: n for n, e in enumerate(model.positives) if e.item_id is not None
        }
        self._itself = {c.key: mine[c.key] for c in self.candidates if c.key in mine}
        values = model.score_rows(self.rows) if self.candidates else np.zeros(0)
        self.scores = {c.key: float(v) for c, v in zip(self.candidates, values, strict=True)}

    def order(self, keys: Iterable[Hashable] | None = None) -> list[Scored]:
        """The candidates (or those of ``keys``), best first; ties keep their order."""
        wanted = list(self.scores) if keys is None else [k for k in keys if k in self.scores]
        values = np.fromiter(map(self.scores.__getitem__, wanted), np.float64, len(wanted))
        return [Scored(wanted[n], self.scores[wanted[n]]) for n in _best_first(values)]

    def explain(self, keys: Iterable[Hashable]) -> dict[Hashable, RankReason]:
        """The reason of each candidate (left out only when it shares nothing with
        the reader's papers and no word of it weighs for them)."""
        found = {}
        for key in keys:
            if key in self._at:
                why = _why(self.model, self.rows[self._at[key]], self._itself.get(key))
                if why is not None:
                    found[key] = why
        return found

    def top(self, n: int, keys: Iterable[Hashable] | None = None) -> list[Scored]:
        """The best ``n`` (of ``keys``) with their reasons."""
        wanted = list(self.scores) if keys is None else [k for k in keys if k in self.scores]
        values = np.fromiter(map(self.scores.__getitem__, wanted), np.float64, len(wanted))
        best = [Scored(wanted[i], self.scores[wanted[i]]) for i in _best_first(values, n)]
        reasons = self.explain(s.key for s in best)
        return [Scored(s.key, s.score, reasons.get(s.key)) for s in best]

    def cross(self, keys: Iterable[Hashable], limit: int) -> list[Scored]:
        """At most ``limit`` of these candidates closest to the reader's papers, each
        with a reason naming the nearest paper and what they share."""
        at = [self._at[k] for k in dict.fromkeys(keys) if k in self._at]
        model = self.model
        if not at or not model.positives or limit <= 0:
            return []
        rows = self.rows[at]
        sims = (rows @ model.positive_rows.T).toarray()
        for n, index in enumerate(at):
            itself = self._itself.get(self.candidates[index].key)
            if itself is not None:
                sims[n, itself] = 0.0
        nearest = sims.max(axis=1)
        combined = _percentiles(model.score_rows(rows)) + _percentiles(nearest)
        picks: list[Scored] = []
        per_category: dict[str, int] = {}
        for n in np.argsort(-combined, kind="stable"):
            if len(picks) == limit:
                break
            if nearest[n] <= 0:
                continue  # shares no word with any of the reader's papers
            candidate = self.candidates[at[int(n)]]
            primary = candidate.categories[0] if candidate.categories else ""
            if primary and per_category.get(primary, 0) >= PER_CATEGORY:
                continue
            best = int(np.argmax(sims[n]))
            terms = _top_terms(model, rows[int(n)].multiply(model.positive_rows[best]))
            if not terms:
                continue
            per_category[primary] = per_category.get(primary, 0) + 1
            why = _with_terms(model.positives[best], terms)
            picks.append(Scored(candidate.key, self.scores[candidate.key], why))
        return picks


def _best_first(values: NDArray[np.float64], n: int | None = None) -> list[int]:
    """Positions of the ``n`` highest values (all: None), highest first; ties keep
    their order."""
    if n is not None and n < len(values):
        if n <= 0:
            return []
        # the n-th highest value, then everything at least as high, in order
        bound = np.partition(values, len(values) - n)[len(values) - n]
        at = np.flatnonzero(values >= bound)
        best: list[int] = at[np.argsort(-values[at], kind="stable")][:n].tolist()
        return best
    order: list[int] = np.argsort(-values, kind="stable").tolist()
    return order


def rank(model: ReaderModel, candidates: Sequence[Candidate]) -> list[Scored]:
    """Every candidate with its score, best first (ties keep the given order)."""
    if not candidates:
        return []
    scores = model.scores([c.text for c in candidates])
    order = np.argsort(-scores, kind="stable")
    return [Scored(candidates[n].key, float(scores[n])) for n in order]


def _why(model: ReaderModel, row: sparse.csr_matrix, itself: int | None) -> RankReason | None:
    if model.positives:
        sims = np.asarray((model.positive_rows @ row.T).todense()).ravel()
        if itself is not None:
            sims[itself] = 0.0
        preference = np.asarray([KIND_PREFERENCE.get(e.kind, 0.7) for e in model.positives])
        best = int(np.argmax(sims * preference))
        if sims[best] >= NEAR:
            shared = row.multiply(model.positive_rows[best])
            return _with_terms(model.positives[best], _top_terms(model, shared))
    weighed = row.multiply(model.weights.reshape(1, -1))
    terms = _top_terms(model, weighed)
    return RankReason("words", terms=terms) if terms else None


def _with_terms(evidence: Evidence, terms: tuple[str, ...]) -> RankReason:
    return RankReason(evidence.kind, evidence.title, evidence.detail, terms)


def _top_terms(model: ReaderModel, values: sparse.spmatrix) -> tuple[str, ...]:
    """The terms of the largest positive values; a phrase before the words in it."""
    coo = sparse.coo_matrix(values)
    if not coo.nnz:
        return ()
    weights = coo.data * np.where(coo.col >= model.vocabulary.words, PHRASE_BONUS, 1.0)
    order = np.argsort(-weights, kind="stable")
    chosen: list[str] = []
    for n in order:
        if weights[n] <= 0 or len(chosen) == SHARED_TERMS:
            break
        term = model.vocabulary.terms[int(coo.col[n])]
        if any(term in c.split(" ") or c in term.split(" ") for c in chosen):
            continue  # "inverse problem" already says "inverse"
        chosen.append(term)
    return tuple(chosen)


def _percentiles(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each value's rank among the values, from 0 (lowest) to 1 (highest)."""
    ranks = np.empty(len(values))
    ranks[np.argsort(values, kind="stable")] = np.arange(len(values))
    return ranks / max(1, len(values) - 1)

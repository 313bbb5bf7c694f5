"""The learned field classifier: title and abstract in, research fields with
probabilities out, and a threshold below which it abstains.

A TF-IDF (word 1-2 grams, sublinear tf) feeds one linear score per field; a softmax
temperature turns the scores into probabilities, log-priors may shift them, and the
model abstains below its threshold. How it is fitted and calibrated is
``tracker.fields.training``'s. Labels are free: an arXiv paper's fields are those of
its categories, primary first (``examples_from_papers``).

``FieldModel`` keeps only arrays and the fitted vectorizer, not the estimator, so
predictions and explanations are the same arithmetic.

Pure: no I/O and no clock here. Saving and loading are ``tracker.fields.store``'s.
NumPy and scikit-learn are imported inside the functions that need them (about two
seconds), so that commands which never classify do not pay for them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

from tracker.models import Entry

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from sklearn.feature_extraction.text import TfidfVectorizer

DEFAULT_TEMPERATURE = 5.0  # when there are too few examples to fit one
DEFAULT_THRESHOLD = 0.5  # when there are too few held-out papers to choose one


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled text: a paper's title and abstract and its fields, primary first."""

    key: str  # arXiv id: the canonical order and the de-duplication key
    title: str
    summary: str
    fields: tuple[str, ...]
    day: dt.date | None = None  # submission date, for time splits and recency
    stored: bool = False  # from this installation's database (not cold-start files)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What a trained model is: written to the manifest beside the model file."""

    version: int  # assigned when saved; 0 until then
    trained_at: dt.datetime
    n_examples: int
    n_features: int
    labels: tuple[str, ...]
    seed: int
    temperature: float
    holdout_accuracy: float | None  # of the held-out tenth
    sources: Mapping[str, int] = field(default_factory=dict)  # examples per source
    threshold: float = DEFAULT_THRESHOLD  # below this probability the model abstains
    threshold_precision: float | None = None  # held-out precision at the threshold
    threshold_coverage: float | None = None  # held-out share at or above it
    priors: Mapping[str, float] = field(default_factory=dict)  # empty: none applied
    prior_strength: float = 0.0
    n_stored: int = 0  # examples from the installation's database
    adapt: float = 0.0  # scale of the stored papers' own features in training; 0: none

    @property
    def name(self) -> str:
        return f"fields-v{self.version}"


@dataclass(frozen=True, eq=False)
class FieldModel:
    vectorizer: TfidfVectorizer
    coef: NDArray[np.float32]  # (labels, features)
    intercept: NDArray[np.float64]  # (labels,)
    info: ModelInfo

    @property
    def labels(self) -> tuple[str, ...]:
        return self.info.labels

    @property
    def version(self) -> int:
        return self.info.version

    @property
    def threshold(self) -> float:
        return self.info.threshold

    def with_info(self, **changes: object) -> FieldModel:
        return replace(self, info=replace(self.info, **changes))  # type: ignore[arg-type]

    def scores(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """The linear scores of each text for each label, (texts, labels)."""
        import numpy as np

        x = self.vectorizer.transform(list(texts))
        return np.asarray(x @ self._weights) + self.intercept

    @cached_property
    def _weights(self) -> NDArray[np.float64]:
        """The weights as the product wants them, converted once (float32 on disk)."""
        import numpy as np

        return np.ascontiguousarray(self.coef.T, dtype=np.float64)

    @cached_property
    def bias(self) -> NDArray[np.float64]:
        """What the priors add to the scaled scores: strength x log prior, per label."""
        return log_prior_bias(self.labels, self.info.priors, self.info.prior_strength)

    def probabilities(self, texts: Sequence[str]) -> NDArray[np.float64]:
        import numpy as np

        logits = self.scores(texts) * self.info.temperature + self.bias
        return np.exp(log_softmax(logits))

    def predict(self, title: str, summary: str, top: int = 3) -> list[tuple[str, float]]:
        """The ``top`` most likely fields of one text, with probabilities, best first."""
        import numpy as np

        probs = self.probabilities([text_of(title, summary)])[0]
        order = np.argsort(-probs, kind="stable")[:top]
        return [(self.labels[n], float(probs[n])) for n in order]

    def top_terms(self, title: str, summary: str, label: str, n: int = 6) -> list[str]:
        """The words of a text that pushed it most towards ``label``."""
        import numpy as np

        if label not in self.labels:
            return []
        x = self.vectorizer.transform([text_of(title, summary)]).tocsr()
        row = self.coef[self.labels.index(label)]
        weights = x.data * row[x.indices]
        order = np.lexsort((x.indices, -weights))  # ties: by term index, stable
        return [str(self._terms[x.indices[k]]) for k in order[:n] if weights[k] > 0]

    @cached_property
    def _terms(self) -> NDArray[np.str_]:
        terms: NDArray[np.str_] = self.vectorizer.get_feature_names_out()
        return terms

    def fingerprint(self) -> str:
        """A digest of everything predictions depend on (same seed, same data: same)."""
        import numpy as np

        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.coef).tobytes())
        h.update(np.ascontiguousarray(self.intercept).tobytes())
        vocabulary = sorted((str(k), int(v)) for k, v in self.vectorizer.vocabulary_.items())
        h.update(json.dumps(vocabulary).encode())
        calibration = [self.info.temperature, self.info.threshold, self.info.prior_strength]
        h.update(json.dumps([self.labels, repr(calibration)]).encode())
        h.update(json.dumps(sorted(self.info.priors.items())).encode())
        return h.hexdigest()


def text_of(title: str, summary: str) -> str:
    return f"{title.strip()}. {summary.strip()}"


def log_softmax(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    import numpy as np

    shifted = scores - scores.max(axis=1, keepdims=True)
    result: NDArray[np.float64] = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return result


def log_prior_bias(
    labels: Sequence[str], priors: Mapping[str, float], strength: float
) -> NDArray[np.float64]:
    """``strength`` x log prior for each label, centred (a label without a prior gets
    the smallest prior given); zeros when there are no priors."""
    import numpy as np

    if not priors or strength == 0:
        return np.zeros(len(labels))
    floor = min(priors.values())
    logs = np.log(np.array([max(priors.get(name, floor), 1e-12) for name in labels]))
    result: NDArray[np.float64] = strength * (logs - logs.mean())
    return result


def examples_from_papers(
    papers: Iterable[Entry],
    field_of: Callable[[str], str | None],
    known: Iterable[str],
    *,
    stored: bool = False,
) -> list[Example]:
    """Labelled examples from arXiv papers: each category's field, primary first.

    ``field_of`` is ``FieldMap.field_of``; fields outside ``known`` (the "> Other"
    fallback of an unknown code) are dropped, and so is a paper whose primary field is
    unknown or whose abstract is empty. ``stored``: the papers are the installation's
    own (weighted up, priors learned from them).
    """
    fields_known = set(known)
    found: list[Example] = []
    for paper in papers:
        if not paper.summary.strip() or not paper.arxiv_id or not paper.categories:
            continue
        primary = field_of(paper.primary_category or paper.categories[0])
        if primary not in fields_known:
            continue
        names = (field_of(c) for c in paper.categories)
        fields = tuple(dict.fromkeys([primary, *(n for n in names if n in fields_known)]))
        when = paper.published.date() if paper.published else None
        found.append(Example(paper.arxiv_id, paper.title, paper.summary, fields, when, stored))
    return found

"""The learned field classifier: title and abstract in, research fields with
probabilities out.

A scikit-learn TF-IDF (word 1-2 grams, sublinear tf) feeds one linear SVM per field
(one-vs-rest, balanced class weights); a temperature fitted on a held-out tenth turns
its scores into probabilities (softmax, so the best field is the SVM's). Labels are
free: an arXiv paper's fields are those of its categories, primary first. A paper
also counts as an example of each cross-listed field, and every keyword phrase of
``fields.toml`` is a one-phrase example of its field, so words newer than the
training papers ("diffusion model", "llm agent") still point somewhere.

Training is deterministic for a seed: examples are put in a canonical order, the
hold-out split and the solver are seeded. ``FieldModel`` keeps only arrays and the
fitted vectorizer, not the estimator, so predictions and explanations are the same
arithmetic.

Pure: no I/O and no clock here (``trained_at`` is passed in). Saving and loading
are ``tracker.fields.store``'s. scikit-learn and SciPy are imported inside the
functions that fit (about two seconds), so that commands which never train or
predict do not pay for them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from tracker.errors import ModelError
from tracker.models import Entry

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

SEED = 0
MAX_FEATURES = 50_000  # 50k terms x ~65 fields of float32 weights: about 13 MB
SVM_C = 0.2  # chosen on the stratified sample (0.2-1.0 differ by under 0.01 macro-F1)
CROSS_LIST_WEIGHT = 1.0  # a cross-listed field counts like the primary one
KEYWORD_WEIGHT = 1.0  # each keyword phrase of the fields file: one short example
HOLDOUT_SHARE = 0.1  # of the examples, to fit the temperature
MIN_EXAMPLES = 20
MIN_HOLDOUT = 20
DEFAULT_TEMPERATURE = 5.0  # when there are too few examples to fit one


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled text: a paper's title and abstract and its fields, primary first."""

    key: str  # arXiv id: the canonical order and the de-duplication key
    title: str
    summary: str
    fields: tuple[str, ...]
    day: dt.date | None = None  # submission date, for time splits


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
    holdout_accuracy: float | None  # of the held-out tenth, before the final fit
    sources: Mapping[str, int] = field(default_factory=dict)  # examples per source

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

    def with_info(self, **changes: object) -> FieldModel:
        return replace(self, info=replace(self.info, **changes))  # type: ignore[arg-type]

    def scores(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """The linear scores of each text for each label, (texts, labels)."""
        x = self.vectorizer.transform(list(texts))
        return np.asarray(x @ self._weights) + self.intercept

    @cached_property
    def _weights(self) -> NDArray[np.float64]:
        """The weights as the product wants them, converted once (float32 on disk)."""
        return np.ascontiguousarray(self.coef.T, dtype=np.float64)

    def probabilities(self, texts: Sequence[str]) -> NDArray[np.float64]:
        return np.exp(_log_softmax(self.scores(texts) * self.info.temperature))

    def predict(self, title: str, summary: str, top: int = 3) -> list[tuple[str, float]]:
        """The ``top`` most likely fields of one text, with probabilities, best first."""
        probs = self.probabilities([text_of(title, summary)])[0]
        order = np.argsort(-probs, kind="stable")[:top]
        return [(self.labels[n], float(probs[n])) for n in order]

    def top_terms(self, title: str, summary: str, label: str, n: int = 6) -> list[str]:
        """The words of a text that pushed it most towards ``label``."""
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
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.coef).tobytes())
        h.update(np.ascontiguousarray(self.intercept).tobytes())
        vocabulary = sorted((str(k), int(v)) for k, v in self.vectorizer.vocabulary_.items())
        h.update(json.dumps(vocabulary).encode())
        h.update(json.dumps([self.labels, repr(self.info.temperature)]).encode())
        return h.hexdigest()


def text_of(title: str, summary: str) -> str:
    return f"{title.strip()}. {summary.strip()}"


def _log_softmax(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    shifted = scores - scores.max(axis=1, keepdims=True)
    result: NDArray[np.float64] = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return result


def _vectorizer(max_features: int) -> TfidfVectorizer:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=2,
        max_df=0.5,
        strip_accents="unicode",
        max_features=max_features,
        dtype=np.float64,
    )


def _documents(
    examples: Sequence[Example], keywords: Mapping[str, Sequence[str]]
) -> tuple[list[str], list[str], list[float]]:
    texts: list[str] = []
    labels: list[str] = []
    weights: list[float] = []
    for ex in examples:
        text = text_of(ex.title, ex.summary)
        for n, name in enumerate(ex.fields):
            texts.append(text)
            labels.append(name)
            weights.append(1.0 if n == 0 else CROSS_LIST_WEIGHT)
    known = set(labels)
    for name in sorted(keywords):
        if name in known:  # a field without papers stays unknown rather than keyword-only
            for phrase in keywords[name]:
                texts.append(phrase)
                labels.append(name)
                weights.append(KEYWORD_WEIGHT)
    return texts, labels, weights


def _fit(
    examples: Sequence[Example],
    keywords: Mapping[str, Sequence[str]],
    seed: int,
    max_features: int,
) -> tuple[TfidfVectorizer, LinearSVC]:
    from sklearn.svm import LinearSVC

    texts, labels, weights = _documents(examples, keywords)
    vectorizer = _vectorizer(max_features)
    matrix = vectorizer.fit_transform(texts)
    svm = LinearSVC(C=SVM_C, class_weight="balanced", random_state=seed, max_iter=2000)
    svm.fit(matrix, labels, sample_weight=np.asarray(weights))
    return vectorizer, svm


def _fit_temperature(scores: NDArray[np.float64], truth: NDArray[np.intp]) -> float:
    """The softmax temperature that minimises the held-out log loss (Guo et al. 2017)."""
    from scipy.optimize import minimize_scalar

    def loss(t: float) -> float:
        return float(-_log_softmax(scores * t)[np.arange(len(truth)), truth].mean())

    found = minimize_scalar(loss, bounds=(0.1, 100.0), method="bounded")
    return round(float(found.x), 6)


def train(
    examples: Iterable[Example],
    keywords: Mapping[str, Sequence[str]],
    *,
    trained_at: dt.datetime,
    seed: int = SEED,
    max_features: int = MAX_FEATURES,
    sources: Mapping[str, int] | None = None,
) -> FieldModel:
    """Fit a model; the same examples, keywords and seed give the same model."""
    ordered = sorted({ex.key: ex for ex in examples if ex.fields}.values(), key=lambda e: e.key)
    labels = {ex.fields[0] for ex in ordered}
    if len(ordered) < MIN_EXAMPLES or len(labels) < 2:
        raise ModelError(
            f"too few labelled papers to train on: {len(ordered)} papers in {len(labels)} "
            f"fields (at least {MIN_EXAMPLES} papers in 2 fields)"
        )
    rng = np.random.RandomState(seed)
    order = rng.permutation(len(ordered))
    cut = int(len(ordered) * HOLDOUT_SHARE)
    temperature, holdout_accuracy = DEFAULT_TEMPERATURE, None
    if cut >= MIN_HOLDOUT:
        held = [ordered[n] for n in sorted(order[:cut])]
        rest = [ordered[n] for n in sorted(order[cut:])]
        vectorizer, svm = _fit(rest, keywords, seed, max_features)
        classes = [str(c) for c in svm.classes_]
        kept = [ex for ex in held if ex.fields[0] in classes]
        if len(kept) >= MIN_HOLDOUT and len(classes) > 2:
            scores = svm.decision_function(
                vectorizer.transform([text_of(e.title, e.summary) for e in kept])
            )
            truth = np.array([classes.index(e.fields[0]) for e in kept], dtype=np.intp)
            temperature = _fit_temperature(np.asarray(scores, dtype=np.float64), truth)
            holdout_accuracy = round(float((scores.argmax(axis=1) == truth).mean()), 4)
    vectorizer, svm = _fit(ordered, keywords, seed, max_features)
    coef = np.asarray(svm.coef_, dtype=np.float32)
    intercept = np.asarray(svm.intercept_, dtype=np.float64)
    if coef.shape[0] == 1:  # two classes: sklearn keeps one row for the second class
        coef = np.vstack([-coef, coef])
        intercept = np.concatenate([-intercept, intercept])
    info = ModelInfo(
        version=0,
        trained_at=trained_at,
        n_examples=len(ordered),
        n_features=len(vectorizer.vocabulary_),
        labels=tuple(str(c) for c in svm.classes_),
        seed=seed,
        temperature=temperature,
        holdout_accuracy=holdout_accuracy,
        sources=dict(sources or {}),
    )
    return FieldModel(vectorizer, coef, intercept, info)


def examples_from_papers(
    papers: Iterable[Entry], field_of: Callable[[str], str | None], known: Iterable[str]
) -> list[Example]:
    """Labelled examples from arXiv papers: each category's field, primary first.

    ``field_of`` is ``FieldMap.field_of``; fields outside ``known`` (the "> Other"
    fallback of an unknown code) are dropped, and so is a paper whose primary field is
    unknown or whose abstract is empty.
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
        found.append(Example(paper.arxiv_id, paper.title, paper.summary, fields, when))
    return found

"""Fitting and calibrating the field classifier (``tracker.fields.model``).

A scikit-learn TF-IDF (word 1-2 grams, sublinear tf) feeds one linear SVM per field
(one-vs-rest, balanced class weights). Labels are free: an arXiv paper's fields are
those of its categories, primary first; a paper also counts as an example of each
cross-listed field, and every keyword phrase of ``fields.toml`` is a one-phrase
example of its field, so words newer than the training papers still point
somewhere.

What the reader's own installation has stored can count more (``Weighting``):

- the model adapts to the installation's papers (Daume III 2007, "frustratingly
  easy domain adaptation"): every stored paper's features appear twice, once shared
  with the cold-start papers and once in a copy only stored papers have, scaled by
  ``adapt``. The SVM learns shared weights and, for the installation, corrections
  to them; a new paper is scored with both, summed into one weight per term, so
  the saved model and its predictions have the same shape as without adaptation.
  A few hundred current papers then move the model where up-weighting them does
  not: the correction is regularised on its own, not drowned by the cold-start
  papers' many examples of an older vocabulary;
- a stored paper can weigh ``stored`` times a cold-start one (the metadata files
  of ``[fields] training_data``), less the older it is than the newest stored paper
  (the extra weight halves every ``half_life_days``; never below a cold-start paper);
- the fields' prior probabilities can be re-estimated from the stored papers (their
  primary fields, mixed with a uniform share so that no field is ruled out) and
  added to the SVM's scores as log-priors: the SVM is trained balanced, so the
  priors say how common each field is where this model is used.

Calibration, on a seeded held-out tenth of the examples: a softmax temperature
(Guo et al. 2017) turns scores into probabilities, and the abstention threshold is
the lowest probability at which the held-out papers' best field was right (one of
their fields) at least ``TARGET_PRECISION`` of the time. Both are stored with the
model. The model that is kept is the one fitted on the other nine tenths: one fit,
not two, and the calibration describes exactly the model that is used.

Training is deterministic for a seed: examples are put in a canonical order, the
hold-out split and the solver are seeded.

Pure: no I/O and no clock here (``trained_at`` is passed in). Saving and loading
are ``tracker.fields.store``'s. NumPy, SciPy and scikit-learn are imported inside
the functions that need them (about two seconds), so that commands which never
train do not pay for them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tracker.errors import ModelError
from tracker.fields.model import (
    DEFAULT_TEMPERATURE,
    DEFAULT_THRESHOLD,
    Example,
    FieldModel,
    ModelInfo,
    log_softmax,
    text_of,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from sklearn.feature_extraction.text import TfidfVectorizer

SEED = 0
MAX_FEATURES = 50_000  # 50k terms x ~65 fields of float32 weights: about 13 MB
SVM_C = 0.2  # chosen on the stratified sample (0.2-1.0 differ by under 0.01 macro-F1)
CROSS_LIST_WEIGHT = 1.0  # a cross-listed field counts like the primary one
KEYWORD_WEIGHT = 1.0  # each keyword phrase of the fields file: one short example
HOLDOUT_SHARE = 0.1  # of the examples, to calibrate on
MIN_EXAMPLES = 20
MIN_HOLDOUT = 20
TARGET_PRECISION = 0.8  # of the fields shown, on held-out papers
MIN_ABOVE = 10  # held-out papers the threshold's precision is measured on, at least
MIN_PRIOR_PAPERS = 100  # stored papers before priors are re-estimated from them
ADAPT = 1.0  # chosen on the earlier recorded days (README: Fields): +0.03 accuracy


@dataclass(frozen=True, slots=True)
class Weighting:
    """How much the installation's stored papers count: ``[fields] stored_adapt``,
    ``stored_weight`` and ``stored_priors``. Adaptation is on by default; the other
    two are neutral: on the recorded days (the README's evaluation) neither helped
    the next day's fields, so they are for an installation whose own evaluation
    (``tracker fields eval --stored``) shows they do."""

    stored: float = 1.0  # a stored paper of the newest day, in cold-start papers
    half_life_days: float = 180.0  # the extra weight halves per this many days older
    adapt: float = ADAPT  # scale of the stored papers' own copy of the features; 0: off
    prior_share: float = 0.0  # of the priors from stored papers; the rest is uniform
    prior_strength: float = 1.0  # the log-priors' factor added to the scores


WEIGHTING = Weighting()


# --- weights and priors: pure arithmetic on examples ---------------------------------------


def example_weights(examples: Sequence[Example], weighting: Weighting) -> list[float]:
    """Each example's weight: 1 for cold-start papers; a stored paper ``stored`` times
    that on the newest stored day, its extra weight halving every ``half_life_days``."""
    newest = max((e.day for e in examples if e.stored and e.day), default=None)
    extra = weighting.stored - 1.0
    found: list[float] = []
    for e in examples:
        if not e.stored or extra <= 0:
            found.append(1.0)
            continue
        age = (newest - e.day).days if newest and e.day else 0
        found.append(1.0 + extra * 0.5 ** (max(0, age) / weighting.half_life_days))
    return found


def stored_priors(
    examples: Sequence[Example], labels: Sequence[str], weighting: Weighting
) -> dict[str, float]:
    """Each label's prior: the share of the stored papers whose primary field it is,
    mixed with a uniform share; empty when too few papers are stored."""
    counts = Counter(e.fields[0] for e in examples if e.stored and e.fields)
    total = sum(counts[name] for name in labels)
    if total < MIN_PRIOR_PAPERS or weighting.prior_share <= 0 or not labels:
        return {}
    share = weighting.prior_share
    uniform = (1 - share) / len(labels)
    return {name: round(share * counts[name] / total + uniform, 9) for name in labels}


# --- fitting ---------------------------------------------------------------------------------


def _vectorizer(max_features: int) -> TfidfVectorizer:
    import numpy as np
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


@dataclass(frozen=True, slots=True)
class _Documents:
    """What the SVM is fitted on: one row per (text, field), keyword phrases last."""

    texts: list[str]
    labels: list[str]
    weights: list[float]
    stored: list[bool]  # the row is an installation's stored paper


def _documents(
    examples: Sequence[Example], weights: Sequence[float], keywords: Mapping[str, Sequence[str]]
) -> _Documents:
    docs = _Documents([], [], [], [])
    for ex, weight in zip(examples, weights, strict=True):
        text = text_of(ex.title, ex.summary)
        for n, name in enumerate(ex.fields):
            docs.texts.append(text)
            docs.labels.append(name)
            docs.weights.append(weight * (1.0 if n == 0 else CROSS_LIST_WEIGHT))
            docs.stored.append(ex.stored)
    known = set(docs.labels)
    for name in sorted(keywords):
        if name in known:  # a field without papers stays unknown rather than keyword-only
            for phrase in keywords[name]:
                docs.texts.append(phrase)
                docs.labels.append(name)
                docs.weights.append(KEYWORD_WEIGHT)
                docs.stored.append(False)
    return docs


def _adaptation(examples: Sequence[Example], weighting: Weighting) -> float:
    """The scale of the stored papers' own features: 0 unless there are stored and
    cold-start papers both (all stored, the copy would only double the work)."""
    stored = sum(e.stored for e in examples)
    return weighting.adapt if 0 < stored < len(examples) else 0.0


@dataclass(frozen=True, eq=False)
class _Fitted:
    vectorizer: TfidfVectorizer
    classes: tuple[str, ...]
    coef: NDArray[np.float32]  # (classes, features): shared weights plus the adaptation
    intercept: NDArray[np.float64]
    adapt: float  # the scale the stored papers' own features had; 0: none


def _fit(
    examples: Sequence[Example],
    weighting: Weighting,
    keywords: Mapping[str, Sequence[str]],
    seed: int,
    max_features: int,
) -> _Fitted:
    import numpy as np
    import scipy.sparse as sp
    from sklearn.svm import LinearSVC

    docs = _documents(examples, example_weights(examples, weighting), keywords)
    vectorizer = _vectorizer(max_features)
    matrix = vectorizer.fit_transform(docs.texts)
    adapt = _adaptation(examples, weighting)
    if adapt > 0:  # the stored rows' own copy of their features, beside the shared one
        own = sp.diags(np.asarray(docs.stored, dtype=np.float64) * adapt) @ matrix
        matrix = sp.hstack([matrix, own], format="csr")
    svm = LinearSVC(C=SVM_C, class_weight="balanced", random_state=seed, max_iter=2000)
    svm.fit(matrix, docs.labels, sample_weight=np.asarray(docs.weights))
    coef = np.asarray(svm.coef_, dtype=np.float64)
    if adapt > 0:  # a new paper is the installation's: shared + adapted, one weight a term
        n = coef.shape[1] // 2
        coef = coef[:, :n] + adapt * coef[:, n:]
    intercept = np.asarray(svm.intercept_, dtype=np.float64)
    if coef.shape[0] == 1:  # two classes: sklearn keeps one row for the second class
        coef = np.vstack([-coef, coef])
        intercept = np.concatenate([-intercept, intercept])
    classes = tuple(str(c) for c in svm.classes_)
    return _Fitted(vectorizer, classes, np.asarray(coef, dtype=np.float32), intercept, adapt)


def _fit_temperature(
    scores: NDArray[np.float64], bias: NDArray[np.float64], truth: NDArray[np.intp]
) -> float:
    """The softmax temperature that minimises the held-out log loss (Guo et al. 2017)."""
    import numpy as np
    from scipy.optimize import minimize_scalar

    def loss(t: float) -> float:
        return float(-log_softmax(scores * t + bias)[np.arange(len(truth)), truth].mean())

    found = minimize_scalar(loss, bounds=(0.1, 100.0), method="bounded")
    return round(float(found.x), 6)


@dataclass(frozen=True, slots=True)
class Threshold:
    value: float
    precision: float | None  # of the held-out best fields at or above it
    coverage: float | None  # share of held-out papers at or above it


def choose_threshold(
    confidence: Sequence[float], correct: Sequence[bool], target: float = TARGET_PRECISION
) -> Threshold:
    """The lowest confidence at which the predictions at or above it are right at least
    ``target`` of the time (over ``MIN_ABOVE`` of them at least); 1.0 (never sure) if
    there is none. Ties are taken together."""
    pairs = sorted(zip(confidence, correct, strict=True), key=lambda p: -p[0])
    if len(pairs) < MIN_ABOVE:
        return Threshold(DEFAULT_THRESHOLD, None, None)
    best: Threshold | None = None
    right = 0
    for n, (value, ok) in enumerate(pairs, start=1):
        right += ok
        if n < len(pairs) and pairs[n][0] == value:
            continue  # the same confidence: decide with all of them
        if n >= MIN_ABOVE and right / n >= target:
            best = Threshold(round(value, 4), round(right / n, 4), round(n / len(pairs), 4))
    return best or Threshold(1.0, None, 0.0)


def train(
    examples: Iterable[Example],
    keywords: Mapping[str, Sequence[str]],
    *,
    trained_at: dt.datetime,
    seed: int = SEED,
    max_features: int = MAX_FEATURES,
    sources: Mapping[str, int] | None = None,
    weighting: Weighting = WEIGHTING,
) -> FieldModel:
    """Fit a model; the same examples, keywords, weighting and seed give the same model."""
    import numpy as np

    ordered = sorted({ex.key: ex for ex in examples if ex.fields}.values(), key=lambda e: e.key)
    labels = {ex.fields[0] for ex in ordered}
    if len(ordered) < MIN_EXAMPLES or len(labels) < 2:
        raise ModelError(
            f"too few labelled papers to train on: {len(ordered)} papers in {len(labels)} "
            f"fields (at least {MIN_EXAMPLES} papers in 2 fields)"
        )
    order = np.random.RandomState(seed).permutation(len(ordered))
    cut = int(len(ordered) * HOLDOUT_SHARE)
    if cut < MIN_HOLDOUT:
        cut = 0
    held = [ordered[n] for n in sorted(order[:cut])]
    rest = [ordered[n] for n in sorted(order[cut:])]
    fitted = _fit(rest, weighting, keywords, seed, max_features)
    vectorizer, classes = fitted.vectorizer, fitted.classes
    priors = stored_priors(ordered, classes, weighting)
    strength = weighting.prior_strength if priors else 0.0
    info = ModelInfo(
        version=0,
        trained_at=trained_at,
        n_examples=len(ordered),
        n_features=len(vectorizer.vocabulary_),
        labels=classes,
        seed=seed,
        temperature=DEFAULT_TEMPERATURE,
        holdout_accuracy=None,
        sources=dict(sources or {}),
        priors=priors,
        prior_strength=strength,
        n_stored=sum(e.stored for e in ordered),
        adapt=fitted.adapt,
    )
    model = FieldModel(vectorizer, fitted.coef, fitted.intercept, info)
    return _calibrated(model, held)


def _calibrated(model: FieldModel, held: Sequence[Example]) -> FieldModel:
    """The model with its temperature and threshold fitted on the held-out papers."""
    import numpy as np

    kept = [e for e in held if e.fields[0] in model.labels]
    if len(kept) < MIN_HOLDOUT or len(model.labels) <= 2:
        return model
    scores = model.scores([text_of(e.title, e.summary) for e in kept])
    truth = np.array([model.labels.index(e.fields[0]) for e in kept], dtype=np.intp)
    temperature = _fit_temperature(scores, model.bias, truth)
    probs = np.exp(log_softmax(scores * temperature + model.bias))
    best = probs.argmax(axis=1)
    correct = [model.labels[b] in e.fields for b, e in zip(best, kept, strict=True)]
    chosen = choose_threshold([float(p) for p in probs.max(axis=1)], correct)
    return model.with_info(
        temperature=temperature,
        holdout_accuracy=round(float((best == truth).mean()), 4),
        threshold=chosen.value,
        threshold_precision=chosen.precision,
        threshold_coverage=chosen.coverage,
    )

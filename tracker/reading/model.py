"""A reader's relevance model: a linear model over TF-IDF words and phrases, trained
on what the reader showed interest in against recent papers they did not.

Positives are the reader's evidence (saved, rated up, in their imported library,
written by scholars they follow, and, at a cold start, what their follows brought),
each weighted by how much it says (``WEIGHTS``). Negatives are what they rated down
(weighted more) and a sample of recent papers, taken as unlabelled negatives: most
of any day's papers are not for any one reader, and the few that are only soften the
model a little. This is arxiv-sanity's per-user SVM, with weights per kind of
evidence and phrases beside words.

The score blends the SVM's margin with the cosine to the centre of the positives
(``CENTROID_WEIGHT``): the margin knows which words set the reader's papers apart
from the rest, the centre keeps a small profile from resting on a few words. Both are
measured in standard deviations over the unlabelled papers, so a score of 0 is a
usual recent paper and 3 one that stands well out for this reader.

Training imports scikit-learn (lazily: only commands that rank pay for it) and takes
a fraction of a second for a few thousand texts. Scoring is array arithmetic.

Pure: no I/O and no clock here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from tracker.reading import text
from tracker.reading.profile import UNLABELLED_WEIGHT, WEIGHTS, Evidence
from tracker.reading.text import Tokens, Vocabulary

SVM_C = 0.1  # chosen on the ranking benchmark (0.02-0.2 differ by about 0.01 nDCG@10)
CENTROID_WEIGHT = 2.0  # the cosine to the positives' centre, beside the margin
MAX_ITER = 5000
SEED = 0
# What a kept model was trained with (``service.fingerprint``): a kept model trained
# otherwise is trained again. Bump the first number when training itself changes.
MODEL_SETTINGS = (1, SVM_C, CENTROID_WEIGHT, MAX_ITER, SEED, text.MIN_PHRASE_DF, np.__version__)


@dataclass(frozen=True, slots=True, eq=False)
class ReaderModel:
    """What ranking needs: the vocabulary, the term weights and the positives' rows
    (for reasons: the nearest of the reader's papers)."""

    vocabulary: Vocabulary
    weights: NDArray[np.float64]  # per term: margin weights + centroid weight * centre
    bias: float
    positives: tuple[Evidence, ...]
    positive_rows: sparse.csr_matrix  # unit rows of the positives, in that order
    trained_on: int  # texts (positives and negatives)

    def rows(self, texts: Sequence[str], tokens: Tokens | None = None) -> sparse.csr_matrix:
        return self.vocabulary.matrix(texts, tokens)

    def score_rows(self, rows: sparse.csr_matrix) -> NDArray[np.float64]:
        scores: NDArray[np.float64] = np.asarray(rows @ self.weights).ravel() + self.bias
        return scores

    def scores(self, texts: Sequence[str]) -> NDArray[np.float64]:
        return self.score_rows(self.rows(texts))


def train(
    evidence: Sequence[Evidence], unlabelled: Sequence[str], *, seed: int = SEED
) -> ReaderModel:
    """The model for a reader's evidence against unlabelled recent texts. With no
    positives it scores nothing (all zero); without negatives it is the cosine to
    the positives' centre."""
    positives = [e for e in evidence if e.positive and e.text.strip()]
    negatives = [e for e in evidence if not e.positive and e.text.strip()]
    texts = [*(e.text for e in positives), *(e.text for e in negatives), *unlabelled]
    vocabulary = text.fit(texts)
    matrix = vocabulary.matrix(texts)
    n_pos = len(positives)
    pos_rows = matrix[:n_pos]
    weights = np.zeros(vocabulary.size)
    bias = 0.0
    # the centre of the positives, each counting by its kind's weight
    strength = np.asarray([WEIGHTS[e.kind] for e in positives])
    centre = np.asarray(pos_rows.T @ strength).ravel() if n_pos else weights
    norm = float(np.linalg.norm(centre))
    if norm:
        centre = centre / norm
        others = matrix[n_pos + len(negatives) :]
        if others.shape[0] >= 2:
            margin = _svm(matrix, positives, negatives, len(unlabelled), seed)
            weights = _standard(others, margin) + CENTROID_WEIGHT * _standard(others, centre)
            bias = -float(np.mean(others @ weights))
        else:
            weights = centre
    return ReaderModel(vocabulary, weights, bias, tuple(positives), pos_rows, len(texts))


def _standard(rows: sparse.csr_matrix, weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weights scaled so that the rows' scores have a standard deviation of one."""
    spread = float(np.std(rows @ weights))
    return weights / spread if spread > 0 else weights


def _svm(
    matrix: sparse.csr_matrix,
    positives: Sequence[Evidence],
    negatives: Sequence[Evidence],
    unlabelled: int,
    seed: int,
) -> NDArray[np.float64]:
    from sklearn.svm import LinearSVC  # imported here: only ranking pays for it

    labels = np.r_[np.ones(len(positives)), np.zeros(len(negatives) + unlabelled)]
    sample = np.r_[
        [WEIGHTS[e.kind] for e in positives],
        [WEIGHTS[e.kind] for e in negatives],
        np.full(unlabelled, UNLABELLED_WEIGHT),
    ]
    # Balance the classes by total weight: a handful of positives against thousands
    # of unlabelled papers would otherwise be outvoted.
    pos_total, neg_total = sample[labels == 1].sum(), sample[labels == 0].sum()
    sample[labels == 1] *= (pos_total + neg_total) / (2 * pos_total)
    sample[labels == 0] *= (pos_total + neg_total) / (2 * neg_total)
    svm = LinearSVC(C=SVM_C, max_iter=MAX_ITER, random_state=seed, tol=1e-5)
    svm.fit(matrix, labels, sample_weight=sample)
    return np.asarray(svm.coef_, dtype=np.float64).ravel()

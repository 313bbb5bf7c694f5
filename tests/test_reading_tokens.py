"""Texts' words kept across rankings (``tracker.reading.text.Tokens``): the rows of a
vocabulary are exactly those it makes without them, cold or warm, for any text."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.reading import text

TRAINING = [
    "Inverse problems with neural operators for wave equations.",
    "Neural operators learn inverse problems; operators of waves.",
    "Quantum error correction with surface codes and decoders.",
    "Surface codes: a decoder for quantum error correction at scale.",
    "Ωμέγα and ΣΊΣΥΦΟΣ: Greek letters in titles (final sigma ς).",
    "Graph neural networks for molecules, graphs of molecules.",
    "Diffusion models sample images; diffusion models of images.",
    "Élan vital: naïve Bayes and café-style résumés.",
    "Kernel methods, kernels and kernel ridge regression.",
    "Transformers attend; attention is what transformers use.",
    "Federated learning across devices with private data.",
]

words = st.sampled_from(
    "inverse problem problems neural operator operators quantum surface codes decoder "
    "ΣΊΣΥΦΟΣ ς ω café naïve the of and a - -- x1 2024 \x01 \t \n , . ; graph diffusion "
    "kernel kernels transformers attention".split(" ")
)
texts = st.lists(st.lists(words, max_size=25).map(" ".join), max_size=12)


def same(a: object, b: object) -> None:
    a_csr, b_csr = a.tocsr(), b.tocsr()  # type: ignore[attr-defined]
    assert a_csr.shape == b_csr.shape
    assert (a_csr != b_csr).nnz == 0
    assert np.array_equal(a_csr.indptr, b_csr.indptr)


@settings(max_examples=60, deadline=None)
@given(texts, texts)
def test_kept_words_give_the_same_rows_cold_and_warm(first: list[str], second: list[str]) -> None:
    one = text.fit(TRAINING)
    two = text.fit(TRAINING[3:] + first)
    tokens = text.Tokens()
    same(one.matrix(first, tokens), one.matrix(first))  # cold
    same(two.matrix(first, tokens), two.matrix(first))  # warm, another vocabulary
    both = [*second, *first, *second]  # some kept, some new, repeated
    same(one.matrix(both, tokens), one.matrix(both))
    same(two.matrix(both, tokens), two.matrix(both))


def test_past_the_limit_everything_is_forgotten_and_kept_afresh() -> None:
    vocabulary = text.fit(TRAINING)
    tokens = text.Tokens(limit=4)
    same(vocabulary.matrix(TRAINING[:3], tokens), vocabulary.matrix(TRAINING[:3]))
    assert len(tokens) == 3
    # two more would make five: forgotten, then only these kept
    same(vocabulary.matrix(TRAINING[5:7], tokens), vocabulary.matrix(TRAINING[5:7]))
    assert len(tokens) == 2
    same(vocabulary.matrix(TRAINING, tokens), vocabulary.matrix(TRAINING))
    assert len(tokens) == len(TRAINING)  # one call's texts are kept whole
    assert vocabulary.matrix([], tokens).shape == (0, vocabulary.size)


def test_a_text_holding_the_separator_is_split_as_without_kept_words() -> None:
    vocabulary = text.fit(TRAINING)
    odd = ["inverse\x01problem neural", "\x01", "operators \x01 quantum"]
    tokens = text.Tokens()
    same(vocabulary.matrix(odd, tokens), vocabulary.matrix(odd))
    same(vocabulary.matrix(odd[::-1], tokens), vocabulary.matrix(odd[::-1]))


def reference(vocabulary: text.Vocabulary, texts: list[str]) -> np.ndarray:
    """Rows made text by text, word by word, as the module docstring says."""
    phrase = {
        int(code): int(column)
        for code, column in zip(vocabulary.pair_codes, vocabulary.pair_columns, strict=True)
    }
    rows = np.zeros((len(texts), vocabulary.size))
    for n, one in enumerate(texts):
        columns = [vocabulary.raw.get(w, -1) for w in text.words(one.replace("\x01", " "))]
        for column in columns:
            if column >= 0:
                rows[n, column] += 1
        for a, b in itertools.pairwise(columns):
            if a >= 0 and b >= 0 and a * vocabulary.words + b in phrase:
                rows[n, phrase[a * vocabulary.words + b]] += 1
        counted = rows[n] > 0
        rows[n, counted] = (1 + np.log(rows[n, counted])) * vocabulary.idf[counted]
        norm = np.linalg.norm(rows[n])
        if norm:
            rows[n] /= norm
    return rows


@settings(max_examples=40, deadline=None)
@given(texts)
def test_rows_are_those_made_text_by_text(some: list[str]) -> None:
    vocabulary = text.fit(TRAINING + TRAINING[:4])  # phrases need two texts
    assert vocabulary.size > vocabulary.words  # there are phrases
    expected = reference(vocabulary, some)
    assert np.allclose(vocabulary.matrix(some).toarray(), expected)
    assert np.allclose(vocabulary.matrix(some, text.Tokens()).toarray(), expected)

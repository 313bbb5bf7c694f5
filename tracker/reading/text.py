"""Texts as TF-IDF vectors: words and two-word phrases of titles and abstracts.

A ``Vocabulary`` is fitted once on a reader's training texts; it maps every raw word
it has seen straight to its term (stop words dropped, a plural "-s" folded into the
singular), so turning thousands of candidates into vectors is one regular expression
and one dictionary lookup per word, then array arithmetic: no Python loop over
terms. Phrases are pairs of neighbouring kept words ("inverse problem"), found by
array lookups of the pair's two term numbers. Rows are sublinear tf times smoothed
idf, scaled to unit length, as scikit-learn's ``TfidfVectorizer`` makes them.

``Tokens`` keeps texts' words as numbers, so that the same day's candidates ranked for
several readers are split and looked up once; each vocabulary then turns the numbers
into its columns with one array lookup (the same rows as without it).

Pure: no I/O here. NumPy and SciPy only: this module is imported where ranking runs.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

# Texts joined for one split are separated by this word (control characters cannot
# occur in XML and are stripped from JSON feeds; it is checked all the same).
_BETWEEN = "\x01"
# Letters, digits and hyphens make words; every other ASCII character separates them.
_SPLIT = str.maketrans(
    {chr(n): " " for n in range(128) if not (chr(n).isalnum() or chr(n) in "-\x01")}
)
# The same as bytes, for UTF-8 text: bytes past ASCII pass unchanged, so multi-byte
# characters stay whole. Translating bytes by a table is one C loop; ``str.translate``
# falls back to a dictionary lookup per character once a text holds one non-ASCII
# character (an accent, a Greek letter), 25 times slower on a day of abstracts.
_SPLIT_BYTES = bytes(
    32 if n < 128 and not (chr(n).isalnum() or chr(n) in "-\x01") else n for n in range(256)
)
_NOT_PLURAL = ("ss", "us", "is", "ics", "ous", "sis")
_SINGULAR = frozenset("bayes series species axes lens gas bias atlas canvas".split())
MIN_PHRASE_DF = 2  # a phrase is a term once it occurs in two training texts
STOP = frozenset(
    """a about above across after again against all almost along also although always
    am among an and another any are around as at available based be because been before
    being below between both but by can cannot could do does doing done due during each
    either et al etc few for from further furthermore given had has have having here
    hence how however i if in into is it its itself just less like made make makes many
    may might more moreover most much must my new no nor not now of off often on once
    one only onto or other others otherwise our ours out over own per present presents
    propose proposed proposes provide provides rather respectively same several shall
    she should show shown shows since so some such than that the their theirs them then
    there thereby therefore these they this those though through thus to too toward
    towards two under until up upon us use used uses using various very via was we well
    were what whether when where which while who whom whose why will with within without
    would yet you your paper article work study approach method methods result results
    first second three also existing recent recently novel further obtain obtained""".split()
)


def fold(word: str) -> str | None:
    """The term a raw lower-case word counts as: None for stop words, one-letter
    words and numbers; a plural folded to its singular ("models" is "model",
    "studies" is "study", "approaches" is "approach"; "physics" stays)."""
    word = word.strip("-")
    if len(word) < 2 or word in STOP or not word[0].isalpha():
        return None
    if len(word) < 4 or word[-1] != "s" or word.endswith(_NOT_PLURAL) or word in _SINGULAR:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    return word[:-1]


def words(text: str) -> list[str]:
    """The raw lower-case words of a text, in order."""
    return _separated(text.lower()).replace(_BETWEEN, " ").split()


def _separated(text: str) -> str:
    """The text with every ASCII character that is no letter, digit, hyphen or
    ``_BETWEEN`` made a space (``_SPLIT``)."""
    if text.isascii():
        return text.translate(_SPLIT)  # fast for ASCII
    return (
        text.encode("utf-8", "surrogatepass")
        .translate(_SPLIT_BYTES)
        .decode("utf-8", "surrogatepass")
    )


def terms(text: str) -> list[str]:
    """The kept, folded words of a text, in order."""
    return [t for t in map(fold, words(text)) if t is not None]


@dataclass(frozen=True, slots=True, eq=False)
class Vocabulary:
    """Terms (words, then phrases "a b") with their idf, and the lookups that turn
    texts into rows."""

    terms: tuple[str, ...]  # column -> term
    idf: NDArray[np.float64]
    raw: dict[str, int]  # raw word -> word column (the separator of joined texts: -2)
    words: int  # columns below this are words, the rest phrases
    pair_codes: NDArray[np.int64]  # sorted codes (first word * words + second word)
    pair_columns: NDArray[np.int64]  # the phrase column of each code
    starts: NDArray[np.bool_]  # per word column: whether some phrase begins with it

    @property
    def size(self) -> int:
        return len(self.terms)

    def _word_columns(
        self, texts: Sequence[str], tokens: Tokens | None = None
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(row, word column) of every word of every text, in text order; the column
        is negative for words that are no term (stop words, unknown words)."""
        if tokens is not None:
            columns = tokens.columns(texts, self.raw)
        else:
            found = _tokens(texts)
            columns = np.fromiter(
                map(self.raw.get, found, repeat(-1)), dtype=np.int64, count=len(found)
            )
        return np.cumsum(columns == -2), columns

    def matrix(self, texts: Sequence[str], tokens: Tokens | None = None) -> sparse.csr_matrix:
        """Unit-length tf-idf rows of the texts (n_texts x size); ``tokens`` keeps the
        texts' words for the next vocabulary (the same rows either way)."""
        all_rows, all_columns = self._word_columns(texts, tokens)
        kept = all_columns >= 0
        rows, columns = all_rows[kept], all_columns[kept]
        if len(self.pair_codes) and len(all_columns) > 1:
            # a phrase is two neighbouring terms: a stop word or the end of a text between
            # two words breaks it
            first, second = all_columns[:-1], all_columns[1:]
            # whether a phrase begins with the first word, by one lookup (columns are
            # -2 or more: two places for the no-terms in front)
            starts = np.concatenate([np.zeros(2, dtype=np.bool_), self.starts])
            pair = np.flatnonzero(starts[first + 2] & (second >= 0))
            codes = first[pair] * self.words + second[pair]
            at = np.searchsorted(self.pair_codes, codes)
            at[at == len(self.pair_codes)] = 0
            hit = self.pair_codes[at] == codes
            rows = np.concatenate([rows, all_rows[pair[hit]]])
            columns = np.concatenate([columns, self.pair_columns[at[hit]]])
        counts = sparse.csr_matrix(
            (np.ones(len(rows)), (rows, columns)), shape=(len(texts), self.size)
        )
        counts.sum_duplicates()
        counts.data = (1.0 + np.log(counts.data)) * self.idf[counts.indices]
        return normalise(counts)


def _tokens(texts: Sequence[str]) -> list[str]:
    """The raw lower-case words of the texts, in order, ``_BETWEEN`` between two."""
    joined = f" {_BETWEEN} ".join(texts).lower()
    if joined.count(_BETWEEN) != len(texts) - 1:  # a text held the separator itself
        joined = f" {_BETWEEN} ".join(t.replace(_BETWEEN, " ") for t in texts).lower()
    return _separated(joined).split()


class _Numbering(dict[str, int]):
    """Raw word -> number, a new word getting the next number when first looked up."""

    def __missing__(self, word: str) -> int:
        self[word] = number = len(self)
        return number


class Tokens:
    """The raw words of texts kept as numbers across vocabularies.

    Splitting a text into words and looking each word up is most of what ranking a
    day's candidates costs, and the scheduler ranks the same candidates for every
    reader, each with their own vocabulary. Kept here, a text is split and its words
    looked up once (one number per distinct raw word, in this object); a vocabulary
    then turns the numbers into its columns with one array lookup. The rows are the
    same as without it.

    At most ``limit`` texts are kept (about 2 KB each, the text itself included; a
    busy day of a reader following many categories is 5,000): past that, everything
    is forgotten (the numbering too, so that it does not grow without end in a
    long-running process) and kept afresh. Safe across threads.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._numbering = _Numbering({_BETWEEN: 0})
        self._texts: dict[str, NDArray[np.int32]] = {}

    def __len__(self) -> int:
        return len(self._texts)

    def columns(self, texts: Sequence[str], raw: Mapping[str, int]) -> NDArray[np.int64]:
        """The column (``raw``: raw word -> column, ``_BETWEEN`` -> -2) of every word
        of the texts, in order, -2 between two texts, -1 for a word not in ``raw``."""
        if not texts:
            return np.zeros(0, dtype=np.int64)
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._texts]
            if missing and len(self._texts) + len(missing) > self.limit:
                self._numbering = _Numbering({_BETWEEN: 0})
                self._texts = {}
                missing = list(dict.fromkeys(texts))
            if missing:
                self._keep(missing)
            numbering, kept = self._numbering, self._texts
            lookup = np.full(len(numbering), -1, dtype=np.int64)
            numbers = np.fromiter(
                map(numbering.get, raw, repeat(-1)), dtype=np.int64, count=len(raw)
            )
            known = numbers >= 0
            lookup[numbers[known]] = np.fromiter(raw.values(), np.int64, len(raw))[known]
            between = np.zeros(1, dtype=np.int32)
            parts: list[NDArray[np.int32]] = []
            for text in texts:
                parts += (kept[text], between)
        return lookup[np.concatenate(parts[:-1])]

    def _keep(self, texts: Sequence[str]) -> None:
        found = _tokens(texts)
        numbers = np.fromiter(
            map(self._numbering.__getitem__, found), dtype=np.int32, count=len(found)
        )
        # text n's words lie between separators n - 1 and n; after the first, each
        # piece begins with its separator
        pieces = np.split(numbers, np.flatnonzero(numbers == 0))
        self._texts[texts[0]] = pieces[0]
        for text, piece in zip(texts[1:], pieces[1:], strict=True):
            self._texts[text] = piece[1:]


def normalise(m: sparse.csr_matrix) -> sparse.csr_matrix:
    """Rows scaled to unit length (empty rows stay empty)."""
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    scaled: sparse.csr_matrix = sparse.csr_matrix(sparse.diags(1.0 / norms) @ m)
    return scaled


def fit(texts: Iterable[str], *, max_df: float = 0.5) -> Vocabulary:
    """A vocabulary of the texts' words and phrases. Words in more than ``max_df`` of
    the texts say nothing about any one of them and are left out (when there are
    enough texts to tell); phrases need ``MIN_PHRASE_DF`` texts."""
    word_of: dict[str, int] = {}  # term -> provisional number
    raw: dict[str, int] = {}
    doc_words: list[NDArray[np.int64]] = []
    for text in texts:
        found: list[int] = []
        for w in words(text):
            n = raw.get(w)
            if n is None:
                term = fold(w)
                if term is None:
                    raw[w] = n = -1
                else:
                    n = raw[w] = word_of.setdefault(term, len(word_of))
            found.append(n)  # -1 (a stop word) is kept: it breaks phrases
        doc_words.append(np.asarray(found, dtype=np.int64))
    total = len(doc_words)
    limit = max(2, math.floor(max_df * total)) if total >= 10 else total
    df = np.zeros(len(word_of), dtype=np.int64)
    for ids in doc_words:
        df[np.unique(ids[ids >= 0])] += 1
    keep = (df <= limit) & (df > 0)
    # Phrases are pairs of neighbouring words (no stop word between), counted before
    # frequent words are dropped.
    width = max(1, len(word_of))
    pair_df: dict[int, int] = {}
    for ids in doc_words:
        if len(ids) > 1:
            both = (ids[:-1] >= 0) & (ids[1:] >= 0)
            for code in np.unique(ids[:-1][both] * width + ids[1:][both]).tolist():
                pair_df[code] = pair_df.get(code, 0) + 1
    names = list(word_of)
    new_number = np.full(len(word_of), -1, dtype=np.int64)
    new_number[keep] = np.arange(int(keep.sum()))
    word_terms = [names[n] for n in np.flatnonzero(keep)]
    word_idf = [_idf(total, int(df[n])) for n in np.flatnonzero(keep)]
    phrases: list[tuple[int, str, float]] = []
    for code, n in pair_df.items():
        first, second = divmod(code, width)
        if MIN_PHRASE_DF <= n <= limit and keep[first] and keep[second] and first != second:
            new_code = int(new_number[first]) * len(word_terms) + int(new_number[second])
            phrases.append((new_code, f"{names[first]} {names[second]}", _idf(total, n)))
    phrases.sort()
    base = len(word_terms)
    return Vocabulary(
        terms=(*word_terms, *(p[1] for p in phrases)),
        idf=np.asarray([*word_idf, *(p[2] for p in phrases)], dtype=np.float64),
        raw={
            **{w: int(new_number[n]) for w, n in raw.items() if n >= 0 and keep[n]},
            _BETWEEN: -2,
        },
        words=base,
        pair_codes=np.asarray([p[0] for p in phrases], dtype=np.int64),
        pair_columns=np.arange(base, base + len(phrases), dtype=np.int64),
        starts=np.isin(np.arange(base), [p[0] // max(1, base) for p in phrases]),
    )


def _idf(total: int, df: int) -> float:
    return math.log((1 + total) / (1 + df)) + 1.0

"""Snippets: the part of an abstract where the searched words occur, marked «like this».

Built in Python from the stored text for the few rows shown, instead of by the
database's snippet function, which re-runs the whole full-text match to make them.
Matching is by word start after folding accents and case, so "decod" marks "decoding"
and "naive" marks "naïve", close to what the stemmed index matched. Words shorter than
``MIN_PREFIX`` characters ("a", the "c" of "C++") mark only themselves, as the index
matches them: a one-letter search does not mark every word that starts with the letter.

Pure: no I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tracker.names import fold

OPEN, CLOSE, ELLIPSIS = "«", "»", "…"
_EDGES = ".,;:!?\"'“”‘’()[]{}<>"
MIN_PREFIX = 3  # a shorter searched word marks whole words only
_PARTS = re.compile(r"\w+")  # word parts as the full-text tokenizers split them


def _stem(word: str) -> str:
    """Enough of a word to recognise its inflections: "decoding" -> "decod"."""
    word = fold(word)
    for suffix in ("ations", "ation", "ings", "ing", "ies", "es", "ed", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def snippet(text: str, words: Sequence[str], width: int = 24) -> str:
    """About ``width`` words of ``text`` around the first searched word, marked."""
    tokens = text.split()
    if not tokens:
        return ""
    stems = tuple(s for s in {_stem(w) for w in words if w} if len(s) >= MIN_PREFIX)
    short = {fold(w) for w in words if w and len(_stem(w)) < MIN_PREFIX}
    whole = fold(text)
    if not any(stem in whole for stem in (*stems, *short)):  # nothing to mark
        end = min(len(tokens), width)
        return " ".join(tokens[:end]) + (ELLIPSIS if end < len(tokens) else "")
    # Folding keeps whitespace where it was, so the folded words line up with the words.
    folded = whole.split()
    if len(folded) != len(tokens):
        folded = [fold(t) for t in tokens]

    def hit(i: int) -> bool:
        if stems and folded[i].strip(_EDGES).startswith(stems):
            return True
        return bool(short) and not short.isdisjoint(_PARTS.findall(folded[i]))

    first = next((i for i in range(len(folded)) if hit(i)), 0)
    start = max(0, first - width // 4)
    end = min(len(tokens), start + width)
    shown = [f"{OPEN}{tokens[i]}{CLOSE}" if hit(i) else tokens[i] for i in range(start, end)]
    return (ELLIPSIS if start else "") + " ".join(shown) + (ELLIPSIS if end < len(tokens) else "")

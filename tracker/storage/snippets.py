"""Snippets: the part of an abstract where the searched words occur, marked «like this».

Built in Python from the stored text for the few rows shown, instead of by the
database's snippet function, which re-runs the whole full-text match to make them.
A word of the text is marked as the stemmed index matched it (``tracker.words``: split
like FTS5's unicode61 tokenizer, case and accents folded, Porter stems): "decoding"
marks "decoders" and "decode", "naive" marks "naïve", "a" marks only "a". A prefix
("decod*", given with its star) marks every word that starts with it.

Pure: no I/O here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tracker.names import fold
from tracker.words import stem, tokens

OPEN, CLOSE, ELLIPSIS = "«", "»", "…"


def snippet(text: str, words: Sequence[str], width: int = 24) -> str:
    """About ``width`` words of ``text`` around the first searched word, marked.
    ``words`` are the searched words; one ending in "*" is a prefix."""
    shown_words = text.split()
    if not shown_words:
        return ""
    prefixes = tuple(t for w in words if w.endswith("*") for t in tokens(w))
    stems = {stem(t) for w in words if w and not w.endswith("*") for t in tokens(w)}
    folded = fold(text)
    # A Porter stem but its last letter starts the word it stems ("happi" of "happy"):
    # a text holding none of these starts marks nothing, and is not split into words.
    starts = [*prefixes, *(s[:-1] for s in stems)]
    if not starts or (all(starts) and not any(s in folded for s in starts)):
        return _shown(shown_words, 0, width, lambda i: False)
    # Folding keeps white space where it was, so the folded words line up.
    folded_words = folded.split()
    aligned = len(folded_words) == len(shown_words)
    if not aligned:
        folded_words = [fold(w) for w in shown_words]

    stem_starts = tuple(s[:-1] for s in stems)

    def marks(part: str) -> bool:
        # Only a word that holds a stem's start can have that stem: Porter's stemmer
        # (pure Python, 0.1 ms a word) runs for those only.
        if part.startswith(stem_starts) and stem(part) in stems:
            return True
        return bool(prefixes) and part.startswith(prefixes)

    known: dict[str, bool] = {}  # a text repeats its words

    def hit(i: int) -> bool:
        word = folded_words[i]
        found = known.get(word)
        if found is None:
            found = known[word] = any(marks(part) for part in tokens(word))
        return found

    # A word holding none of the starts marks nothing: begin at the first word that
    # holds one (found by str.find, not word by word; starts hold no white space).
    begin = 0
    if aligned and all(starts):
        at = min((p for p in (folded.find(s) for s in starts) if p >= 0), default=0)
        begin = max(0, len(folded[:at].split()) - (0 if folded[at - 1 : at].isspace() else 1))
    first = next((i for i in range(begin, len(shown_words)) if hit(i)), 0)
    return _shown(shown_words, first, width, hit)


def _shown(words: list[str], first: int, width: int, hit: Callable[[int], bool]) -> str:
    """About ``width`` of ``words`` from a little before ``first``, the hits marked."""
    start = max(0, first - width // 4)
    end = min(len(words), start + width)
    shown = " ".join(f"{OPEN}{words[i]}{CLOSE}" if hit(i) else words[i] for i in range(start, end))
    return (ELLIPSIS if start else "") + shown + (ELLIPSIS if end < len(words) else "")

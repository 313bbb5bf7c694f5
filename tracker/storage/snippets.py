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

from collections.abc import Sequence

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

    def marks(part: str) -> bool:
        return stem(part) in stems or (bool(prefixes) and part.startswith(prefixes))

    hits = [any(marks(part) for part in tokens(word)) for word in shown_words]
    first = hits.index(True) if True in hits else 0
    start = max(0, first - width // 4)
    end = min(len(shown_words), start + width)
    shown = [
        f"{OPEN}{shown_words[i]}{CLOSE}" if hits[i] else shown_words[i] for i in range(start, end)
    ]
    return (
        (ELLIPSIS if start else "") + " ".join(shown) + (ELLIPSIS if end < len(shown_words) else "")
    )

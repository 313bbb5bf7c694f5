"""Words as tracker's text search sees them: split like SQLite FTS5's unicode61
tokenizer (letters and digits are word characters, everything else separates),
folded (case and accents) and stemmed by the Porter algorithm, as FTS5's ``porter``
tokenizer stems the index. Everything in Python that compares words with what a
search matched (mute rules, snippets, arXiv query matching, relevance) goes through
here, so "decoding" and "decoders" are one word everywhere.

Pure: no I/O here.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from tracker.names import fold

_ASCII_WORD = re.compile(r"[a-z0-9]+")
# Word characters are those of Unicode categories L and N, and private use (Co), as
# unicode61 has them: exactly Python's letters and digits ("\w" without "_") and the
# private-use planes (a test checks every code point against ``_is_word_char``).
_WORD = re.compile(r"(?:[^\W_]|[\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd])+")
STOP_WORDS = frozenset(
    """a about above after again against all also among an and any are as at based be been
    before being between both but by can could does doing down during each few for from
    further had has have having here how however if in into is it its itself more most new
    not now of off on once only or other our ours out over own paper propose proposed same
    show shows so some such than that the their them then there these they this those
    through to too under until using very was way we were what when where which while who
    why will with within without would yet you your results approach method methods study
    work""".split()
)


def _is_word_char(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] in "LN" or category == "Co"


def tokens(text: str) -> list[str]:
    """The folded words of ``text``, split as FTS5's unicode61 tokenizer splits them."""
    if text.isascii():  # most text: ASCII letters and digits are its only word characters
        return _ASCII_WORD.findall(text.lower())
    # one regular expression, not a test per character: a text with one accent or
    # dash would otherwise cost 30 times an ASCII one
    return _WORD.findall(fold(unicodedata.normalize("NFC", text)))


@lru_cache(maxsize=1)
def _porter() -> Any:
    # imported when first needed: the package loads the stemmers of thirty languages
    # (3 MB), which a fetch cycle of feeds never uses
    import snowballstemmer  # type: ignore[import-untyped]

    return snowballstemmer.stemmer("porter")


STEMS_KEPT = 65_536  # distinct words whose stems are kept (then forgotten, all at once)


class _Stems(dict[str, str]):
    """Folded word -> its Porter stem, computed once. A dictionary, not ``lru_cache``:
    it is looked up for every word of thousands of texts (a day's digest candidates
    under a reader's rules), and a dictionary lookup from C costs a third of that."""

    def __missing__(self, word: str) -> str:
        if len(self) >= STEMS_KEPT:
            self.clear()
        self[word] = found = str(_porter().stemWord(word))
        return found


_STEMS = _Stems()
stem_all = _STEMS.__getitem__  # for map(): the stems of many words


def stem(word: str) -> str:
    """The Porter stem of a folded word: "decoding" → "decod"."""
    return _STEMS[word]


def stems(text: str) -> list[str]:
    return list(map(stem_all, tokens(text)))


def content_stems(text: str) -> list[str]:
    """Stems of the words that carry meaning: no stop words, numbers or one-letter words."""
    return list(
        map(
            stem_all,
            [t for t in tokens(text) if len(t) > 2 and t not in STOP_WORDS and not t.isdigit()],
        )
    )

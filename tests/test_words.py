"""One stemmer for everything in Python that compares words with the search index."""

from __future__ import annotations

import sqlite3
import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker import words
from tracker.names import fold
from tracker.words import content_stems, stem, stems, tokens

WORDS = "decoding decoders generalization running studies models happily agreed naïve"


def test_stems_agree_with_sqlite_fts5_porter_tokenizer() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter unicode61 remove_diacritics 2')"
    )
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, row)")
    conn.execute("INSERT INTO t VALUES (?)", (WORDS,))
    index = sorted(row[0] for row in conn.execute("SELECT term FROM v"))
    assert sorted(set(stems(WORDS))) == index


def test_tokens_split_and_fold_like_unicode61() -> None:
    assert tokens("Schrödinger's e-mail, C++ (GPT-4)") == [
        "schrodinger", "s", "e", "mail", "c", "gpt", "4",
    ]  # fmt: skip
    assert stem("decoding") == stem("decoded") == "decod"


def test_content_stems_drop_stop_words_numbers_and_short_words() -> None:
    assert content_stems("We propose a new approach to decoding 3 large models") == [
        "decod", "larg", "model",
    ]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=80))
def test_ascii_text_is_split_as_sqlite_splits_it(text: str) -> None:
    """The fast path for ASCII text splits exactly as FTS5's unicode61 tokenizer."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 2')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
    conn.execute("INSERT INTO t VALUES (?)", (text,))
    index = [row[0] for row in conn.execute("SELECT term FROM v ORDER BY offset")]
    assert tokens(text) == index


SUFFIXES = """ational tional enci anci izer bli alli entli eli ousli ization ation ator alism
iveness fulness ousness aliti iviti biliti logi icate ative alize iciti ical ful ness ing ed ies
sses s y e ement ment ent ion ou ism ate iti ous ive ize al ance ence er ic able ible ant at bl iz
eed ly""".split()  # Porter's suffixes


@settings(max_examples=2000)
@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8),
    st.lists(st.sampled_from(SUFFIXES), max_size=3),
)
def test_a_stem_but_its_last_letter_starts_its_word(start: str, suffixes: list[str]) -> None:
    """What snippets rely on to skip a text without the searched words: Porter only
    rewrites a word's end ("happy" → "happi", "relational" → "relat")."""
    word = start + "".join(suffixes)
    assert word.startswith(stem(word)[:-1])


def test_every_code_point_is_a_word_character_exactly_as_unicode61_has_it() -> None:
    # the one regular expression that splits non-ASCII text, against the categories
    # (L, N and private use) character by character, over all of Unicode
    differ = [
        n
        for n in range(sys.maxunicode + 1)
        if bool(words._WORD.fullmatch(chr(n))) != words._is_word_char(chr(n))
    ]
    assert differ == []


@settings(max_examples=300)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_any_text_splits_as_character_by_character(text: str) -> None:
    folded = fold(unicodedata.normalize("NFC", text))
    spaced = "".join(ch if words._is_word_char(ch) else " " for ch in folded)
    expected = words._ASCII_WORD.findall(text.lower()) if text.isascii() else spaced.split()
    assert tokens(text) == expected


def test_stems_are_kept_up_to_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(words, "STEMS_KEPT", 3)
    words._STEMS.clear()
    assert stems("decoding decoders models modelling") == ["decod", "decod", "model", "model"]
    assert len(words._STEMS) <= 3
    assert stem("running") == "run" and len(words._STEMS) <= 3

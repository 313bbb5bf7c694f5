"""Tests for tracker.text: text from feeds and APIs neutralised before it is stored.

Table-driven cases for each kind of character removed or kept and for the length caps;
Hypothesis for the properties that must hold for any input (nothing invisible or
unencodable survives, cleaning twice changes nothing, caps hold).
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker import text
from tracker.models import Entry
from tracker.text import (
    ELLIPSIS,
    KEPT_FORMAT,
    MAX_AUTHORS,
    MAX_NAME,
    MAX_TITLE,
    ZWJ,
    ZWNJ,
    clean_entry,
    clean_line,
    clean_names,
    clean_title,
    neutralise,
    shorten,
)

SCIENTIST = "\U0001f469\u200d\U0001f52c"  # woman scientist: woman, ZWJ, microscope
RAINBOW_FLAG = "\U0001f3f3\ufe0f\u200d\U0001f308"  # white flag, VS16, ZWJ, rainbow
PERSIAN = "می\u200cخواهم"  # "I want": the ZWNJ keeps the two parts apart
DEVANAGARI = "क्\u200dष"  # a half form asked for with ZWJ


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain ASCII stays", "plain ASCII stays"),
        ("Café Müller, naïve, Ωmega, 東京", "Café Müller, naïve, Ωmega, 東京"),
        ("NUL\x00byte", "NULbyte"),
        ("escape \x1b[31mred\x1b[0m", "escape [31mred[0m"),
        ("bell\x07 and delete\x7f", "bell and delete"),
        ("unit\x1fseparator", "unit separator"),  # a whitespace control becomes a space
        ("C1 \x85next line \x9bcsi", "C1  next line csi"),
        ("keep\ttab\nnewline\rreturn", "keep\ttab\nnewline\rreturn"),
        ("invoice \u202egpj.exe", "invoice gpj.exe"),  # right-to-left override
        ("\u202aembedded\u202c \u202bboth\u202c", "embedded both"),
        ("\u2066isolate\u2069 \u2067rtl\u2069 \u2068first\u2069", "isolate rtl first"),
        ("marks\u200e\u200f\u061c", "marks"),
        ("zero\u200bwidth", "zerowidth"),
        ("word\u2060joiner \ufeffbom", "wordjoiner bom"),
        ("soft\u00adhyphen", "softhyphen"),
        ("invisible\u2062times", "invisibletimes"),
        ("tags\U000e0041\U000e0042 hidden", "tags hidden"),  # ASCII smuggled as tags
        ("lone \ud800 surrogate", "lone  surrogate"),
        ("pay\u200dpal", "paypal"),  # a joiner between Latin letters only hides
        ("a\u200cb", "ab"),
        ("\u200dleading and trailing\u200d", "leading and trailing"),
        (f"emoji {SCIENTIST} stays", f"emoji {SCIENTIST} stays"),
        (f"flag {RAINBOW_FLAG}", f"flag {RAINBOW_FLAG}"),
        (PERSIAN, PERSIAN),
        (DEVANAGARI, DEVANAGARI),
        (
            "\u0600\u0661\u0662 Arabic number sign stays",
            "\u0600\u0661\u0662 Arabic number sign stays",
        ),
    ],
    ids=lambda v: v if v.isascii() and v.isprintable() else None,
)
def test_neutralise(raw: str, expected: str) -> None:
    assert neutralise(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  spaced\n\tout  ", "spaced out"),
        ("a\x00 \u200b b", "a b"),
        ("\u202e\u200b\x00", ""),
        ("line\u2028separator", "line separator"),
    ],
)
def test_clean_line(raw: str, expected: str) -> None:
    assert clean_line(raw) == expected


@pytest.mark.parametrize(
    ("raw", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("one two three four five", 16, "one two three" + ELLIPSIS),
        ("one two three, four five", 17, "one two three" + ELLIPSIS),  # no dangling comma
        ("Supercalifragilistic", 10, "Supercali" + ELLIPSIS),  # one long word: cut in it
        ("a verylongwordthatgoeson", 12, "a verylongw" + ELLIPSIS),  # space too early
    ],
)
def test_shorten(raw: str, limit: int, expected: str) -> None:
    assert shorten(raw, limit) == expected
    assert len(shorten(raw, limit)) <= limit


def test_long_titles_are_cut_at_a_word() -> None:
    title = " ".join(["speculative decoding"] * 200)
    cut = clean_title(title)
    assert len(cut) <= MAX_TITLE and cut.endswith("decoding" + ELLIPSIS)
    assert title.startswith(cut.removesuffix(ELLIPSIS))
    assert clean_title("A normal title") == "A normal title"


def test_author_names_and_lists_are_capped() -> None:
    names = clean_names(["Ada\u200b Lovelace", "", "\u202e", "x" * 1000, *["B. C."] * 10_000])
    assert names[0] == "Ada Lovelace"
    assert len(names[1]) == MAX_NAME and names[1].endswith(ELLIPSIS)
    assert len(names) == MAX_AUTHORS


def test_clean_entry_neutralises_every_text_field() -> None:
    dirty = Entry(
        title="Bad\x00 \u202etitle",
        summary="sum\u200bmary\x00",
        authors=("Ann\x00 Bee", "\u2066"),
        url="https://lab.example.org/\x00post",
        pdf_url="https://lab.example.org/p.pdf\u200b",
        doi="10.1000/x\x00y",
        journal_ref="J.\u202e Ref",
        comment="5 pages\x00",
        primary_category="cs.DC\x00",
        categories=("cs.DC\x00", "\u200b"),
        guid="id\x00",
    )
    clean = clean_entry(dirty)
    assert clean == Entry(
        title="Bad title",
        summary="summary",
        authors=("Ann Bee",),
        url="https://lab.example.org/post",
        pdf_url="https://lab.example.org/p.pdf",
        doi="10.1000/xy",
        journal_ref="J. Ref",
        comment="5 pages",
        primary_category="cs.DC",
        categories=("cs.DC",),
        guid="id",
    )
    assert clean_entry(clean) is clean  # nothing to do: the same record
    assert clean_entry(Entry(title="\u200b")).title == "(untitled)"


def test_every_format_character_is_removed_or_kept_on_purpose() -> None:
    """Each character of category Cf in this Python's Unicode database is either
    removed, one of the two joiners (kept in context), or listed as kept."""
    unlisted = [
        f"U+{code:04X} {unicodedata.name(chr(code), '?')}"
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) == "Cf"
        and chr(code) not in (ZWJ, ZWNJ)
        and code not in KEPT_FORMAT
        and neutralise(f"a{chr(code)}b") != "ab"
    ]
    assert unlisted == []
    assert all(neutralise(f"a{chr(code)}b") == f"a{chr(code)}b" for code in KEPT_FORMAT)


# --- properties -----------------------------------------------------------------------------

text_with_hazards = st.text(
    alphabet=st.one_of(
        st.characters(),  # anything, surrogates and controls included
        st.sampled_from(
            ["\x00", "\u202e", "\u2066", "\u2069", "\u200b", ZWJ, ZWNJ, "\ufeff", " ", "\U0001f469"]
        ),
    ),
    max_size=400,
)


def _hazardous(char: str) -> bool:
    category = unicodedata.category(char)
    if category in ("Cc", "Cs"):
        return char not in "\t\n\r"
    return category == "Cf" and ord(char) not in KEPT_FORMAT and char not in (ZWJ, ZWNJ)


@given(text_with_hazards)
def test_nothing_invisible_or_unencodable_survives(raw: str) -> None:
    cleaned = neutralise(raw)
    assert not any(_hazardous(c) for c in cleaned)
    cleaned.encode("utf-8")  # no lone surrogates
    for n, char in enumerate(cleaned):
        if char in (ZWJ, ZWNJ):  # a joiner survives only between two characters
            assert 0 < n < len(cleaned) - 1


@given(text_with_hazards)
def test_cleaning_twice_changes_nothing(raw: str) -> None:
    once = clean_line(raw)
    assert clean_line(once) == once
    assert clean_title(clean_title(raw)) == clean_title(raw)
    assert neutralise(neutralise(raw)) == neutralise(raw)


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300))
def test_printable_ascii_is_left_alone(raw: str) -> None:
    assert neutralise(raw) == raw


@given(text_with_hazards, st.integers(min_value=2, max_value=500))
def test_shorten_fits_and_keeps_the_start(raw: str, limit: int) -> None:
    line = clean_line(raw)
    cut = shorten(line, limit)
    assert len(cut) <= limit
    if len(line) <= limit:
        assert cut == line
    else:
        assert cut.endswith(ELLIPSIS) and line.startswith(cut.removesuffix(ELLIPSIS))


@given(st.lists(text_with_hazards, max_size=20))
def test_clean_names_are_non_empty_single_lines(names: list[str]) -> None:
    for name in clean_names(names):
        assert name and name == clean_line(name) and len(name) <= MAX_NAME


def test_module_is_pure() -> None:
    """The cleaning module does no I/O and imports only the models of ours."""
    source = Path(str(text.__file__)).read_text(encoding="utf-8")
    ours = [line for line in source.splitlines() if line.startswith("from tracker")]
    assert ours == ["from tracker.models import Entry"]


@given(text_with_hazards, st.integers(min_value=2, max_value=500))
def test_the_fast_path_agrees_with_the_slow_one(raw: str, limit: int) -> None:
    """``clean_entry`` skips text that needs nothing done: it must be exactly the text
    that cleaning would leave as it is."""
    assert text._line(raw, limit) == shorten(clean_line(raw), limit)
    cleaned = clean_line(raw)
    assert text._line(cleaned, 10_000) == cleaned
    if cleaned.isprintable():  # nothing left to do: the very same object
        assert text._line(cleaned, 10_000) is cleaned

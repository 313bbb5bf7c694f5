"""The keyword tagger's word split and phrase search, made cheaper, find what the
token-by-token split and the word-by-word phrase walk found: on real feed texts, the
synthetic benchmark corpus and generated texts."""

from __future__ import annotations

import tomllib
from pathlib import Path

import feedparser
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.corpus import papers
from tracker.fields.mapping import _EDGES, MAX_PHRASE_WORDS, FieldMap, words_of
from tracker.models import Entry
from tracker.text import clean_entry

DATA = Path(__file__).parent / "data"
FIELDS_FILE = Path(__file__).parent.parent / "tracker" / "fields" / "fields.toml"


def split_and_strip(text: str) -> list[str]:
    """The word split as it was: whitespace tokens, stripped of the edge marks."""
    words = [token.strip(_EDGES) for token in text.lower().split()]
    if "(" in text:
        words = [
            word + ")" if "(" in word and word.count("(") > word.count(")") else word
            for word in words
        ]
    return [word for word in words if word]


def feed_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted(DATA.rglob("*")):
        if path.suffix not in {".xml", ".rss", ".atom", ".rdf"}:
            continue
        for raw in feedparser.parse(path.read_bytes()).entries:
            title, summary = raw.get("title", ""), raw.get("summary", "")
            texts += [title, summary]  # with their markup: more marks at the edges
            entry = clean_entry(Entry(key="k", title=title, summary=summary))
            texts += [entry.title, entry.summary]
    return texts


def test_words_of_real_feed_texts_as_split_and_strip() -> None:
    texts = feed_texts()
    assert len(texts) > 500
    for text in texts:
        assert words_of(text) == split_and_strip(text), text


def test_words_of_inner_marks_stay_whole() -> None:
    text = "(On f(R) gravity), AdS/CFT... 802.11ac « Fermat's » [x] ... ‘quoted’ — end."
    assert words_of(text) == split_and_strip(text)
    assert words_of(text) == [
        "on", "f(r)", "gravity", "ads/cft", "802.11ac", "fermat's", "x", "quoted", "—", "end"
    ]  # fmt: skip


ALPHABET = _EDGES + "ab(-/'\u00e9\u0130 \t\n\u00a0\u2009\u3000\x1c\x85"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_words_of_generated_texts_as_split_and_strip(text: str) -> None:
    assert words_of(text) == split_and_strip(text)


def walk_hits(fields: FieldMap, text: str) -> dict[str, set[str]]:
    """Keywords of a text by field as they were found: a walk over every word."""
    words = split_and_strip(text)
    found: dict[str, set[str]] = {}
    for word in fields._singles.intersection(words):
        keyword, names = fields._index[(word,)]
        for name in names:
            found.setdefault(name, set()).add(keyword)
    for start, first in enumerate(words):
        if first not in fields._starts:
            continue
        gram: tuple[str, ...] = (first,)
        for word in words[start + 1 : start + MAX_PHRASE_WORDS]:
            gram = (*gram, word)
            hit = fields._index.get(gram)
            if hit is not None:
                for name in hit[1]:
                    found.setdefault(name, set()).add(hit[0])
            if gram not in fields._prefixes:
                break
    return found


def test_keyword_hits_as_the_walk_over_every_word() -> None:
    fields = FieldMap.from_dict(tomllib.loads(FIELDS_FILE.read_text()), "fields.toml")
    texts = feed_texts() + [t for p in papers(300, seed=11) for t in (p.title, p.summary)]
    texts.append("machine learning for machine learning, deep neural networks; neural network")
    hits = 0
    for text in texts:
        expected = walk_hits(fields, text)
        assert fields._hits(text) == expected, text
        hits += len(expected)
    assert hits > 100

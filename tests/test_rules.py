"""Mute and must rules applied to digest items: text in the search syntax, authors in
any spelling, categories by where a paper is listed, feeds, and must rules on a follow."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.digest.rules import RuleSet, _Doc, _has, _matches, check_rule
from tracker.models import FollowKind, Item, ItemKind, Reason, Rule, RuleAction
from tracker.storage.search_syntax import parse_search
from tracker.words import stem

MUTE, MUST = RuleAction.MUTE, RuleAction.MUST
WHEN = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)


def paper(
    title: str,
    summary: str = "",
    *,
    authors: tuple[str, ...] = ("Ada Lovelace",),
    categories: tuple[str, ...] = ("cs.LG",),
    ident: int = 1,
) -> Item:
    return Item(
        id=ident,
        key=f"arxiv:2612.{ident:05d}",
        kind=ItemKind.PAPER,
        title=title,
        summary=summary,
        authors=authors,
        url=None,
        arxiv_id=f"2612.{ident:05d}",
        version=1,
        pdf_url=None,
        doi=None,
        journal_ref=None,
        comment=None,
        primary_category=categories[0],
        categories=categories,
        published=WHEN,
        updated=WHEN,
        first_seen=WHEN,
        quality=4,
    )


LG = Reason(FollowKind.CATEGORY, "cs.LG")
LG_CROSS = Reason(FollowKind.CATEGORY, "cs.LG", "cross-list")
QUERY = Reason(FollowKind.QUERY, "diffusion")
BLOG = Reason(FollowKind.FEED, "Lab blog")
FEEDS = {"Lab blog": "https://lab.example.org/feed.xml"}


def outcome(
    rules: list[Rule], item: Item, reasons: list[Reason]
) -> tuple[list[Reason], Rule | None]:
    return RuleSet.of(rules).apply(item, reasons, FEEDS)


@pytest.mark.parametrize(
    ("text", "title", "summary", "muted"),
    [
        ('"prompt engineering"', "Better prompt engineering for agents", "", True),
        ('"prompt engineering"', "Engineering prompts", "", False),
        ("benchmark*", "A new BENCHMARKS suite", "", True),
        ("title:survey", "Graph learning", "A survey of surveys.", False),
        ("abstract:survey", "Graph learning", "A survey of surveys.", True),
        ("llm -theory", "LLMs for everything", "", True),
        ("llm -theory", "A theory of LLMs", "", False),
        ("(agent OR agentic) reasoning", "Agentic reasoning at scale", "", True),
        ("naïve", "Naive Bayes", "", True),
        ("decoding", "Speculative decoders", "", True),
    ],
)
def test_text_rules_use_the_search_syntax(text: str, title: str, summary: str, muted: bool) -> None:
    kept, rule = outcome([Rule(MUTE, text=text)], paper(title, summary), [LG])
    assert (rule is not None) is muted and (not kept) is muted


def test_author_rule_matches_any_spelling() -> None:
    item = paper("x", authors=("Hinrich Schütze", "Jane Roe"))
    assert outcome([Rule(MUTE, author="Hinrich Schuetze")], item, [LG])[1] is not None
    assert outcome([Rule(MUTE, author="Jane Doe")], item, [LG])[1] is None


def test_category_rule_removes_a_cross_list_but_not_the_primary_listing() -> None:
    rule = Rule(MUTE, category="cs.CV")
    vision_cross_listed = paper("Segmenting cats", categories=("cs.CV", "cs.LG"))
    learning_touching_vision = paper("Learning to learn", categories=("cs.LG", "cs.CV"))
    assert outcome([rule], vision_cross_listed, [LG_CROSS]) == ([], rule)
    assert outcome([rule], learning_touching_vision, [LG]) == ([LG], None)
    archive = Rule(MUTE, category="astro-ph")
    assert outcome([archive], paper("Stars", categories=("astro-ph.SR",)), [LG])[1] == archive


def test_feed_rule_removes_only_what_that_feed_alone_brought() -> None:
    rule = Rule(MUTE, feed="https://lab.example.org/feed.xml")
    assert outcome([rule], paper("Lab news"), [BLOG]) == ([], rule)
    assert outcome([rule], paper("Also followed"), [BLOG, QUERY]) == ([QUERY], None)


def test_must_rule_narrows_a_noisy_follow_only() -> None:
    rule = Rule(MUST, text="inverse problem*", follow=(FollowKind.QUERY, "diffusion"))
    off_topic = paper("Diffusion models for video", "Frames.")
    on_topic = paper("Diffusion priors", "Solving inverse problems with diffusion.")
    assert outcome([rule], off_topic, [QUERY]) == ([], rule)
    assert outcome([rule], on_topic, [QUERY]) == ([QUERY], None)
    # brought by another follow as well: it stays for that reason
    assert outcome([rule], off_topic, [QUERY, LG]) == ([LG], None)


def test_must_rule_on_a_feed_follow_by_url() -> None:
    rule = Rule(MUST, text="theory", follow=(FollowKind.FEED, "https://lab.example.org/feed.xml"))
    assert outcome([rule], paper("Hiring news"), [BLOG]) == ([], rule)


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        (Rule(MUTE), "exactly one of text, author, category or feed"),
        (Rule(MUTE, text="a", author="b"), "exactly one of"),
        (Rule(MUST, text="x"), "a must rule needs a follow"),
        (Rule(MUTE, text="-only"), "not only exclusions"),
        (Rule(MUTE, text="((("), "no words"),
    ],
)
def test_bad_rules_say_what_is_wrong(rule: Rule, problem: str) -> None:
    assert problem in (check_rule(rule) or "")


def test_describe() -> None:
    assert Rule(MUTE, category="cs.CV", search=True).describe() == (
        "mute category cs.CV (also in search)"
    )
    assert Rule(MUST, text="theory", follow=(FollowKind.QUERY, "diffusion")).describe() == (
        "query diffusion must match theory"
    )


def _has_word_by_word(
    words: tuple[str, ...], stems: tuple[str, ...], wanted: list[str], prefix: bool
) -> bool:
    """The match without the quick look at the whole column first (the reference)."""
    size, targets = len(wanted), [stem(w) for w in wanted]
    for start in range(len(stems) - size + 1):
        if stems[start : start + size - 1] != tuple(targets[:-1]):
            continue
        last = start + size - 1
        if prefix:
            if stems[last].startswith(wanted[-1]) or words[last].startswith(wanted[-1]):
                return True
        elif stems[last] == targets[-1]:
            return True
    return False


VOCABULARY = "decoding decoders decod model models modelling gra graph graphs a an sea seas".split()


@settings(max_examples=300)
@given(
    st.lists(st.sampled_from(VOCABULARY), max_size=12),
    st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=3),
    st.booleans(),
)
def test_a_column_matches_as_word_by_word(
    column: list[str], wanted: list[str], prefix: bool
) -> None:
    words = tuple(column)
    stems = tuple(map(stem, words))
    assert _has(words, stems, wanted, prefix) == _has_word_by_word(words, stems, wanted, prefix)


def test_a_text_rule_splits_only_the_columns_it_looks_at() -> None:
    doc = _Doc(paper("Graph decoders", "Long abstract on seas.", authors=("Ada Lovelace",)))
    assert _matches(parse_search("title:graph").node, doc)
    assert list(doc.columns) == ["title"]
    assert _matches(parse_search("lovel*").node, doc)  # title, then authors
    assert list(doc.columns) == ["title", "authors"]
    assert not _matches(parse_search("author:graph").node, doc)
    assert list(doc.columns) == ["title", "authors"]
    assert _matches(parse_search("sea").node, doc)
    assert list(doc.columns) == ["title", "authors", "summary"]

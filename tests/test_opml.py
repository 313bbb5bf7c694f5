"""OPML: subscription lists of popular feed readers read into follows, follows written
back, and round trips that give the same follows (groups included)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tracker.library.opml import OpmlError, OpmlFollow, feed_url, parse_opml, write_opml
from tracker.models import FollowKind

DATA = Path(__file__).parent / "data" / "opml"
WHEN = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)
C, Q, S, F = FollowKind.CATEGORY, FollowKind.QUERY, FollowKind.SCHOLAR, FollowKind.FEED


def kinds(doc_follows: tuple[OpmlFollow, ...]) -> dict[tuple[FollowKind, str], tuple[str, ...]]:
    return {(f.kind, f.value): f.groups for f in doc_follows}


def test_feedly_folders_become_groups_and_a_feed_in_two_folders_is_one_follow() -> None:
    doc = parse_opml((DATA / "feedly.opml").read_bytes())
    found = kinds(doc.follows)
    assert doc.title == "Ada subscriptions in feedly Cloud"
    assert found[(F, "https://distill.pub/rss.xml")] == ("Machine learning", "Systems")
    assert found[(F, "https://lilianweng.github.io/index.xml")] == ("Machine learning",)
    # the old listing address of arXiv is a category follow
    assert found[(C, "cs.LG")] == ("Machine learning",)
    assert len(doc.follows) == 6 and not doc.problems


def test_inoreader_arxiv_listing_query_and_author_feed_become_tracker_follows() -> None:
    doc = parse_opml((DATA / "inoreader.xml").read_bytes())
    found = kinds(doc.follows)
    assert {(C, "cs.CL"), (C, "cs.DC"), (C, "cs.AR")} <= set(found)
    assert (Q, 'all:"speculative decoding"') in found
    scholar = next(f for f in doc.follows if f.kind is S)
    assert (scholar.value, scholar.arxiv, scholar.groups) == ("Tri Dao", ("dao_t_1",), ())
    assert found[(F, "https://rjlipton.com/feed/")] == ("Blogs",)


@pytest.mark.parametrize(
    ("name", "count", "sample"),
    [
        ("netnewswire.opml", 3, (F, "https://daringfireball.net/feeds/main", ())),
        ("miniflux.opml", 3, (C, "cs.DB", ("Papers",))),
        ("freshrss.opml.xml", 3, (F, "https://blog.ml.cmu.edu/feed/", ("Lab news/Nested",))),
        ("thunderbird.opml", 2, (C, "astro-ph.CO", ("Physics",))),
    ],
)
def test_exports_of_other_readers(
    name: str, count: int, sample: tuple[FollowKind, str, tuple[str, ...]]
) -> None:
    doc = parse_opml((DATA / name).read_bytes())
    assert len(doc.follows) == count and not doc.problems
    kind, value, groups = sample
    assert kinds(doc.follows)[(kind, value)] == groups


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.iterdir() if p.suffix != ".md"))
def test_round_trip_keeps_every_follow_and_group(name: str) -> None:
    first = parse_opml((DATA / name).read_bytes())
    written = write_opml(first.follows, title="tracker: ada", created=WHEN)
    second = parse_opml(written)
    assert sorted(kinds(second.follows).items()) == sorted(kinds(first.follows).items())
    assert write_opml(second.follows, title="tracker: ada", created=WHEN) == written
    # every outline is something another reader can subscribe to
    assert written.count(b"xmlUrl=") >= len(first.follows)


def test_scholar_ids_survive_a_round_trip() -> None:
    scholar = OpmlFollow(
        S,
        "Tri Dao",
        None,
        ("People",),
        arxiv=("dao_t_1",),
        orcid=("0000-0002-1825-0097",),
        feeds=("https://tridao.me/feed.xml",),
    )
    doc = parse_opml(write_opml([scholar], title="t", created=WHEN))
    assert doc.follows == (scholar,)
    assert feed_url(scholar) == "https://arxiv.org/a/dao_t_1.atom"


def test_name_only_scholar_and_query_export_as_arxiv_api_feeds() -> None:
    follows = [OpmlFollow(S, "Hinrich Schütze"), OpmlFollow(Q, 'ti:"mixture of experts"')]
    text = write_opml(follows, title="t", created=WHEN).decode()
    assert "export.arxiv.org/api/query?search_query=au%3ASch%C3%BCtze" in text
    assert set(parse_opml(text.encode()).follows) == set(follows)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"<html><body>hi</body></html>", "not an OPML file: the document is <html>"),
        (b"<opml version='2.0'><head/></opml>", "it has no <body>"),
        (b"<opml><body><outline text='x'", "not well-formed XML at line 1"),
        (b"\xff\xfe garbage", "not well-formed XML"),
    ],
)
def test_files_that_are_not_opml_get_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        parse_opml(data)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_entity_declarations_are_refused(encoding: str) -> None:
    laughs = f"""<?xml version="1.0" encoding="{encoding}"?>
<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY ext SYSTEM "http://127.0.0.1:9/secret">]>
<opml version="2.0"><body><outline text="&b;" xmlUrl="https://example.org/f.xml"/></body></opml>"""
    with pytest.raises(OpmlError, match="declares XML entities"):
        parse_opml(laughs.encode(encoding))


def test_unusable_outlines_are_reported_with_their_line() -> None:
    data = b"""<opml version="2.0"><body>
<outline text="ok" type="rss" xmlUrl="https://example.org/ok.xml"/>
<outline text="evil" type="rss" xmlUrl="javascript:alert(1)"/>
<outline text="no address" type="rss"/>
<outline text="a page" type="link" url="https://example.org/"/>
</body></opml>"""
    doc = parse_opml(data)
    assert [f.value for f in doc.follows] == ["https://example.org/ok.xml"]
    assert [str(p) for p in doc.problems] == [
        "line 3: feed 'evil': only http(s) URLs, got 'javascript:alert(1)'",
        "line 4: feed 'no address' has no xmlUrl",
        "line 5: link outline 'a page' is not a feed",
    ]


def test_deep_nesting_is_refused_per_outline() -> None:
    depth = 40
    data = (
        "<opml><body>"
        + "<outline text='f'>" * depth
        + "<outline xmlUrl='https://example.org/x.xml'/>"
        + "</outline>" * depth
        + "</body></opml>"
    ).encode()
    doc = parse_opml(data)
    assert not doc.follows and "folders nest deeper than 32 levels" in str(doc.problems[0])

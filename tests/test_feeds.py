"""Golden-file tests for tracker.sources.feeds, plus small hand-written cases.

Each recorded feed in ``GOLDEN`` is parsed and compared with the expected entries in
tests/golden/feeds/<name>.json. To regenerate them after a deliberate change, run

    TRACKER_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_feeds.py

and read the diff of the JSON files before keeping it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tracker.errors import ParseError
from tracker.models import FEED_POST, LINK_ONLY, Entry
from tracker.sources.feeds import ParsedFeed, html_to_text, parse_feed

GOLDEN_DIR = Path(__file__).parent / "golden" / "feeds"
UPDATE = os.environ.get("TRACKER_UPDATE_GOLDEN") == "1"

# name: (file under fixtures/feeds-realworld, the URL it is fetched from, content type)
GOLDEN: dict[str, tuple[str, str, str | None]] = {
    "rss2_techcrunch": (
        "feedjira/TechCrunch.xml",
        "https://feeds.feedburner.com/TechCrunch",
        "application/rss+xml",
    ),
    "rss2_author_email": (
        "feed-rs/rss2/rss_2.0_relurl_1.xml",
        "https://insanity.industries/index.xml",
        "application/rss+xml",
    ),
    "atom_samruby": (
        "feedjira/SamRuby.xml",
        "http://intertwingly.net/blog/index.atom",
        "application/atom+xml",
    ),
    "rss1_biorxiv": (
        "feed-rs/rss1/rss_1.0_biorxiv.xml",
        "http://connect.biorxiv.org/biorxiv_xml/genomics",
        None,
    ),
    "jsonfeed_inessential": (
        "feedjira/json_feed.json",
        "http://inessential.com/feed.json",
        "application/json",
    ),
    "atom_google_alerts": (
        "feedjira/google_alerts_atom.xml",
        "https://www.google.com/alerts/feeds/00000000000000000000/0000000000000000000",
        "application/atom+xml",
    ),
    "atom_youtube": (
        "feedjira/youtube_atom.xml",
        "https://www.youtube.com/feeds/videos.xml?user=Google",
        "application/atom+xml",
    ),
    "rss2_iso8859_golem": (
        "miniflux/encoding_ISO-8859-1.xml",
        "https://rss.golem.de/rss.php?feed=RSS2.0",
        "application/rss+xml; charset=ISO-8859-1",
    ),
    "atom_relative_links": (
        "feed-rs/atom/atom_relative.xml",
        "https://example.com/blog/feed.xml",
        "application/atom+xml",
    ),
}


def summarise(entry: Entry) -> dict[str, Any]:
    return {
        "title": entry.title,
        "url": entry.url,
        "guid": entry.guid,
        "authors": list(entry.authors),
        "published": entry.published.isoformat() if entry.published else None,
        "summary": entry.summary[:80],
        "arxiv_id": entry.arxiv_id,
    }


def as_golden(parsed: ParsedFeed, source: str) -> dict[str, Any]:
    return {
        "source": source,
        "feed_title": parsed.title,
        "count": len(parsed.entries),
        "entries": [summarise(e) for e in parsed.entries],
    }


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_feed(fixtures_dir: Path, name: str) -> None:
    rel, url, content_type = GOLDEN[name]
    body = (fixtures_dir / "feeds-realworld" / rel).read_bytes()
    actual = as_golden(parse_feed(body, url=url, content_type=content_type), rel)
    golden = GOLDEN_DIR / f"{name}.json"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(actual, indent=2, ensure_ascii=False) + "\n"
        golden.write_text(text, encoding="utf-8")
        return
    assert golden.exists(), f"no golden file {golden}; run with TRACKER_UPDATE_GOLDEN=1"
    expected = json.loads(golden.read_text(encoding="utf-8"))
    assert actual["count"] == expected["count"]
    assert actual["feed_title"] == expected["feed_title"]
    for n, (got, want) in enumerate(zip(actual["entries"], expected["entries"], strict=True)):
        assert got == want, f"{name} entry {n}"


def test_golden_files_are_all_used() -> None:
    if GOLDEN_DIR.exists():
        assert {p.stem for p in GOLDEN_DIR.glob("*.json")} <= set(GOLDEN)


# --- facts the golden files rely on, spelled out ------------------------------------------


def test_relative_links_resolve_against_the_feed_address(fixtures_dir: Path) -> None:
    body = (fixtures_dir / "feeds-realworld/feed-rs/atom/atom_relative.xml").read_bytes()
    [entry] = parse_feed(body, url="https://example.com/blog/feed.xml").entries
    assert entry.url == "https://example.com/blog/2003/12/13/atom03"


def test_iso_8859_1_feed_is_decoded(fixtures_dir: Path) -> None:
    body = (fixtures_dir / "feeds-realworld/miniflux/encoding_ISO-8859-1.xml").read_bytes()
    parsed = parse_feed(body, url="https://rss.golem.de/rss.php")
    assert "wünschen" in parsed.entries[0].summary
    assert not any("\ufffd" in e.title + e.summary for e in parsed.entries)


def test_rss_author_with_a_long_tld_email(fixtures_dir: Path) -> None:
    # "jonas@insanity.industries (Jonas Große Sundrup)": feedparser alone gets the name wrong
    body = (fixtures_dir / "feeds-realworld/feed-rs/rss2/rss_2.0_relurl_1.xml").read_bytes()
    parsed = parse_feed(body, url="https://insanity.industries/index.xml")
    assert {e.authors for e in parsed.entries} == {("Jonas Große Sundrup",)}


def test_atom_entries_inherit_the_feed_authors(fixtures_dir: Path) -> None:
    # RFC 4287 section 4.2.1
    body = (fixtures_dir / "feeds-realworld/feedjira/SamRuby.xml").read_bytes()
    parsed = parse_feed(body, url="http://intertwingly.net/blog/index.atom")
    assert {e.authors for e in parsed.entries} == {("Sam Ruby",)}


def test_atom_feed_author_is_not_a_linked_papers_author() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title>'
        b"<author><name>Blogger</name></author>"
        b"<entry><id>urn:1</id><title>Post</title><updated>2024-11-28T00:00:00Z</updated></entry>"
        b"<entry><id>urn:2</id><title>Paper</title><updated>2024-11-28T00:00:00Z</updated>"
        b'<link href="https://arxiv.org/abs/2411.17700"/></entry>'
        b"<entry><id>urn:3</id><title>Own</title><author><name>Guest</name></author></entry>"
        b"</feed>"
    )
    post, paper, own = parse_feed(body, url="https://blog.example.org/atom").entries
    assert post.authors == ("Blogger",)
    assert paper.authors == ()
    assert own.authors == ("Guest",)


def test_rss_channel_editor_is_not_an_item_author() -> None:
    body = rss(
        "<item><title>t</title></item>",
        channel="<title>x</title><managingEditor>ed@example.org (Ed)</managingEditor>",
    )
    [entry] = parse_feed(body, url="https://example.org/feed").entries
    assert entry.authors == ()


@pytest.mark.parametrize(
    ("author", "expected"),
    [
        ("jo@example.org (Jo Smith)", ("Jo Smith",)),
        ("jo@lab.university (Jo Smith)", ("Jo Smith",)),
        ("Jo Smith", ("Jo Smith",)),
    ],
)
def test_rss_author_forms(author: str, expected: tuple[str, ...]) -> None:
    body = rss(f"<item><title>t</title><author>{author}</author></item>")
    [entry] = parse_feed(body, url="https://example.org/feed").entries
    assert entry.authors == expected


# --- hand-written cases -------------------------------------------------------------------


def rss(items: str, channel: str = "<title>Lab blog</title>") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"{channel}{items}</channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><head><title>Lab</title></head><body><p>hi</p></body></html>",
        b"<html lang='en'><head><title>Lab</title></head><body>welcome</body></html>",
        b"\n\n  <!doctype HTML>\n<html><body><a href='/feed'>feed</a></body></html>",
    ],
)
def test_html_page_is_not_a_feed(body: bytes) -> None:
    with pytest.raises(ParseError, match="not a feed") as info:
        parse_feed(body, url="https://lab.example.org/")
    assert info.value.url == "https://lab.example.org/"


@pytest.mark.parametrize(
    "body",
    [b"", b"hello world", b"<root><child/></root>", b"\x89PNG\r\n\x1a\n\x00\x00"],
    ids=["empty", "text", "other-xml", "binary"],
)
def test_other_non_feeds_raise_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError, match="not a"):
        parse_feed(body, url="https://lab.example.org/x")


@pytest.mark.parametrize(
    "body",
    [b"{", b'{"items": []}', b'{"version": "https://jsonfeed.org/version/1.1"}', b"[1, 2]"],
    ids=["broken", "no-version", "no-items", "list"],
)
def test_bad_json_feeds_raise_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(body, url="https://lab.example.org/feed.json")


THREE = "".join(
    f"<item><title>Post {n}</title><link>https://lab.example.org/{n}</link>"
    f"<description>About post {n}.</description></item>"
    for n in (1, 2, 3)
)


@pytest.mark.parametrize(
    ("body", "truncated", "titles"),
    [
        (rss(THREE), False, 3),
        # broken inside but whole: an undefined entity, unclosed HTML, a stray "&"
        (rss(THREE.replace("About post 1.", "A&nbsp;b <br> c & d")), False, 3),
        # a wrong declared charset: feedparser complains, nothing is missing
        (rss(THREE + "<item><title>Café</title></item>").decode().encode("latin-1"), False, 4),
        (rss(THREE)[:-6], True, 3),  # only </rss> is missing: every item is whole
        (rss(THREE)[:-3], True, 3),  # cut inside the end tag
        (rss(THREE)[: rss(THREE).index(b"https://lab.example.org/3") + 10], True, 2),
        (rss(THREE)[: rss(THREE).index(b"<item><title>Post 3")], True, 2),  # between two items
        (rss(THREE)[:-6].replace(b"About post 1.", b"x &nbsp; <br> y"), True, 3),
        # a comment or a DOCTYPE before the root does not hide its name
        (b"<!-- <rss> --><!DOCTYPE rss [<!ENTITY a '<x>'>]>" + rss(THREE)[39:-6], True, 3),
        # UTF-16, whole and cut
        (rss(THREE).decode().replace("utf-8", "utf-16").encode("utf-16"), False, 3),
        (rss(THREE).decode().replace("utf-8", "utf-16").encode("utf-16")[:-20], True, 3),
        (rss(THREE).decode().replace("utf-8", "utf-16").encode("utf-16-be")[:-20], True, 3),
    ],
    ids=[
        "whole",
        "broken-inside",
        "wrong-charset",
        "no-root-end-tag",
        "cut-in-end-tag",
        "cut-in-an-item",
        "cut-between-items",
        "broken-and-cut",
        "doctype-and-comment",
        "utf16",
        "utf16-cut",
        "utf16be-cut-no-bom",
    ],
)
def test_a_feed_that_ends_early_is_marked_truncated(
    body: bytes, truncated: bool, titles: int
) -> None:
    """A feed whose root element never closes was cut short (a body without
    Content-Length ends when the connection does); the entry being read when it ended
    is left out. Other complaints of feedparser are not truncation."""
    parsed = parse_feed(body, url="https://lab.example.org/feed")
    assert parsed.truncated is truncated
    assert [e.title for e in parsed.entries][:3] == [f"Post {n}" for n in range(1, 4)][:titles]
    assert len(parsed.entries) == titles


@pytest.mark.parametrize(
    "cut", [20, 60, -30, -2], ids=["in-version", "in-items", "in-last-item", "last-brackets"]
)
def test_a_json_feed_cut_short_says_so(cut: int) -> None:
    items = [
        {"id": str(n), "title": f"Post {n}", "url": f"https://lab.example.org/{n}"}
        for n in range(3)
    ]
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items}).encode()
    with pytest.raises(ParseError, match=r"^feed ends early \(truncated\?\)"):
        parse_feed(body[:cut], url="https://lab.example.org/feed.json")


def test_entry_linking_an_arxiv_paper_becomes_that_paper() -> None:
    body = rss(
        "<item><title>Our new paper</title><link>https://arxiv.org/abs/2411.17700v2</link>"
        "<guid>https://lab.example.org/posts/1</guid>"
        "<pubDate>Thu, 28 Nov 2024 10:00:00 GMT</pubDate></item>"
    )
    [entry] = parse_feed(body, url="https://lab.example.org/feed.xml").entries
    assert entry.arxiv_id == "2411.17700"
    assert entry.version == 2
    assert entry.quality == LINK_ONLY
    assert entry.title == "Our new paper"
    assert entry.guid == "https://lab.example.org/posts/1"
    assert entry.published is not None
    assert entry.published.isoformat() == "2024-11-28T10:00:00+00:00"


@pytest.mark.parametrize(
    ("link", "guid", "expected"),
    [
        ("https://arxiv.org/pdf/2411.17700", None, ("2411.17700", None)),
        (
            "https://lab.example.org/p/2",
            "http://arxiv.org/abs/hep-th/9901001v3",
            ("hep-th/9901001", 3),
        ),
        ("https://lab.example.org/p/3", "https://lab.example.org/p/3", (None, None)),
    ],
)
def test_arxiv_ids_from_links_and_guids(
    link: str, guid: str | None, expected: tuple[str | None, int | None]
) -> None:
    guid_xml = f"<guid isPermaLink='false'>{guid}</guid>" if guid else ""
    body = rss(f"<item><title>t</title><link>{link}</link>{guid_xml}</item>")
    [entry] = parse_feed(body, url="https://lab.example.org/feed.xml").entries
    assert (entry.arxiv_id, entry.version) == expected
    assert entry.quality == (LINK_ONLY if expected[0] else FEED_POST)


def test_arxiv_atom_entry_with_categories_is_a_feed_post() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title><entry>'
        b"<id>http://arxiv.org/abs/2411.17700v1</id><title>Paper</title>"
        b"<summary>An abstract.</summary><updated>2024-11-28T00:00:00Z</updated>"
        b'<category term="cs.DC" scheme="http://arxiv.org/schemas/atom"/>'
        b'<category term="Distributed" scheme="http://example.org/tags"/>'
        b"</entry></feed>"
    )
    [entry] = parse_feed(body, url="https://arxiv.org/a/someone_a_1.atom").entries
    assert entry.arxiv_id == "2411.17700"
    assert entry.categories == ("cs.DC",)
    assert entry.primary_category == "cs.DC"
    assert entry.quality == FEED_POST


def test_entries_with_nothing_at_all_are_skipped() -> None:
    body = rss("<item></item><item><description>only text</description></item>")
    parsed = parse_feed(body, url="https://lab.example.org/feed.xml")
    assert [e.title for e in parsed.entries] == ["only text"]


def test_tracking_parameters_are_dropped_from_links() -> None:
    body = rss("<item><title>t</title><link>https://lab.example.org/p?utm_source=rss</link></item>")
    [entry] = parse_feed(body, url="https://lab.example.org/feed.xml").entries
    assert entry.url == "https://lab.example.org/p"


def test_summary_is_plain_text_and_capped() -> None:
    long = "word " * 10_000
    body = rss(
        "<item><title>t &amp; <![CDATA[<b>u</b>]]></title>"
        f"<description><![CDATA[<p>Hello&nbsp;<b>world</b></p><script>x()</script>{long}]]>"
        "</description></item>"
    )
    [entry] = parse_feed(body, url="https://lab.example.org/feed.xml").entries
    assert entry.title == "t & u"
    assert entry.summary.startswith("Hello world word word")
    assert "x()" not in entry.summary
    assert len(entry.summary) == 20_000


def test_json_feed_items() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Lab",
        "authors": [{"name": "The Lab"}],
        "items": [
            {
                "id": 1,
                "url": "https://arxiv.org/abs/2411.17700v3",
                "title": "Paper",
                "content_html": "<p>Read <b>this</b></p><script>track()</script>",
                "date_published": "2024-11-28T10:00:00+01:00",
            },
            {"id": "2", "content_text": "just   text", "authors": [{"name": "Ann"}]},
            {"id": "3"},  # nothing to show: skipped
            {
                "id": "4",
                "title": "odd",
                "content_html": "<html><head><title>x</title></head></html>",
            },
            "not an item",
        ],
    }
    parsed = parse_feed(json.dumps(doc).encode(), url="https://lab.example.org/feed.json")
    assert parsed.title == "Lab"
    first, second, fourth = parsed.entries
    assert (first.arxiv_id, first.version, first.quality) == ("2411.17700", 3, LINK_ONLY)
    assert first.summary == "Read this"
    assert first.guid == "1"
    assert first.authors == ("The Lab",)
    assert first.published is not None
    assert first.published.isoformat() == "2024-11-28T09:00:00+00:00"
    assert second.summary == "just text"
    assert second.authors == ("Ann",)
    assert second.title == "just text"
    assert fourth.title == "odd"


# --- html_to_text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("", ""),
        ("plain   text\n\nhere ", "plain text here"),
        ("a &amp; b", "a & b"),
        ("5 &lt; 6 &gt; 4", "5 < 6 > 4"),
        ("x&nbsp;y", "x y"),
        ("caf&eacute; &#233; &#x263A;", "café é ☺"),
        ("&bogus; stays", "&bogus; stays"),
        ("a < b", "a < b"),
        ("line1<br>line2", "line1 line2"),
        ("line1<br/>line2<BR />line3", "line1 line2 line3"),
        ("<p>one</p><p>two</p>", "one two"),
        ("<div>a</div><div>b</div>", "a b"),
        ("<ul><li>a</li><li>b</li></ul>", "a b"),
        ("<h2>Title</h2>Body", "Title Body"),
        ("<b>bold</b>text", "boldtext"),  # inline elements do not split words
        ('<a href="https://x.org">link</a>', "link"),
        ("<p>unclosed", "unclosed"),
        ("<!-- a comment -->visible", "visible"),
        ("<p>Hi</p><script>alert('x')</script>tail", "Hi tail"),
        ("<style>p { color: red }</style>text", "text"),
        ("<SCRIPT type='x'>var a = '<p>';</SCRIPT>after", "after"),
        ("<img src=x onerror=alert(1)>after", "after"),
        ("<html><head><title>t</title></head></html>", "t"),
        ("\x0c<script>x()</script>control chars", "control chars"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    "markup",
    [
        "<p>Hello <b>world</b></p><script>steal()</script><style>p{x:y}</style>",
        "<p>Hello<!-- a comment --> <i>world</i></p><noscript></noscript>",
        "<div onclick='steal()'>Hello</div> <a href='javascript:steal()'>world</a>",
        '<p>Hello <img src=x onerror="steal()"> world</p><iframe src="https://x.example"></iframe>',
        "<p>Hello <svg><script>steal()</script></svg>world</p>",
    ],
)
@pytest.mark.parametrize("element", ["description", "content:encoded"])
def test_markup_in_entries_is_reduced_to_text_without_code(markup: str, element: str) -> None:
    """Entries are read unsanitised (it would be thrown away): every text becomes plain
    text, which keeps no markup, no script or style and no attribute."""
    body = (
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Lab</title>'
        "<item><title><![CDATA[A <b>bold</b> <script>steal()</script>title]]></title>"
        f"<{element}><![CDATA[{markup}]]></{element}></item></channel></rss>"
    ).encode()
    [entry] = parse_feed(body, url="https://lab.example.org/feed.xml").entries
    assert entry.title == "A bold title"
    assert " ".join(entry.summary.split()) == "Hello world"
    assert "steal" not in entry.summary and "<" not in entry.summary

"""arXiv identifiers, canonical links and item keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.ids import (
    abs_url,
    canonical_url,
    find_arxiv_id,
    item_key,
    parse_arxiv_id,
    pdf_url,
    post_keys,
)
from tracker.models import Entry


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2411.17700", ("2411.17700", None)),
        ("2411.17700v2", ("2411.17700", 2)),
        ("arXiv:2411.17700v1", ("2411.17700", 1)),
        ("ARXIV:2411.17700", ("2411.17700", None)),
        ("oai:arXiv.org:2411.17700v1", ("2411.17700", 1)),
        ("0704.0001", ("0704.0001", None)),
        ("1412.9999v3", ("1412.9999", 3)),
        ("1501.00001", ("1501.00001", None)),
        ("hep-th/9901001", ("hep-th/9901001", None)),
        ("hep-th/9901001v2", ("hep-th/9901001", 2)),
        ("math.GT/0309136", ("math/0309136", None)),
        ("quant-ph/0201082v1", ("quant-ph/0201082", 1)),
        ("https://arxiv.org/abs/2411.17700", ("2411.17700", None)),
        ("http://arxiv.org/abs/2411.17700v3", ("2411.17700", 3)),
        ("https://arxiv.org/pdf/2411.17700v1", ("2411.17700", 1)),
        ("https://arxiv.org/pdf/2411.17700v1.pdf", ("2411.17700", 1)),
        ("https://arxiv.org/pdf/2411.17700.pdf", ("2411.17700", None)),
        ("https://arxiv.org/html/2411.17700v2", ("2411.17700", 2)),
        ("https://www.arxiv.org/abs/2411.17700", ("2411.17700", None)),
        ("https://export.arxiv.org/abs/2411.17700?context=cs", ("2411.17700", None)),
        ("https://arxiv.org/abs/hep-th/9901001v1", ("hep-th/9901001", 1)),
        ("https://arxiv.org/abs/2411.17700#comments", ("2411.17700", None)),
        ("10.48550/arXiv.2411.17700", ("2411.17700", None)),
        ("https://doi.org/10.48550/arXiv.2411.17700", ("2411.17700", None)),
    ],
)
def test_parse_arxiv_id_accepts_every_form(text: str, expected: tuple[str, int | None]) -> None:
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "0000.0000",  # before new-style ids began
        "0703.1234",  # new style started in 2007-04
        "2413.12345",  # month 13
        "1412.12345",  # five digits before 2015
        "1501.1234",  # four digits from 2015
        "2411.17700v0",
        "foo-bar/9901001",  # not an archive
        "hep-th/0813001",  # old style ended in 2007
        "https://example.org/abs/2411.17700",
        "https://arxiv.org/list/cs.LG/recent",
        "see 2411.17700 for details",
    ],
)
def test_parse_arxiv_id_rejects_non_ids(text: str) -> None:
    assert parse_arxiv_id(text) is None


def test_find_arxiv_id_in_running_text() -> None:
    assert find_arxiv_id("Our paper (arXiv:2411.17700v2) is out") == ("2411.17700", 2)
    assert find_arxiv_id("no id here, 2411.17700 alone is ambiguous") is None


new_ids = st.builds(
    lambda yy, mm, n: (
        f"{yy:02d}{mm:02d}.{n:05d}" if yy >= 15 else f"{yy:02d}{mm:02d}.{n % 10000:04d}"
    ),
    st.integers(8, 29),
    st.integers(1, 12),
    st.integers(0, 99999),
)
old_ids = st.builds(
    lambda archive, yy, mm, n: f"{archive}/{yy:02d}{mm:02d}{n:03d}",
    st.sampled_from(["hep-th", "astro-ph", "math", "cond-mat", "quant-ph", "cs", "gr-qc"]),
    st.sampled_from([91, 95, 99, 0, 3, 7]),
    st.integers(1, 12),
    st.integers(0, 999),
)
versions = st.one_of(st.none(), st.integers(1, 30))


@given(
    st.one_of(new_ids, old_ids),
    versions,
    st.sampled_from(["abs", "pdf", "html"]),
    st.sampled_from(["http", "https"]),
    st.booleans(),
)
def test_every_link_form_gives_the_same_identity(
    arxiv_id: str, version: int | None, kind: str, scheme: str, dot_pdf: bool
) -> None:
    suffix = f"v{version}" if version else ""
    forms = [
        arxiv_id + suffix,
        f"arXiv:{arxiv_id}{suffix}",
        f"oai:arXiv.org:{arxiv_id}{suffix}",
        f"{scheme}://arxiv.org/{kind}/{arxiv_id}{suffix}"
        + (".pdf" if kind == "pdf" and dot_pdf else ""),
    ]
    for form in forms:
        assert parse_arxiv_id(form) == (arxiv_id, version), form


def test_canonical_links() -> None:
    assert abs_url("2411.17700") == "https://arxiv.org/abs/2411.17700"
    assert pdf_url("2411.17700", 2) == "https://arxiv.org/pdf/2411.17700v2"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://Example.ORG:443/Post?utm_source=rss&id=3#top", "https://example.org/Post?id=3"),
        ("http://example.org:80", "http://example.org/"),
        ("http://example.org:8080/a", "http://example.org:8080/a"),
        ("https://blog.example.org/p/1?fbclid=x", "https://blog.example.org/p/1"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_item_key_papers_ignore_the_source_posts_do_not() -> None:
    paper = Entry(title="t", arxiv_id="2411.17700", version=2)
    assert item_key(paper, "feed:a") == item_key(paper, "feed:b") == "arxiv:2411.17700"
    post = Entry(title="Hello", url="https://blog.example.org/hello?utm_medium=feed")
    same_link = Entry(title="Hello again", url="https://BLOG.example.org/hello")
    assert item_key(post, "feed:a") == item_key(same_link, "feed:a")
    assert item_key(post, "feed:a") != item_key(post, "feed:b")
    with_guid = Entry(title="x", url="https://blog.example.org/a", guid="tag:blog,1")
    moved = Entry(title="x", url="https://blog.example.org/moved", guid="tag:blog,1")
    assert item_key(with_guid, "s") == item_key(moved, "s")


def test_post_keys_keep_a_fragment_only_to_tell_entries_apart() -> None:
    page = "https://blog.example.org/launch"
    c1 = Entry(title="First comment", url=f"{page}#comment-1")
    c2 = Entry(title="Second comment", url=f"{page}#comment-2")
    alone = Entry(title="The launch", url=f"{page}#more")
    k1, k2 = post_keys([c1, c2], "feed:a")
    assert k1 != k2  # comments on one page
    assert k1 == item_key(c1, "feed:a", keep_fragment=True)
    # a page's only entry is its page: a fragment that moves makes no new post
    [k] = post_keys([alone], "feed:a")
    assert k == item_key(Entry(title="x", url=page), "feed:a")
    # a guid decides on its own, and so does an arXiv id
    guided = [
        Entry(title="a", url=f"{page}#1", guid="g1"),
        Entry(title="b", url=f"{page}#2", guid="g1"),
    ]
    assert len(set(post_keys(guided, "feed:a"))) == 1
    assert canonical_url(f"{page}#Comment-1", keep_fragment=True) == f"{page}#Comment-1"
    assert canonical_url(f"{page}#Comment-1") == page

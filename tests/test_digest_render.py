"""The digest's one view model and its three renderers (Markdown, e-mail text, e-mail
HTML): a golden file per renderer over the same view, the same items in the same
sections and order everywhere, "More from other fields" one line per item everywhere,
and text that stays text in each output.

The Markdown is checked as a viewer renders it: markdown-it (CommonMark, raw HTML
allowed, as many viewers do) turns it into HTML, which is read back with lxml.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import textwrap
from dataclasses import replace
from pathlib import Path

import lxml.html
import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from tests import test_crossdomain, test_digest
from tracker.digest.render import escape_markdown, render, wrap
from tracker.digest.select import build_digest
from tracker.digest.view import DigestView, build_view, first_sentences
from tracker.models import Digest

GOLDEN = Path(__file__).parent / "golden"
KINDS = ("markdown", "text", "html")
SUFFIX = {"markdown": ".md", "text": ".txt", "html": ".html"}
DAY = dt.date(2024, 11, 28)


def main_digest() -> Digest:
    return build_digest(
        test_digest.VIEW,
        DAY,
        test_digest.SEEN,
        test_digest.candidates(),
        failing_sources=("feed https://dead.example.org/feed: HTTP 404",),
    )


def cross_digest() -> Digest:
    return build_digest(
        test_crossdomain.view(), DAY, test_digest.SEEN, test_crossdomain.candidates()
    )


def markdown_html(text: str) -> lxml.html.HtmlElement:
    """The Markdown digest as a CommonMark viewer shows it (front matter left out)."""
    body = text.split("---\n", 2)[2] if text.startswith("---\n") else text
    html = viewer().render(body)
    return lxml.html.fragment_fromstring(html, create_parent="div")


def viewer() -> MarkdownIt:
    """CommonMark with raw HTML, and GitHub's tables and strikethrough."""
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _title(text: str) -> str:
    return " ".join(text.split(" · ")[0].split())


def _from_html(doc: lxml.html.HtmlElement) -> list[tuple[str, list[str]]]:
    """Headings, and the entries beside them: h3s, and the items of lists beside them
    (a footer's list sits deeper)."""
    layout: list[tuple[str, list[str]]] = []
    headings = list(doc.iter("h2"))
    if not headings:
        return layout
    body = headings[0].getparent()
    for el in body.iter("h2", "h3", "li"):
        if el.tag == "h2":
            layout.append((" ".join(el.text_content().split()), []))
        elif el.getparent() is body or el.getparent().getparent() is body:
            layout[-1][1].append(_title(el.text_content()))
    return layout


def layout(text: str, kind: str) -> list[tuple[str, list[str]]]:
    """(section heading, [item titles]) in order, as each output shows them."""
    if kind == "markdown":
        return _from_html(markdown_html(text))
    if kind == "html":
        return _from_html(lxml.html.document_fromstring(text))
    lines = text.splitlines()
    found: list[tuple[str, list[str]]] = []
    for n, line in enumerate(lines):
        if line in ("SOURCES FAILING", "* a scholar you follow"):
            break  # the footer
        if n + 1 < len(lines) and lines[n + 1] and set(lines[n + 1]) == {"="}:
            found.append((line, []))
        elif found and line.startswith("- "):
            found[-1][1].append(_title(line[2:]))
    return found


def normalised(found: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    return [(title.upper(), items) for title, items in found]


@pytest.mark.parametrize("make", [main_digest, cross_digest], ids=["main", "cross-domain"])
def test_every_renderer_shows_the_same_items_in_the_same_sections_and_order(make: object) -> None:
    digest = make()  # type: ignore[operator]
    view = build_view(digest)
    expected = [
        (s.title.upper(), [" ".join(e.title.split()) for e in s.entries]) for s in view.sections
    ]
    assert [len(items) for _, items in expected] == [len(s.entries) for s in digest.sections]
    for kind in KINDS:
        assert normalised(layout(render(view, kind), kind)) == expected, kind


def test_more_from_other_fields_is_one_line_per_item_in_every_renderer() -> None:
    view = build_view(cross_digest())
    [more] = [s for s in view.sections if s.kind == "cross-more"]
    assert more.compact and all(e.compact and not e.abstract for e in more.entries)
    titles = [e.title for e in more.entries]
    md = render(view, "markdown")
    part = md.split("## More from other fields")[1].split("\n## ")[0]
    bullets = [line for line in part.splitlines() if line.startswith("- ")]
    assert len(bullets) == len(titles) and "###" not in part and "\n> " not in part
    text = render(view, "text")
    part = text.split("MORE FROM OTHER FIELDS")[1].split("OTHER ITEMS")[0]
    assert len([line for line in part.splitlines() if line.startswith("- ")]) == len(titles)
    assert "PDF:" not in part  # no full entry
    html = lxml.html.document_fromstring(render(view, "html"))
    [heading] = [h for h in html.iter("h2") if h.text_content() == "More from other fields"]
    items = heading.getnext().getnext()  # the intro, then the list
    assert items.tag == "ul" and [_title(li.text_content()) for li in items] == titles
    # the abstract of a one-line item is in none of them
    summary = "We generate protein sequences with a folding model."
    assert all(summary not in render(view, kind) for kind in KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_cross_domain_digest_matches_golden_files(kind: str) -> None:
    """One golden file per renderer over the same view (with a one-line section)."""
    out = render(build_view(cross_digest()), kind)
    path = GOLDEN / f"digest_cross_domain{SUFFIX[kind]}"
    if os.environ.get("TRACKER_UPDATE_GOLDEN"):
        path.write_text(out, encoding="utf-8")
    assert out == path.read_text(encoding="utf-8")


def cut_view() -> DigestView:
    """A view whose first section shows 1 of 3 entries (as ranking will cut long ones),
    with a followed scholar after the 7th of 12 authors, a further link, a top-pick
    reason and a footer note."""
    view = build_view(main_digest())
    first = view.sections[1]
    entry = replace(
        first.entries[0],
        authors=(*(f"Author {n}" for n in range(7)), "Tri Dao"),
        followed=("Tri Dao",),
        authors_total=12,
        links=(replace_link("code", "https://github.com/example/repo"),),
        pick_reason="close to your saved 'FlashAttention'",
    )
    # a pick's reason reads "Top pick:" in the top picks ("Picked:" in cross-domain picks)
    section = replace(
        first, kind="top", entries=(entry,), total=3, more_hint="tracker digest --all"
    )
    footer = replace(view.footer, notes=("2 items removed by your mute rules.",))
    return replace(view, sections=(view.sections[0], section), footer=footer)


def replace_link(label: str, url: str) -> object:
    from tracker.digest.view import Link

    return Link(label, url)


@pytest.mark.parametrize("kind", KINDS)
def test_cut_sections_long_author_lists_links_and_notes(kind: str) -> None:
    out = render(cut_view(), kind)
    flat = " ".join(re.sub(r"<[^>]+>", " ", out).split())
    assert "2 more: tracker digest --all" in flat
    assert "Author 6, Tri Dao" in flat.replace("*", "")
    assert "et al. (12 authors)" in flat
    assert "Top pick: close to your saved" in flat.replace("*", "")
    assert "2 items removed by your mute rules." in flat
    assert "https://github.com/example/repo" in out
    if kind == "markdown":
        assert "**Tri Dao**" in out and "[code](https://github.com/example/repo)" in out
    elif kind == "html":
        assert "<strong>Tri Dao</strong>" in out
    else:
        assert "Tri Dao*" in out


HOSTILE_TITLES = [
    "[click](javascript:alert(1))",
    "<script>alert(2)</script> and <img src=x onerror=alert(3)>",
    "**bold** _it_ `code` ~~gone~~ | table |",
    "# a heading",
    "1. a list",
    "> a quote",
    "AT&T &amp; &#60;b&#62;",
    "line\nbreak\n## heading\n<div>x</div>",
    "  indented    text  ",
    "\\[escaped\\] \\",
]


def hostile_view() -> DigestView:
    digest = main_digest()
    section = digest.sections[1]
    entries = tuple(
        replace(e, item=replace(e.item, title=title, summary=title, authors=(title,)))
        for e, title in zip(section.entries * 4, HOSTILE_TITLES, strict=False)
    )
    return build_view(replace(digest, sections=(replace(section, entries=entries),)))


def test_markdown_shows_hostile_text_as_written_and_nothing_else() -> None:
    doc = markdown_html(render(hostile_view(), "markdown"))
    titles = [" ".join(h.text_content().split()) for h in doc.iter("h3")]
    assert titles == [" ".join(t.split()) for t in HOSTILE_TITLES]
    allowed = {"div", "h1", "h2", "h3", "p", "a", "strong", "em", "blockquote", "br", "hr"}
    allowed |= {"ul", "li"}
    for el in doc.iter():
        assert el.tag in allowed, (el.tag, lxml.html.tostring(el))
        if el.tag == "a":
            assert el.get("href", "").startswith("https://"), el.get("href")
    # each abstract is one blockquote line showing the text as written
    quotes = [" ".join(q.text_content().split()) for q in doc.iter("blockquote")]
    assert quotes == [" ".join(t.split()) for t in HOSTILE_TITLES]


def test_html_and_text_show_hostile_text_as_written() -> None:
    view = hostile_view()
    doc = lxml.html.document_fromstring(render(view, "html"))
    assert [" ".join(h.text_content().split()) for h in doc.iter("h3")] == [
        " ".join(t.split()) for t in HOSTILE_TITLES
    ]
    assert not list(doc.iter("script", "img", "div[@onerror]"))
    text = render(view, "text")
    # one item cannot start a line of its own in the text part
    assert not re.search(r"^## heading", text, flags=re.MULTILINE)


def test_markdown_escaping_of_every_printed_value() -> None:
    """The Markdown environment escapes whatever a template prints, filter or not."""
    from tracker.digest.render import environment

    template = environment("markdown").from_string("{{ x }} [{{ x }}]({{ u|url }})")
    out = template.render(x="[a](javascript:b) *c*", u="javascript:alert(1)")
    assert out == r"\[a\](javascript:b) \*c\* [\[a\](javascript:b) \*c\*]()"
    assert escape_markdown("- item") == r"\- item"


TEXT = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs", "Cc")),
        st.sampled_from("\n\r\t#>-+=*_`[]()<>!&;|~\\ 0123456789."),
    ),
    max_size=200,
)


@given(TEXT)
def test_escaped_text_reads_back_as_written(text: str) -> None:
    """Whatever a title holds, a CommonMark viewer shows it as one line of text, at the
    start of a line or within one."""
    out = escape_markdown(text)
    assert "\n" not in out and "\r" not in out
    for line in (out, "x " + out):
        doc = lxml.html.fragment_fromstring(viewer().render(line), create_parent="div")
        assert [el.tag for el in doc.iter()] in (["div"], ["div", "p"]), line
        assert doc.text_content().split() == line.replace(out, text).split(), line


@given(
    st.text(alphabet="ab -\u00e9", max_size=300),
    st.sampled_from([("", "", 76), ("- ", "  ", 78), ("  ", "  ", 76), ("", "", 10)]),
)
def test_wrap_is_textwrap_without_broken_words(text: str, how: tuple[str, str, int]) -> None:
    first, indent, width = how
    expected = textwrap.wrap(
        " ".join(text.split()),  # wrap makes one line of the text first
        width=width,
        initial_indent=first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    assert wrap(text, width, first, indent) == expected


@given(
    st.lists(st.sampled_from(["a", "bc", " ", ".", "\n", "et al.", "Fig.", "A", "1"])).map("".join),
    st.integers(1, 3),
    st.integers(10, 500),
)
def test_first_sentences_are_the_start_of_the_abstract(
    text: str, sentences: int, max_chars: int
) -> None:
    out = first_sentences(text, sentences, max_chars)
    shown = out.removesuffix(" …")
    assert " ".join(text.split()).startswith(shown)
    assert len(shown) <= max_chars
    if shown == " ".join(text.split()):
        assert not out.endswith(" …")  # nothing left out, nothing promised

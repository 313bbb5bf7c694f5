"""Links in digests: only http(s) links are shown, in a form every output reads as one
link (``tracker.digest.links.safe_link``), in the Markdown file, both e-mail parts and
the preview alike.

The end-to-end test follows three hostile feeds (an RSS ``<link>``, an Atom ``href``,
a JSON Feed ``url``) served on 127.0.0.1, fetches them, builds and mails the digest,
and checks every output as a reader's program reads it: the Markdown through a
CommonMark renderer with raw HTML allowed, the HTML through lxml.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import lxml.html
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import LISTING_MORNING, Clock, write_config
from tests.support.server import FixtureServer
from tests.support.smtp import SmtpServer
from tests.test_digest_render import main_digest, markdown_html
from tracker.app.core import make_tracker
from tracker.config import load_settings
from tracker.digest.links import safe_link
from tracker.digest.render import render
from tracker.digest.view import build_view
from tracker.worker import run_once

# (link as a feed gives it, what a digest may show: None = no link at all)
CASES = [
    ("https://arxiv.org/abs/2411.01234", "https://arxiv.org/abs/2411.01234"),
    ("HTTP://Example.ORG/Path?q=1#frag", "http://example.org/Path?q=1#frag"),
    ("javascript:alert(1)", None),
    ("JaVaScRiPt:alert(1)", None),
    ("  javascript:alert(1)", None),
    ("\x01\x1fjavascript:alert(1)", None),
    ("java\tscript:alert(1)", None),
    ("\njavascript:alert(1)", None),
    ("vbscript:msgbox(1)", None),
    ("VBScript:msgbox(1)", None),
    ("data:text/html,<script>alert(1)</script>", None),
    ("DATA:text/html;base64,PHNjcmlwdD4=", None),
    ("file:///etc/passwd", None),
    ("mailto:someone@example.org", None),
    ("//evil.example/x", None),
    ("/relative/path", None),
    ("https://arxiv.org@evil.example/", None),  # user information misleads
    ("https://", None),
    ("https://exa mple.org/", None),
    ("https://example.org:99999/", None),
    # Markdown and HTML syntax inside a link: encoded, so it stays one link
    (
        "https://e.example/a)(javascript:alert(1)",
        "https://e.example/a%29%28javascript:alert%281%29",
    ),
    ('https://e.example/b>"<script>', "https://e.example/b%3E%22%3Cscript%3E"),
    ("https://e.example/c d", "https://e.example/c%20d"),
    ("https://e.example/d'e`f\\g", "https://e.example/d%27e%60f/g"),
    ("https://e.example/[x]", "https://e.example/%5Bx%5D"),
    ("https://e.example/%41%zz", "https://e.example/%41%25zz"),
    ("https://e.example/é?q=ü", "https://e.example/%C3%A9?q=%C3%BC"),
    ("https://bücher.example/", "https://xn--bcher-kva.example/"),
    ("https://e.example/x#a#b", "https://e.example/x#a%23b"),
    ("  https://e.example/padded\n", "https://e.example/padded"),
    ("http://[::1]:8080/x", "http://[::1]:8080/x"),
]


@pytest.mark.parametrize(("url", "shown"), CASES)
def test_safe_link(url: str, shown: str | None) -> None:
    assert safe_link(url) == shown
    if shown is not None:
        assert safe_link(shown) == shown  # the same link passes unchanged


SAFE_FORM = re.compile(r"https?://[a-z0-9.\-_\[\]:]+[A-Za-z0-9\-._~!$&*+,;=:@/?#%]*\Z")


@given(st.text(max_size=60), st.sampled_from(["", "https://e.example/", "HTTP://a.b", " http:"]))
def test_every_link_shown_is_http_and_inert(tail: str, head: str) -> None:
    shown = safe_link(head + tail)
    if shown is not None:
        assert SAFE_FORM.match(shown), shown
        assert safe_link(shown) == shown


HOSTILE = [url for url, shown in CASES if shown is None] + [
    url for url, shown in CASES if shown and shown != url
]


def hostile_view() -> object:
    """One entry per hostile link (a post's link and, for a paper, abs and PDF too)."""
    digest = main_digest()
    section = digest.sections[1]
    entries = []
    for n, url in enumerate(HOSTILE):
        entry = section.entries[n % len(section.entries)]
        item = replace(entry.item, title=f"Item {n}", url=url)
        if item.pdf_url:
            item = replace(item, pdf_url=url)
        entries.append(replace(entry, item=item))
    return build_view(replace(digest, sections=(replace(section, entries=tuple(entries)),)))


def check_html_links(doc: lxml.html.HtmlElement) -> list[str]:
    """Every link of a page: http(s) only, and nothing active around them."""
    hrefs = []
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        assert el.tag not in ("script", "img", "iframe", "object", "embed", "form"), el.tag
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (el.tag, name)
            if name in ("href", "src", "action"):
                assert name == "href" and value.startswith(("https://", "http://")), value
                hrefs.append(value)
    return hrefs


ACTIVE = re.compile(r"(?:^|[\s(<\"'=\[\]])\s*(?:javascript|vbscript|data):", re.I | re.M)


def check_outputs(markdown: str, text: str, page: str) -> None:
    md_links = check_html_links(markdown_html(markdown))
    html_links = check_html_links(lxml.html.document_fromstring(page))
    for links in (md_links, html_links):
        assert all(safe_link(h) == h for h in links), links
    assert set(md_links) == set(html_links)
    for out in (markdown, text, page):
        # a scheme may only appear inside an encoded http(s) link ("...%28javascript:")
        assert not ACTIVE.search(out), ACTIVE.search(out)
        assert "<script" not in out.lower()


def test_hostile_links_in_every_renderer() -> None:
    view = hostile_view()
    markdown, text, page = (render(view, kind) for kind in ("markdown", "text", "html"))  # type: ignore[arg-type]
    check_outputs(markdown, text, page)
    # a link with ")" or ">" is still one link to the same place, in every output
    encoded = "https://e.example/a%29%28javascript:alert%281%29"
    assert f"]({encoded})" in markdown and encoded in text and f'href="{encoded}"' in page
    doc = markdown_html(markdown)
    titles = {a.text_content(): a.get("href") for a in doc.iter("a")}
    assert titles[f"Item {HOSTILE.index('https://e.example/a)(javascript:alert(1)')}"] == encoded
    # an item whose link was dropped keeps its title, as text
    dropped = f"Item {HOSTILE.index('javascript:alert(1)')}"
    assert dropped in [h.text_content() for h in doc.iter("h3")]
    assert dropped not in titles


# --- end to end: hostile feeds fetched, digested, mailed and previewed ------------------

FEED_LINKS = [
    "javascript:alert(1)",
    " JaVaScRiPt:alert(2)",
    "vbscript:msgbox(3)",
    "data:text/html,<script>alert(4)</script>",
    "https://e.example/a)(javascript:alert(5)",
    'https://e.example/b>"<script>alert(6)</script>',
    "https://e.example/c d",
]


def rss() -> str:
    items = "".join(
        f"<item><title>RSS {n}</title><link>{html.escape(link)}</link><guid>r{n}</guid>"
        "<description>Hostile.</description></item>"
        for n, link in enumerate(FEED_LINKS)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Evil RSS</title>'
        f"<link>https://e.example/</link>{items}</channel></rss>"
    )


def atom() -> str:
    entries = "".join(
        f'<entry><title>Atom {n}</title><link href="{html.escape(link)}"/><id>urn:a{n}</id>'
        "<updated>2024-11-27T10:00:00Z</updated><summary>Hostile.</summary></entry>"
        for n, link in enumerate(FEED_LINKS)
    )
    return (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Evil Atom'
        f"</title><id>urn:x</id><updated>2024-11-27T10:00:00Z</updated>{entries}</feed>"
    )


def json_feed() -> str:
    items = [
        {"id": f"j{n}", "url": link, "title": f"JSON {n}", "content_text": "Hostile."}
        for n, link in enumerate(FEED_LINKS)
    ]
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "Evil JSON", "items": items}
    )


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def test_hostile_feed_links_never_become_live_links(
    server: FixtureServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    feeds = server.url.replace("127.0.0.1", "localhost")  # not arXiv's pacing gate
    server.add("/evil.rss", rss(), "application/rss+xml")
    server.add("/evil.atom", atom(), "application/atom+xml")
    server.add("/evil.json", json_feed(), "application/feed+json")
    readers = f"""
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "07:00"
email = "ada@example.org"
channels = ["markdown", "email"]

[readers.follows]
feeds = [{", ".join(f'{{ url = "{feeds}/evil.{kind}" }}' for kind in ("rss", "atom", "json"))}]
"""
    extra = f"""
[email]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
from = "t <t@example.org>"
"""
    settings = load_settings(write_config(tmp_path, server.url, readers=readers, extra=extra))
    t = make_tracker(settings, clock=Clock(LISTING_MORNING), environ={})
    try:
        _, [outcome] = run_once(t)
        preview = t.preview_digest("ada", outcome.day, tmp_path / "preview")
    finally:
        t.close()
    markdown = outcome.path.read_text(encoding="utf-8")
    shown = [line for line in markdown.splitlines() if line.startswith("### ")]
    assert len(shown) >= 2 * len(FEED_LINKS)  # the hostile items are there, as text
    [message] = smtp.box.messages
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    page = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    check_outputs(markdown, text, page)
    check_outputs(markdown, preview[1].read_text(), preview[0].read_text())

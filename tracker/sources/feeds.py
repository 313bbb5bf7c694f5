"""Reading arbitrary feeds: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed
(which feedparser 6 does not read) by hand.

Entries become ``Entry`` records with plain-text summaries. An entry whose link (or
id) is an arXiv paper becomes that paper: a blog post linking ``arxiv.org/abs/...``
is the same item as the listing's. Such entries carry little metadata and are marked
``LINK_ONLY`` so the API fills them in later.

A document that ends before its root element closes was cut short (a body without
Content-Length ends when the connection does, so HTTP cannot tell): it is marked
``truncated``, without the entry that was being read, and the cycle records a failure
rather than taking it as the whole feed. Every entry's text is neutralised
(``tracker.text``).

Pure: bytes in, records out.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import feedparser
import lxml.html
from lxml import etree

from tracker.errors import ParseError
from tracker.ids import canonical_url, parse_arxiv_id
from tracker.models import FEED_POST, LINK_ONLY, Entry
from tracker.text import clean_entry, clean_title

MAX_SUMMARY_CHARS = 20_000
_BLOCK_END = re.compile(r"<(?:br\s*/?|/p|/div|/li|/h[1-6]|/tr|/blockquote)\s*>", re.IGNORECASE)
_WS = re.compile(r"\s+")
_CODE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_EMAIL_NAME = re.compile(r"^\s*[^\s@()<>]+@[^\s@()<>]+\s*\((?P<name>[^()@]+)\)\s*$")
_ARXIV_CATEGORY = re.compile(r"^[a-z][a-z\-]*(\.[A-Za-z\-]+)?$")


_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>", re.DOTALL | re.IGNORECASE)
_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_ENTRY_END = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>")
TRUNCATED = "feed ends early (truncated?)"


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    entries: tuple[Entry, ...]
    warning: str | None = None  # feedparser's complaint about a feed it still read
    # The document stops before its root element closes: a transfer cut short (a body
    # without Content-Length ends when the connection does). ``entries`` holds those
    # read in full; the feed must not be taken as complete (see fetch/cycle.py).
    truncated: bool = False


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment, whitespace collapsed."""
    if not html:
        return ""
    if "<" not in html and "&" not in html:
        return " ".join(html.split())
    try:
        fragment = lxml.html.fragment_fromstring(_BLOCK_END.sub(" ", html), create_parent="div")
        # Code is not text: a JSON Feed's content_html reaches here unsanitised.
        for node in list(fragment.iter("script", "style")):
            node.drop_tree()
        text = fragment.text_content()
    except (etree.ParserError, ValueError, AssertionError):
        # AssertionError: lxml.html's "too many bodies" for "<html><head>...</head></html>"
        text = re.sub(r"<[^>]*>", " ", _CODE.sub(" ", html))
    return " ".join(text.split())


def parse_feed(body: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """Entries of a feed document; raises ParseError for anything that is not one."""
    head = body[:512].lstrip()
    if head.startswith(b"{") or (content_type and "json" in content_type.lower()):
        return _parse_json_feed(body, url)
    # No relative URIs resolved in embedded markup: summaries become plain text, so
    # the addresses inside their markup are dropped anyway (entry links are still made
    # absolute, by feedparser and below); resolving them parsed and rebuilt every
    # summary's HTML, a fifth of the parse.
    # No sanitising either: every text taken from a feed (titles, summaries, content,
    # names) goes through ``html_to_text`` and is stored as plain text, which drops
    # scripts and styles itself; feedparser's sanitiser rebuilt each fragment's HTML
    # only for it to be thrown away (it was about a third of the parse).
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(
        body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    if not parsed.entries and not parsed.get("version"):
        if re.search(rb"<html[\s>]|<!doctype html", body[:4096], re.IGNORECASE):
            raise ParseError("not a feed: the address returned an HTML page", url=url)
        problem = parsed.get("bozo_exception")
        raise ParseError(f"not a readable feed: {problem or 'no feed elements found'}", url=url)
    warning = None
    raw_entries = parsed.entries
    truncated = False
    if parsed.get("bozo"):
        warning = f"feed has errors but was read: {parsed.get('bozo_exception')}"
        # Only a document that is not well-formed can have been cut; feedparser's other
        # complaints (a wrong declared charset, a non-XML content type) are harmless.
        markup = _ascii_compatible(body)
        truncated = ends_early(markup)
        if truncated and len(_ENTRY_END.findall(markup)) < len(raw_entries):
            raw_entries = raw_entries[:-1]  # the entry being read when the body ended
    feed_title = clean_title(html_to_text(parsed.feed.get("title", ""))) or None
    base = parsed.feed.get("link") or url
    feed_authors: tuple[str, ...] = ()
    if str(parsed.get("version", "")).startswith("atom"):
        # RFC 4287 section 4.2.1: an Atom entry without authors has the feed's authors.
        feed_authors = _names(parsed.feed.get("authors", []))
    entries = tuple(
        e
        for e in (_from_feedparser(raw, base, url, feed_authors) for raw in raw_entries)
        if e is not None
    )
    return ParsedFeed(feed_title, entries, warning, truncated)


def ends_early(body: bytes) -> bool:
    """True when an XML document stops before its root element's end tag: what a body
    cut short looks like, whatever else is wrong with it. Feeds with broken markup
    inside (undefined entities, unclosed HTML) still close their root element."""
    body = _ascii_compatible(body)
    head = _DOCTYPE.sub(b"", _COMMENT.sub(b"", body[:65536]))
    root = _ROOT.search(head)
    if root is None:
        return False  # nothing to close: not a cut XML document
    start_tag_end = head.find(b">", root.end())
    if start_tag_end > 0 and head[start_tag_end - 1 : start_tag_end] == b"/":
        return False  # <rss/>
    end_tag = re.compile(rb"</" + re.escape(root.group(1)) + rb"\s*>")
    return end_tag.search(body) is None


def _ascii_compatible(body: bytes) -> bytes:
    """The document in an encoding where markup is ASCII bytes (UTF-16 re-encoded)."""
    encoding = {b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16", b"\x00<": "utf-16-be"}.get(
        body[:2], "utf-16-le" if body[:2] == b"<\x00" else None
    )
    return body.decode(encoding, "replace").encode() if encoding else body


def _struct_time(value: time.struct_time | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromtimestamp(calendar.timegm(value), dt.UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _arxiv_link(raw: Mapping[str, Any]) -> tuple[str, int | None] | None:
    candidates = [raw.get("link"), raw.get("id")]
    candidates += [
        link.get("href") for link in raw.get("links", []) if link.get("rel") in ("alternate", None)
    ]
    for candidate in candidates:
        # every form a feed uses for a paper (abs/pdf/html links, arXiv: and oai: ids,
        # the 10.48550/arXiv DOI) names arXiv; skip the regular expressions otherwise
        if isinstance(candidate, str) and "arxiv" in candidate.lower():
            found = parse_arxiv_id(candidate)
            if found:
                return found
    return None


def _names(people: Any) -> tuple[str, ...]:
    if not isinstance(people, list):
        return ()
    names = (html_to_text(p.get("name") or "") for p in people if isinstance(p, dict))
    return tuple(n for n in names if n)


def _from_feedparser(
    entry: Mapping[str, Any], base: str, feed_url: str, feed_authors: tuple[str, ...] = ()
) -> Entry | None:
    # A plain dict: FeedParserDict.get maps keys (and "updated" to "published", with a
    # warning) on every call, which costs more than the rest of this function.
    raw: dict[str, Any] = dict(entry)
    title = html_to_text(raw.get("title", ""))
    content = raw.get("content") or []
    html = raw.get("summary") or (content[0].get("value") if content else "") or ""
    if len(content) and len(content[0].get("value", "")) > len(html):
        html = content[0]["value"]
    summary = html_to_text(html)[:MAX_SUMMARY_CHARS]
    link = raw.get("link")
    if isinstance(link, str) and link.strip():
        if not link.startswith(("http://", "https://")):
            link = urljoin(feed_url, link.strip())
        # the #fragment stays: entries on one page (comments) differ by it (ids.post_keys)
        link = (
            canonical_url(link, keep_fragment=True)
            if link.startswith(("http://", "https://"))
            else link
        )
    else:
        link = None
    guid = raw.get("id") if isinstance(raw.get("id"), str) else None
    published = _struct_time(raw.get("published_parsed")) or _struct_time(raw.get("created_parsed"))
    updated = _struct_time(raw.get("updated_parsed"))
    if not (title or summary or link or guid or published or updated):
        return None  # nothing to show or to key it by
    authors = tuple(
        html_to_text(a.get("name", "")) for a in raw.get("authors", []) if a.get("name")
    ) or ((html_to_text(raw["author"]),) if raw.get("author") else ())
    # RSS "jo@example.industries (Jo Doe)": feedparser's e-mail pattern stops at a
    # four-letter TLD and leaves "stries (Jo Doe" as the name; read such a name here.
    author_text = raw.get("author")
    named = _EMAIL_NAME.match(author_text) if isinstance(author_text, str) else None
    if len(authors) > 1:
        named = None
    if named:
        authors = (html_to_text(named.group("name")),)
    arxiv = _arxiv_link(raw)
    categories: tuple[str, ...] = ()
    quality = FEED_POST
    arxiv_id = version = None
    if arxiv:
        arxiv_id, version = arxiv
        categories = tuple(
            t["term"]
            for t in raw.get("tags", [])
            if isinstance(t.get("term"), str)
            and _ARXIV_CATEGORY.match(t["term"])
            and "arxiv" in (t.get("scheme") or "")
        )
        # A link to a paper from someone's blog: the API will fill in the rest.
        quality = FEED_POST if summary and categories else LINK_ONLY
    return clean_entry(
        Entry(
            title=title or summary[:120] or link or "(untitled)",
            summary=summary,
            # the feed's authors wrote the post, not necessarily the paper it links
            authors=tuple(a for a in authors if a) or (() if arxiv else feed_authors),
            url=link,
            arxiv_id=arxiv_id,
            version=version,
            categories=categories,
            primary_category=categories[0] if categories else None,
            published=published or updated,
            updated=updated,
            guid=guid,
            quality=quality,
        )
    )


def _parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1)."""
    try:
        doc = json.loads(body)
    except json.JSONDecodeError as e:
        # The error is at the end (or a string runs into it): the body was cut short.
        if e.pos >= len(e.doc.rstrip()) or e.msg.startswith("Unterminated string"):
            raise ParseError(TRUNCATED, url=url) from e
        raise ParseError(f"not a readable JSON feed: {e}", url=url) from e
    except (ValueError, RecursionError) as e:
        raise ParseError(f"not a readable JSON feed: {e}", url=url) from e
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise ParseError("not a JSON feed: no items list", url=url)
    if "jsonfeed.org" not in str(doc.get("version", "")):
        raise ParseError("not a JSON feed: missing jsonfeed.org version", url=url)
    feed_authors = _json_authors(doc)
    entries: list[Entry] = []
    for item in doc["items"]:
        if not isinstance(item, dict):
            continue
        link = item.get("url") if isinstance(item.get("url"), str) else None
        if link and link.startswith(("http://", "https://")):
            link = canonical_url(link, keep_fragment=True)
        html = item.get("content_html") or item.get("summary") or ""
        text = item.get("content_text") or ""
        summary = (html_to_text(html) if isinstance(html, str) else "") or (
            _WS.sub(" ", text).strip() if isinstance(text, str) else ""
        )
        title = html_to_text(item.get("title") or "") if isinstance(item.get("title"), str) else ""
        guid = str(item["id"]) if item.get("id") is not None else None
        if not title and not summary and not link:
            continue
        arxiv = parse_arxiv_id(link or "") or parse_arxiv_id(guid or "")
        entries.append(
            clean_entry(
                Entry(
                    title=title or summary[:120] or link or "(untitled)",
                    summary=summary[:MAX_SUMMARY_CHARS],
                    authors=_json_authors(item) or feed_authors,
                    url=link,
                    arxiv_id=arxiv[0] if arxiv else None,
                    version=arxiv[1] if arxiv else None,
                    published=_iso(item.get("date_published")),
                    updated=_iso(item.get("date_modified")),
                    guid=guid,
                    quality=LINK_ONLY if arxiv else FEED_POST,
                )
            )
        )
    feed_title = doc.get("title")
    title = clean_title(feed_title) if isinstance(feed_title, str) else ""
    return ParsedFeed(title or None, tuple(entries))


def _json_authors(obj: Mapping[str, Any]) -> tuple[str, ...]:
    people = obj.get("authors") or ([obj["author"]] if isinstance(obj.get("author"), dict) else [])
    if not isinstance(people, list):
        return ()
    return tuple(
        p["name"] for p in people if isinstance(p, dict) and isinstance(p.get("name"), str)
    )


def _iso(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)

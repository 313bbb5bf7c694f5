"""Parsers for arXiv's own XML: the API's Atom and the daily RSS listing.

arXiv's responses are well-formed XML with custom namespaces, so they are read with
lxml directly (about ten times faster than feedparser) and strictly: a truncated or
malformed body is an error, never a silent partial result. Entities are not
resolved and nothing is fetched from the network while parsing.

Pure: bytes in, records out.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from dataclasses import dataclass

from lxml import etree

from tracker.errors import ParseError, UpstreamError
from tracker.ids import id_month, parse_arxiv_id
from tracker.models import API, LISTING, Entry
from tracker.names import tex_to_unicode
from tracker.text import clean_entry

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
_ANNOUNCE = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*(\S+)\s*", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)


def _root(body: bytes, what: str) -> etree._Element:
    if not body.strip():
        raise ParseError(f"empty {what} response")
    try:
        return etree.fromstring(body, parser=_parser())
    except etree.XMLSyntaxError as e:
        raise ParseError(f"malformed {what} XML: {e}") from e


def clean_text(text: str | None) -> str:
    """Runs of whitespace as one space, none at the ends."""
    return " ".join(text.split()) if text else ""


def _text(el: etree._Element, path: str) -> str | None:
    found = el.find(path, NS)
    return found.text if found is not None and found.text else None


def _iso(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _rfc822(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError):
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _ordered(primary: str | None, others: list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for code in ([primary] if primary else []) + others:
        if code:
            seen.setdefault(code.strip(), None)
    return tuple(seen)


# --- API ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiPage:
    total: int
    start: int
    entries: tuple[Entry, ...]


def parse_api(body: bytes) -> ApiPage:
    """One page of an arXiv API answer; an error entry raises ``UpstreamError``."""
    root = _root(body, "arXiv API")
    if root.tag != f"{{{NS['atom']}}}feed":
        raise ParseError(f"arXiv API answer is not an Atom feed (root <{root.tag}>)")
    entries: list[Entry] = []
    for el in root.iterfind("atom:entry", NS):
        entry_id = _text(el, "atom:id") or ""
        if "/api/errors" in entry_id or clean_text(_text(el, "atom:title")) == "Error":
            raise UpstreamError(f"arXiv API error: {clean_text(_text(el, 'atom:summary'))}")
        parsed = parse_arxiv_id(entry_id)
        if parsed is None:
            continue  # not a paper entry
        arxiv_id, version = parsed
        primary_el = el.find("arxiv:primary_category", NS)
        primary = primary_el.get("term") if primary_el is not None else None
        categories = [c.get("term") or "" for c in el.iterfind("atom:category", NS)]
        authors = tuple(
            tex_to_unicode(clean_text(a.findtext("atom:name", default="", namespaces=NS)))
            for a in el.iterfind("atom:author", NS)
        )
        entries.append(
            clean_entry(
                Entry(
                    title=clean_text(_text(el, "atom:title")),
                    summary=clean_text(_text(el, "atom:summary")),
                    authors=tuple(a for a in authors if a),
                    arxiv_id=arxiv_id,
                    version=version,
                    doi=clean_text(_text(el, "arxiv:doi")) or None,
                    journal_ref=clean_text(_text(el, "arxiv:journal_ref")) or None,
                    comment=clean_text(_text(el, "arxiv:comment")) or None,
                    primary_category=primary,
                    categories=_ordered(primary, categories),
                    published=_iso(_text(el, "atom:published")),
                    updated=_iso(_text(el, "atom:updated")),
                    guid=entry_id,
                    quality=API,
                )
            )
        )

    def number(path: str) -> int:
        value = _text(root, path)
        try:
            return int(value.strip()) if value else 0
        except ValueError:
            return 0

    return ApiPage(
        number("opensearch:totalResults"), number("opensearch:startIndex"), tuple(entries)
    )


# --- daily listing --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Listing:
    day: dt.date | None  # the announcement day the listing is for
    entries: tuple[Entry, ...]


def parse_listing(body: bytes) -> Listing:
    """The daily RSS listing (rss.arxiv.org); a "Feed error" channel raises."""
    root = _root(body, "arXiv listing")
    channel = root.find("channel")
    if channel is None:
        raise ParseError("arXiv listing has no <channel>")
    title = clean_text(channel.findtext("title"))
    if title.lower().startswith("feed error"):
        raise UpstreamError(f"arXiv listing error: {clean_text(channel.findtext('description'))}")
    published = _rfc822(channel.findtext("pubDate"))
    # The listing's date is the announcement day in US Eastern time.
    day = None
    pub_text = channel.findtext("pubDate")
    if published and pub_text:
        try:
            day = email.utils.parsedate_to_datetime(pub_text.strip()).date()
        except (TypeError, ValueError):
            day = None
    entries: list[Entry] = []
    for item in channel.iterfind("item"):
        guid = item.findtext("guid") or ""
        parsed = parse_arxiv_id(guid) or parse_arxiv_id(item.findtext("link") or "")
        if parsed is None:
            continue
        arxiv_id, version = parsed
        description = item.findtext("description") or ""
        m = _ANNOUNCE.match(description)
        announce = item.findtext("arxiv:announce_type", namespaces=NS) or (
            m.group(1) if m else None
        )
        abstract = description.split("Abstract:", 1)[1] if "Abstract:" in description else ""
        categories = [c.text or "" for c in item.iterfind("category")]
        creators = item.findtext("dc:creator", namespaces=NS) or ""
        announced = _rfc822(item.findtext("pubDate"))
        kind = announce.strip().lower() if announce else None
        entries.append(
            clean_entry(
                Entry(
                    title=clean_text(item.findtext("title")),
                    summary=clean_text(abstract),
                    authors=split_creators(creators),
                    arxiv_id=arxiv_id,
                    version=version,
                    doi=clean_text(item.findtext("arxiv:DOI", namespaces=NS)) or None,
                    journal_ref=(
                        clean_text(item.findtext("arxiv:journal_reference", namespaces=NS)) or None
                    ),
                    primary_category=categories[0].strip() if categories else None,
                    categories=_ordered(None, categories),
                    # Every entry is dated by its announcement: this version's date. A new
                    # paper's (also one cross-listed here) is the first version's too; a
                    # replacement's first version is older, and not in the listing.
                    published=announced
                    if _first_announcement(arxiv_id, version, kind, announced)
                    else None,
                    updated=announced,
                    announce_type=kind,
                    guid=guid or None,
                    quality=LISTING,
                )
            )
        )
    return Listing(day, tuple(entries))


def _first_announcement(
    arxiv_id: str, version: int | None, kind: str | None, day: dt.datetime | None
) -> bool:
    """Whether a listing entry announces a paper's first version: "new", or "cross"
    for a first version whose id is of the announcement's month or the one before (a
    paper cross-listed long after it appeared keeps its older date)."""
    if kind == "new":
        return True
    month = id_month(arxiv_id)
    return (
        kind == "cross"
        and (version or 1) == 1
        and day is not None
        and month is not None
        and month <= day < month + dt.timedelta(days=62)
    )


_AFFILIATION = re.compile(r"\s*\([^()]*(?:\([^()]*\)[^()]*)*\)")


def split_creators(text: str) -> tuple[str, ...]:
    """``dc:creator`` holds every author in one string: "A (Univ. X, Y), B and C".
    Affiliations in parentheses are dropped (they contain commas too)."""
    text = _AFFILIATION.sub("", clean_text(text))
    if not text:
        return ()
    parts = re.split(r",\s*(?:and\s+)?|\s+and\s+", tex_to_unicode(text))
    return tuple(p.strip() for p in parts if p.strip())

"""OPML: reading a feed reader's subscription list and writing tracker's follows as one.

Every feed reader imports and exports OPML (http://opml.org/spec2.opml): ``<outline>``
elements with an ``xmlUrl`` are feeds, outlines without one are folders, and a feed's
folders become its groups ("Science/Machine learning"). What arXiv serves as feeds is
read back as tracker's own follows: a daily listing (``rss.arxiv.org/rss/cs.DC+cs.AR``)
as categories, an API query as a query, an author feed (``arxiv.org/a/<id>.atom``) as a
scholar. tracker's export writes every follow as a feed another reader can subscribe
to, with the follow itself in attributes of its own namespace, so a round trip through
tracker gives back exactly the same follows, groups included.

Reading is all or nothing: the whole file is checked first and every problem is
reported with its line, so a bad file never leaves half of it imported.

Pure: no I/O here (bytes in, bytes out); XML is read with entity expansion, DTDs and
network access off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from email.utils import format_datetime
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from lxml import etree

from tracker.errors import UsageError
from tracker.models import FollowKind

NS = "https://tracker.invalid/opml/1"  # attributes of tracker's own (an OPML 2.0 namespace)
MAX_BYTES = 10 * 1024 * 1024
MAX_OUTLINES = 20_000
MAX_DEPTH = 32
MAX_PROBLEMS_SHOWN = 20
LISTING_URL = "https://rss.arxiv.org/rss/"
API_URL = "https://export.arxiv.org/api/query"
AUTHOR_URL = "https://arxiv.org/a/"
_ARXIV_HOSTS = ("arxiv.org", "www.arxiv.org", "export.arxiv.org", "rss.arxiv.org")
_KINDS = {k.value: k for k in FollowKind}
_NO_ENTITIES = "the file declares XML entities, which OPML files never need: refused"


@dataclass(frozen=True, slots=True)
class OpmlFollow:
    """One follow read from (or written to) an OPML file."""

    kind: FollowKind
    value: str  # a category code, an arXiv query, a scholar's name or a feed URL
    title: str | None = None
    groups: tuple[str, ...] = ()  # folder paths, "Science/Machine learning"
    # scholars only: their ids and feeds (arXiv author ids, ORCIDs, OpenAlex ids)
    arxiv: tuple[str, ...] = ()
    orcid: tuple[str, ...] = ()
    openalex: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OpmlProblem:
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True, slots=True)
class OpmlDocument:
    title: str | None
    follows: tuple[OpmlFollow, ...]
    problems: tuple[OpmlProblem, ...]  # outlines that cannot become follows


class OpmlError(UsageError):
    """The file is not OPML, or (``problems``) some of its outlines are unusable."""

    def __init__(self, message: str, problems: Sequence[OpmlProblem] = ()) -> None:
        self.problems = tuple(problems)
        shown = [str(p) for p in self.problems[:MAX_PROBLEMS_SHOWN]]
        if len(self.problems) > MAX_PROBLEMS_SHOWN:
            shown.append(f"... and {len(self.problems) - MAX_PROBLEMS_SHOWN} more")
        super().__init__("\n  ".join([message, *shown]))


# --- reading ---------------------------------------------------------------------------


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=False,
    )


def _attr(node: etree._Element, *names: str) -> str | None:
    """The first non-blank attribute of ``names``, matched without regard to case
    (exports write xmlUrl, xmlurl and XMLURL alike)."""
    lowered = {str(k).lower(): str(v) for k, v in node.attrib.items()}
    for name in names:
        value = lowered.get(name.lower())
        if value is not None and value.strip():
            return " ".join(value.split())
    return None


def _own(node: etree._Element, name: str) -> str | None:
    value = node.get(f"{{{NS}}}{name}")
    return " ".join(str(value).split()) if value and value.strip() else None


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v for v in (value or "").split() if v)


def _http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def arxiv_follow(url: str, title: str | None) -> tuple[FollowKind, str] | None:
    """The follow an arXiv feed URL stands for: a listing is its categories (joined by
    "+"), an API query its ``search_query``, an author feed the author id."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host not in _ARXIV_HOSTS:
        return None
    path = parts.path.rstrip("/")
    for prefix in ("/rss/", "/atom/"):
        if path.startswith(prefix) and len(path) > len(prefix):
            return FollowKind.CATEGORY, path[len(prefix) :]
    if path == "/api/query":
        search = parse_qs(parts.query).get("search_query")
        if search and search[0].strip():
            return FollowKind.QUERY, " ".join(search[0].split())
        return None
    if path.startswith("/a/"):
        author = path[3:].removesuffix(".atom2").removesuffix(".atom").removesuffix(".html")
        if author and "/" not in author:
            return FollowKind.SCHOLAR, author
    return None


def _feed_follows(
    node: etree._Element, url: str, title: str | None, groups: tuple[str, ...]
) -> list[OpmlFollow]:
    kind_attr = _own(node, "follow")
    if kind_attr is not None:  # written by tracker: the follow itself, exactly
        kind = _KINDS[kind_attr]
        value = _own(node, "value") or url
        if kind is FollowKind.SCHOLAR:
            return [
                OpmlFollow(
                    kind,
                    value,
                    title,
                    groups,
                    arxiv=_split(_own(node, "arxiv")),
                    orcid=_split(_own(node, "orcid")),
                    openalex=_split(_own(node, "openalex")),
                    feeds=_split(_own(node, "feeds")),
                )
            ]
        return [OpmlFollow(kind, value, title, groups)]
    found = arxiv_follow(url, title)
    if found is None:
        return [OpmlFollow(FollowKind.FEED, url, title, groups)]
    kind, value = found
    if kind is FollowKind.CATEGORY:
        return [OpmlFollow(kind, code, None, groups) for code in value.split("+") if code]
    if kind is FollowKind.SCHOLAR:
        # an author feed names the author id; the outline's text names the person
        name = title if title and title.strip() and "/" not in title else value
        return [OpmlFollow(kind, name, title, groups, arxiv=(value,))]
    return [OpmlFollow(kind, value, title, groups)]


def _walk(
    node: etree._Element, groups: tuple[str, ...], depth: int, problems: list[OpmlProblem]
) -> Iterator[OpmlFollow]:
    for child in node:
        if not isinstance(child.tag, str) or etree.QName(child).localname != "outline":
            continue
        line: int | None = child.sourceline if isinstance(child.sourceline, int) else None
        title = _attr(child, "title", "text")
        url = _attr(child, "xmlUrl") if _own(child, "follow") is None else None
        kind_attr = _own(child, "follow")
        if kind_attr is not None and kind_attr not in _KINDS:
            problems.append(OpmlProblem(line, f"unknown tracker follow kind {kind_attr!r}"))
            continue
        if kind_attr is not None:
            own_title = _own(child, "title")
            yield from _feed_follows(child, _own(child, "value") or "", own_title, groups)
            continue
        outline_type = (_attr(child, "type") or "").lower()
        if url is None and outline_type in ("rss", "atom", "feed"):
            problems.append(OpmlProblem(line, f"feed {title or '(untitled)'!r} has no xmlUrl"))
            continue
        if url is not None:
            if not _http(url):
                problems.append(
                    OpmlProblem(line, f"feed {title or url!r}: only http(s) URLs, got {url!r}")
                )
                continue
            yield from _feed_follows(child, url, title, groups)
            if len(child):  # a feed with children: read them as a folder of its name
                yield from _walk(child, (*groups, title or url), depth + 1, problems)
            continue
        if outline_type in ("link", "include"):  # links to web pages or other OPML files
            problems.append(OpmlProblem(line, f"{outline_type} outline {title!r} is not a feed"))
            continue
        if depth >= MAX_DEPTH:
            problems.append(OpmlProblem(line, f"folders nest deeper than {MAX_DEPTH} levels"))
            continue
        folder = (title or "").replace("/", "∕")  # "/" separates levels in a group path
        yield from _walk(child, (*groups, folder) if folder else groups, depth + 1, problems)


def _merge(follows: Iterable[OpmlFollow]) -> list[OpmlFollow]:
    """One follow per (kind, value): the groups of every outline that named it."""
    merged: dict[tuple[FollowKind, str], OpmlFollow] = {}
    for follow in follows:
        key = (follow.kind, follow.value)
        group = "/".join(follow.groups)
        known = merged.get(key)
        if known is None:
            merged[key] = OpmlFollow(
                follow.kind,
                follow.value,
                follow.title,
                (group,) if group else (),
                follow.arxiv,
                follow.orcid,
                follow.openalex,
                follow.feeds,
            )
            continue
        groups = known.groups + ((group,) if group and group not in known.groups else ())
        merged[key] = OpmlFollow(
            known.kind,
            known.value,
            known.title or follow.title,
            groups,
            tuple(dict.fromkeys(known.arxiv + follow.arxiv)),
            tuple(dict.fromkeys(known.orcid + follow.orcid)),
            tuple(dict.fromkeys(known.openalex + follow.openalex)),
            tuple(dict.fromkeys(known.feeds + follow.feeds)),
        )
    return list(merged.values())


def parse_opml(data: bytes) -> OpmlDocument:
    """Read an OPML file: its follows (one per kind and value, with all their groups)
    and the outlines that cannot be followed. Raises ``OpmlError`` when the file is not
    OPML at all."""
    if len(data) > MAX_BYTES:
        raise OpmlError(f"the file is too large ({len(data):,} bytes; the limit is {MAX_BYTES:,})")
    if not data.strip():
        raise OpmlError("the file is empty")
    if b"<!ENTITY" in data.upper():  # no reader writes them; refused before parsing
        raise OpmlError(_NO_ENTITIES)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as e:
        line = f" at line {e.lineno}" if e.lineno else ""
        raise OpmlError(f"not well-formed XML{line}: {e.msg}") from e
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):  # type: ignore[union-attr]
        raise OpmlError(_NO_ENTITIES)
    if etree.QName(root).localname.lower() != "opml":
        raise OpmlError(f"not an OPML file: the document is <{etree.QName(root).localname}>")
    body = next((c for c in root if isinstance(c.tag, str) and c.tag.lower() == "body"), None)
    if body is None:
        raise OpmlError("not an OPML file: it has no <body>")
    if sum(1 for _ in body.iter("outline")) > MAX_OUTLINES:
        raise OpmlError(f"too many outlines (the limit is {MAX_OUTLINES:,})")
    head = next((c for c in root if isinstance(c.tag, str) and c.tag.lower() == "head"), None)
    title_node = head.find("title") if head is not None else None
    title = " ".join((title_node.text or "").split()) if title_node is not None else None
    problems: list[OpmlProblem] = []
    follows = _merge(_walk(body, (), 0, problems))
    return OpmlDocument(title or None, tuple(follows), tuple(problems))


# --- writing ---------------------------------------------------------------------------


def feed_url(follow: OpmlFollow) -> str:
    """The address another feed reader can subscribe to for a follow."""
    if follow.kind is FollowKind.FEED:
        return follow.value
    if follow.kind is FollowKind.CATEGORY:
        return LISTING_URL + quote(follow.value, safe=".-+")
    if follow.kind is FollowKind.QUERY:
        query = {"search_query": follow.value, "sortBy": "submittedDate"}
        return f"{API_URL}?{urlencode(query | {'sortOrder': 'descending'})}"
    if follow.arxiv:
        return f"{AUTHOR_URL}{quote(follow.arxiv[0])}.atom"
    if follow.feeds:
        return follow.feeds[0]
    name = follow.value.split()[-1] if follow.value.split() else follow.value
    query = {"search_query": f"au:{name}", "sortBy": "submittedDate"}
    return f"{API_URL}?{urlencode(query | {'sortOrder': 'descending'})}"


def _label(follow: OpmlFollow) -> str:
    if follow.title:
        return follow.title
    return {
        FollowKind.CATEGORY: f"arXiv {follow.value}",
        FollowKind.QUERY: f"arXiv search: {follow.value}",
        FollowKind.SCHOLAR: follow.value,
        FollowKind.FEED: follow.value,
    }[follow.kind]


def write_opml(follows: Sequence[OpmlFollow], *, title: str, created: dt.datetime) -> bytes:
    """An OPML 2.0 document with one feed outline per follow, in nested folders for its
    groups (a follow in two groups appears in both); stable order for stable files."""
    root = etree.Element("opml", nsmap={"tracker": NS}, version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(created.astimezone(dt.UTC))
    body = etree.SubElement(root, "body")
    folders: dict[tuple[str, ...], etree._Element] = {(): body}

    def folder(path: tuple[str, ...]) -> etree._Element:
        if path not in folders:
            parent = folder(path[:-1])
            folders[path] = etree.SubElement(parent, "outline", text=path[-1], title=path[-1])
        return folders[path]

    order = {k: n for n, k in enumerate(FollowKind)}
    placed = sorted(
        ((tuple(g.split("/")) if g else (), f) for f in follows for g in (f.groups or ("",))),
        key=lambda p: (p[0], order[p[1].kind], p[1].value.lower(), p[1].value),
    )
    for path, follow in placed:
        label = _label(follow)
        outline = etree.SubElement(folder(path), "outline")
        outline.set("type", "rss")
        outline.set("text", label)
        outline.set("title", label)
        outline.set("xmlUrl", feed_url(follow))
        outline.set(f"{{{NS}}}follow", follow.kind.value)
        outline.set(f"{{{NS}}}value", follow.value)
        if follow.title:
            outline.set(f"{{{NS}}}title", follow.title)
        for name in ("arxiv", "orcid", "openalex", "feeds"):
            values: tuple[str, ...] = getattr(follow, name)
            if values:
                outline.set(f"{{{NS}}}{name}", " ".join(values))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))

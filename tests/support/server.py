"""A real HTTP server on 127.0.0.1 that plays arXiv and feed hosts from recorded data.

Routes:
  /api/query        arXiv API: ``id_list`` and ``search_query`` answered from a paper
                    corpus (recorded arXiv metadata), in the API's Atom format; paging
                    with start/max_results; a recorded error body for a bad id.
  /rss/<a+b+...>    arXiv daily listing: the recorded 2024-11-28 listing filtered to the
                    requested categories or archives, with ETag and 304s.
  /feeds/<path>     a file of the recorded feed corpus, with ETag/Last-Modified and 304s.
  anything else     what a test registered with ``add``.

``script(path, replies)`` queues replies (status, headers, body, delay) that are served
before the normal answer, for faults; besides a status they can break the transfer
itself: a body trickled in small pieces, cut short, ended by a TCP reset, or sent
without a Content-Length (ended by closing). ``unscript(path)`` drops what is still
queued: the fault ends. Every request is logged with its arrival time.
Its matching of search queries is deliberately independent of tracker's own code.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hashlib
import json
import re
import socket
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from lxml import etree

from tests.support import data

LISTING = "arxiv-rss/new-format-2024/rss_all_archives_2024-11-28.xml"
LISTING_ITEMS = "arxiv-metadata/arxiv_rss_all_archives_2024-11-28_items.jsonl"
ERROR_ENTRY = "arxiv-api/arxivpy-recorded/id_abc_s0_m100_b79c8dcf6bc3.xml"
LISTING_DAY = dt.datetime(2024, 11, 28, 5, 0, tzinfo=dt.UTC)  # 00:00 US Eastern
TRICKLE_BYTES = 64  # size of each piece of a trickled body


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    drop: bool = False  # close the connection without answering
    trickle: float = 0.0  # send the body in TRICKLE_BYTES pieces, this many seconds apart
    truncate: bool = False  # announce the whole body's length, send half of it, close
    reset: bool = False  # end with a TCP RST: at once, or after the half body (truncate)
    length: bool = True  # send Content-Length; without it, closing the connection ends it

    @property
    def faulty(self) -> bool:
        return bool(self.trickle or self.truncate or self.reset or not self.length)


@dataclass(frozen=True)
class Logged:
    at: float  # time.monotonic() at arrival
    method: str
    path: str
    query: str
    headers: dict[str, str]


@dataclass
class Paper:
    id: str
    version: int
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    published: dt.datetime
    updated: dt.datetime


def load_papers(fixtures: Path) -> list[Paper]:
    """The recorded listing's papers, as the API would describe them."""
    papers = []
    for n, line in enumerate(data.read(fixtures, LISTING_ITEMS).decode().splitlines()):
        r = json.loads(line)
        version = int(str(r["version"]).lstrip("v") or 1)
        updated = LISTING_DAY - dt.timedelta(hours=4, seconds=n)
        published = updated if version == 1 else updated - dt.timedelta(days=30 + n % 300)
        categories = list(dict.fromkeys([r["primary_category"], *r["categories"]]))
        authors = [a.strip() for a in re.split(r",\s*(?:and\s+)?", r["authors"]) if a.strip()]
        papers.append(
            Paper(
                r["id"], version, r["title"], r["abstract"], authors, categories, published, updated
            )
        )
    return papers


# --- a small, independent reading of arXiv's query language ------------------------------


def _fold(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _term_matches(paper: Paper, fieldname: str, value: str) -> bool:
    value = _fold(value.strip('"'))
    if fieldname == "cat":
        return any(
            c == value or c.startswith(value + ".") for c in (x.lower() for x in paper.categories)
        )
    if fieldname == "au":
        if "_" in value and " " not in value:
            *surname, initial = value.split("_")
            if len(initial) == 1:
                surname_text = " ".join(surname)
                return any(
                    _fold(a).endswith(" " + surname_text) and _fold(a)[0] == initial
                    for a in paper.authors
                )
            surname_text = value.replace("_", " ")
            return any(_fold(a).endswith(" " + surname_text) for a in paper.authors)
        return any(value in _fold(a) for a in paper.authors)
    text = {
        "ti": paper.title,
        "abs": paper.abstract,
        "all": " ".join([paper.title, paper.abstract, *paper.authors]),
        "id": paper.id,
    }.get(fieldname, "")
    words = re.findall(r"\w+", value)
    haystack = " ".join(re.findall(r"\w+", _fold(text)))
    # arXiv stems; a prefix of each word (minus a plural/ing ending) is close enough here
    return all(re.search(r"\b" + re.escape(re.sub(r"(ing|s)$", "", w)), haystack) for w in words)


def _tokens(q: str) -> list[str]:
    return re.findall(r'\(|\)|\w+:"[^"]*"|"[^"]*"|[^\s()]+', q)


def query_matches(q: str, paper: Paper) -> bool:
    tokens = _tokens(q)
    pos = 0

    def expr() -> bool:
        nonlocal pos
        value = conj()
        while pos < len(tokens) and tokens[pos] == "OR":
            pos += 1
            right = conj()
            value = value or right
        return value

    def conj() -> bool:
        nonlocal pos
        value = atom()
        while pos < len(tokens) and tokens[pos] not in ("OR", ")"):
            op = "AND"
            if tokens[pos] in ("AND", "ANDNOT"):
                op = tokens[pos]
                pos += 1
            right = atom()
            value = value and (not right if op == "ANDNOT" else right)
        return value

    def atom() -> bool:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            value = expr()
            pos += 1  # ")"
            return value
        fieldname, _, value = tok.partition(":") if ":" in tok else ("all", "", tok)
        return _term_matches(paper, fieldname, value)

    return expr()


def _atom_entry(p: Paper) -> str:
    cats = "".join(
        f'<category term="{escape(c)}" scheme="http://arxiv.org/schemas/atom"/>'
        for c in p.categories
    )
    authors = "".join(f"<author><name>{escape(a)}</name></author>" for a in p.authors)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return (
        f"<entry><id>http://arxiv.org/abs/{p.id}v{p.version}</id>"
        f"<title>{escape(p.title)}</title><updated>{p.updated:{stamp}}</updated>"
        f'<link href="https://arxiv.org/abs/{p.id}v{p.version}" rel="alternate" type="text/html"/>'
        f'<link href="https://arxiv.org/pdf/{p.id}v{p.version}" rel="related" '
        f'type="application/pdf" title="pdf"/>'
        f"<summary>{escape(p.abstract)}</summary>{cats}"
        f"<published>{p.published:{stamp}}</published>"
        f'<arxiv:primary_category term="{escape(p.categories[0])}"/>{authors}</entry>'
    )


def openalex_work(paper: Paper, people: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A paper as OpenAlex describes it (the fields tracker reads), with the known
    OpenAlex ids of its authors."""
    ids = {p["name"]: (a, p.get("orcid")) for a, p in people.items() if paper.id in p["papers"]}
    words: dict[str, list[int]] = {}
    for n, word in enumerate(paper.abstract.split()):
        words.setdefault(word, []).append(n)
    return {
        "id": f"https://openalex.org/W{zlib.crc32(paper.id.encode())}",
        "doi": f"https://doi.org/10.48550/arxiv.{paper.id}",
        "display_name": paper.title,
        "publication_date": paper.published.date().isoformat(),
        "abstract_inverted_index": words,
        "authorships": [
            {
                "author": {
                    "id": f"https://openalex.org/{ids[a][0]}" if a in ids else None,
                    "display_name": a,
                    "orcid": f"https://orcid.org/{ids[a][1]}" if a in ids and ids[a][1] else None,
                }
            }
            for a in paper.authors
        ],
        "primary_location": {"landing_page_url": f"https://arxiv.org/abs/{paper.id}"},
        "locations": [
            {
                "landing_page_url": f"https://arxiv.org/abs/{paper.id}",
                "pdf_url": f"https://arxiv.org/pdf/{paper.id}",
            }
        ],
    }


def atom_feed(papers: list[Paper], total: int, start: int) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">'
        "<id>https://arxiv.org/api/test</id><title>arXiv Query</title>"
        "<updated>2024-11-28T05:00:00Z</updated>"
        f"<opensearch:itemsPerPage>{len(papers)}</opensearch:itemsPerPage>"
        f"<opensearch:totalResults>{total}</opensearch:totalResults>"
        f"<opensearch:startIndex>{start}</opensearch:startIndex>"
        + "".join(_atom_entry(p) for p in papers)
        + "</feed>"
    ).encode()


def local_http_server(handle: Callable[[BaseHTTPRequestHandler], None]) -> ThreadingHTTPServer:
    """An HTTP/1.1 server on 127.0.0.1 (a free port) that passes every GET to ``handle``,
    quietly, one thread per connection; not started yet."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            handle(self)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    return httpd


class FixtureServer:
    def __init__(self, fixtures: Path, papers: list[Paper] | None = None) -> None:
        self.fixtures = fixtures
        self.papers = papers if papers is not None else load_papers(fixtures)
        self.by_id = {p.id: p for p in self.papers}
        self.log: list[Logged] = []
        self.author_feeds: dict[str, list[str]] = {}  # arXiv author id -> paper ids
        # OpenAlex author id -> {"name", "orcid", "papers": [arXiv ids], "institution"}
        self.openalex_authors: dict[str, dict[str, Any]] = {}
        self.routes: dict[str, Reply] = {}
        self.scripts: dict[str, deque[Reply]] = {}
        self._lock = threading.Lock()
        self._listing_root = etree.fromstring(data.read(fixtures, LISTING))
        self.httpd = local_http_server(self._handle)
        # polls for shutdown every 10 ms, not 500 ms: stopping it must not dominate a test
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FixtureServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- test controls --------------------------------------------------------------

    def add(
        self,
        path: str,
        body: bytes | str,
        content_type: str = "application/xml",
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> str:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Reply(status, data, {"Content-Type": content_type, **(headers or {})})
        return self.url + path

    def script(self, path: str, replies: Iterable[Reply]) -> None:
        with self._lock:
            self.scripts.setdefault(path, deque()).extend(replies)

    def requests(self, prefix: str = "") -> list[Logged]:
        with self._lock:
            return [r for r in self.log if r.path.startswith(prefix)]

    def unscript(self, path: str) -> None:
        """Drop the replies still queued for a path: the fault is over."""
        with self._lock:
            self.scripts.pop(path, None)

    # --- serving --------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path = unquote(parts.path)
        with self._lock:
            self.log.append(
                Logged(
                    time.monotonic(),
                    "GET",
                    path,
                    parts.query,
                    {k.lower(): v for k, v in h.headers.items()},
                )
            )
            queue = self.scripts.get(path)
            scripted = queue.popleft() if queue else None
        if scripted is not None:
            if scripted.delay:
                time.sleep(scripted.delay)
            if scripted.drop:
                h.close_connection = True
                h.connection.shutdown(2)
                return
            if scripted.faulty:
                self._send_faulty(h, scripted)
                return
            self._send(h, scripted.status, scripted.body, scripted.headers)
            return
        if path == "/api/query":
            self._api(h, parse_qs(parts.query))
        elif path.startswith("/a/") and path.endswith(".atom"):
            self._author_feed(h, path[len("/a/") : -len(".atom")])
        elif path == "/openalex/works":
            self._openalex_works(h, parse_qs(parts.query))
        elif path == "/openalex/authors":
            self._openalex_authors(h, parse_qs(parts.query))
        elif path.startswith("/rss/"):
            self._listing(h, path[len("/rss/") :])
        elif path.startswith("/feeds/"):
            self._file(h, path[len("/feeds/") :])
        elif path in self.routes:
            r = self.routes[path]
            self._conditional(h, r.body, r.headers, r.status)
        else:
            self._send(h, 404, b"not found", {"Content-Type": "text/plain"})

    def _send(
        self, h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]
    ) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _send_faulty(self, h: BaseHTTPRequestHandler, r: Reply) -> None:
        """A scripted reply whose transfer goes wrong (see ``Reply``)."""
        with contextlib.suppress(OSError):  # the client may rightly give up first
            if r.reset and not r.truncate:
                self._reset(h)
                return
            h.send_response(r.status)
            for k, v in r.headers.items():
                h.send_header(k, v)
            if r.length:
                h.send_header("Content-Length", str(len(r.body)))
            else:
                h.send_header("Connection", "close")
                h.close_connection = True
            h.end_headers()
            body = r.body[: len(r.body) // 2] if r.truncate else r.body
            step = TRICKLE_BYTES if r.trickle else max(len(body), 1)
            for start in range(0, len(body), step):
                h.wfile.write(body[start : start + step])
                h.wfile.flush()
                if r.trickle:
                    time.sleep(r.trickle)
            if r.reset:
                self._reset(h)
            elif r.truncate:
                h.close_connection = True
                h.connection.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _reset(h: BaseHTTPRequestHandler) -> None:
        """Close with a TCP RST (SO_LINGER on, zero timeout) instead of a FIN."""
        h.close_connection = True
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.connection.close()

    def _conditional(
        self, h: BaseHTTPRequestHandler, body: bytes, headers: dict[str, str], status: int = 200
    ) -> None:
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        modified = format_datetime(dt.datetime(2024, 11, 28, tzinfo=dt.UTC), usegmt=True)
        if status == 200 and (
            h.headers.get("If-None-Match") == etag
            or (
                h.headers.get("If-Modified-Since") == modified
                and not h.headers.get("If-None-Match")
            )
        ):
            self._send(h, 304, b"", {"ETag": etag})
            return
        self._send(h, status, body, {"ETag": etag, "Last-Modified": modified, **headers})

    def _api(self, h: BaseHTTPRequestHandler, qs: dict[str, list[str]]) -> None:
        start = int(qs.get("start", ["0"])[0])
        size = int(qs.get("max_results", ["10"])[0])
        id_list = [i for i in qs.get("id_list", [""])[0].split(",") if i]
        if id_list:
            bad = [i for i in id_list if not re.match(r"^\d{4}\.\d{4,5}(v\d+)?$|^[a-z-]+/\d{7}", i)]
            if bad:
                self._send(
                    h,
                    400,
                    (self.fixtures / ERROR_ENTRY).read_bytes(),
                    {"Content-Type": "application/atom+xml"},
                )
                return
            found = [self.by_id[i.split("v")[0]] for i in id_list if i.split("v")[0] in self.by_id]
        else:
            q = qs.get("search_query", [""])[0]
            found = [p for p in self.papers if query_matches(q, p)]
            found.sort(key=lambda p: p.updated, reverse=True)
        page = found[start : start + size]
        self._send(
            h,
            200,
            atom_feed(page, len(found), start),
            {"Content-Type": "application/atom+xml; charset=utf-8"},
        )

    def _author_feed(self, h: BaseHTTPRequestHandler, author: str) -> None:
        """arXiv's author feed (https://arxiv.org/a/<id>.atom): the API's Atom, all of
        the author's papers, no paging. Unknown authors: 404, as arXiv answers."""
        if author not in self.author_feeds:
            self._send(h, 404, b"not found", {"Content-Type": "text/plain"})
            return
        papers = [self.by_id[i] for i in self.author_feeds[author]]
        self._conditional(
            h,
            atom_feed(papers, len(papers), 0),
            {"Content-Type": "application/atom+xml; charset=utf-8"},
        )

    def _openalex_works(self, h: BaseHTTPRequestHandler, qs: dict[str, list[str]]) -> None:
        """OpenAlex /works with filter author.id:A|B or author.orcid:X|Y, one page."""
        spec = dict(part.split(":", 1) for part in qs.get("filter", [""])[0].split(",") if part)
        wanted = set((spec.get("author.id") or spec.get("author.orcid") or "").split("|"))
        by_orcid = "author.orcid" in spec
        results = []
        for author_id, person in self.openalex_authors.items():
            key = person.get("orcid") if by_orcid else author_id
            if key not in wanted:
                continue
            for paper_id in person["papers"]:
                results.append(openalex_work(self.by_id[paper_id], self.openalex_authors))
        body = json.dumps(
            {"meta": {"count": len(results), "next_cursor": None}, "results": results}
        ).encode()
        self._send(h, 200, body, {"Content-Type": "application/json"})

    def _openalex_authors(self, h: BaseHTTPRequestHandler, qs: dict[str, list[str]]) -> None:
        name = qs.get("search", [""])[0].lower()
        results = [
            {
                "id": f"https://openalex.org/{a}",
                "display_name": p["name"],
                "orcid": f"https://orcid.org/{p['orcid']}" if p.get("orcid") else None,
                "works_count": len(p["papers"]),
                "last_known_institution": {"display_name": p.get("institution", "")},
            }
            for a, p in self.openalex_authors.items()
            if name.split()[-1] in p["name"].lower()
        ]
        self._send(
            h, 200, json.dumps({"results": results}).encode(), {"Content-Type": "application/json"}
        )

    def _listing(self, h: BaseHTTPRequestHandler, spec: str) -> None:
        wanted = [c for c in spec.split("+") if c]
        root = copy.deepcopy(self._listing_root)
        channel = root.find("channel")
        assert channel is not None
        for item in list(channel.iterfind("item")):
            cats = [c.text or "" for c in item.iterfind("category")]
            hit = [c for c in cats if any(c == w or c.startswith(w + ".") for w in wanted)]
            if not hit:
                channel.remove(item)
            elif cats[0] not in hit:
                # seen from the requested categories, a paper from elsewhere is a cross-list
                kind = item.find("{http://arxiv.org/schemas/atom}announce_type")
                if kind is not None and kind.text == "new":
                    kind.text = "cross"
        body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        self._conditional(h, body, {"Content-Type": "application/rss+xml; charset=utf-8"})

    def _file(self, h: BaseHTTPRequestHandler, rel: str) -> None:
        path = (self.fixtures / rel).resolve()
        if not path.is_file() or self.fixtures.resolve() not in path.parents:
            self._send(h, 404, b"not found", {"Content-Type": "text/plain"})
            return
        kind = "application/json" if path.suffix == ".json" else "application/xml"
        self._conditional(h, path.read_bytes(), {"Content-Type": kind})

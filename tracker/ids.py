"""Identity of papers and posts: arXiv ids, canonical links and item keys.

A paper is its version-less arXiv id wherever it comes from: the API
(``http://arxiv.org/abs/2411.17700v2``), the listing (``oai:arXiv.org:2411.17700v1``),
a blog post linking to ``/abs/``, ``/pdf/`` or ``/html/`` with or without a version,
or a DOI ``10.48550/arXiv.2411.17700``. Old-style ids (``hep-th/9901001``) keep
their archive; a subject class written into them (``math.GT/0309136``) is not part
of the identity (arXiv resolves it to ``math/0309136``).

Pure functions only: no I/O here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tracker.models import Entry

# New style: YYMM.NNNN (2007-04 to 2014-12) or YYMM.NNNNN (from 2015-01).
_NEW = r"(?P<new>(?P<yy>\d{2})(?P<mm>\d{2})\.(?P<num>\d{4,5}))"
# Old style: archive[.SUBJ]/YYMMNNN, archive names are lowercase letters and hyphens.
_OLD = (
    r"(?P<old>(?P<archive>[a-zA-Z][a-zA-Z\-]*)(?:\.(?P<subj>[A-Za-z\-]{1,8}))?/(?P<oldnum>\d{7}))"
)
_VERSION = r"(?:v(?P<version>\d{1,3}))?"
_ID = rf"(?:{_NEW}|{_OLD}){_VERSION}"

_BARE = re.compile(rf"^\s*(?:arxiv:|oai:arxiv\.org:)?{_ID}\s*$", re.IGNORECASE)
_URL = re.compile(
    rf"^https?://(?:www\.|export\.|browse\.)?arxiv\.org/"
    rf"(?:abs|pdf|html|format|ps|src|e-print)/{_ID}(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)
_DOI = re.compile(rf"^\s*(?:https?://(?:dx\.)?doi\.org/)?10\.48550/arxiv\.{_ID}\s*$", re.IGNORECASE)
# Anywhere in running text (for summaries that cite an id); conservative on purpose.
_IN_TEXT = re.compile(rf"(?<![\w./-])arxiv:\s?{_ID}(?![\w])", re.IGNORECASE)

_OLD_ARCHIVES = frozenset(
    """acc-phys adap-org alg-geom ao-sci astro-ph atom-ph bayes-an chao-dyn chem-ph cmp-lg
    comp-gas cond-mat cs dg-ga funct-an gr-qc hep-ex hep-lat hep-ph hep-th math math-ph
    mtrl-th nlin nucl-ex nucl-th patt-sol physics plasm-ph q-alg q-bio quant-ph solv-int
    supr-con""".split()
)


def _from_match(m: re.Match[str]) -> tuple[str, int | None] | None:
    version = int(m.group("version")) if m.group("version") else None
    if version == 0:
        return None
    if m.group("new"):
        yy, mm, num = int(m.group("yy")), int(m.group("mm")), m.group("num")
        if not 1 <= mm <= 12:
            return None
        yymm = yy * 100 + mm
        if yymm < 704:
            return None
        if (yymm < 1501 and len(num) != 4) or (yymm >= 1501 and len(num) != 5):
            return None
        return m.group("new"), version
    archive = m.group("archive").lower()
    if archive not in _OLD_ARCHIVES:
        return None
    oldnum = m.group("oldnum")
    yy, mm = int(oldnum[:2]), int(oldnum[2:4])
    if not 1 <= mm <= 12 or (8 <= yy <= 90):
        return None
    return f"{archive}/{oldnum}", version


def parse_arxiv_id(text: str) -> tuple[str, int | None] | None:
    """The version-less id and the version (or None) of an arXiv id, URL or DOI.

    Returns None for anything that is not an arXiv identifier.
    """
    if not text or len(text) > 300:
        return None
    for pattern in (_BARE, _URL, _DOI):
        m = pattern.match(text)
        if m:
            return _from_match(m)
    return None


def find_arxiv_id(text: str) -> tuple[str, int | None] | None:
    """The first ``arXiv:<id>`` cited in running text, if any."""
    for m in _IN_TEXT.finditer(text):
        found = _from_match(m)
        if found:
            return found
    return None


_ID_MONTH = re.compile(r"^(?:(\d{2})(\d{2})\.\d{4,5}|[a-z-]+/(\d{2})(\d{2})\d{3})$")


def id_month(arxiv_id: str) -> dt.datetime | None:
    """The first instant (UTC) of the month an arXiv id was given in, its YYMM: the
    month of the paper's first version ("2305.01234" → 2023-05-01). None when the id
    has no such month."""
    m = _ID_MONTH.match(arxiv_id)
    if not m:
        return None
    yy, mm = (int(g) for g in (m.group(1, 2) if m.group(1) else m.group(3, 4)))
    if not 1 <= mm <= 12:
        return None
    return dt.datetime(1900 + yy if yy >= 91 else 2000 + yy, mm, 1, tzinfo=dt.UTC)


def abs_url(arxiv_id: str, version: int | None = None) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}{f'v{version}' if version else ''}"


def pdf_url(arxiv_id: str, version: int | None = None) -> str:
    return f"https://arxiv.org/pdf/{arxiv_id}{f'v{version}' if version else ''}"


_TRACKING_PARAMS = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|mc_cid|mc_eid|_hsenc|_hsmi|mkt_tok|ref_src)$",
    re.IGNORECASE,
)


def canonical_url(url: str, *, keep_fragment: bool = False) -> str:
    """A stable form of a link for identity: lower-case scheme and host, no default
    port, no tracking parameters, and no fragment unless asked to keep it (a post's
    link keeps it: comments on one page are told apart by it). The path is kept as
    is (it can be case-sensitive)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    netloc = f"{host}:{port}" if port not in (None, 80, 443) else host
    query = parts.query and urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING_PARAMS.match(k)
        ]
    )
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, query, parts.fragment if keep_fragment else ""))


def item_key(entry: Entry, source_key: str, *, keep_fragment: bool = False) -> str:
    """The identity of an entry: ``arxiv:<id>`` for papers, ``doi:<doi>`` for other
    works with a DOI, otherwise its feed plus its guid (or canonical link, without its
    #fragment unless ``keep_fragment``, or title and date when a feed gives neither)."""
    if entry.arxiv_id:
        return f"arxiv:{entry.arxiv_id}"
    if entry.doi:
        # A DOI names one work wherever it comes from (OpenAlex, a journal's feed).
        doi = entry.doi.strip().lower()
        return (
            f"doi:{doi}"
            if len(doi) <= 60
            else "doi:" + hashlib.sha256(doi.encode()).hexdigest()[:24]
        )
    if entry.guid and entry.guid.strip():
        basis = "guid:" + entry.guid.strip()
    elif entry.url:
        basis = "link:" + canonical_url(entry.url, keep_fragment=keep_fragment)
    else:
        when = entry.published or entry.updated
        basis = (
            "title:"
            + " ".join(entry.title.split()).lower()
            + (f"|{when:%Y%m%dT%H%M%S}" if when else "")
        )
    digest = hashlib.sha256(f"{source_key}\n{basis}".encode()).hexdigest()[:24]
    return f"post:{digest}"


def _known_by_link(entry: Entry) -> bool:
    return bool(
        entry.url and not entry.arxiv_id and not entry.doi and not (entry.guid or "").strip()
    )


def post_keys(entries: Sequence[Entry], source_key: str) -> list[str]:
    """The keys of one fetch of a feed (``item_key`` of each entry). An entry known by
    its link alone (no guid) keeps the link's #fragment in its identity when another
    entry of the same fetch links the same page with another fragment (comments on
    one page); otherwise the fragment is left out, so a feed that changes it from one
    fetch to the next does not make the same post new again."""
    pages: dict[str, set[str]] = {}
    for e in entries:
        if e.url and _known_by_link(e):
            full = canonical_url(e.url, keep_fragment=True)
            pages.setdefault(canonical_url(e.url), set()).add(full)
    return [
        item_key(
            e,
            source_key,
            keep_fragment=bool(e.url)
            and _known_by_link(e)
            and len(pages[canonical_url(e.url or "")]) > 1,
        )
        for e in entries
    ]

"""OpenAlex (https://docs.openalex.org): scholars' works by author id or ORCID,
author search for `tracker follow scholar`, and where arXiv papers were published.

Many scholars cost few requests: up to ``batch`` ids are OR-ed into one filter
(``author.id:A1|A2|...``), pages follow the cursor, and ``mailto`` puts us in the
polite pool. A work becomes an ``Entry``: its arXiv id when any location or its DOI
names one (so it is the same item as the listing's), else its DOI. Each work says
which of the asked ids are among its authors, so attribution needs no guessing.

A paper's published version is its work's ``primary_location``: a source of type
journal or conference (or, where the type is not given, a ``publishedVersion`` that
is not arXiv's) gives the venue's name and the work's own DOI (``publications``).

The parsing functions are pure; ``OpenAlexClient`` is the seam (through ``Fetcher``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tracker.errors import ParseError
from tracker.ids import parse_arxiv_id
from tracker.models import FEED_POST, LINK_ONLY, Entry, VenueChange, VenueKind
from tracker.sources.http import Fetcher
from tracker.text import clean_entry

_OA = "https://openalex.org/"
_ORCID = "https://orcid.org/"
_DOI = "https://doi.org/"
_VENUE_TYPES = frozenset({"journal", "conference"})  # a source that publishes, not a repository


@dataclass(frozen=True, slots=True)
class Work:
    entry: Entry
    author_ids: frozenset[str]  # "A5023888391"
    orcids: frozenset[str]  # "0000-0002-1825-0097"


@dataclass(frozen=True, slots=True)
class AuthorMatch:
    id: str
    name: str
    works: int
    orcid: str | None
    institution: str | None
    alternatives: tuple[str, ...]


def abstract_text(inverted: Mapping[str, Sequence[int]] | None) -> str:
    """OpenAlex ships abstracts as {word: [positions]}; put the words back in order."""
    if not inverted:
        return ""
    slots: dict[int, str] = {}
    for word, positions in inverted.items():
        for p in positions:
            if isinstance(p, int) and 0 <= p < 100_000:
                slots[p] = word
    return " ".join(slots[p] for p in sorted(slots))


def _date(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value[:10]), dt.time(), dt.UTC)
    except ValueError:
        return None


def _arxiv(work: Mapping[str, Any]) -> tuple[str, int | None] | None:
    doi = work.get("doi") or ""
    candidates = [doi, *(work.get("ids") or {}).values()]
    for location in work.get("locations") or []:
        if isinstance(location, dict):
            candidates += [location.get("landing_page_url"), location.get("pdf_url")]
    for candidate in candidates:
        if isinstance(candidate, str) and "arxiv" in candidate.lower():
            found = parse_arxiv_id(candidate)
            if found:
                return found
    return None


def parse_work(work: Mapping[str, Any]) -> Work | None:
    title = work.get("display_name") or work.get("title")
    if not isinstance(title, str) or not title.strip():
        return None
    authors: list[str] = []
    author_ids: set[str] = set()
    orcids: set[str] = set()
    for authorship in work.get("authorships") or []:
        person = authorship.get("author") if isinstance(authorship, dict) else None
        if not isinstance(person, dict):
            continue
        if isinstance(person.get("display_name"), str):
            authors.append(person["display_name"])
        if isinstance(person.get("id"), str):
            author_ids.add(person["id"].removeprefix(_OA))
        if isinstance(person.get("orcid"), str):
            orcids.add(person["orcid"].removeprefix(_ORCID))
    doi = work.get("doi")
    doi = doi.removeprefix(_DOI).lower() if isinstance(doi, str) and doi else None
    arxiv = _arxiv(work)
    primary = work.get("primary_location") or {}
    url = primary.get("landing_page_url") if isinstance(primary, dict) else None
    summary = abstract_text(work.get("abstract_inverted_index"))
    entry = Entry(
        title=" ".join(title.split()),
        summary=summary,
        authors=tuple(authors),
        url=url if isinstance(url, str) else (f"{_DOI}{doi}" if doi else None),
        arxiv_id=arxiv[0] if arxiv else None,
        version=arxiv[1] if arxiv else None,
        doi=None if arxiv and doi and doi.startswith("10.48550/") else doi,
        published=_date(work.get("publication_date")),
        guid=str(work.get("id") or "") or None,
        # an arXiv paper seen here lacks its categories: the arXiv API completes it
        quality=LINK_ONLY if arxiv else FEED_POST,
    )
    return Work(clean_entry(entry), frozenset(author_ids), frozenset(orcids))


def parse_works(body: bytes) -> tuple[list[Work], str | None]:
    """One page of /works: the works and the cursor of the next page (None at the end)."""
    try:
        doc = json.loads(body)
    except ValueError as e:
        raise ParseError(f"OpenAlex answered something that is not JSON: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ParseError("OpenAlex answer has no results list")
    works = [w for w in (parse_work(r) for r in doc["results"] if isinstance(r, dict)) if w]
    meta = doc.get("meta") or {}
    cursor = meta.get("next_cursor") if isinstance(meta, dict) else None
    return works, cursor if isinstance(cursor, str) and cursor else None


def publication(work: Mapping[str, Any]) -> tuple[str, tuple[VenueChange, ...]] | None:
    """The arXiv id of a work and where it was published (its primary location's venue
    and its own DOI); None when it is not an arXiv paper or not published elsewhere."""
    arxiv = _arxiv(work)
    primary = work.get("primary_location")
    primary = primary if isinstance(primary, dict) else {}
    source = primary.get("source")
    if arxiv is None or not isinstance(source, dict):
        return None
    name = source.get("display_name")
    kind = source.get("type")
    if not isinstance(name, str) or not name.strip() or "arxiv" in name.lower():
        return None
    published = kind is None and primary.get("version") == "publishedVersion"
    if kind not in _VENUE_TYPES and not published:
        return None
    changes = [VenueChange(VenueKind.VENUE, " ".join(name.split()), "openalex")]
    doi = work.get("doi")
    doi = doi.removeprefix(_DOI).lower() if isinstance(doi, str) else ""
    if doi.startswith("10.") and not doi.startswith("10.48550/"):
        changes.append(VenueChange(VenueKind.DOI, doi, "openalex"))
    return arxiv[0], tuple(changes)


def parse_publications(body: bytes) -> dict[str, tuple[VenueChange, ...]]:
    """One page of /works: the venues of the arXiv papers among them, by arXiv id."""
    try:
        doc = json.loads(body)
    except ValueError as e:
        raise ParseError(f"OpenAlex answered something that is not JSON: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ParseError("OpenAlex answer has no results list")
    found: dict[str, tuple[VenueChange, ...]] = {}
    for work in doc["results"]:
        if isinstance(work, dict) and (seen := publication(work)) is not None:
            found.setdefault(seen[0], seen[1])
    return found


def parse_authors(body: bytes) -> list[AuthorMatch]:
    try:
        doc = json.loads(body)
    except ValueError as e:
        raise ParseError(f"OpenAlex answered something that is not JSON: {e}") from e
    found = []
    for a in (doc.get("results") or []) if isinstance(doc, dict) else []:
        if not isinstance(a, dict) or not isinstance(a.get("id"), str):
            continue
        institution = a.get("last_known_institution") or {}
        found.append(
            AuthorMatch(
                id=a["id"].removeprefix(_OA),
                name=str(a.get("display_name") or ""),
                works=int(a.get("works_count") or 0),
                orcid=a["orcid"].removeprefix(_ORCID) if isinstance(a.get("orcid"), str) else None,
                institution=institution.get("display_name")
                if isinstance(institution, dict)
                else None,
                alternatives=tuple(
                    x for x in a.get("display_name_alternatives") or [] if isinstance(x, str)
                ),
            )
        )
    return found


class OpenAlexClient:
    def __init__(
        self, fetcher: Fetcher, *, url: str, mailto: str, max_pages: int = 5, per_page: int = 200
    ) -> None:
        self.fetcher = fetcher
        self.url = url.rstrip("/")
        self.mailto = mailto
        self.max_pages = max_pages
        self.per_page = per_page

    def works(self, key: str, values: Sequence[str], since: dt.date) -> list[Work]:
        """Works published since a day with any of the ids among their authors
        (``key``: "author.id" or "author.orcid")."""
        found: list[Work] = []
        cursor: str | None = "*"
        for _ in range(self.max_pages):
            if cursor is None:
                break
            params: dict[str, str | int] = {
                "filter": f"{key}:{'|'.join(values)},from_publication_date:{since.isoformat()}",
                "per-page": self.per_page,
                "cursor": cursor,
                "mailto": self.mailto,
            }
            response = self.fetcher.get(
                f"{self.url}/works", params=params, accept="application/json"
            )
            page, cursor = parse_works(response.body)
            found.extend(page)
        return found

    def publications(self, arxiv_ids: Sequence[str]) -> dict[str, tuple[VenueChange, ...]]:
        """Where these arXiv papers were published, by id (one request: their arXiv
        DOIs OR-ed; the caller keeps to OpenAlex's 100 values per filter)."""
        dois = "|".join(f"10.48550/arxiv.{a}" for a in arxiv_ids)
        params: dict[str, str | int] = {
            "filter": f"doi:{dois}",
            "per-page": min(200, max(1, len(arxiv_ids))),
            "mailto": self.mailto,
        }
        response = self.fetcher.get(f"{self.url}/works", params=params, accept="application/json")
        return parse_publications(response.body)

    def authors(self, name: str) -> list[AuthorMatch]:
        params: dict[str, str | int] = {"search": name, "per-page": 10, "mailto": self.mailto}
        response = self.fetcher.get(f"{self.url}/authors", params=params, accept="application/json")
        return parse_authors(response.body)

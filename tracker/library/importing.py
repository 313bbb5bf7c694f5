"""Reading a reference library as reference managers export it: BibTeX (.bib), CSL
JSON (.json) and RIS (.ris), as Zotero, Mendeley, JabRef and EndNote write them.

Each entry becomes a ``LibraryRecord``: title, abstract, authors, year, and the
identifiers that match it to stored papers: the arXiv id (from an ``eprint`` with
arXiv as its archive, an arXiv URL, arXiv's DOI ``10.48550/arXiv.<id>``, or an
``arXiv:<id>`` in the journal, number, note or extra fields, where Zotero puts it) and
the DOI. BibTeX is read by bibtexparser (LaTeX accents and braces decoded), RIS by
rispy; CSL JSON is plain JSON. Entries a parser cannot read are counted, not fatal.

Pure: no I/O here (the caller reads the file).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tracker import ids
from tracker.errors import UsageError
from tracker.models import LibraryRecord

FORMATS = ("bibtex", "csl-json", "ris")
_DOI = re.compile(r"10\.\d{4,9}/\S+", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|2\d\d\d)(?!\d)")
_TAG = re.compile(r"<[^>]+>")  # abstracts exported with JATS or HTML markup


@dataclass(frozen=True, slots=True)
class ParsedLibrary:
    format: str
    records: tuple[LibraryRecord, ...]
    unreadable: int  # entries the parser could not read


def detect(name: str, text: str) -> str:
    """The format of a library file, by its name, else by its content."""
    lower = name.lower()
    if lower.endswith((".bib", ".bibtex")):
        return "bibtex"
    if lower.endswith(".json"):
        return "csl-json"
    if lower.endswith(".ris"):
        return "ris"
    head = text.lstrip()[:2000]
    if head.startswith(("[", "{")):
        return "csl-json"
    if re.search(r"^TY  - ", head, re.MULTILINE):
        return "ris"
    if re.search(r"^\s*@\w+\s*[{(]", head, re.MULTILINE):
        return "bibtex"
    raise UsageError(f"{name}: not a BibTeX, CSL JSON or RIS file (use .bib, .json or .ris)")


def parse(name: str, text: str, fmt: str | None = None) -> ParsedLibrary:
    """The records of a library file's text (``fmt``: one of ``FORMATS``, else
    detected)."""
    fmt = fmt or detect(name, text)
    if fmt == "bibtex":
        return _bibtex(text)
    if fmt == "csl-json":
        return _csl_json(name, text)
    if fmt == "ris":
        return _ris(name, text)
    raise UsageError(f"unknown library format {fmt!r} (use one of {', '.join(FORMATS)})")


# --- shared ---------------------------------------------------------------------------


def normalise_doi(value: str | None) -> str | None:
    """A DOI in lower case without its resolver prefix, or None."""
    if not value:
        return None
    found = _DOI.search(value)
    return found.group(0).rstrip(".,;").lower() if found else None


def _arxiv_id(candidates: Iterable[str | None]) -> str | None:
    for value in candidates:
        if not value:
            continue
        found = ids.parse_arxiv_id(value.strip()) or ids.find_arxiv_id(value)
        if found:
            return found[0]
    return None


def _year(value: object) -> int | None:
    found = _YEAR.search(str(value)) if value not in (None, "") else None
    return int(found.group(1)) if found else None


def _clean(text: object) -> str:
    return " ".join(_TAG.sub(" ", str(text or "")).split())


def _record(
    title: object,
    abstract: object,
    authors: Sequence[str],
    year: int | None,
    doi: str | None,
    arxiv_places: Iterable[str | None],
) -> LibraryRecord:
    arxiv = _arxiv_id([doi, *arxiv_places])
    return LibraryRecord(
        title=_clean(title),
        abstract=_clean(abstract),
        authors=tuple(a for a in (" ".join(n.split()) for n in authors) if a),
        year=year,
        arxiv_id=arxiv,
        doi=normalise_doi(doi),
    )


# --- BibTeX ---------------------------------------------------------------------------


def _bibtex(text: str) -> ParsedLibrary:
    import bibtexparser  # imported here: only an import of a library needs it
    from bibtexparser import middlewares

    # bibtexparser logs every block it cannot read; they are counted and reported instead
    logging.getLogger("bibtexparser").setLevel(logging.ERROR)
    library = bibtexparser.parse_string(  # type: ignore[attr-defined]
        text,
        append_middleware=[
            middlewares.LatexDecodingMiddleware(),
            middlewares.SeparateCoAuthors(),
            middlewares.SplitNameParts(),
        ],
    )
    records = []
    for entry in library.entries:
        fields = {k.lower(): v.value for k, v in entry.fields_dict.items()}
        names = fields.get("author") or fields.get("editor") or []
        authors = [
            " ".join([*n.first, *n.von, *n.last, *n.jr]) if hasattr(n, "first") else str(n)
            for n in (names if isinstance(names, list) else [names])
        ]
        archive = str(fields.get("archiveprefix") or fields.get("eprinttype") or "").lower()
        eprint = str(fields.get("eprint") or "")
        records.append(
            _record(
                fields.get("title"),
                fields.get("abstract"),
                authors,
                _year(fields.get("year") or fields.get("date")),
                str(fields.get("doi") or "") or None,
                [
                    eprint if archive in ("arxiv", "") else None,
                    str(fields.get("url") or ""),
                    *(str(fields.get(k) or "") for k in ("journal", "number", "note", "extra")),
                    str(fields.get("howpublished") or ""),
                ],
            )
        )
    return ParsedLibrary("bibtex", tuple(records), len(library.failed_blocks))


# --- CSL JSON -------------------------------------------------------------------------


def _csl_name(name: object) -> str:
    if isinstance(name, Mapping):
        if name.get("literal"):
            return str(name["literal"])
        parts = [name.get("given"), name.get("non-dropping-particle"), name.get("family")]
        return " ".join(str(p) for p in parts if p)
    return str(name)


def _csl_year(issued: object) -> int | None:
    if isinstance(issued, Mapping):
        parts = issued.get("date-parts")
        if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
            return _year(parts[0][0])
        return _year(issued.get("raw") or issued.get("literal"))
    return _year(issued)


def _csl_json(name: str, text: str) -> ParsedLibrary:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"{name}: not valid JSON ({e})") from e
    if isinstance(data, Mapping):
        data = data.get("items", [data])
    if not isinstance(data, list):
        raise UsageError(f"{name}: expected a CSL JSON list of items")
    records, unreadable = [], 0
    for raw in data:
        if not isinstance(raw, Mapping):
            unreadable += 1
            continue
        item = {str(k).lower(): v for k, v in raw.items()}
        authors = item.get("author") or item.get("editor") or []
        doi = item.get("doi")
        records.append(
            _record(
                item.get("title"),
                item.get("abstract"),
                [_csl_name(a) for a in (authors if isinstance(authors, list) else [])],
                _csl_year(item.get("issued")),
                str(doi) if doi else None,
                [
                    str(item.get(k) or "")
                    for k in ("url", "number", "archive_location", "note", "container-title")
                ],
            )
        )
    return ParsedLibrary("csl-json", tuple(records), unreadable)


# --- RIS ------------------------------------------------------------------------------


def _ris(name: str, text: str) -> ParsedLibrary:
    import rispy  # imported here: only an import of a library needs it

    try:
        entries = rispy.loads(text)
    except Exception as e:  # rispy raises bare IOError/ValueError for broken files
        raise UsageError(f"{name}: not a readable RIS file ({e})") from e
    records = []
    for entry in entries:
        authors = [
            *entry.get("authors", []),
            *entry.get("first_authors", []),
        ]
        names = [" ".join(reversed([p.strip() for p in a.split(",", 1)])) for a in authors]
        urls = entry.get("urls", [])
        records.append(
            _record(
                entry.get("title") or entry.get("primary_title"),
                entry.get("abstract"),
                names,
                _year(entry.get("year") or entry.get("publication_year") or entry.get("date")),
                entry.get("doi"),
                [
                    *(str(u) for u in urls),
                    *(str(n) for n in entry.get("notes", [])),
                    str(entry.get("number") or ""),
                    str(entry.get("journal_name") or entry.get("secondary_title") or ""),
                ],
            )
        )
    return ParsedLibrary("ris", tuple(records), 0)

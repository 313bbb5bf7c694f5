"""The arXiv OAI-PMH adapter: ListRecords pages, fetched politely and read as a stream.

``OaiClient.list_records`` fetches one page of ``verb=ListRecords`` (the first with
``metadataPrefix``/``set``/``from``/``until``, the next ones with the
``resumptionToken`` alone, as OAI-PMH 2.0 section 3.5 requires) through the shared
``Fetcher``, and therefore through the process-wide arXiv pacing gate. Flow control is
arXiv's: HTTP 503 with ``Retry-After`` (seconds or an HTTP-date) means wait and ask
again (https://info.arxiv.org/help/oa/index.html); other transient failures back off
exponentially. A page can be tens of megabytes, so OAI pages get their own, larger
body cap (``OAI_MAX_BODY``) and deadline.

``OaiPage`` reads a page with ``lxml.etree.iterparse``, one ``<record>`` at a time,
clearing each one once read, so records never pile up in memory. Two metadata formats
are read: ``arXiv`` (http://arxiv.org/OAI/arXiv/) and ``arXivRaw`` (every version
with its date). Elements are matched by local name inside the metadata, because some
recorded responses omit the arXiv namespace declaration. Protocol errors
(``<error code="...">``) raise ``OaiError``, except ``noRecordsMatch``, which is an
empty result. A truncated or malformed page raises ``ParseError``.

No storage here: records go out as ``Entry`` objects for the caller to store.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lxml import etree

from tracker.errors import FetchError, HTTPStatusError, ParseError, UpstreamError
from tracker.ids import parse_arxiv_id
from tracker.models import API, Entry, Response
from tracker.names import tex_to_unicode
from tracker.sources.arxiv_xml import clean_text, split_creators
from tracker.sources.http import MAX_GATE_WAIT, Fetcher, backoff_delay, with_retries
from tracker.sources.pacing import PacingGate
from tracker.text import clean_entry

log = logging.getLogger(__name__)
OAI = "http://www.openarchives.org/OAI/2.0/"
PREFIXES = ("arXiv", "arXivRaw")
# setSpec syntax (OAI-PMH 2.0 section 2.7.1: unreserved characters, ":" for hierarchy)
OAI_SET = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+(?::[A-Za-z0-9\-_.!~*'()]+)*$")
OAI_MAX_BODY = 128 * 1024 * 1024  # arXiv's pages hold 1,000 records: a few MB, rarely tens
OAI_DEADLINE = 600.0  # seconds for one page's transfer
OAI_GATE_WAIT = 900.0  # seconds a page may wait its turn at the pacing gate (other workers)
NO_RECORDS = "noRecordsMatch"
BAD_TOKEN = "badResumptionToken"
XML = "text/xml, application/xml;q=0.9, */*;q=0.1"
_RECORD, _HEADER, _METADATA = f"{{{OAI}}}record", f"{{{OAI}}}header", f"{{{OAI}}}metadata"
_TOKEN, _ERROR, _LIST = f"{{{OAI}}}resumptionToken", f"{{{OAI}}}error", f"{{{OAI}}}ListRecords"
_ROOT = f"{{{OAI}}}OAI-PMH"
_IDENTIFIER, _DATESTAMP = f"{{{OAI}}}identifier", f"{{{OAI}}}datestamp"
_DOI_SPLIT = re.compile(r"[\s,;]+")
_LETTER = re.compile(r"[A-Za-z]")


class OaiError(UpstreamError):
    """The OAI-PMH server answered with a protocol error (``code`` as in OAI-PMH 2.0
    section 3.6: badArgument, badResumptionToken, cannotDisseminateFormat, ...)."""

    def __init__(self, code: str, message: str, *, url: str | None = None) -> None:
        self.code = code
        self.detail = message
        text = f"OAI-PMH error {code}" + (f": {message}" if message else "")
        super().__init__(text, url=url)


@dataclass(frozen=True, slots=True)
class OaiRecord:
    """One ``<record>`` of a ListRecords page."""

    identifier: str  # oai:arXiv.org:<id>
    datestamp: str | None
    deleted: bool = False  # <header status="deleted">
    arxiv_id: str | None = None  # version-less, deleted records included
    entry: Entry | None = None  # None: deleted, or metadata in a format we do not read
    license: str | None = None  # read, not stored (Entry has no licence)


def _local(el: etree._Element) -> str:
    return _name(el.tag)


_NAMES: dict[object, str] = {}  # tag -> local name, for the few tags a harvest meets
_MAX_NAMES = 512  # a page may invent tags: never more entries than this


def _name(tag: object) -> str:
    """The local name of a tag ("" for a comment's or a processing instruction's)."""
    name = _NAMES.get(tag)
    if name is None:
        name = tag[tag.find("}") + 1 :] if isinstance(tag, str) else ""
        if len(_NAMES) < _MAX_NAMES:
            _NAMES[tag] = name
    return name


def _day(text: str | None) -> dt.datetime | None:
    try:
        day = dt.date.fromisoformat(clean_text(text)[:10])
    except ValueError:
        return None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _rfc822(text: str | None) -> dt.datetime | None:
    try:
        value = email.utils.parsedate_to_datetime(clean_text(text))
    except (TypeError, ValueError):
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _categories(text: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(clean_text(text).split()))  # primary first, as arXiv lists them


def _doi(text: str | None) -> str | None:
    """The first DOI: arXiv keeps several in one element, split by spaces, commas or ;."""
    parts = [p for p in _DOI_SPLIT.split(clean_text(text)) if p]
    return parts[0] if parts else None


def _author(el: etree._Element) -> str:
    """The name as the API writes it: "Forenames Keyname Suffix"."""
    keyname = forenames = suffix = ""
    names = _NAMES
    for c in el:
        name = names.get(c.tag) or _name(c.tag)
        if name == "keyname":
            keyname = c.text or ""
        elif name == "forenames":
            forenames = c.text or ""
        elif name == "suffix":
            suffix = c.text or ""
    return tex_to_unicode(" ".join(f"{forenames} {keyname} {suffix}".split()))


def _arxiv_entry(meta: etree._Element, identifier: str) -> tuple[Entry | None, str | None]:
    """An entry from ``metadataPrefix=arXiv``; the licence beside it."""
    fields: dict[str, str | None] = {}
    authors: list[str] = []
    versions: list[tuple[int, dt.datetime | None]] = []
    names = _NAMES
    for child in meta:
        name = names.get(child.tag) or _name(child.tag)
        if name == "authors":
            found = [_author(c) for c in child if (names.get(c.tag) or _name(c.tag)) == "author"]
            authors = [a for a in found if not a.isascii() or _LETTER.search(a)]  # not ":"
            if not authors:  # arXivRaw: one string, "A, B and C"
                authors = list(split_creators(child.text or ""))
        elif name == "version":  # arXivRaw: <version version="v2"><date>RFC 822</date>
            number = (child.get("version") or "").lstrip("vV")
            when = next((_rfc822(c.text) for c in child if _local(c) == "date"), None)
            if number.isdigit():
                versions.append((int(number), when))
        else:
            fields[name] = child.text
    parsed = parse_arxiv_id(clean_text(fields.get("id"))) or parse_arxiv_id(identifier)
    if parsed is None:
        return None, None
    arxiv_id, version = parsed
    categories = _categories(fields.get("categories"))
    published, updated = _day(fields.get("created")), _day(fields.get("updated"))
    if versions:  # arXivRaw: the first and latest versions' dates, the latest number
        versions.sort()
        published, updated, version = versions[0][1], versions[-1][1], versions[-1][0]
    get = fields.get
    entry = Entry(
        title=clean_text(get("title")),
        summary=clean_text(get("abstract")),
        authors=tuple(authors),
        arxiv_id=arxiv_id,
        version=version,
        doi=_doi(get("doi")) if get("doi") else None,
        journal_ref=clean_text(get("journal-ref")) or None,
        comment=clean_text(get("comments")) or None,
        primary_category=categories[0] if categories else None,
        categories=categories,
        published=published,
        updated=updated or published,
        guid=identifier or None,
        # As complete as the API's answer (dates, DOI, journal ref, every category);
        # what it lacks (the version, for metadataPrefix=arXiv) merge keeps from others.
        quality=API,
    )
    return clean_entry(entry), clean_text(get("license")) or None


def _record(el: etree._Element, url: str) -> OaiRecord:
    header = metadata = None
    for child in el:
        tag = child.tag
        if tag == _HEADER:
            header = child if header is None else header
        elif tag == _METADATA:
            metadata = child if metadata is None else metadata
    if header is None:
        raise ParseError("OAI-PMH record without a <header>", url=url)
    identifier = datestamp = None
    for child in header:  # the first of each, as find() would
        tag = child.tag
        if tag == _IDENTIFIER and identifier is None:
            identifier = clean_text(child.text)
        elif tag == _DATESTAMP and datestamp is None:
            datestamp = clean_text(child.text)
    identifier = identifier or ""
    if header.get("status") == "deleted":
        return OaiRecord(
            identifier, datestamp or None, deleted=True, arxiv_id=_arxiv_id(identifier)
        )
    inner = None
    if metadata is not None:
        inner = next((c for c in metadata if isinstance(c.tag, str)), None)
    if inner is None or _name(inner.tag) not in PREFIXES:
        # another format: skipped
        return OaiRecord(identifier, datestamp or None, arxiv_id=_arxiv_id(identifier))
    entry, licence = _arxiv_entry(inner, identifier)
    return OaiRecord(
        identifier,
        datestamp or None,
        arxiv_id=entry.arxiv_id if entry else _arxiv_id(identifier),
        entry=entry,
        license=licence,
    )


def _arxiv_id(identifier: str) -> str | None:
    parsed = parse_arxiv_id(identifier)
    return parsed[0] if parsed else None


class OaiPage:
    """One fetched ListRecords page. Iterate it once for its records; afterwards
    ``token`` holds the resumption token (None on the last page), ``complete_size`` and
    ``cursor`` what the server said about the whole list, ``no_records`` whether the
    server answered noRecordsMatch."""

    def __init__(self, body: bytes, url: str) -> None:
        self.body = body
        self.url = url
        self.token: str | None = None
        self.complete_size: int | None = None
        self.cursor: int | None = None
        self.no_records = False

    def __iter__(self) -> Iterator[OaiRecord]:
        if not self.body.strip():
            raise ParseError("empty OAI-PMH response", url=self.url)
        events = etree.iterparse(
            io.BytesIO(self.body),
            events=("end",),
            tag=(_RECORD, _TOKEN, _ERROR, _LIST),
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
        )
        listed = False
        try:
            for _, el in events:
                if el.tag == _RECORD:
                    yield _record(el, self.url)
                    # Drop what was read: the record, and the empty husks before it.
                    el.clear(keep_tail=False)
                    parent = el.getparent()
                    if parent is not None:
                        while el.getprevious() is not None:
                            del parent[0]
                elif el.tag == _TOKEN:
                    self.token = clean_text(el.text) or None
                    self.complete_size = _int(el.get("completeListSize"))
                    self.cursor = _int(el.get("cursor"))
                elif el.tag == _LIST:
                    listed = True
                else:
                    code = el.get("code") or "unknown"
                    if code != NO_RECORDS:
                        raise OaiError(code, clean_text(el.text), url=self.url)
                    self.no_records = True
        except etree.XMLSyntaxError as e:
            raise ParseError(f"malformed or truncated OAI-PMH page: {e}", url=self.url) from e
        root = events.root
        if root is None or root.tag != _ROOT:
            tag = root.tag if root is not None else "nothing"
            raise ParseError(f"not an OAI-PMH response (root <{tag}>)", url=self.url)
        if not (listed or self.no_records):
            raise ParseError("OAI-PMH response without <ListRecords>", url=self.url)


def _int(text: str | None) -> int | None:
    return int(text) if text and text.strip().isdigit() else None


def oai_error(body: bytes, url: str) -> OaiError | None:
    """The protocol error an (error status) body carries, if it is an OAI-PMH document."""
    if b"<error" not in body:
        return None
    try:
        for _ in OaiPage(body, url):
            pass
    except OaiError as e:
        return e
    except ParseError:
        return None
    return None


class OaiClient:
    """ListRecords pages from one OAI-PMH endpoint, through the arXiv pacing gate."""

    def __init__(
        self,
        fetcher: Fetcher,
        gate: PacingGate,
        *,
        url: str,
        retries: int = 5,
        base_backoff: float = 5.0,
        max_wait: float = 900.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.gate = gate
        self.url = url
        self.retries = retries
        self.base_backoff = base_backoff
        self.max_wait = max_wait
        self._sleep = sleep
        self.rng = rng or random.Random()

    def list_records(
        self,
        *,
        prefix: str,
        set_spec: str | None,
        since: dt.date | None,
        until: dt.date | None,
        token: str | None,
    ) -> OaiPage:
        """Fetch one page: the first of a harvest, or the one a resumption token names."""
        params: dict[str, str | int] = {"verb": "ListRecords"}
        if token:
            params["resumptionToken"] = token  # an exclusive argument (OAI-PMH 3.5)
        else:
            params["metadataPrefix"] = prefix
            if set_spec:
                params["set"] = set_spec
            if since:
                params["from"] = since.isoformat()
            if until:
                params["until"] = until.isoformat()

        def get() -> Response:
            left = self.gate.wait_left()
            if left > MAX_GATE_WAIT:
                # A long Retry-After: the Fetcher would refuse to wait at the gate; a
                # harvest has nothing else to do, so it waits here.
                log.info("OAI-PMH harvest waiting seconds=%.0f", left)
                self._sleep(left)
            return self.fetcher.get(self.url, params=params, accept=XML)

        def explain(e: HTTPStatusError) -> Exception | None:
            return oai_error(e.body, e.url or self.url) if e.body else None

        response = with_retries(get, retries=self.retries, back_off=self._back_off, explain=explain)
        return OaiPage(response.body, response.url)

    def _back_off(self, attempt: int, retry_after: float | None, why: str) -> None:
        delay = backoff_delay(self.base_backoff, attempt, self.rng)
        if retry_after is not None:
            delay = retry_after  # the server said when (arXiv's OAI flow control)
        if delay > self.max_wait:
            error = FetchError(f"arXiv asked to wait {delay:.0f}s ({why})", url=self.url)
            error.retry_after, error.retryable = delay, False
            raise error
        log.warning(
            "OAI-PMH request failed, retrying in %.1fs attempt=%d why=%s", delay, attempt + 1, why
        )
        self.gate.defer(delay)

"""Small immutable records that flow between tracker's stages.

``Entry``     what one source says about one paper or post, before storage.
``Item``      a stored paper or post: the merged entries plus identity and fields.
``Source``    one thing we fetch (a listing category, a query, a feed) and its state.
``Follow``    a reader's interest that points at a source.
``Response``  one HTTP answer, as the fetch seam hands it over.
``Digest*``   what a reader's digest for one day contains.
``Library*``  a reader's imported reference library (BibTeX, CSL JSON, RIS).
``Venue*``    a paper's journal reference, DOI or venue, noticed after it was stored.

All datetimes are aware and in UTC. This module imports nothing of ours.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class SourceKind(StrEnum):
    ARXIV_LISTING = "arxiv_listing"  # one arXiv category of the daily RSS listing
    ARXIV_QUERY = "arxiv_query"  # one arXiv API search expression
    FEED = "feed"  # one RSS/Atom/JSON feed URL
    ARXIV_AUTHOR = "arxiv_author"  # one scholar's arXiv author feed (author id or ORCID)
    OPENALEX = "openalex"  # one scholar's works on OpenAlex (author id, or "orcid:<id>")


class FollowKind(StrEnum):
    CATEGORY = "category"
    QUERY = "query"
    SCHOLAR = "scholar"
    FEED = "feed"
    DISCOVERY = "discovery"  # the whole day of arXiv, for cross-domain picks only


class ItemKind(StrEnum):
    PAPER = "paper"  # has an arXiv id
    POST = "post"  # anything else: blog posts, lab news


# How complete a source's metadata is; the richer entry wins when entries are merged.
LINK_ONLY = 1  # a feed post that links an arXiv paper: id and title at best
FEED_POST = 2  # an ordinary feed entry
LISTING = 3  # arXiv daily listing: full abstract, categories, announce type
API = 4  # arXiv API: everything, dates included


@dataclass(frozen=True, slots=True)
class FieldTag:
    """One research field of an item, with how sure we are and why."""

    field: str  # "Group > Field", e.g. "Computer Science > Systems"
    confidence: float  # 0..1; digests show fields from CONFIDENT up
    origin: str  # "category" | "model" | "keyword"
    basis: str  # the category code, the model version and its words, or the keywords


CONFIDENT = 0.5  # a field this sure is shown in digests and places an item there


class LinkKind(StrEnum):
    """What a paper's code or project link points to (``tracker.codelinks``)."""

    CODE = "code"
    MODEL = "model"
    DATASET = "dataset"
    DEMO = "demo"
    PROJECT = "project"


@dataclass(frozen=True, slots=True)
class CodeLink:
    """A repository, model, data set, demo or project page a paper points to."""

    kind: LinkKind
    url: str  # canonical https

    @property
    def label(self) -> str:
        """English, for the command line and exports (digests word it through gettext)."""
        names = {LinkKind.PROJECT: "project page", LinkKind.DATASET: "data"}
        return names.get(self.kind, self.kind.value)


@dataclass(frozen=True, slots=True)
class Entry:
    """One paper or post as one source describes it."""

    title: str
    summary: str = ""  # plain text
    authors: tuple[str, ...] = ()
    url: str | None = None
    arxiv_id: str | None = None  # version-less
    version: int | None = None
    pdf_url: str | None = None
    doi: str | None = None
    journal_ref: str | None = None
    comment: str | None = None
    primary_category: str | None = None
    categories: tuple[str, ...] = ()  # primary first when known
    published: dt.datetime | None = None  # first version / first publication
    updated: dt.datetime | None = None  # this version
    announce_type: str | None = None  # listing only: new | cross | replace | replace-cross
    guid: str | None = None
    quality: int = FEED_POST
    key: str = ""  # assigned at ingest: "arxiv:<id>" or "post:<digest>"

    @property
    def kind(self) -> ItemKind:
        return ItemKind.PAPER if self.arxiv_id else ItemKind.POST


@dataclass(frozen=True, slots=True)
class Item:
    """A stored paper or post."""

    id: int
    key: str
    kind: ItemKind
    title: str
    summary: str
    authors: tuple[str, ...]
    url: str | None
    arxiv_id: str | None
    version: int | None
    pdf_url: str | None
    doi: str | None
    journal_ref: str | None
    comment: str | None
    primary_category: str | None
    categories: tuple[str, ...]
    published: dt.datetime | None
    updated: dt.datetime | None
    first_seen: dt.datetime
    quality: int
    fields: tuple[FieldTag, ...] = ()
    code: tuple[CodeLink, ...] = ()  # found in the abstract and comments, stored at ingest

    @property
    def has_code(self) -> bool:
        return any(link.kind is LinkKind.CODE for link in self.code)

    def as_entry(self) -> Entry:
        return Entry(
            key=self.key,
            title=self.title,
            summary=self.summary,
            authors=self.authors,
            url=self.url,
            arxiv_id=self.arxiv_id,
            version=self.version,
            pdf_url=self.pdf_url,
            doi=self.doi,
            journal_ref=self.journal_ref,
            comment=self.comment,
            primary_category=self.primary_category,
            categories=self.categories,
            published=self.published,
            updated=self.updated,
            quality=self.quality,
        )


@dataclass(frozen=True, slots=True)
class Source:
    """Something we fetch, with the state that decides when it is next due."""

    id: int
    kind: SourceKind
    value: str  # the category, the query expression or the feed URL
    title: str | None
    next_check: dt.datetime
    last_checked: dt.datetime | None = None
    last_success: dt.datetime | None = None
    last_error: str | None = None
    last_error_at: dt.datetime | None = None
    error_count: int = 0
    claimed_by: str | None = None  # the worker fetching it now (several workers share the queue)
    claimed_until: dt.datetime | None = None  # ... until then, unless it releases it sooner


@dataclass(frozen=True, slots=True)
class Follow:
    """A reader's interest: a category, a query, a scholar's name or a feed."""

    reader: str
    kind: FollowKind
    value: str  # normalised: category code, query expression, scholar name, feed URL
    source_id: int
    origin: str = "config"  # "config" (synced from the config file) or "cli"
    groups: tuple[str, ...] = ()  # folder paths, "Science/Machine learning" (OPML)


class RuleAction(StrEnum):
    """What a reader's rule does: mute removes what it matches from their digest; must
    keeps what one follow brings only when it matches."""

    MUTE = "mute"
    MUST = "must"


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of a reader's; exactly one of text, author, category, feed (mute) or a
    follow and a text (must)."""

    action: RuleAction
    text: str | None = None
    author: str | None = None
    category: str | None = None
    feed: str | None = None  # a followed feed's URL
    follow: tuple[FollowKind, str] | None = None  # must: the follow it narrows
    search: bool = False  # mute in the reader's search results too
    origin: str = "config"  # "config" or "cli"
    id: int | None = None  # stored rules (``tracker mute``) have one

    def describe(self) -> str:
        if self.action is RuleAction.MUST and self.follow:
            kind, value = self.follow
            return f"{kind.value} {value} must match {self.text}"
        what = (
            f"text {self.text}"
            if self.text
            else f"author {self.author}"
            if self.author
            else f"category {self.category}"
            if self.category
            else f"feed {self.feed}"
        )
        return f"mute {what}" + (" (also in search)" if self.search else "")


@dataclass(frozen=True, slots=True)
class Sighting:
    """That a source delivered an item, and how (announce type from listings)."""

    item_id: int
    source_id: int
    seen_at: dt.datetime
    announce_type: str | None = None


@dataclass(frozen=True, slots=True)
class Response:
    """One HTTP answer as the fetch seam hands it over."""

    url: str  # final URL after redirects
    status: int
    body: bytes
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class CacheValidators:
    """ETag and Last-Modified remembered for conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """What ``tracker status`` shows for one source."""

    source: Source
    item_count: int
    followers: tuple[str, ...]
    unseen_days: tuple[dt.date, ...] = ()  # listing days not fetched yet (a gap)


@dataclass(frozen=True, slots=True)
class SearchFilters:
    author: str | None = None
    field: str | None = None
    category: str | None = None
    source: str | None = None  # source kind or a substring of its value
    since: dt.date | None = None
    until: dt.date | None = None
    saved_by: str | None = None  # only items saved by this reader
    has_code: bool = False  # only papers that link a code repository


NO_FILTERS = SearchFilters()


@dataclass(frozen=True, slots=True)
class SearchHit:
    item: Item
    score: float
    snippet: str
    saved: bool = False


@dataclass(frozen=True, slots=True)
class Detail:
    """One fact behind a reason, as data: a code (``tracker.reasons``) and its values,
    e.g. ("cross-list"), ("coauthor", ("A. Gu",)), ("similar-saved", (), 2). The
    digest's view words it in the reader's language."""

    code: str
    values: tuple[str, ...] = ()
    count: int = 0


@dataclass(frozen=True, slots=True)
class Reason:
    """Why an item is in a reader's digest: the follow it matched, and what supports
    the match (a cross-list, how a scholar's paper was recognised, a ranking note)."""

    kind: FollowKind
    value: str
    details: tuple[Detail, ...] = ()


@dataclass(frozen=True, slots=True)
class RankReason:
    """Why an item ranks high for a reader: the nearest of the reader's own papers and
    the words and phrases the two share, or (``kind`` "words") the item's words that
    weigh most for the reader. Data, not a sentence: the digest's view words it."""

    kind: str  # the nearest paper's evidence: saved, up, library, scholar, follow; or words
    title: str = ""  # that paper's title
    detail: str = ""  # its scholar, category or query
    terms: tuple[str, ...] = ()

    def as_json(self) -> list[object]:
        return [self.kind, self.title, self.detail, list(self.terms)]

    @classmethod
    def from_json(cls, value: object) -> RankReason | None:
        if not isinstance(value, list) or len(value) != 4:
            return None
        kind, title, detail, terms = value
        return cls(str(kind), str(title), str(detail), tuple(str(t) for t in terms or ()))

    def describe(self) -> str:
        """English, for logs and the command line (digests word it through gettext)."""
        shared = ", ".join(self.terms)
        if self.kind == "words":
            return f"words you read about: {shared}"
        near = {
            "saved": f"close to your saved '{self.title}'",
            "up": f"close to '{self.title}', which you rated up",
            "library": f"close to '{self.title}' in your library",
            "scholar": f"close to '{self.title}' by {self.detail}, whom you follow",
            "follow": f"close to '{self.title}' from your {self.detail}",
        }.get(self.kind, f"close to '{self.title}'")
        return f"{near} (shared: {shared})" if shared else near


@dataclass(frozen=True, slots=True)
class DigestEntry:
    item: Item
    reasons: tuple[Reason, ...]
    followed_authors: tuple[str, ...] = ()
    announce_type: str | None = None
    score: float | None = None  # relevance to the reader (0: a usual paper), when ranked
    note: RankReason | None = None  # why it is a pick (top picks, cross-domain picks)


@dataclass(frozen=True, slots=True)
class DigestSection:
    title: str
    kind: str  # "scholars" | "field" | "cross" | "revised"
    entries: tuple[DigestEntry, ...]


@dataclass(frozen=True, slots=True)
class LibraryRecord:
    """One entry of a reader's reference library, as an exported file gives it."""

    title: str
    abstract: str = ""
    authors: tuple[str, ...] = ()
    year: int | None = None
    arxiv_id: str | None = None  # version-less
    doi: str | None = None  # lower case, without "https://doi.org/"


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    """A stored library entry: the stored item it matched, if any."""

    id: int
    record: LibraryRecord
    item: Item | None


@dataclass(frozen=True, slots=True)
class LibraryImport:
    """What importing a library file did."""

    entries: int  # in the file, with a title or an identifier
    matched: int  # linked to a stored item (by arXiv id, DOI or title)
    unmatched: int  # kept as texts of their own
    new: int  # entries not imported before
    skipped: int = 0  # without a title or identifier


@dataclass(frozen=True, slots=True)
class Delivery:
    """One channel of one digest: written or sent, waiting, or given up."""

    id: int
    reader: str
    day: dt.date
    channel: str  # "markdown" | "email"
    state: str  # "pending" | "sent" | "failed" | "skipped"
    attempts: int
    next_attempt: dt.datetime
    last_error: str | None = None
    sent_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class RisingPhrase:
    """A phrase whose share of papers in a reader's neighbouring fields grew this week."""

    phrase: str
    papers: int  # this week's papers using it
    share: float  # of this week's papers
    before: float  # of the earlier weeks' papers
    examples: tuple[tuple[str, str], ...] = ()  # (link or arXiv id, title) of 1-2 papers

    def as_json(self) -> list[object]:
        return [self.phrase, self.papers, self.share, self.before, [list(e) for e in self.examples]]

    @classmethod
    def from_json(cls, value: object) -> RisingPhrase | None:
        if not isinstance(value, list) or len(value) != 5:
            return None
        phrase, papers, share, before, examples = value
        pairs = tuple((str(a), str(b)) for a, b in examples or ())
        return cls(str(phrase), int(papers), float(share), float(before), pairs)


class VenueKind(StrEnum):
    """What a venue event says a paper got: arXiv's journal-ref, a DOI, or the name of
    the journal or conference that published it (OpenAlex's primary location)."""

    JOURNAL_REF = "journal_ref"
    DOI = "doi"
    VENUE = "venue"


@dataclass(frozen=True, slots=True)
class VenueChange:
    """A venue a stored paper got, as one source told it (not stored yet)."""

    kind: VenueKind
    value: str
    source: str  # "arxiv" (API), "arxiv listing", "oai", "openalex", "feed"


@dataclass(frozen=True, slots=True)
class VenueEvent:
    """A stored venue change: recorded once per (item, kind, value)."""

    id: int
    item_id: int
    kind: VenueKind
    value: str
    source: str
    noticed_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PublishedEntry:
    """One paper of a digest's "Now published": the item and what it got."""

    item: Item
    events: tuple[VenueEvent, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    reader: str
    day: dt.date
    cutoff: dt.datetime
    sections: tuple[DigestSection, ...] = ()
    sources_failing: tuple[str, ...] = field(default=())
    first: bool = False  # the reader's first digest (no earlier one to be "since")
    rising: tuple[RisingPhrase, ...] = ()  # the weekly "Rising across fields", when due
    removed: int = 0  # items the reader's mute and must rules kept out
    weekly: bool = False  # a weekly digest (the week's top picks), beside the daily ones
    published: tuple[PublishedEntry, ...] = ()  # "Now published": venues noticed since

    @property
    def item_count(self) -> int:
        return sum(len(s.entries) for s in self.sections)

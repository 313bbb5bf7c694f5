"""The digest as one view model: what every renderer shows, decided once.

``build_view`` turns a ``Digest`` (what is in it and why) into a ``DigestView``: the
header, the counts, the sections in order with their headings and intros, each entry
with what is shown of it (the authors kept when a long list is cut, the start of the
abstract, the fields confident enough to show, the links that are safe to show) and
whether it is a one-line entry, and the footer. The Markdown file, both parts of the
e-mail and the web page are templates over this one structure, so they cannot
disagree on what a digest holds; the templates only format (``tracker.digest.render``).

Every text the view composes (headings, intros, the summary, the day, reasons and
their details, arXiv's announcement types, the kinds of failing sources) goes through
the ``Language`` it is given (English by default), so a translation needs no change
here. Titles, names, abstracts, identifiers, field names and a failing source's own
error stay as they are.

Pure: no I/O here, no clock.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tracker.digest.language import ENGLISH, N_, Language
from tracker.digest.language import Translator as Translator  # what wording needs
from tracker.digest.links import safe_link
from tracker.digest.picks import RisingView, more_command, pick_text, rising_views
from tracker.digest.published import PublishedView, published_note, published_views
from tracker.digest.wording import announce_label, failing_text, reason_text
from tracker.models import (
    CONFIDENT,
    Digest,
    DigestEntry,
    DigestSection,
    Item,
    ItemKind,
    LinkKind,
)

MAX_AUTHORS = 8
# A sentence ends at ". ", "! " or "? " before a capital, a digit, a bracket or a quote.
_SENTENCE_END = re.compile(r"[.!?]\s+(?=[A-Z0-9(\[\"'])")
# Abbreviations after which a full stop does not end a sentence (looked for in the last
# ``_ABBREVIATION_TAIL`` characters: longer than any of them and the letter before).
_ABBREVIATIONS = re.compile(
    r"\b(?:e\.g|i\.e|et al|etc|cf|vs|Fig|Figs|Eq|Eqs|Sec|Ref|Refs|resp|approx|Dr|Prof|No|St)\.$"
)
_ABBREVIATION_TAIL = 12


_LINK_LABELS = {
    LinkKind.CODE: N_("code"),
    LinkKind.MODEL: N_("model"),
    LinkKind.DATASET: N_("data"),
    LinkKind.DEMO: N_("demo"),
    LinkKind.PROJECT: N_("project page"),
}
# The order of the summary's counts; "cross-more" counts as "cross".
SUMMARY_KINDS = ("scholars", "field", "cross", "other", "revised")


@dataclass(frozen=True, slots=True)
class Presentation:
    """How much of each entry is shown (``[digest]`` settings)."""

    sentences: int = 2  # of the abstract
    max_chars: int = 400  # of the abstract, cut at a word
    max_authors: int = MAX_AUTHORS  # longer lists are cut, keeping followed scholars
    section_items: int | None = None  # entries shown per section; the rest as a count
    more_lines: int | None = None  # lines of "More from other fields" shown


@dataclass(frozen=True, slots=True)
class Link:
    """A further link of an entry (code, project page); ``url`` passed ``safe_link``."""

    label: str
    url: str


@dataclass(frozen=True, slots=True)
class EntryView:
    item_id: int
    key: str
    is_paper: bool
    title: str
    link: str | None  # the title's link: a safe http(s) URL, or None (shown as text)
    authors: tuple[str, ...]  # those shown
    followed: tuple[str, ...]  # of those, the followed scholars (marked)
    authors_total: int  # the item's number of authors (more than shown: "et al.")
    categories: tuple[str, ...]
    fields: tuple[str, ...]  # confident enough to show
    arxiv_id: str | None
    version: int | None
    abs_url: str | None  # safe, or None
    pdf_url: str | None  # safe, or None
    announce: str | None  # arXiv's announcement type when it is news ("replace", "cross")
    abstract: str  # its first sentences, plain text
    reasons: tuple[str, ...]  # why it is there, one text per follow it matched
    why: str = ""  # the reasons as one text
    announce_label: str | None = None  # ``announce`` as the digest shows it
    compact: bool = False  # one line: title, arXiv id, fields, why
    links: tuple[Link, ...] = ()
    score: float | None = None  # relevance to the reader, when ranked
    pick_reason: str | None = None  # why it is a top pick, when it is one

    @property
    def authors_cut(self) -> bool:
        return self.authors_total > len(self.authors)

    @property
    def arxiv_ref(self) -> str | None:
        """ "2411.01234v2" (the version when known), or None for a post."""
        if not self.arxiv_id:
            return None
        return f"{self.arxiv_id}v{self.version}" if self.version else self.arxiv_id


@dataclass(frozen=True, slots=True)
class SectionView:
    kind: str  # "scholars" | "field" | "cross" | "cross-more" | "other" | "revised" | ...
    name: str  # as recorded: the field, or the section's own name
    title: str  # the heading shown
    intro: str | None
    entries: tuple[EntryView, ...]
    total: int  # entries the section has; more than shown when it was cut
    compact: bool = False  # one line per entry
    more_hint: str | None = None  # where the rest is when cut: a command or a page
    more_link: str | None = None  # the same as a safe link, when there is one

    @property
    def shown(self) -> int:
        return len(self.entries)

    @property
    def hidden(self) -> int:
        return self.total - len(self.entries)


@dataclass(frozen=True, slots=True)
class Header:
    reader: str
    day: dt.date
    day_label: str  # "Thursday 28 November 2024", in the digest's language
    cutoff: dt.datetime
    first: bool  # the reader's first digest
    weekly: bool = False  # the weekly digest beside the daily ones


@dataclass(frozen=True, slots=True)
class Summary:
    total: int
    counts: tuple[tuple[str, int], ...]  # (kind, entries) in ``SUMMARY_KINDS`` order
    text: str  # "8 new items: 1 from scholars you follow, ..."


@dataclass(frozen=True, slots=True)
class Footer:
    failing: tuple[str, ...]  # sources that could not be read: "feed Lab: HTTP 503"
    notes: tuple[str, ...] = ()  # further lines ("3 items removed by your rules")
    followed_marked: bool = False  # some author is marked as a followed scholar


@dataclass(frozen=True, slots=True)
class DigestView:
    header: Header
    summary: Summary
    sections: tuple[SectionView, ...]
    footer: Footer
    language: str = "en"  # as in ``[[readers]] language``
    tag: str = "en"  # its BCP 47 tag ("zh-Hans"): <html lang>, Content-Language
    rising: tuple[RisingView, ...] = ()  # the weekly "Rising across fields"
    published: tuple[PublishedView, ...] = ()  # "Now published": venues noticed since

    @property
    def entries(self) -> Iterator[EntryView]:
        return (e for s in self.sections for e in s.entries)


# --- pieces ---------------------------------------------------------------------------


def first_sentences(text: str, sentences: int, max_chars: int) -> str:
    """The first sentences of an abstract, cut at a word boundary if still too long."""
    # Only the start can be shown: look at little more of a long abstract than that
    # (twice as much where runs of spaces or line breaks shrink it).
    look = max_chars + 64
    head = " ".join(text[:look].split())
    if len(head) <= max_chars + 2 and len(text) > look:
        look = 2 * max_chars
        head = " ".join(text[:look].split())
    if not head:
        return ""
    parts: list[str] = []
    start = 0
    # A sentence that ends past max_chars is cut anyway: no need to find where.
    for end in _SENTENCE_END.finditer(head, 0, max_chars + 3):
        sentence = head[start : end.start() + 1]
        if sentence[-1] == "." and _ABBREVIATIONS.search(sentence[-_ABBREVIATION_TAIL:]):
            continue  # "et al. show": the sentence goes on
        parts.append(sentence)
        start = end.end()
        if len(parts) == sentences:
            break
    more = start < len(head)
    if len(parts) < sentences and more:
        parts.append(head[start:])
        more = False
    out = " ".join(parts)
    if len(out) > max_chars:
        cut = out[:max_chars].rsplit(" ", 1)[0].rstrip(",;:")
        out = cut + " …"
    elif more or len(text) > look:
        out += " …"
    return out


def confident_fields(item: Item) -> tuple[str, ...]:
    """The fields a digest shows: those tagged with enough confidence."""
    return tuple(t.field for t in item.fields if t.confidence >= CONFIDENT)


def shown_authors(authors: Sequence[str], followed: Sequence[str], most: int) -> tuple[str, ...]:
    """The authors shown: all up to ``most``; of a longer list the first ``most - 1``
    and every followed scholar after them."""
    if len(authors) <= most:
        return tuple(authors)
    marked = set(followed)
    return (*authors[: most - 1], *(a for a in authors[most - 1 :] if a in marked))


def code_links(item: Item, t: Translator) -> tuple[Link, ...]:
    """The paper's code and project links that are safe to show, labelled."""
    found: list[Link] = []
    for link in item.code:
        url = safe_link(link.url)
        if url:
            found.append(Link(t.gettext(_LINK_LABELS[link.kind]), url))
    return tuple(found)


def entry_view(
    entry: DigestEntry, p: Presentation, t: Language, *, compact: bool = False
) -> EntryView:
    item = entry.item
    paper = item.kind is ItemKind.PAPER and bool(item.arxiv_id)
    link = safe_link(item.url)
    announce = entry.announce_type if entry.announce_type not in (None, "new") else None
    reasons = reason_text(entry, t)
    return EntryView(
        item_id=item.id,
        key=item.key,
        is_paper=paper,
        title=item.title,
        link=link,
        authors=shown_authors(item.authors, entry.followed_authors, p.max_authors),
        followed=entry.followed_authors,
        authors_total=len(item.authors),
        categories=item.categories,
        fields=confident_fields(item),
        arxiv_id=item.arxiv_id if paper else None,
        version=item.version if paper else None,
        abs_url=link if paper else None,
        pdf_url=safe_link(item.pdf_url) if paper else None,
        announce=announce if paper else None,
        abstract="" if compact else first_sentences(item.summary, p.sentences, p.max_chars),
        reasons=reasons,
        # Translators: between the reasons of one entry ("category cs.DC; query ...")
        why=t.pgettext("reasons", "; ").join(reasons),
        announce_label=announce_label(announce, t) if paper and announce else None,
        compact=compact,
        links=() if compact else code_links(item, t),
        score=entry.score,
        pick_reason=pick_text(entry.note, t),
    )


def section_title(section: DigestSection, t: Translator) -> str:
    if section.kind == "top":
        return t.gettext("Top picks")
    if section.kind == "week-top":
        return t.gettext("Top picks of the week")
    if section.kind == "scholars":
        return t.gettext("Followed scholars")
    if section.kind == "cross":
        return t.gettext("Cross-domain: %(field)s") % {"field": section.title}
    if section.kind == "cross-more":
        return t.gettext("More from other fields")
    if section.kind == "other":
        return t.gettext("Other items")
    if section.kind == "revised":
        return t.gettext("New versions")
    return section.title  # a field, or a kind this version does not know


def summary(digest: Digest, t: Language, *, first: bool) -> Summary:
    counts = {kind: 0 for kind in SUMMARY_KINDS}
    for s in digest.sections:
        kind = s.kind.removesuffix("-more")
        if kind in counts:
            counts[kind] += len(s.entries)
    total = digest.item_count
    if digest.weekly:
        text = (
            t.ngettext(
                "The week's %(num)d best item from your digests.",
                "The week's %(num)d best items from your digests.",
                total,
            )
            % {"num": total}
            if total
            else t.gettext("No digest this week had anything to pick.")
        )
    elif total == 0:
        text = (
            t.gettext("Nothing new yet: this is your first digest.")
            if first
            else t.gettext("Nothing new since your last digest.")
        )
    else:
        n = counts
        labels = {
            "scholars": t.ngettext(
                "%(num)d from scholars you follow",
                "%(num)d from scholars you follow",
                n["scholars"],
            ),
            "field": t.ngettext("%(num)d in your fields", "%(num)d in your fields", n["field"]),
            "cross": t.ngettext(
                "%(num)d from neighbouring fields",
                "%(num)d from neighbouring fields",
                n["cross"],
            ),
            "other": t.ngettext("%(num)d other", "%(num)d other", n["other"]),
            "revised": t.ngettext("%(num)d new version", "%(num)d new versions", n["revised"]),
        }
        parts = [labels[k] % {"num": n} for k, n in counts.items() if n]
        head = t.ngettext("%(num)d new item", "%(num)d new items", total) % {"num": total}
        # Translators: between the counts of the summary ("1 in your fields, 2 other")
        joined = t.pgettext("summary", ", ").join(parts)
        text = t.gettext("%(total)s: %(parts)s.") % {"total": head, "parts": joined}
    failing = len(digest.sources_failing)
    if failing:
        note = t.ngettext(
            "%(num)d source could not be read (listed at the end).",
            "%(num)d sources could not be read (listed at the end).",
            failing,
        )
        # Translators: the summary's counts, then the sentence on failing sources
        text = t.gettext("%(counts)s %(failing)s") % {
            "counts": text,
            "failing": note % {"num": failing},
        }
    if digest.published:
        text = t.gettext("%(counts)s %(failing)s") % {
            "counts": text,
            "failing": published_note(len(digest.published), t),
        }
    return Summary(total, tuple(counts.items()), text)


# --- the view -------------------------------------------------------------------------


def build_view(
    digest: Digest,
    presentation: Presentation = Presentation(),
    language: Language = ENGLISH,
) -> DigestView:
    """Everything a renderer shows of a digest, in order, in ``language``."""
    t, p = language, presentation
    sections: list[SectionView] = []
    cross_intro = False
    for section in digest.sections:
        compact = section.kind == "cross-more"
        intro = None
        if section.kind == "cross" and not cross_intro:
            intro = t.gettext("From fields outside your own, matching what you follow.")
            cross_intro = True
        elif compact:
            intro = t.gettext("Also from other fields, matching what you follow.")
        # picks are few by construction; a long section shows its best entries
        limit = p.more_lines if compact else p.section_items
        if section.kind in ("top", "cross"):
            limit = None
        shown = section.entries[:limit]
        entries = tuple(entry_view(e, p, t, compact=compact) for e in shown)
        cut = len(shown) < len(section.entries)
        sections.append(
            SectionView(
                kind=section.kind,
                name=section.title,
                title=section_title(section, t),
                intro=intro,
                entries=entries,
                total=len(section.entries),
                compact=compact,
                more_hint=more_command(digest.reader, digest.day, section.title) if cut else None,
            )
        )
    header = Header(
        digest.reader, digest.day, t.day(digest.day), digest.cutoff, digest.first, digest.weekly
    )
    notes: list[str] = []
    if digest.removed:
        note = t.ngettext(
            "%(num)d item removed by your rules",
            "%(num)d items removed by your rules",
            digest.removed,
        )
        notes.append(note % {"num": digest.removed})
    footer = Footer(
        failing=tuple(failing_text(s, t) for s in digest.sources_failing),
        notes=tuple(notes),
        followed_marked=any(e.followed_authors for s in digest.sections for e in s.entries),
    )
    return DigestView(
        header,
        summary(digest, t, first=digest.first),
        tuple(sections),
        footer,
        language.code,
        language.tag,
        rising_views(digest.rising, t),
        published_views(digest.published, t),
    )

"""What readers follow, as ``tracker follows`` and ``tracker unfollow`` need it: one
record per follow (a scholar once, with every source that serves them), and where the
config file declares a follow, so that ``unfollow`` can say how to remove it.

Composition: reads storage and settings; no printing here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tracker.config import Settings
from tracker.library.opml import OpmlFollow
from tracker.models import Follow, FollowKind, Source, SourceKind
from tracker.storage import Storage

ORIGINS = ("config", "cli")  # the order origins are named in


@dataclass(frozen=True, slots=True)
class FollowSummary:
    """One follow of a reader and the sources that serve it (a scholar has several)."""

    reader: str
    kind: FollowKind
    value: str
    origin: str  # "config", "cli", or "config+cli" when both declare it
    sources: tuple[Source, ...]
    groups: tuple[str, ...] = ()  # folder paths (OPML), "Science/Machine learning"


def follow_summaries(storage: Storage, reader: str | None = None) -> list[FollowSummary]:
    """The follows of one reader (or all), each once, in reader, kind, value order."""
    sources = {s.id: s for s in storage.followed_sources()}
    grouped: dict[tuple[str, FollowKind, str], list[Follow]] = {}
    for f in storage.follows(reader):
        grouped.setdefault((f.reader, f.kind, f.value), []).append(f)
    found = []
    for (who, kind, value), rows in grouped.items():
        origins = {f.origin for f in rows}
        found.append(
            FollowSummary(
                reader=who,
                kind=kind,
                value=value,
                origin="+".join(
                    o for o in (*ORIGINS, *sorted(origins - set(ORIGINS))) if o in origins
                ),
                sources=tuple(
                    sources[i] for i in dict.fromkeys(f.source_id for f in rows) if i in sources
                ),
                groups=tuple(dict.fromkeys(g for f in rows for g in f.groups)),
            )
        )
    return found


def describe_source(source: Source) -> str:
    """A source as a reader knows it: "arXiv author dao_t_1", "ORCID 0000-…", ..."""
    if source.kind is SourceKind.ARXIV_AUTHOR:
        return f"arXiv author {source.value}"
    if source.kind is SourceKind.OPENALEX:
        if source.value.startswith("orcid:"):
            return "ORCID " + source.value.removeprefix("orcid:")
        return f"OpenAlex {source.value}"
    if source.kind is SourceKind.ARXIV_QUERY:
        return f"arXiv search {source.value}"
    if source.kind is SourceKind.ARXIV_LISTING:
        return f"arXiv listing {source.value}"
    return f"feed {source.value}"


def config_place(settings: Settings, reader: str, kind: FollowKind, value: str) -> str | None:
    """Where the config file declares a reader's follow (``value`` in its stored form):
    "readers[0].follows.categories", "readers[0].follows.scholars[2]", ...; None when
    it does not."""
    for i, r in enumerate(settings.readers):
        if r.name != reader:
            continue
        where = f"readers[{i}].follows"
        f = r.follows
        if kind is FollowKind.CATEGORY and value in f.categories:
            return f"{where}.categories"
        if kind is FollowKind.QUERY and value in f.queries:
            return f"{where}.queries"
        if kind is FollowKind.SCHOLAR:
            for j, scholar in enumerate(f.scholars):
                if scholar.name == value:
                    return f"{where}.scholars[{j}]"
        if kind is FollowKind.FEED:
            for j, feed in enumerate(f.feeds):
                if feed.url == value:
                    return f"{where}.feeds[{j}]"
    return None


# --- OPML ------------------------------------------------------------------------------


def opml_follows(summaries: Sequence[FollowSummary]) -> list[OpmlFollow]:
    """A reader's follows as OPML outlines: a scholar with every id and feed."""
    found = []
    for f in summaries:
        if f.kind is not FollowKind.SCHOLAR:
            title = next((s.title for s in f.sources if s.title), None)
            found.append(OpmlFollow(f.kind, f.value, title, f.groups))
            continue
        by_kind: dict[SourceKind, list[str]] = {}
        for s in f.sources:
            by_kind.setdefault(s.kind, []).append(s.value)
        ids = by_kind.get(SourceKind.OPENALEX, [])
        found.append(
            OpmlFollow(
                f.kind,
                f.value,
                None,
                f.groups,
                arxiv=tuple(by_kind.get(SourceKind.ARXIV_AUTHOR, [])),
                orcid=tuple(i.removeprefix("orcid:") for i in ids if i.startswith("orcid:")),
                openalex=tuple(i for i in ids if not i.startswith("orcid:")),
                feeds=tuple(by_kind.get(SourceKind.FEED, [])),
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class OpmlImport:
    """What an OPML import did (or, dry, would do)."""

    added: int  # follows new to the reader
    known: int  # follows the reader had (their groups are added)
    skipped: tuple[str, ...]  # outlines left out (with --skip-invalid), with why
    groups: int  # distinct folders

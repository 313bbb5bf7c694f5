"""The scholar part of a fetch cycle: their arXiv author feeds, their OpenAlex works,
and attributing what was stored to the scholars followed.

Request economy: OpenAlex ids are OR-ed ``batch`` at a time; arXiv author feeds (one
request each, through the arXiv pacing gate) are read on their own slow schedule and
at most ``author_feeds_per_cycle`` per cycle, so many scholars never crowd out the
daily listing and searches. Attribution: by id for what a scholar's id-keyed source or
own feed delivered, by name with evidence (``tracker.fetch.attribution``) for any other arXiv
paper or OpenAlex work with a matching author; rejections are never undone.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from tracker import decide, ids
from tracker.config import Settings
from tracker.fetch.attribution import Profile, assess, learn
from tracker.fetch.outcome import Outcome
from tracker.models import CacheValidators, Entry, Source, SourceKind
from tracker.names import surname_key
from tracker.sources.arxiv_xml import parse_api
from tracker.sources.http import Fetcher
from tracker.sources.openalex import OpenAlexClient
from tracker.storage import Seeds, Storage

log = logging.getLogger(__name__)
OVERLAP = dt.timedelta(days=7)  # OpenAlex dates works late: ask again this far back


def _basis(source: Source) -> str | None:
    if source.kind in (SourceKind.ARXIV_AUTHOR, SourceKind.OPENALEX):
        return "id"
    if source.kind is SourceKind.FEED:
        return "feed"
    return None  # a name search: evidence needed


def _describe(source: Source) -> str:
    if source.kind is SourceKind.ARXIV_AUTHOR:
        return f"arXiv author {source.value}"
    if source.kind is SourceKind.OPENALEX:
        return (
            ("ORCID " + source.value.removeprefix("orcid:"))
            if source.value.startswith("orcid:")
            else f"OpenAlex {source.value}"
        )
    return f"their feed {source.title or source.value}"


@dataclass
class Attributor:
    """Attributes stored items to followed scholars; built once per cycle."""

    storage: Storage
    clock: Callable[[], dt.datetime]

    def __post_init__(self) -> None:
        self.by_source: dict[int, list[str]] = {}
        self.sources: dict[int, Source] = {}
        self.by_surname: dict[tuple[str, ...], list[str]] = {}
        self._profiles: dict[str, Profile] = {}
        self._seeds = self.storage.seeds()
        for name, sources in self.storage.followed_scholars().items():
            for source in sources:
                self.by_source.setdefault(source.id, []).append(name)
                self.sources[source.id] = source
            for spelling in (name, *self._seeds.get(name, Seeds()).variants):
                self.by_surname.setdefault(surname_key(spelling), []).append(name)

    def profile(self, name: str) -> Profile:
        if name not in self._profiles:
            seeds = self._seeds.get(name, Seeds())
            seeded = Profile(name, seeds.variants, seeds.coauthors, frozenset(seeds.categories))
            known = [i.as_entry() for i in self.storage.known_work(name)]
            self._profiles[name] = learn(seeded, known) if known else seeded
        return self._profiles[name]

    def __call__(self, stored: Sequence[tuple[Entry, int, tuple[int, ...]]]) -> int:
        rows: list[tuple[str, int, str, str]] = []
        for entry, item_id, source_ids in stored:
            decided: set[str] = set()
            for sid in source_ids:
                source = self.sources.get(sid)
                basis = _basis(source) if source else None
                if source is None or basis is None:
                    continue
                for name in self.by_source.get(sid, []):
                    rows.append((name, item_id, basis, _describe(source)))
                    decided.add(name)
            if not (entry.arxiv_id or entry.doi):
                continue  # a post is someone's only through their own feed
            for author in entry.authors:
                # keyed loosely (Schütze, Schuetze, Schutze alike): assess decides
                for name in self.by_surname.get(surname_key(author), []):
                    if name in decided:
                        continue
                    found = assess(self.profile(name), entry)
                    if found:
                        rows.append((name, item_id, found.basis, found.evidence))
                        decided.add(name)
        if not rows:
            return 0
        added = self.storage.attribute(rows, self.clock())
        for name in {r[0] for r in rows if r[2] == "id"}:
            self._recheck(name)
        return added

    def _recheck(self, name: str) -> None:
        """More of their work is known: name matches made with less may not hold."""
        self._profiles.pop(name, None)
        profile = self.profile(name)
        wrong = [
            i.id for i in self.storage.name_matches(name) if assess(profile, i.as_entry()) is None
        ]
        if wrong:
            self.storage.drop_name_matches(name, wrong)
            log.info("name matches withdrawn scholar=%r count=%d", name, len(wrong))


def author_feed(
    source: Source,
    *,
    settings: Settings,
    fetcher: Fetcher,
    storage: Storage,
    clock: Callable[[], dt.datetime],
) -> Outcome:
    """Read one arXiv author feed (one request, through the arXiv pacing gate)."""
    a = settings.arxiv
    url = f"{a.author_url.rstrip('/')}/{source.value}.atom"
    response = fetcher.get(url, validators=storage.validators(url), accept="application/atom+xml")
    now = clock()
    next_check = decide.after_success(
        source.kind,
        now,
        settings.fetch.feed_interval,
        author_feed_interval=dt.timedelta(days=a.author_feed_days),
    )
    if response.not_modified:
        return Outcome((source,), next_check, now)
    page = parse_api(response.body)
    return Outcome(
        (source,),
        next_check,
        now,
        entries=[(replace(e, key=ids.item_key(e, "")), [source.id]) for e in page.entries],
        validators=(url, CacheValidators(response.etag, response.last_modified)),
    )


def openalex_batches(sources: Sequence[Source], size: int) -> list[tuple[str, list[Source]]]:
    """Due scholars' OpenAlex ids and ORCIDs, ``size`` per request: (filter key, sources)."""
    by_key: dict[str, list[Source]] = {"author.id": [], "author.orcid": []}
    for s in sources:
        by_key["author.orcid" if s.value.startswith("orcid:") else "author.id"].append(s)
    return [
        (key, group[start : start + size])
        for key, group in by_key.items()
        for start in range(0, len(group), max(1, size))
    ]


def openalex_works(
    key: str,
    batch: Sequence[Source],
    *,
    settings: Settings,
    client: OpenAlexClient,
    clock: Callable[[], dt.datetime],
) -> Outcome:
    """Works of one batch of scholars' OpenAlex ids (or ORCIDs: ``key``), each credited
    to the ids among its authors."""
    oa = settings.openalex
    since = decide.ask_since(
        [s.last_success for s in batch],
        clock(),
        overlap=OVERLAP,
        lookback=dt.timedelta(days=oa.lookback_days),
    ).date()
    wanted = {s.value.removeprefix("orcid:"): s for s in batch}
    works = client.works(key, list(wanted), since)
    rows: list[tuple[Entry, Sequence[int]]] = []
    for work in works:
        mine = work.orcids if key == "author.orcid" else work.author_ids
        hit = [wanted[v].id for v in mine if v in wanted]
        if hit:
            rows.append((replace(work.entry, key=ids.item_key(work.entry, "")), hit))
    now = clock()
    next_check = decide.after_success(SourceKind.OPENALEX, now, settings.fetch.feed_interval)
    return Outcome(tuple(batch), next_check, now, entries=rows)

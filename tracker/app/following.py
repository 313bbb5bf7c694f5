"""What readers follow, as the facade's commands change it: follows of every kind
(categories, queries, feeds, scholars by id or by name), the sources that serve them,
scholars' candidates and rejections, mute and must rules, and OPML import and export.

A mixin of ``Tracker`` (``app/core.py``), kept apart so the facade stays readable.
Every method that concerns a reader takes the reader's name (``None``: the only one).
Checks what a user typed and stores it; no fetching beyond the candidate picker's two
searches, no printing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import urlsplit

from tracker.app.follows import (
    FollowSummary,
    OpmlImport,
    config_place,
    follow_summaries,
    opml_follows,
)
from tracker.config import ScholarFollow, Settings, check_scholar
from tracker.digest.rules import check_rule
from tracker.errors import NotFoundError, SourceError, UsageError
from tracker.fetch.attribution import Candidate, candidates
from tracker.fetch.cycle import Ingestor
from tracker.ids import canonical_url
from tracker.library.opml import OpmlError, OpmlFollow, OpmlProblem, parse_opml, write_opml
from tracker.models import Follow, FollowKind, Item, Rule, SourceKind
from tracker.names import arxiv_author_term, name_key, split_name
from tracker.sources import arxiv_query as query
from tracker.sources.arxiv import WHOLE_DAY
from tracker.sources.openalex import AuthorMatch
from tracker.storage import FollowSpec, ScholarSummary, Seeds, Storage

log = logging.getLogger(__name__)


def scholar_specs(scholar: ScholarFollow) -> list[FollowSpec]:
    """The sources that serve a scholar: each stable id (arXiv author feed, OpenAlex by
    id or ORCID), their own feeds, and, only when no id is known, the arXiv name search."""
    name, kind = scholar.name, FollowKind.SCHOLAR
    specs = [FollowSpec(kind, name, SourceKind.ARXIV_AUTHOR, a) for a in scholar.arxiv]
    specs += [FollowSpec(kind, name, SourceKind.OPENALEX, o) for o in scholar.openalex]
    specs += [FollowSpec(kind, name, SourceKind.OPENALEX, f"orcid:{o}") for o in scholar.orcid]
    specs += [FollowSpec(kind, name, SourceKind.FEED, url) for url in scholar.feeds]
    if not scholar.has_ids:
        specs.append(FollowSpec(kind, name, SourceKind.ARXIV_QUERY, arxiv_author_term(name)))
    return specs


# Cross-domain picks from the whole day of arXiv: one listing request for every archive.
DISCOVERY = FollowSpec(
    FollowKind.DISCOVERY, "arXiv", SourceKind.ARXIV_LISTING, WHOLE_DAY, "all of arXiv"
)


def follow_spec(kind: FollowKind, value: str, title: str | None = None) -> FollowSpec:
    """The source that serves a follow. Scholars by name share an ``au:`` search
    (every T. Dao is one request); their own names filter the results."""
    if kind is FollowKind.CATEGORY:
        return FollowSpec(kind, value, SourceKind.ARXIV_LISTING, value)
    if kind is FollowKind.QUERY:
        return FollowSpec(kind, value, SourceKind.ARXIV_QUERY, value)
    if kind is FollowKind.SCHOLAR:
        return FollowSpec(kind, value, SourceKind.ARXIV_QUERY, arxiv_author_term(value))
    return FollowSpec(kind, value, SourceKind.FEED, value, title)


class Following:
    settings: Settings
    storage: Storage
    ingestor: Ingestor
    clock: Callable[[], dt.datetime]

    # --- follows ------------------------------------------------------------------------

    def sync_config_follows(self) -> None:
        """Make the database's config-origin follows match the config file."""
        now = self.clock()
        names = [r.name for r in self.settings.readers]
        dropped = self.storage.forget_readers(names)
        self.storage.forget_rules(names)
        if dropped:
            log.info("follows of readers no longer configured removed count=%d", dropped)
        for reader in self.settings.readers:
            f = reader.follows
            specs = (
                [follow_spec(FollowKind.CATEGORY, c) for c in f.categories]
                + [follow_spec(FollowKind.QUERY, q) for q in f.queries]
                + [spec for s in f.scholars for spec in scholar_specs(s)]
                + [follow_spec(FollowKind.FEED, feed.url, feed.title) for feed in f.feeds]
            )
            # picks are from fields other than the reader's own: they need own fields
            if self.settings.digest.discovers(reader) and (reader.fields or f.categories):
                specs.append(DISCOVERY)
            self.storage.sync_follows(reader.name, specs, now, origin="config")
            self.storage.sync_rules(reader.name, reader.rules, now)
            for s in f.scholars:
                if s.variants or s.coauthors or s.categories:
                    self.storage.set_seeds(s.name, Seeds(s.variants, s.coauthors, s.categories))

    def normalise_follow(self, kind: FollowKind, value: str) -> str:
        """Validate what a user typed for a follow and return its stored form."""
        value = value.strip()
        if kind is FollowKind.CATEGORY:
            fmap = self.settings.field_map
            if not fmap.knows(value):
                raise UsageError(
                    f"unknown arXiv category {value!r} (see {self.settings.fields_file})"
                )
            return fmap.canonical(value)
        if kind is FollowKind.QUERY:
            try:
                return query.normalise(value)
            except query.QuerySyntaxError as e:
                raise UsageError(f"not a valid arXiv query: {e}") from e
        if kind is FollowKind.SCHOLAR:
            if not split_name(value).surname:
                raise UsageError(f"{value!r} has no surname")
            return " ".join(value.split())
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"feed must be an http(s) URL, got {value!r}")
        return canonical_url(value)

    def follow(
        self, reader: str | None, kind: FollowKind, value: str, title: str | None = None
    ) -> bool:
        name = self.settings.reader(reader).name
        stored = self.normalise_follow(kind, value)
        if kind is FollowKind.SCHOLAR:
            return self.follow_scholar(name, ScholarFollow(stored))
        return self.storage.add_follow(name, follow_spec(kind, stored, title), self.clock())

    def follow_scholar(self, reader: str | None, scholar: ScholarFollow) -> bool:
        """Follow a scholar through every id and feed given (or their name alone)."""
        name = self.settings.reader(reader).name
        added = self.storage.add_follows(name, scholar_specs(scholar), self.clock())
        if scholar.variants or scholar.coauthors or scholar.categories:
            self.storage.set_seeds(
                scholar.name, Seeds(scholar.variants, scholar.coauthors, scholar.categories)
            )
        return added

    def scholar_candidates(self, name: str) -> tuple[list[Candidate], list[AuthorMatch]]:
        """Who a name may stand for: the people behind it in an arXiv search (grouped by
        co-authors) and OpenAlex's author matches (two requests)."""
        name = " ".join(name.split())
        papers = self.ingestor.arxiv.search(arxiv_author_term(name), None)
        found = candidates(name, papers)
        authors: list[AuthorMatch] = []
        if self.ingestor.openalex is not None:
            try:
                authors = self.ingestor.openalex.authors(name)
            except SourceError as e:
                log.warning("OpenAlex author search failed name=%r error=%s", name, e)
        return found, authors

    def scholars(self) -> list[ScholarSummary]:
        return self.storage.scholar_summaries()

    def followed_scholar(self, name: str) -> str:
        """The followed scholar a typed name stands for: the name as followed, or the
        same name typed otherwise ("Schütze, Hinrich" for "Hinrich Schuetze")."""
        followed = self.storage.followed_scholars()
        if name in followed:
            return name
        same = [n for n in followed if name_key(n) == name_key(name)]
        if len(same) != 1:
            raise NotFoundError(f"nobody follows a scholar named {name!r}")
        return same[0]

    def scholar_items(self, name: str, limit: int = 30) -> list[tuple[Item, str, str, bool]]:
        return self.storage.scholar_items(self.followed_scholar(name), limit)

    def reject(self, scholar: str, ref: str) -> Item:
        """Say an item is not this scholar's: it is never attributed to them again."""
        scholar = self.followed_scholar(scholar)
        item = self.storage.item(ref)
        self.storage.reject(scholar, item.id, self.clock())
        return item

    def unfollow(self, reader: str | None, kind: FollowKind, value: str) -> None:
        """Remove a follow added with ``follow``. One declared in the config file would
        come back at the next command: refused, saying where it is written."""
        name = self.settings.reader(reader).name
        stored = self.normalise_follow(kind, value)
        place = config_place(self.settings, name, kind, stored)
        if place is not None:
            raise UsageError(
                f"{name} follows {kind.value} {stored!r} through the config file "
                f"{self.settings.path} ({place}): remove it there; nothing changed "
                "(tracker unfollow removes follows added with tracker follow)"
            )
        self.storage.remove_follow(name, kind, stored, origin="cli")

    def follows(self, reader: str | None = None) -> list[Follow]:
        return self.storage.follows(reader)

    # --- mute and must rules ----------------------------------------------------------------

    def rules(self, reader: str | None) -> list[Rule]:
        return self.storage.rules(self.settings.reader(reader).name)

    def add_rule(self, reader: str | None, rule: Rule) -> Rule:
        """A mute or must rule of the reader's (checked like the config file's)."""
        name = self.settings.reader(reader).name
        problem = check_rule(rule)
        if problem:
            raise UsageError(problem)
        if rule.category:
            if not self.settings.field_map.knows_prefix(rule.category):
                raise UsageError(f"unknown arXiv category or archive {rule.category!r}")
            rule = replace(rule, category=self.settings.field_map.canonical(rule.category))
        if rule.feed:
            rule = replace(rule, feed=self.normalise_follow(FollowKind.FEED, rule.feed))
        if rule.follow:
            kind, value = rule.follow
            rule = replace(rule, follow=(kind, self.normalise_follow(kind, value)))
        return self.storage.add_rule(name, rule, self.clock())

    def remove_rule(self, reader: str | None, rule_id: int) -> Rule:
        return self.storage.remove_rule(self.settings.reader(reader).name, rule_id)

    def import_opml(
        self, reader: str | None, data: bytes, *, skip_invalid: bool = False, dry_run: bool = False
    ) -> OpmlImport:
        """Follow everything an OPML file lists, with its folders as groups, in one
        transaction. Every outline is checked first: unless ``skip_invalid``, one that
        cannot be followed stops the import with every problem listed (nothing changes)."""
        name = self.settings.reader(reader).name
        doc = parse_opml(data)
        problems = [str(p) for p in doc.problems]
        wanted: list[tuple[list[FollowSpec], tuple[str, ...]]] = []
        for f in doc.follows:
            try:
                wanted.append((self._opml_specs(f), f.groups))
            except UsageError as e:
                problems.append(f"{f.kind.value} {f.value!r}: {e}")
        if problems and not skip_invalid:
            raise OpmlError(
                f"nothing imported: {len(problems)} outline(s) cannot be followed "
                "(--skip-invalid imports the rest)",
                [OpmlProblem(None, p) for p in problems],
            )
        groups = len({g for _, gs in wanted for g in gs})
        if dry_run:
            have = {(f.kind, f.value) for f in self.storage.follows(name)}
            known = sum(1 for specs, _ in wanted if (specs[0].kind, specs[0].value) in have)
            return OpmlImport(len(wanted) - known, known, tuple(problems), groups)
        added, known = self.storage.import_follows(name, wanted, self.clock())
        return OpmlImport(added, known, tuple(problems), groups)

    def _opml_specs(self, f: OpmlFollow) -> list[FollowSpec]:
        if f.kind is not FollowKind.SCHOLAR:
            return [follow_spec(f.kind, self.normalise_follow(f.kind, f.value), f.title)]
        table = {
            "name": f.value,
            "arxiv": list(f.arxiv),
            "orcid": list(f.orcid),
            "openalex": list(f.openalex),
            "feeds": list(f.feeds),
        }
        return scholar_specs(check_scholar(table, self.settings.field_map))

    def export_opml(self, reader: str | None) -> bytes:
        """A reader's follows as an OPML 2.0 file another feed reader can import; tracker
        reads it back as the same follows, groups included."""
        name = self.settings.reader(reader).name
        follows = opml_follows(follow_summaries(self.storage, name))
        return write_opml(follows, title=f"tracker: {name}", created=self.clock())

    def follow_summaries(self, reader: str | None = None) -> list[FollowSummary]:
        """Each follow once (a scholar with every source that serves them)."""
        if reader is not None:
            reader = self.settings.reader(reader).name
        return follow_summaries(self.storage, reader)

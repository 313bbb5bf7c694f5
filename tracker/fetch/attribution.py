"""Following people: who wrote an item, told apart from namesakes.

A scholar is known by stable ids (arXiv author id, ORCID, OpenAlex id) and by name.
An item is attributed to a scholar:

- by **id** when a source keyed by one of their ids delivered it (their arXiv author
  feed, OpenAlex works by their id or ORCID), or by **feed** when it came from one of
  their own feeds: no doubt;
- by **name** only with evidence. Once something is known of their work (papers
  attributed by id, or a profile confirmed by the user: co-authors and usual
  categories), a namesake's paper must share a co-author or a category with it. With
  nothing known, the given name must be spelled out and equal ("Tri Dao", not
  "T. Dao"). Such attributions are marked "name match" in the digest, and a user can
  reject one for good.

Pure: no I/O here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tracker.models import Entry
from tracker.names import fold, given_names_match, same_person_name

MAX_CATEGORIES = 5  # a profile's usual categories: the most frequent ones
MIN_CATEGORY_SHARE = 0.1  # a category counts as usual from this share of their papers


@dataclass(frozen=True)
class Profile:
    """What is known of a followed scholar's work."""

    name: str
    variants: tuple[str, ...] = ()  # other spellings of their name
    coauthors: tuple[str, ...] = ()  # names of people they published with
    categories: frozenset[str] = frozenset()  # their usual arXiv categories

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.variants)

    @property
    def known(self) -> bool:
        return bool(self.coauthors or self.categories)


@dataclass(frozen=True)
class Attribution:
    scholar: str
    basis: str  # "id" | "feed" | "name"
    evidence: str = ""

    def describe(self) -> str:
        if self.basis == "name":
            return f"name match: {self.evidence}" if self.evidence else "name match"
        return self.evidence or self.basis


def their_author(profile: Profile, authors: Iterable[str]) -> str | None:
    """The author of an item who can be this scholar, by name."""
    for author in authors:
        if any(same_person_name(s, author) for s in profile.spellings):
            return author
    return None


def assess(profile: Profile, entry: Entry) -> Attribution | None:
    """Whether an item (found by name) is this scholar's, and why."""
    author = their_author(profile, entry.authors)
    if author is None:
        return None
    others = [a for a in entry.authors if a != author]
    shared = [a for a in others if any(same_person_name(c, a) for c in profile.coauthors)]
    categories = sorted(set(entry.categories) & profile.categories)
    evidence: list[str] = []
    if shared:
        evidence.append("co-author " + ", ".join(shared[:3]))
    if categories:
        evidence.append("usual category " + ", ".join(categories[:3]))
    if profile.known:
        if not evidence:
            return None  # a namesake: nothing in common with their known work
    elif any(given_names_match(s, author) for s in profile.spellings):
        evidence.append(f"full name {author}")
    else:
        return None  # only an initial and nothing else to go by
    return Attribution(profile.name, "name", "; ".join(evidence))


def learn(profile: Profile, entries: Sequence[Entry]) -> Profile:
    """A profile completed from papers known to be theirs (attributed by id)."""
    coauthors: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    for entry in entries:
        mine = their_author(profile, entry.authors)
        coauthors.update(a for a in entry.authors if a != mine)
        categories.update(set(entry.categories))
    usual = {
        c
        for c, n in categories.most_common(MAX_CATEGORIES)
        if n >= max(1, MIN_CATEGORY_SHARE * len(entries))
    }
    names = dict.fromkeys([*profile.coauthors, *coauthors])
    return Profile(
        profile.name, profile.variants, tuple(names), profile.categories | frozenset(usual)
    )


@dataclass(frozen=True)
class Candidate:
    """One person the name may stand for, as seen in search results."""

    spellings: tuple[str, ...]
    papers: int
    coauthors: tuple[str, ...]
    categories: tuple[str, ...]
    titles: tuple[str, ...] = field(default=())
    openalex: str | None = None  # an OpenAlex author id, when the match came from there
    orcid: str | None = None
    institution: str | None = None


def candidates(name: str, entries: Sequence[Entry], limit: int = 8) -> list[Candidate]:
    """People behind a name in search results, most papers first.

    Papers go together when they share a co-author (transitively), and a paper
    without co-authors joins the group whose spelling agrees on the full given name.
    Distinct groups are likely distinct people (namesakes).
    """
    probe = Profile(name)
    papers: list[tuple[Entry, str, set[str]]] = []
    for entry in entries:
        author = their_author(probe, entry.authors)
        if author is not None:
            papers.append((entry, author, {fold(a) for a in entry.authors if a != author}))
    parent = list(range(len(papers)))

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    first_with: dict[str, int] = {}
    for n, (_, _, others) in enumerate(papers):
        for other in others:
            if other in first_with:
                parent[root(n)] = root(first_with[other])
            else:
                first_with[other] = n
    for n, (_, author, others) in enumerate(papers):
        if not others:  # alone on the paper: go with someone of the same full name
            for m, (_, other_author, _) in enumerate(papers):
                if m != n and given_names_match(author, other_author):
                    parent[root(n)] = root(m)
                    break
    groups: dict[int, list[int]] = {}
    for n in range(len(papers)):
        groups.setdefault(root(n), []).append(n)
    found = []
    for members in groups.values():
        spellings: Counter[str] = Counter(papers[n][1] for n in members)
        coauthors: Counter[str] = Counter(
            a for n in members for a in papers[n][0].authors if a != papers[n][1]
        )
        categories: Counter[str] = Counter(c for n in members for c in papers[n][0].categories)
        found.append(
            Candidate(
                spellings=tuple(s for s, _ in spellings.most_common()),
                papers=len(members),
                coauthors=tuple(a for a, _ in coauthors.most_common(6)),
                categories=tuple(c for c, _ in categories.most_common(4)),
                titles=tuple(papers[n][0].title for n in members[:3]),
            )
        )
    found.sort(key=lambda c: -c.papers)
    return found[:limit]

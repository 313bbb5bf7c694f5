"""Exactly once, whatever arrives and whenever digests are built (Hypothesis).

Random sequences of events go through the real storage (a SQLite file) and the real
digest building of a wired tracker: papers, new versions of known papers, duplicates
of what was already stored (from the same or another source) and feed posts arrive in
the sources of two readers; time passes; ada's digests are built when due (the
worker's path) or asked for (``tracker digest``). Then:

- no item is ever in two of ada's digests;
- after one last digest, every item sighted in one of ada's followed sources is in
  exactly one of her digests, and nothing else is (bob's feed is not hers).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import Clock, write_config
from tracker import ids
from tracker.app.core import Tracker, make_tracker
from tracker.config import Settings, load_settings
from tracker.fetch.merge import merge, normalise_new
from tracker.models import FEED_POST, LISTING, Entry, SourceKind

START = dt.datetime(2024, 11, 28, 5, 0, tzinfo=dt.UTC)
READERS = """
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "07:00"

[readers.follows]
categories = ["cs.DC"]
feeds = ["https://a.example.org/feed.xml", "https://b.example.org/feed.xml"]

[[readers]]
name = "bob"
timezone = "UTC"
digest_time = "07:00"

[readers.follows]
categories = ["cs.AR"]
feeds = ["https://c.example.org/feed.xml"]
"""
FEEDS = ("https://a.example.org/feed.xml", "https://b.example.org/feed.xml")
BOBS = "https://c.example.org/feed.xml"
PAPERS = [f"2411.{n:05d}" for n in range(1, 5)]  # few, so that they come again
# a paper's categories (the same in every version: a version that drops a followed
# category takes the paper out of that follow, which is not what is tested here)
CATEGORIES = {
    PAPERS[0]: ("cs.DC",),
    PAPERS[1]: ("cs.AR", "cs.DC"),
    PAPERS[2]: ("math.CO",),
    PAPERS[3]: ("cs.AR",),
}


# --- events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paper:
    """A listing entry (into the listings its categories name) or a feed's link to it."""

    arxiv_id: str
    feed: str | None  # None: from the daily listing
    bump: bool  # a new version of what was last seen


@dataclass(frozen=True)
class Post:
    feed: str
    number: int  # a small pool, so that the same post comes again


@dataclass(frozen=True)
class Wait:
    hours: float


@dataclass(frozen=True)
class Digest:
    asked: bool  # ``tracker digest`` now, rather than the worker's due digests


Event = Paper | Post | Wait | Digest

events = st.lists(
    st.one_of(
        st.builds(
            Paper,
            st.sampled_from(PAPERS),
            st.sampled_from([None, *FEEDS, BOBS]),
            st.booleans(),
        ),
        st.builds(Post, st.sampled_from([*FEEDS, BOBS]), st.integers(1, 4)),
        st.builds(Wait, st.floats(0.5, 30)),
        st.builds(Digest, st.booleans()),
    ),
    max_size=30,
)


# --- a tracker per example, from a migrated template -------------------------------------------


@dataclass(frozen=True)
class Template:
    """A migrated database with the follows made at START, the settings, and one HTTP
    client (never used: nothing is fetched) so that each example starts in ~10 ms."""

    database: Path
    settings: Settings
    client: httpx.Client


@pytest.fixture(scope="module")
def template() -> Iterator[Template]:
    folder = Path(tempfile.mkdtemp(prefix="tracker-props-"))
    settings = load_settings(write_config(folder, "http://127.0.0.1:9", readers=READERS))
    with httpx.Client() as client:
        make_tracker(settings, clock=Clock(START), client=client).close()
        try:
            yield Template(folder / "data" / "tracker.db", settings, client)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def wired(template: Template, folder: Path) -> tuple[Tracker, Clock, Settings]:
    shutil.copyfile(template.database, folder / "tracker.db")
    base = template.settings
    settings = replace(
        base,
        database_url=f"sqlite:///{folder / 'tracker.db'}",
        readers=tuple(replace(r, output_dir=folder / "digests") for r in base.readers),
    )
    clock = Clock(START)
    tracker = make_tracker(settings, clock=clock, client=template.client, sync_follows=False)
    return tracker, clock, settings


class World:
    """Plays the events the way a fetch cycle stores entries and the worker digests."""

    def __init__(self, tracker: Tracker, clock: Clock, settings: Settings) -> None:
        self.t, self.clock, self.settings = tracker, clock, settings
        sources = tracker.storage.followed_sources()
        self.source_of = {s.value: s.id for s in sources}
        self.listings = {s.value: s.id for s in sources if s.kind is SourceKind.ARXIV_LISTING}
        self.mine = {f.source_id for f in tracker.follows("ada")}
        self.versions: dict[str, int] = {}
        self.sighted_by_ada: set[str] = set()  # keys of items sighted in ada's sources

    def store(self, entry: Entry, sources: list[int]) -> None:
        self.t.storage.ingest(
            [(entry, sources)],
            self.clock(),
            merge=merge,
            prepare=normalise_new,
            tag=self.settings.field_map.tag,
        )
        if self.mine & set(sources):
            self.sighted_by_ada.add(entry.key)

    def play(self, event: Event) -> None:
        if isinstance(event, Paper):
            version = self.versions.get(event.arxiv_id, 0) + (1 if event.bump else 0) or 1
            self.versions[event.arxiv_id] = version
            entry = Entry(
                title=f"Paper {event.arxiv_id}",
                summary="An abstract.",
                authors=("A. Author",),
                arxiv_id=event.arxiv_id,
                version=version,
                categories=CATEGORIES[event.arxiv_id],
                primary_category=CATEGORIES[event.arxiv_id][0],
                announce_type=None if event.feed else "replace" if version > 1 else "new",
                quality=LISTING if event.feed is None else FEED_POST,
                url=f"https://arxiv.org/abs/{event.arxiv_id}v{version}",
            )
            entry = replace(entry, key=ids.item_key(entry, ""))
            if event.feed is None:  # a listing credits the followed categories it names
                sources = [self.listings[c] for c in entry.categories if c in self.listings]
            else:
                sources = [self.source_of[event.feed]]
            self.store(entry, sources)
        elif isinstance(event, Post):
            link = f"{event.feed.rsplit('/', 1)[0]}/posts/{event.number}"
            entry = Entry(title=f"Post {event.number}", url=link, guid=link)
            entry = replace(entry, key=ids.item_key(entry, f"feed:{event.feed}"))
            self.store(entry, [self.source_of[event.feed]])
        elif isinstance(event, Wait):
            self.clock.advance(hours=event.hours)
        elif event.asked:
            self.t.build_digest("ada")
        else:
            self.t.deliver_due()

    def digested(self) -> list[str]:
        """Keys of the items in ada's digests, one per appearance."""
        storage = self.t.storage
        keys: list[str] = []
        for day in {d.day for d in storage.deliveries("ada")}:
            stored = storage.stored_digest("ada", day)
            assert stored is not None
            keys += [i.key for i in storage.items([r.item_id for r in stored.rows])]
        return keys


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=events)
# a paper ada first meets as a new version (seen before only outside her follows)
@example([Paper(PAPERS[1], BOBS, False), Paper(PAPERS[1], None, True), Wait(30)])
# sighted again, as a new version from another source, after it was in a digest
@example(
    [
        Paper(PAPERS[0], None, False),
        Wait(3),
        Digest(asked=False),
        Paper(PAPERS[0], FEEDS[0], True),
        Post(FEEDS[1], 1),
        Wait(30),
        Digest(asked=False),
    ]
)
# arriving at the very instant a digest was asked for, just after it
@example([Wait(2), Digest(asked=True), Post(FEEDS[0], 1), Post(FEEDS[0], 1), Digest(asked=True)])
def test_each_item_once_in_a_readers_digests_none_skipped(
    template: Template, events: list[Event]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tracker, clock, config = wired(template, Path(tmp))
        try:
            world = World(tracker, clock, config)
            for event in events:
                world.play(event)
            # the last digest: the next delivery time, then the worker's due digests
            clock.now = dt.datetime.combine(
                clock.now.date() + dt.timedelta(days=1), dt.time(7, 0), dt.UTC
            )
            tracker.deliver_due()
            seen = world.digested()
            assert len(seen) == len(set(seen)), "an item is in two of ada's digests"
            assert set(seen) == world.sighted_by_ada, "an item was skipped or does not belong"
        finally:
            tracker.close()

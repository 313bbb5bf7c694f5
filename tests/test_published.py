"""Venues noticed later, end to end: a real HTTP server on 127.0.0.1 plays arXiv's API
(recorded answers, tests/data/arxiv-api) and OpenAlex, the fetch cycle's watch asks
about the papers readers care about, and the next digest says "Now published" once.
Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa

from tests.conftest import LISTING_MORNING, Clock
from tests.support.server import FixtureServer, Paper, Reply, atom_feed
from tests.test_storage import BACKENDS, database_url
from tests.test_venues import recorded_work
from tracker import ids
from tracker.app.core import Tracker, make_tracker
from tracker.config import Settings
from tracker.fetch.merge import merge, normalise_new
from tracker.fetch.venues import venue_changes
from tracker.models import LISTING, Entry, VenueKind
from tracker.sources.arxiv_xml import parse_api
from tracker.storage import schema

DATA = Path(__file__).parent / "data" / "arxiv-api"
BEFORE = DATA / "arxivpy-recorded" / "id_1605.08386_s0_m100_199195aa31ad.xml"
AFTER = DATA / "published" / "id_1605.08386_journal_ref_added.xml"
ERROR = DATA / "arxivpy-recorded" / "id_abc_s0_m100_b79c8dcf6bc3.xml"
ATOM = {"Content-Type": "application/atom+xml; charset=utf-8"}
JREF = "Adv. in Appl. Math. 92 (2018) 122-143"
DOI = "10.1016/j.aam.2017.08.002"
INTERVAL = 0.2  # arXiv's min_interval in these tests
READERS = """
[[readers]]
name = "ada"
timezone = "Europe/Berlin"
digest_time = "07:30"
"""


def watch(**keys: object) -> str:
    values = {"window_days": 4000, "openalex": False, **keys}
    return "[published]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in values.items())


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def wired(
    server: FixtureServer,
    settings_for: Callable[..., Settings],
    backend: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., tuple[Tracker, Clock]]]:
    """A tracker on a fresh database of the backend, at the recorded listing's morning."""
    made: list[Tracker] = []

    with database_url(backend, tmp_path) as url:
        monkeypatch.setenv("TRACKER_DATABASE_URL", url)

        def make(**keys: object) -> tuple[Tracker, Clock]:
            clock = Clock(LISTING_MORNING)
            settings = settings_for(
                server.url, readers=READERS, extra=watch(**keys), min_interval=INTERVAL
            )
            t = make_tracker(settings, clock=clock)
            made.append(t)
            return t, clock

        try:
            yield make
        finally:
            for t in made:
                t.close()


def seed(t: Tracker, entries: list[Entry]) -> list[int]:
    """Papers stored as a fetch stores them (first seen now)."""
    report = t.storage.ingest(
        [(e, []) for e in entries],
        t.clock(),
        merge=merge,
        prepare=normalise_new,
        tag=lambda e: (),
        notice=venue_changes,
    )
    return list(report.item_ids)


def recorded(path: Path) -> Entry:
    [entry] = parse_api(path.read_bytes()).entries
    return replace(entry, key=ids.item_key(entry, ""))


def corpus_entry(p: Paper) -> Entry:
    return Entry(
        title=p.title,
        summary=p.abstract,
        authors=tuple(p.authors),
        arxiv_id=p.id,
        version=p.version,
        primary_category=p.categories[0],
        categories=tuple(p.categories),
        published=p.published,
        updated=p.updated,
        quality=LISTING,
        key=f"arxiv:{p.id}",
    )


def asked_ids(server: FixtureServer) -> list[list[str]]:
    return [
        parse_qs(r.query)["id_list"][0].split(",")
        for r in server.requests("/api/query")
        if "id_list" in parse_qs(r.query)
    ]


def checked_at(t: Tracker) -> dict[int, dt.datetime | None]:
    vc = schema.venue_checks
    with t.storage.engine.connect() as conn:
        return {r.item_id: r.checked_at for r in conn.execute(sa.select(vc))}


def test_a_journal_ref_added_later_is_in_the_next_digest_once(
    wired: Callable[..., tuple[Tracker, Clock]], server: FixtureServer, tmp_path: Path
) -> None:
    t, clock = wired()
    [item_id] = seed(t, [recorded(BEFORE)])
    t.save("ada", "1605.08386")
    first = t.build_digest("ada")
    assert first.digest.published == ()

    # A day later the API's answer has a journal-ref and a DOI, and no new version.
    clock.advance(days=1, minutes=1)
    server.script("/api/query", [Reply(200, AFTER.read_bytes(), ATOM)])
    t.fetch()
    assert asked_ids(server) == [["1605.08386"]]
    events = t.storage.venue_events(item_id)
    assert [(e.kind, e.value, e.source) for e in events] == [
        (VenueKind.JOURNAL_REF, JREF, "arxiv"),
        (VenueKind.DOI, DOI, "arxiv"),
    ]
    item = t.item("1605.08386")
    assert (item.journal_ref, item.doi, item.version) == (JREF, DOI, 1)
    assert [v for v, _, _ in t.storage.versions(item_id)] == [1]

    second = t.build_digest("ada")
    [entry] = second.digest.published
    assert entry.item.id == item_id and len(entry.events) == 2
    md = second.path.read_text(encoding="utf-8")
    assert md.count("Heat-bath random walks with Markov bases") == 1
    assert f"arXiv:1605.08386 · in {JREF} · [DOI {DOI}](https://doi.org/{DOI})" in md
    html, text = t.preview_digest("ada", second.day, tmp_path / "preview")
    assert f"in {JREF}" in html.read_text() and "NOW PUBLISHED" in text.read_text()

    # Never again: the paper has its venue (no more requests), the event was shown.
    clock.advance(days=1)
    server.script("/api/query", [Reply(200, AFTER.read_bytes(), ATOM)])
    t.fetch()
    assert len(asked_ids(server)) == 1
    seed(t, [recorded(AFTER)])  # the same answer through any other path: nothing new
    assert len(t.storage.venue_events(item_id)) == 2
    third = t.build_digest("ada")
    assert third.digest.published == ()
    assert "Now published" not in third.path.read_text(encoding="utf-8")
    # a recorded digest is rebuilt as it was
    again = t.storage.stored_digest("ada", second.day)
    assert again is not None and again.venue_events == tuple(e.id for e in events)


def test_watched_papers_go_out_in_paced_batches_once_a_day(
    wired: Callable[..., tuple[Tracker, Clock]], server: FixtureServer
) -> None:
    t, clock = wired(batch_size=100, batches_per_cycle=5)
    papers = server.papers[:250]
    for item_id in seed(t, [corpus_entry(p) for p in papers]):
        t.storage.save("ada", item_id, clock())
    clock.advance(days=1, minutes=1)
    t.fetch()
    batches = asked_ids(server)
    # 250 ids: ceil(250 / 100) = 3 requests, each id asked once
    assert [len(b) for b in batches] == [100, 100, 50]
    assert sorted(itertools.chain(*batches)) == sorted(p.id for p in papers)
    arrivals = [r.at for r in server.requests("/api/query")]
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) >= INTERVAL - 0.002, gaps
    assert all(when is not None for when in checked_at(t).values())

    t.fetch()  # checked: nothing is due again this day
    clock.advance(hours=12)
    t.fetch()
    assert len(asked_ids(server)) == 3
    clock.advance(hours=14)  # a day and a bit later (checks are spread over a tenth of it)
    t.fetch()
    assert [len(b) for b in asked_ids(server)[3:]] == [100, 100, 50]


def test_a_failing_batch_stops_nothing_and_loses_no_event(
    wired: Callable[..., tuple[Tracker, Clock]], server: FixtureServer
) -> None:
    t, clock = wired(batch_size=100, batches_per_cycle=5)
    papers = server.papers[:249]
    entries = [corpus_entry(p) for p in papers]
    entries.insert(150, recorded(BEFORE))  # in the second batch
    ids_ = seed(t, entries)
    for item_id in ids_:
        t.storage.save("ada", item_id, clock())
    target = ids_[150]
    t.build_digest("ada")

    clock.advance(days=1, minutes=1)
    server.script(
        "/api/query",
        [
            Reply(200, atom_feed(papers[:100], 100, 0), ATOM),
            Reply(400, ERROR.read_bytes(), ATOM),  # arXiv refuses the second batch
        ],
    )
    report = t.fetch()
    assert [len(b) for b in asked_ids(server)] == [100, 100, 50]  # the third still went
    assert any("arXiv venue check of 100 papers" in e for e in report.errors)
    checked = checked_at(t)
    assert [n for n in ids_ if checked[n] is None] == ids_[100:200]

    # An hour later the failed batch is asked again, and its journal-ref is noticed.
    clock.advance(hours=1, minutes=1)
    server.script("/api/query", [Reply(200, AFTER.read_bytes(), ATOM)])
    t.fetch()
    again = asked_ids(server)[3:]
    assert again == [[e.arxiv_id for e in entries[100:200]]]
    assert [e.kind for e in t.storage.venue_events(target)] == [
        VenueKind.JOURNAL_REF,
        VenueKind.DOI,
    ]
    clock.advance(days=1)
    [entry] = t.build_digest("ada").digest.published
    assert entry.item.id == target


def test_openalex_primary_location_is_a_venue(
    wired: Callable[..., tuple[Tracker, Clock]], server: FixtureServer
) -> None:
    t, clock = wired(openalex=True)
    paper = server.papers[0]
    [item_id] = seed(t, [corpus_entry(paper)])
    t.save("ada", paper.id)
    t.build_digest("ada")
    clock.advance(days=1, minutes=1)
    body = json.dumps({"meta": {"count": 1}, "results": [recorded_work(paper.id)]}).encode()
    server.script("/openalex/works", [Reply(200, body, {"Content-Type": "application/json"})])
    t.fetch()
    assert asked_ids(server) == [[paper.id]]  # arXiv: no journal-ref there
    [asked] = server.requests("/openalex/works")
    assert parse_qs(asked.query)["filter"] == [f"doi:10.48550/arxiv.{paper.id}"]
    events = t.storage.venue_events(item_id)
    assert [(e.kind, e.value, e.source) for e in events] == [
        (VenueKind.VENUE, "Physical Review Letters", "openalex"),
        (VenueKind.DOI, "10.1103/physrevlett.118.091101", "openalex"),
    ]
    digest = t.build_digest("ada")
    md = digest.path.read_text(encoding="utf-8")
    assert "in Physical Review Letters · [DOI 10.1103/physrevlett.118.091101]" in md
    clock.advance(days=2)
    t.fetch()  # it has a venue now: not watched any more
    assert len(server.requests("/openalex/works")) == 1 and len(asked_ids(server)) == 1


def test_retry_after_is_honoured_by_the_watch(
    wired: Callable[..., tuple[Tracker, Clock]], server: FixtureServer
) -> None:
    t, clock = wired()
    [item_id] = seed(t, [recorded(BEFORE)])
    t.save("ada", "1605.08386")
    clock.advance(days=1, minutes=1)
    server.script(
        "/api/query",
        [
            Reply(503, b"busy", {"Retry-After": "1", "Content-Type": "text/plain"}),
            Reply(200, AFTER.read_bytes(), ATOM),
        ],
    )
    report = t.fetch()
    first, second = server.requests("/api/query")
    assert second.at - first.at >= 1.0 - 0.002  # waited as arXiv asked, then asked again
    assert report.errors == []
    assert len(t.storage.venue_events(item_id)) == 2

"""Venues noticed later, without a server: the pure decisions (``fetch.venues``), what
OpenAlex's primary location says, the "Now published" lines in every renderer, the
``[published]`` settings, and the storage of venue events, watch schedule and digest
records on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.test_storage import BACKENDS, database_url, paper
from tracker.config import settings_from_dict
from tracker.digest.render import render_html, render_markdown, render_text
from tracker.digest.view import build_view
from tracker.errors import ConfigError
from tracker.fetch import venues
from tracker.fetch.merge import merge, normalise_new
from tracker.models import (
    API,
    LINK_ONLY,
    Digest,
    Entry,
    FollowKind,
    Item,
    PublishedEntry,
    SourceKind,
    VenueChange,
    VenueEvent,
    VenueKind,
)
from tracker.sources.openalex import parse_publications, publication
from tracker.storage import FollowSpec, Storage, open_storage

DATA = Path(__file__).parent / "data"
NOW = dt.datetime(2024, 11, 28, 8, tzinfo=dt.UTC)
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)
J, D, V = VenueKind.JOURNAL_REF, VenueKind.DOI, VenueKind.VENUE


# --- what counts as a venue noticed later -----------------------------------------------


def stored(**kwargs: Any) -> Entry:
    return replace(paper("2411.00001", "Sparse collectives", quality=API), **kwargs)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({}, {"journal_ref": "J. Foo 1 (2025) 1-10"}, [(J, "J. Foo 1 (2025) 1-10")]),
        ({}, {"doi": "10.1145/3600006.3613165"}, [(D, "10.1145/3600006.3613165")]),
        ({}, {"doi": "https://doi.org/10.1145/ABC"}, [(D, "10.1145/abc")]),
        (  # both at once: two events
            {},
            {"journal_ref": "J. Foo 1", "doi": "10.1/x"},
            [(J, "J. Foo 1"), (D, "10.1/x")],
        ),
        ({"journal_ref": "J. Foo 1"}, {"journal_ref": "J.  Foo 1"}, []),  # only spacing
        ({"journal_ref": "J. Foo 1"}, {"journal_ref": "J. Foo 2"}, [(J, "J. Foo 2")]),
        ({}, {"doi": "10.48550/arXiv.2411.00001"}, []),  # arXiv's own DOI: the preprint
        ({"doi": "10.1/x"}, {"doi": "10.1/X"}, []),
        ({"quality": LINK_ONLY}, {"journal_ref": "J. Foo 1"}, []),  # nothing known before
        ({}, {}, []),
    ],
)
def test_venue_changes(
    old: dict[str, Any], new: dict[str, Any], expected: list[tuple[VenueKind, str]]
) -> None:
    before = stored(**old)
    fetched = stored(**new)
    merged = merge(before, fetched)
    changes = venues.venue_changes(before, fetched, merged)
    assert [(c.kind, c.value) for c in changes] == expected
    assert all(c.source == "arxiv" for c in changes)


def test_posts_and_named_sources() -> None:
    post = Entry(title="A post", key="post:1", quality=2)
    assert (
        venues.venue_changes(post, replace(post, doi="10.1/x"), replace(post, doi="10.1/x")) == ()
    )
    before, fetched = stored(), stored(journal_ref="J. Foo 1")
    [change] = venues.venue_changes(before, fetched, fetched, source="oai")
    assert change == VenueChange(J, "J. Foo 1", "oai")
    assert venues.source_of(replace(fetched, quality=3)) == "arxiv listing"


def test_next_check_is_about_the_interval_later_and_spread_by_item() -> None:
    checks = [venues.next_check(n, NOW, DAY) for n in range(1, 200)]
    assert all(NOW + 0.95 * DAY <= c <= NOW + 1.05 * DAY for c in checks)
    assert len(set(checks)) > 150  # spread, not one burst
    assert venues.next_check(7, NOW, DAY) == venues.next_check(7, NOW, DAY)


def test_batches() -> None:
    ids = [str(n) for n in range(250)]
    assert [len(b) for b in venues.batches(ids, 100)] == [100, 100, 50]
    assert list(venues.batches([], 100)) == []


# --- OpenAlex's primary location ----------------------------------------------------------


def recorded_work(arxiv_id: str = "2411.00001") -> dict[str, Any]:
    """The recorded OpenAlex work (a Physical Review Letters article), with an arXiv
    location added: the same paper's preprint."""
    work: dict[str, Any] = json.loads((DATA / "openalex" / "W-api-response.json").read_text())
    work["locations"] = [
        *work["locations"],
        {"landing_page_url": f"https://arxiv.org/abs/{arxiv_id}", "version": "submittedVersion"},
    ]
    return work


def test_a_journal_primary_location_is_a_venue() -> None:
    work = recorded_work()
    assert publication(work) == (
        "2411.00001",
        (
            VenueChange(V, "Physical Review Letters", "openalex"),
            VenueChange(D, "10.1103/physrevlett.118.091101", "openalex"),
        ),
    )
    typed = copy.deepcopy(work)
    typed["primary_location"]["source"]["type"] = "conference"
    typed["primary_location"]["version"] = "acceptedVersion"
    assert publication(typed) is not None
    repository = copy.deepcopy(work)
    repository["primary_location"]["source"]["type"] = "repository"
    assert publication(repository) is None
    on_arxiv = copy.deepcopy(work)
    on_arxiv["primary_location"]["source"]["display_name"] = "arXiv (Cornell University)"
    assert publication(on_arxiv) is None
    no_arxiv = json.loads((DATA / "openalex" / "W-api-response.json").read_text())
    assert publication(no_arxiv) is None  # not a paper we know by its arXiv id
    body = json.dumps({"results": [work, repository, {"x": 1}], "meta": {}}).encode()
    assert list(parse_publications(body)) == ["2411.00001"]


# --- the lines in every renderer -----------------------------------------------------------


def published_digest(journal_ref: str = "Adv. in Appl. Math. 92 (2018) 122-143") -> Digest:
    item = normalise_new(paper("1605.08386", "Heat-bath random walks with Markov bases"))
    stored_item = Item(
        id=7,
        key=item.key,
        kind=item.kind,
        title=item.title,
        summary=item.summary,
        authors=item.authors,
        url=item.url,
        arxiv_id=item.arxiv_id,
        version=1,
        pdf_url=item.pdf_url,
        doi=None,
        journal_ref=journal_ref,
        comment=None,
        primary_category="math.CO",
        categories=("math.CO",),
        published=NOW - 300 * DAY,
        updated=NOW - 300 * DAY,
        first_seen=NOW - 10 * DAY,
        quality=API,
    )
    events = (
        VenueEvent(1, 7, J, journal_ref, "arxiv", NOW),
        VenueEvent(2, 7, D, "10.1016/j.aam.2017.08.002", "arxiv", NOW),
    )
    return Digest("ada", NOW.date(), NOW, published=(PublishedEntry(stored_item, events),))


def test_now_published_in_markdown_text_and_html() -> None:
    view = build_view(published_digest())
    md, text, html = render_markdown(view), render_text(view), render_html(view)
    assert "published: 1" in md.split("---")[1]  # front matter
    assert "1 paper is now published (listed below)." in view.summary.text
    assert "## Now published" in md
    assert (
        "- [Heat-bath random walks with Markov bases](https://arxiv.org/abs/1605.08386)"
        " · arXiv:1605.08386 · in Adv. in Appl. Math. 92 (2018) 122-143"
        " · [DOI 10.1016/j.aam.2017.08.002](https://doi.org/10.1016/j.aam.2017.08.002)"
    ) in md
    assert "NOW PUBLISHED" in text
    line = "in Adv. in Appl. Math. 92 (2018) 122-143; DOI 10.1016/j.aam.2017.08.002"
    assert line in " ".join(text.split())  # wrapped at 76 columns
    assert "https://doi.org/10.1016/j.aam.2017.08.002" in text
    assert ">Now published</h2>" in html
    assert 'href="https://doi.org/10.1016/j.aam.2017.08.002"' in html
    assert md.count("Heat-bath random walks") == 1 and html.count("Heat-bath random walks") == 1


def test_a_hostile_journal_ref_stays_text() -> None:
    view = build_view(published_digest("<script>x</script> [a](javascript:alert(1)) *b*"))
    md, html = render_markdown(view), render_html(view)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "\\[a\\](javascript:alert(1))" in md and "\\*b\\*" in md


def test_no_section_without_events() -> None:
    view = build_view(Digest("ada", NOW.date(), NOW))
    for out in (render_markdown(view), render_text(view), render_html(view)):
        assert "ow published" not in out and "OW PUBLISHED" not in out


# --- settings -----------------------------------------------------------------------------


def load(published: dict[str, Any]) -> Any:
    data = {
        "arxiv": {"contact_email": "a@example.org"},
        "readers": [{"name": "ada"}],
        "published": published,
    }
    return settings_from_dict(data, origin="t.toml", base_dir=Path("."), environ={})


def test_published_settings_and_their_checks() -> None:
    s = load({"window_days": 30, "check_hours": 12, "batch_size": 50, "openalex": False})
    assert s.published.window == 30 * DAY and s.published.check_every == 12 * HOUR
    assert s.published.batch_size == 50 and not s.published.openalex and s.published.enabled
    assert load({}).published.batch_size == 100
    with pytest.raises(ConfigError) as e:
        load({"batch_size": 5000, "window_days": 0, "enabled": "yes", "every": 1})
    text = str(e.value)
    assert "published.batch_size: expected at most 2000 ids per request" in text
    assert "published.window_days: expected a positive number, got 0" in text
    assert "published.enabled: expected bool, got" in text
    assert "published.every: unknown key" in text


# --- storage, on both backends ------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    with database_url(str(request.param), tmp_path) as url:
        st = open_storage(url)
        try:
            yield st
        finally:
            st.close()


def store(st: Storage, entries: list[Entry], now: dt.datetime = NOW) -> list[int]:
    report = st.ingest(
        [(e, []) for e in entries],
        now,
        merge=merge,
        prepare=normalise_new,
        tag=lambda e: (),
        notice=venues.venue_changes,
    )
    return list(report.item_ids)


def test_ingest_records_each_venue_once(storage: Storage) -> None:
    [a, b] = store(
        storage, [paper("2411.00001", quality=API), paper("2411.00002", quality=LINK_ONLY)]
    )
    later = [
        paper("2411.00001", quality=API, journal_ref="J. Foo 1", doi="10.1/X"),
        paper("2411.00002", quality=API, journal_ref="J. Bar 2"),  # known from a link only
    ]
    report = storage.ingest(
        [(e, []) for e in later],
        NOW + DAY,
        merge=merge,
        prepare=normalise_new,
        tag=lambda e: (),
        notice=venues.venue_changes,
    )
    assert report.venue_events == 2
    again = store(storage, later, NOW + 2 * DAY)  # the same answer again: nothing new
    assert again == [a, b]
    events = storage.venue_events(a)
    assert [(e.kind, e.value, e.source, e.noticed_at) for e in events] == [
        (J, "J. Foo 1", "arxiv", NOW + DAY),
        (D, "10.1/x", "arxiv", NOW + DAY),
    ]
    assert storage.venue_events(b) == []
    assert storage.record_venue_changes([(a, VenueChange(D, "10.1/x", "openalex"))], NOW) == 0


def test_which_papers_are_watched_and_when(storage: Storage) -> None:
    ids_ = store(
        storage,
        [
            paper("2411.00001", "saved"),
            paper("2411.00002", "by a followed scholar"),
            paper("2411.00003", "attribution rejected"),
            paper("2411.00004", "saved, has a journal-ref", journal_ref="J. Foo 1"),
            paper("2411.00005", "saved, arXiv's DOI only", doi="10.48550/arXiv.2411.00005"),
            paper("2411.00006", "saved, too old", published=NOW - 400 * DAY),
            paper("2411.00007", "nobody's"),
            paper("2411.00008", "saved, has a venue event"),
        ],
    )
    one, two, three, four, five, six, _seven, eight = ids_
    for n in (one, four, five, six, eight):
        storage.save("bob", n, NOW)
    storage.add_follow(
        "ada", FollowSpec(FollowKind.SCHOLAR, "Tri Dao", SourceKind.ARXIV_QUERY, "au:Dao_T"), NOW
    )
    storage.attribute([("Tri Dao", two, "id", "x"), ("Tri Dao", three, "id", "x")], NOW)
    storage.reject("Tri Dao", three, NOW)
    storage.record_venue_changes([(eight, VenueChange(V, "OSDI", "openalex"))], NOW)

    def claim(now: dt.datetime, limit: int = 10) -> list[tuple[int, str]]:
        return storage.claim_venue_checks(
            now, since=now - 365 * DAY, settled=now - DAY, limit=limit, lease=HOUR
        )

    assert claim(NOW) == []  # just fetched: as current as a check would make it
    due = claim(NOW + DAY, limit=2)
    assert due == [(one, "2411.00001"), (two, "2411.00002")]
    assert claim(NOW + DAY) == [(five, "2411.00005")]  # the first two are held
    storage.venue_checked([(one, NOW + 2 * DAY)], NOW + DAY)
    # two's check failed: its claim runs out after the lease, one waits for its day
    assert claim(NOW + DAY + 2 * HOUR) == [(two, "2411.00002"), (five, "2411.00005")]
    # oldest due first: the leases ran out before one's day came
    assert claim(NOW + 2 * DAY + 3 * HOUR) == [
        (two, "2411.00002"),
        (five, "2411.00005"),
        (one, "2411.00001"),
    ]


def test_published_candidates_are_each_readers_once(storage: Storage) -> None:
    a, b = store(storage, [paper("2411.00001", "Mine"), paper("2411.00002", "Theirs")])
    storage.save("ada", a, NOW)
    storage.save("bob", b, NOW)
    storage.record_venue_changes(
        [(a, VenueChange(J, "J. Foo 1", "arxiv")), (a, VenueChange(D, "10.1/x", "arxiv"))],
        NOW + HOUR,
    )
    storage.record_venue_changes([(b, VenueChange(V, "OSDI", "openalex"))], NOW + HOUR)
    storage.record_venue_changes([(a, VenueChange(V, "Later", "openalex"))], NOW + 3 * DAY)
    [entry] = storage.published_candidates("ada", NOW + DAY, NOW - DAY)
    assert entry.item.id == a and [e.value for e in entry.events] == ["J. Foo 1", "10.1/x"]
    assert [p.item.id for p in storage.published_candidates("bob", NOW + DAY, NOW)] == [b]
    assert storage.published_candidates("ada", NOW + DAY, NOW + 2 * HOUR) == []  # not since
    shown = [e.id for e in entry.events]
    stored = storage.record_digest(
        "ada", (NOW + DAY).date(), NOW + DAY, [], NOW + DAY, venue_events=shown
    )
    assert stored.venue_events == tuple(shown)
    assert storage.stored_digest("ada", (NOW + DAY).date()).venue_events == tuple(shown)
    assert storage.published_entries(shown) == [entry]
    # never again for ada; the later event comes in its own time
    later = storage.published_candidates("ada", NOW + 4 * DAY, NOW - DAY)
    assert [[e.value for e in p.events] for p in later] == [["Later"]]


def test_papers_due_soon_fill_a_request_that_goes_out_anyway(storage: Storage) -> None:
    a, b, c = store(storage, [paper(f"2411.0000{n}") for n in (1, 2, 3)])
    for n in (a, b, c):
        storage.save("ada", n, NOW)
    first = storage.claim_venue_checks(
        NOW + DAY, since=NOW - 365 * DAY, settled=NOW, limit=9, lease=HOUR
    )
    assert [n for n, _ in first] == [a, b, c]
    storage.venue_checked([(a, NOW + 2 * DAY), (b, NOW + 2 * DAY + 2 * HOUR)], NOW + DAY)
    storage.venue_checked([(c, NOW + 3 * DAY)], NOW + DAY)

    def claim(now: dt.datetime) -> list[int]:
        found = storage.claim_venue_checks(
            now, since=now - 365 * DAY, settled=now - DAY, limit=9, lease=HOUR, early=3 * HOUR
        )
        return [n for n, _ in found]

    assert claim(NOW + 2 * DAY - HOUR) == []  # b and a are due soon, none is due yet
    assert claim(NOW + 2 * DAY) == [a, b]  # a is due: b (due in 2 hours) comes along

"""Ratings, imported libraries and a reader's papers in the database, on SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_storage import BACKENDS, database_url, paper
from tracker.errors import NotFoundError
from tracker.fetch.merge import merge, normalise_new
from tracker.models import Entry, FollowKind, LibraryRecord, RankReason, SourceKind
from tracker.storage import DigestRow, FollowSpec, Storage, open_storage

NOW = dt.datetime(2024, 11, 28, 8, tzinfo=dt.UTC)


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    with database_url(str(request.param), tmp_path) as url:
        st = open_storage(url)
        try:
            yield st
        finally:
            st.close()


def store(st: Storage, entries: list[Entry], source_id: int | None = None) -> list[int]:
    batch = [(e, [source_id] if source_id else []) for e in entries]
    return list(
        st.ingest(batch, NOW, merge=merge, prepare=normalise_new, tag=lambda e: ()).item_ids
    )


def test_ratings_are_per_reader_and_can_be_taken_back(storage: Storage) -> None:
    a, b = store(storage, [paper("2411.00001", "One"), paper("2411.00002", "Two")])
    storage.rate("ada", "2411.00001", 1, NOW)
    storage.rate("ada", "arXiv:2411.00002v3", -1, NOW)
    storage.rate("bob", b, 1, NOW)
    assert storage.ratings("ada") == {a: 1, b: -1}
    assert storage.ratings("bob", [a, b]) == {b: 1}
    storage.rate("ada", a, -1, NOW)  # changing one's mind replaces the rating
    storage.rate("ada", b, 0, NOW)
    assert storage.ratings("ada") == {a: -1}
    with pytest.raises(NotFoundError):
        storage.rate("ada", "2411.99999", 1, NOW)


def test_a_library_is_matched_by_arxiv_id_doi_and_title_and_imported_once(
    storage: Storage,
) -> None:
    store(
        storage,
        [
            paper("2411.00001", "Chameleon: Adaptive Caching"),
            paper("2411.00002", "Time, Clocks, and the Ordering of Events", doi="10.1145/359545"),
            paper("2411.00003", "MapReduce: Simplified Data Processing"),
        ],
    )
    records = [
        LibraryRecord("Chameleon", arxiv_id="2411.00001"),
        LibraryRecord("Time, clocks", doi="10.1145/359545"),
        LibraryRecord("mapreduce: simplified data processing", year=2004),
        LibraryRecord("A book nobody has", "About caches.", ("Ann Author",), 1999),
        LibraryRecord("Fetched later", arxiv_id="2411.00009"),
        LibraryRecord("   "),
    ]
    first = storage.import_library("ada", records, NOW)
    assert (first.entries, first.matched, first.unmatched, first.new, first.skipped) == (
        5,
        3,
        2,
        5,
        1,
    )
    again = storage.import_library("ada", records, NOW)
    assert (again.entries, again.new) == (5, 0)
    entries = storage.library("ada")
    assert len(entries) == 5
    assert sorted(e.item.arxiv_id for e in entries if e.item) == [
        "2411.00001",
        "2411.00002",
        "2411.00003",
    ]
    book = next(e for e in entries if e.record.title == "A book nobody has")
    assert (book.item, book.record.authors, book.record.year) == (None, ("Ann Author",), 1999)
    # the paper of an unmatched arXiv id arrives later: the entry is linked to it
    store(storage, [paper("2411.00009", "Fetched later")])
    later = next(e for e in storage.library("ada") if e.record.arxiv_id == "2411.00009")
    assert later.item is not None and later.item.title == "Fetched later"
    assert storage.library("bob") == []
    assert storage.forget_library("ada") == 5
    assert storage.library("ada") == []


def test_a_readers_papers_gather_every_kind_of_evidence(storage: Storage) -> None:
    now = NOW
    storage.add_follow(
        "ada", FollowSpec(FollowKind.CATEGORY, "cs.DC", SourceKind.ARXIV_LISTING, "cs.DC"), now
    )
    storage.add_follow(
        "ada", FollowSpec(FollowKind.SCHOLAR, "Tri Dao", SourceKind.ARXIV_QUERY, "au:Dao_T"), now
    )
    listing = next(s for s in storage.followed_sources() if s.value == "cs.DC")
    saved, up, down, theirs, brought = store(
        storage,
        [paper(f"2411.0000{n}", f"Paper {n}") for n in range(1, 6)],
        listing.id,
    )
    storage.save("ada", saved, now)
    storage.rate("ada", up, 1, now)
    storage.rate("ada", down, -1, now)
    storage.attribute([("Tri Dao", theirs, "id", "arXiv author id")], now)
    storage.import_library("ada", [LibraryRecord("A book", "Text.")], now)
    papers = storage.reader_papers("ada")
    assert [i.id for i in papers.saved] == [saved]
    assert sorted((i.id, v) for i, v in papers.rated) == [(up, 1), (down, -1)]
    assert [(i.id, who) for i, who in papers.scholars] == [(theirs, "Tri Dao")]
    assert {i.id for i, _ in papers.followed} == {saved, up, down, theirs, brought}
    assert {label for _, label in papers.followed} == {"category cs.DC"}
    assert [e.record.title for e in papers.library] == ["A book"]
    texts = storage.recent_texts(10, exclude=[saved])
    assert len(texts) == 4 and all(t.startswith("Paper ") for t in texts)


def test_a_digest_keeps_scores_pick_reasons_and_rising_phrases(storage: Storage) -> None:
    from tracker.models import RisingPhrase

    [item_id] = store(storage, [paper("2411.00001", "One")])
    why = RankReason("saved", "Speculative decoding", "", ("draft model", "inference"))
    phrase = RisingPhrase("state space", 4, 0.1, 0.0, (("arXiv:2411.00001", "One"),))
    storage.record_digest(
        "ada",
        NOW.date(),
        NOW,
        [DigestRow(item_id, "Top picks", "top", (), "new", (), 2.5, why)],
        NOW,
        rising=[phrase],
    )
    stored = storage.stored_digest("ada", NOW.date())
    assert stored is not None
    [row] = stored.rows
    assert (row.score, row.note) == (2.5, why)
    assert stored.rising == (phrase,)


def test_papers_of_chosen_fields_within_a_window(storage: Storage) -> None:
    early = paper("2411.00001", "Early", published=NOW - dt.timedelta(days=20))
    inside = paper("2411.00002", "Inside", published=NOW - dt.timedelta(days=2))
    other = paper("2411.00003", "Other field", published=NOW - dt.timedelta(days=2))
    tags = {
        "Early": ("Physics > Optics",),
        "Inside": ("Physics > Optics",),
        "Other field": ("Mathematics > Algebra",),
    }
    from tracker.models import FieldTag

    batch = [(e, []) for e in (early, inside, other)]
    storage.ingest(
        batch,
        NOW,
        merge=merge,
        prepare=normalise_new,
        tag=lambda e: tuple(FieldTag(f, 1.0, "category", "x") for f in tags[e.title]),
    )
    week = storage.texts_in_fields(["Physics > Optics"], NOW - dt.timedelta(days=7), NOW, 10)
    assert [t for _, t, _ in week] == ["Inside"]
    both = storage.texts_in_fields(["Physics > Optics"], NOW - dt.timedelta(days=30), NOW, 10)
    assert [t for _, t, _ in both] == ["Inside", "Early"]

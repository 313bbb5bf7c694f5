"""Tests for tracker.fetch.merge: the richer entry wins field by field, the rest is kept.

Table-driven: each case is (stored entry, new entry, expected fields of the merge).
Merging must not depend on which of the two arrived first where quality decides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.fetch.merge import merge, normalise_new
from tracker.models import API, FEED_POST, LINK_ONLY, LISTING, Entry

UTC = dt.UTC
ID = "2411.17700"
KEY = f"arxiv:{ID}"


def when(day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2024, 11, day, hour, tzinfo=UTC)


LISTING_V1 = Entry(
    key=KEY,
    title="Listing title",
    summary="Listing abstract.",
    authors=("Jun Cui",),
    arxiv_id=ID,
    version=1,
    doi="10.1000/listing",
    primary_category="cs.CY",
    categories=("cs.CY",),
    published=when(28, 5),
    announce_type="new",
    guid=f"oai:arXiv.org:{ID}v1",
    quality=LISTING,
)
API_V2 = Entry(
    key=KEY,
    title="API title",
    summary="API abstract.",
    authors=("Jun Cui", "A. Coauthor"),
    url=f"http://arxiv.org/abs/{ID}v2",
    arxiv_id=ID,
    version=2,
    pdf_url=f"http://arxiv.org/pdf/{ID}v2",
    comment="12 pages",
    primary_category="cs.CY",
    categories=("cs.CY", "cs.AI"),
    published=when(26, 18),
    updated=when(29, 10),
    quality=API,
)
LINK = Entry(
    key=KEY,
    title="A blog's title for it",
    url=f"https://arxiv.org/pdf/{ID}.pdf",
    arxiv_id=ID,
    quality=LINK_ONLY,
)

# A 2023 paper whose third version is announced in the listing of 2024-11-28.
OLD, OLD_KEY = "2305.01234", "arxiv:2305.01234"
OLD_V1 = dt.datetime(2023, 5, 17, 9, 30, tzinfo=UTC)  # its first version, from the API
OLD_MONTH = dt.datetime(2023, 5, 1, tzinfo=UTC)  # the month of its id
REPLACE_V3 = replace(
    LISTING_V1,
    key=OLD_KEY,
    arxiv_id=OLD,
    version=3,
    published=None,  # a replacement's listing entry does not give the first version's
    updated=when(28, 5),  # ... only this version's announcement
    announce_type="replace",
    guid=f"oai:arXiv.org:{OLD}v3",
)

# (case id, stored, new, expected values of the merged entry)
CASES: list[tuple[str, Entry, Entry, dict[str, Any]]] = [
    (
        "api-after-listing-wins-field-by-field",
        LISTING_V1,
        API_V2,
        dict(
            title="API title",
            summary="API abstract.",
            authors=("Jun Cui", "A. Coauthor"),
            categories=("cs.CY", "cs.AI"),
            comment="12 pages",
            doi="10.1000/listing",  # the API entry has none: kept from the listing
            version=2,
            quality=API,
        ),
    ),
    (
        "listing-after-api-does-not-win",
        API_V2,
        LISTING_V1,
        dict(
            title="API title",
            summary="API abstract.",
            authors=("Jun Cui", "A. Coauthor"),
            categories=("cs.CY", "cs.AI"),
            comment="12 pages",
            doi="10.1000/listing",
            version=2,
            quality=API,
        ),
    ),
    (
        "link-only-keeps-everything-of-the-paper",
        API_V2,
        LINK,
        dict(title="API title", summary="API abstract.", version=2, quality=API),
    ),
    (
        "paper-completes-a-link",
        LINK,
        LISTING_V1,
        dict(
            title="Listing title",
            summary="Listing abstract.",
            authors=("Jun Cui",),
            primary_category="cs.CY",
            version=1,
            quality=LISTING,
        ),
    ),
    (
        "poorer-entry-fills-what-the-richer-lacks",
        replace(API_V2, summary="", authors=(), comment=None, journal_ref=None),
        replace(LISTING_V1, journal_ref="J. Test 1 (2024)"),
        dict(
            title="API title",
            summary="Listing abstract.",
            authors=("Jun Cui",),
            journal_ref="J. Test 1 (2024)",
            doi="10.1000/listing",
        ),
    ),
    (
        "highest-version-wins-even-from-the-poorer-entry",
        API_V2,
        replace(LISTING_V1, version=3, announce_type="replace"),
        dict(title="API title", version=3, pdf_url=f"https://arxiv.org/pdf/{ID}v3"),
    ),
    (
        "same-quality-higher-version-is-richer",
        replace(LISTING_V1, version=2, title="Second version"),
        replace(LISTING_V1, version=1, title="First version"),
        dict(title="Second version", version=2),
    ),
    (
        "same-quality-same-version-newest-wins",
        replace(LISTING_V1, title="Before"),
        replace(LISTING_V1, title="After"),
        dict(title="After", version=1),
    ),
    (
        "earliest-published-latest-updated",
        replace(API_V2, published=when(27), updated=when(27)),
        replace(LISTING_V1, published=when(20), updated=when(29)),
        dict(published=when(20), updated=when(29)),
    ),
    (
        "dates-missing-on-one-side-are-kept",
        replace(API_V2, published=None, updated=when(27)),
        replace(LISTING_V1, published=when(20), updated=None),
        dict(published=when(20), updated=when(27)),
    ),
    (
        "a-new-version-from-the-listing-keeps-the-first-versions-date",
        replace(API_V2, arxiv_id=OLD, key=OLD_KEY, version=1, published=OLD_V1, updated=OLD_V1),
        REPLACE_V3,
        dict(published=OLD_V1, updated=when(28, 5), version=3),
    ),
    (
        "a-precise-date-replaces-the-month-of-the-id",
        normalise_new(REPLACE_V3),
        replace(API_V2, arxiv_id=OLD, key=OLD_KEY, version=3, published=OLD_V1, updated=None),
        dict(published=OLD_V1, updated=when(28, 5)),
    ),
    (
        "the-month-of-the-id-never-replaces-a-precise-date",
        replace(API_V2, arxiv_id=OLD, key=OLD_KEY, version=3, published=OLD_V1),
        normalise_new(REPLACE_V3),
        dict(published=OLD_V1),
    ),
    (
        "a-stored-paper-without-a-date-gets-the-month-of-its-id",
        replace(REPLACE_V3, announce_type=None),
        REPLACE_V3,
        dict(published=OLD_MONTH, updated=when(28, 5)),
    ),
    (
        "no-version-anywhere",
        replace(LINK, version=None),
        replace(LINK, title="Another blog", version=None),
        dict(
            version=None, url=f"https://arxiv.org/abs/{ID}", pdf_url=f"https://arxiv.org/pdf/{ID}"
        ),
    ),
    (
        "paper-links-become-canonical",
        LISTING_V1,
        API_V2,
        dict(url=f"https://arxiv.org/abs/{ID}", pdf_url=f"https://arxiv.org/pdf/{ID}v2"),
    ),
    (
        "announce-type-is-not-kept",
        LISTING_V1,
        replace(LISTING_V1, announce_type="replace"),
        dict(announce_type=None, key=KEY),
    ),
    (
        "posts-keep-their-own-links",
        Entry(
            key="post:abc",
            title="Old title",
            url="https://blog.example.org/p?utm_source=x",
            guid="g1",
            quality=FEED_POST,
        ),
        Entry(key="post:abc", title="New title", guid="g1", summary="Body.", quality=FEED_POST),
        dict(
            title="New title",
            summary="Body.",
            url="https://blog.example.org/p?utm_source=x",
            pdf_url=None,
            version=None,
            arxiv_id=None,
            key="post:abc",
        ),
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_merge(old: Entry, new: Entry, expected: dict[str, Any]) -> None:
    merged = merge(old, new)
    got = {name: getattr(merged, name) for name in expected}
    assert got == expected


NORMALISE_CASES: list[tuple[str, Entry, dict[str, Any]]] = [
    (
        "listing-paper-gets-links",
        LISTING_V1,
        dict(
            url=f"https://arxiv.org/abs/{ID}",
            pdf_url=f"https://arxiv.org/pdf/{ID}v1",
            announce_type=None,
            title="Listing title",
        ),
    ),
    (
        "api-links-rewritten",
        API_V2,
        dict(url=f"https://arxiv.org/abs/{ID}", pdf_url=f"https://arxiv.org/pdf/{ID}v2"),
    ),
    (
        "link-without-version",
        LINK,
        dict(url=f"https://arxiv.org/abs/{ID}", pdf_url=f"https://arxiv.org/pdf/{ID}"),
    ),
    (
        "old-style-id",
        Entry(title="Old", arxiv_id="hep-th/9901001", version=3, quality=API),
        dict(
            url="https://arxiv.org/abs/hep-th/9901001",
            pdf_url="https://arxiv.org/pdf/hep-th/9901001v3",
        ),
    ),
    (
        "a-paper-first-seen-as-a-new-version-is-dated-by-the-month-of-its-id",
        REPLACE_V3,
        dict(published=OLD_MONTH, updated=when(28, 5), version=3),
    ),
    (
        "old-style-ids-have-a-month-too",
        Entry(title="Old", arxiv_id="hep-th/9901001", version=3, quality=LISTING),
        dict(published=dt.datetime(1999, 1, 1, tzinfo=UTC)),
    ),
    (
        "post-untouched",
        Entry(title="Post", url="https://blog.example.org/a", announce_type="new"),
        dict(url="https://blog.example.org/a", pdf_url=None, announce_type=None),
    ),
]


@pytest.mark.parametrize(
    ("entry", "expected"), [c[1:] for c in NORMALISE_CASES], ids=[c[0] for c in NORMALISE_CASES]
)
def test_normalise_new(entry: Entry, expected: dict[str, Any]) -> None:
    normalised = normalise_new(entry)
    assert {name: getattr(normalised, name) for name in expected} == expected


# --- properties ---------------------------------------------------------------------------

dates = st.none() | st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2030, 1, 1), timezones=st.just(UTC)
)
entries = st.builds(
    Entry,
    title=st.sampled_from(["", "A", "B"]),
    summary=st.sampled_from(["", "x", "y"]),
    authors=st.sampled_from([(), ("Ada",), ("Bob", "Eve")]),
    arxiv_id=st.just(ID),
    version=st.none() | st.integers(1, 9),
    doi=st.none() | st.just("10.1/x"),
    published=dates,
    updated=dates,
    quality=st.sampled_from([LINK_ONLY, FEED_POST, LISTING, API]),
    key=st.just(KEY),
)


@given(entries, entries)
def test_merge_properties(old: Entry, new: Entry) -> None:
    merged = merge(old, new)
    assert merged.quality == max(old.quality, new.quality)
    assert merged.version == (max(old.version or 0, new.version or 0) or None)
    # the first version's date: the earliest one known, else the month of the id
    month = dt.datetime(2024, 11, 1, tzinfo=UTC)
    published = [d for d in (old.published, new.published) if d and d != month]
    updated = [d for d in (old.updated, new.updated) if d]
    assert merged.published == (min(published) if published else month)
    assert merged.updated == (max(updated) if updated else None)
    # Nothing either side knew is lost.
    for name in ("title", "summary", "authors", "doi"):
        if getattr(old, name) or getattr(new, name):
            assert getattr(merged, name)
    # The richer side's value wins where it has one.
    richer = new if new.quality > old.quality else old if old.quality > new.quality else None
    if richer is not None and richer.title:
        assert merged.title == richer.title
    assert merged.url == f"https://arxiv.org/abs/{ID}"
    assert merged.key == KEY

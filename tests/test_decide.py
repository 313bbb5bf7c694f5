"""Scheduling decisions: arXiv's calendar, backoff, digest days across time zones and
daylight-saving changes."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from itertools import pairwise

import pytest

from tracker import decide
from tracker.models import Source, SourceKind

UTC = dt.UTC
NY = zoneinfo.ZoneInfo("America/New_York")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def eastern(y: int, m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=NY).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "latest", "next_time"),
    [
        # Thursday morning after the rebuild: Thursday's listing; next on Friday
        (eastern(2024, 11, 28, 9), dt.date(2024, 11, 28), eastern(2024, 11, 29, 0, 30)),
        # Thursday just before the rebuild: Wednesday's listing is the latest
        (eastern(2024, 11, 28, 0, 10), dt.date(2024, 11, 27), eastern(2024, 11, 28, 0, 30)),
        # Saturday and Sunday: Friday's listing; next on Monday
        (eastern(2024, 11, 30, 12), dt.date(2024, 11, 29), eastern(2024, 12, 2, 0, 30)),
        (eastern(2024, 12, 1, 23), dt.date(2024, 11, 29), eastern(2024, 12, 2, 0, 30)),
        # Friday evening: next is Monday
        (eastern(2024, 11, 29, 20), dt.date(2024, 11, 29), eastern(2024, 12, 2, 0, 30)),
    ],
)
def test_listing_calendar(now: dt.datetime, latest: dt.date, next_time: dt.datetime) -> None:
    assert decide.latest_listing_day(now) == latest
    assert decide.next_listing_time(now) == next_time
    assert decide.after_success(SourceKind.ARXIV_LISTING, now, dt.timedelta(hours=1)) == next_time


def test_listing_across_daylight_saving_is_at_local_time() -> None:
    # US clocks go back on 2024-11-03: the rebuild stays at 00:30 Eastern
    before = decide.listing_time(dt.date(2024, 11, 1))
    after = decide.listing_time(dt.date(2024, 11, 4))
    assert before.hour == 4 and after.hour == 5  # EDT then EST, in UTC


def test_stale_listing_is_rechecked_soon_then_given_up() -> None:
    now = eastern(2024, 11, 28, 1)
    # arXiv still serves Wednesday's listing at 01:00 on Thursday: look again in an hour
    assert decide.after_listing(now, dt.date(2024, 11, 27)) == now + dt.timedelta(hours=1)
    # fresh listing: tomorrow's rebuild
    assert decide.after_listing(now, dt.date(2024, 11, 28)) == eastern(2024, 11, 29, 0, 30)
    # still stale late in the day (a holiday): stop polling until the next rebuild
    late = eastern(2024, 11, 28, 18)
    assert decide.after_listing(late, dt.date(2024, 11, 27)) == eastern(2024, 11, 29, 0, 30)


def test_missed_listings() -> None:
    now = eastern(2024, 11, 28, 9)
    assert not decide.missed_listings(None, now)
    assert not decide.missed_listings(eastern(2024, 11, 27, 8), now)  # had Wednesday's
    assert decide.missed_listings(eastern(2024, 11, 26, 8), now)  # missed Wednesday's
    monday = eastern(2024, 12, 2, 9)
    assert not decide.missed_listings(eastern(2024, 11, 29, 9), monday)  # weekend is no gap


def test_backoff_grows_with_jitter_caps_and_honours_retry_after() -> None:
    now = dt.datetime(2024, 1, 1, tzinfo=UTC)
    cap = dt.timedelta(hours=24)
    delays = [
        decide.after_failure(n, now, retry_after=None, max_backoff=cap, seed=7) - now
        for n in range(1, 12)
    ]
    assert dt.timedelta(minutes=4) <= delays[0] <= dt.timedelta(minutes=6)
    assert all(b > a for a, b in pairwise(delays[:7]))
    assert max(delays) <= cap * 1.2
    # reproducible for a seed, different between sources
    assert decide.after_failure(3, now, retry_after=None, max_backoff=cap, seed=7) == (
        now + delays[2]
    )
    others = {
        decide.after_failure(3, now, retry_after=None, max_backoff=cap, seed=s) for s in range(20)
    }
    assert len(others) > 10
    # never sooner than the server asked
    asked = decide.after_failure(1, now, retry_after=7200, max_backoff=cap, seed=1)
    assert asked == now + dt.timedelta(seconds=7200)


def test_feeds_are_spread_over_their_interval() -> None:
    now = dt.datetime(2024, 1, 1, tzinfo=UTC)
    hour = dt.timedelta(hours=1)
    times = {decide.after_success(SourceKind.FEED, now, hour, seed=s) for s in range(50)}
    assert all(now + hour <= t <= now + hour * 1.1 for t in times)
    assert len(times) == 50


@pytest.mark.parametrize(
    ("day", "at", "tz", "expected"),
    [
        (dt.date(2024, 11, 28), dt.time(7, 30), BERLIN, dt.datetime(2024, 11, 28, 6, 30)),
        (dt.date(2024, 7, 1), dt.time(7, 30), BERLIN, dt.datetime(2024, 7, 1, 5, 30)),
        # spring forward in New York, 2024-03-10: 02:30 does not exist -> 03:30 EDT
        (dt.date(2024, 3, 10), dt.time(2, 30), NY, dt.datetime(2024, 3, 10, 7, 30)),
        # fall back, 2024-11-03: 01:30 happens twice -> the first (EDT)
        (dt.date(2024, 11, 3), dt.time(1, 30), NY, dt.datetime(2024, 11, 3, 5, 30)),
    ],
)
def test_digest_cutoff(day: dt.date, at: dt.time, tz: dt.tzinfo, expected: dt.datetime) -> None:
    assert decide.digest_cutoff(day, at, tz) == expected.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "tz", "at"),
    [
        (dt.datetime(2024, 3, 8, 0, 0, tzinfo=UTC), NY, dt.time(2, 30)),  # spring forward
        (dt.datetime(2024, 10, 31, 0, 0, tzinfo=UTC), NY, dt.time(1, 30)),  # fall back
        (dt.datetime(2024, 3, 29, 0, 0, tzinfo=UTC), BERLIN, dt.time(2, 30)),
        (dt.datetime(2024, 10, 25, 0, 0, tzinfo=UTC), BERLIN, dt.time(2, 30)),
        (
            dt.datetime(2024, 11, 25, 0, 0, tzinfo=UTC),
            zoneinfo.ZoneInfo("Asia/Kolkata"),
            dt.time(7, 0),
        ),
    ],
)
def test_one_digest_per_local_day_across_dst(
    start: dt.datetime, tz: dt.tzinfo, at: dt.time
) -> None:
    """Simulate a worker checking every 5 minutes for 8 days: one digest a day, none
    skipped, none doubled, each built within minutes of its local time."""
    built: list[tuple[dt.date, dt.datetime]] = []
    last: dt.date | None = None
    now = start
    while now < start + dt.timedelta(days=8):
        day = decide.due_digest_day(now, at, tz, last)
        if day is not None:
            built.append((day, now))
            last = day
        now += dt.timedelta(minutes=5)
    days = [d for d, _ in built]
    assert days == sorted(set(days))
    assert all(b - a == dt.timedelta(days=1) for a, b in pairwise(days))
    assert len(days) >= 7
    for day, when in built[1:]:
        assert dt.timedelta(0) <= when - decide.digest_cutoff(day, at, tz) < dt.timedelta(minutes=5)


def test_missed_digests_are_caught_up_once() -> None:
    at = dt.time(7, 30)
    last = dt.date(2024, 11, 25)
    # the worker was down for three days; at 10:00 on the 28th only the 28th is due
    now = dt.datetime(2024, 11, 28, 9, 0, tzinfo=UTC)
    assert decide.due_digest_day(now, at, BERLIN, last) == dt.date(2024, 11, 28)
    assert decide.due_digest_day(now, at, BERLIN, dt.date(2024, 11, 28)) is None
    # at 05:00 local on the 28th, the 27th's is the one still owed
    early = dt.datetime(2024, 11, 28, 4, 0, tzinfo=UTC)
    assert decide.due_digest_day(early, at, BERLIN, last) == dt.date(2024, 11, 27)
    # a brand-new reader gets the latest day
    assert decide.due_digest_day(now, at, BERLIN, None) == dt.date(2024, 11, 28)


@pytest.mark.parametrize(
    ("tz", "at", "expected"),
    [
        # Berlin at 07:30: the listing of each Eastern weekday (rebuilt 06:30 Berlin)
        (BERLIN, dt.time(7, 30), ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        # New York at 00:10: before the rebuild at 00:30, so it is the next local day's
        (NY, dt.time(0, 10), ["Tue", "Wed", "Thu", "Fri", "Sat"]),
        # Tokyo at 08:00: the rebuild is at 14:30 the same day, so the digest is a day late
        (zoneinfo.ZoneInfo("Asia/Tokyo"), dt.time(8, 0), ["Tue", "Wed", "Thu", "Fri", "Sat"]),
    ],
)
def test_arxiv_days_follow_the_listing_calendar(
    tz: dt.tzinfo, at: dt.time, expected: list[str]
) -> None:
    week = [dt.date(2024, 11, 25) + dt.timedelta(days=n) for n in range(7)]  # Mon..Sun
    chosen = [d.strftime("%a") for d in week if decide.delivers(d, at, tz, ALL, True)]
    assert chosen == expected


ALL = frozenset(range(7))


def test_unseen_listing_days() -> None:
    now = eastern(2024, 11, 29, 9)  # Friday morning
    assert decide.unseen_listing_days(None, now) == []
    assert decide.unseen_listing_days(eastern(2024, 11, 29, 1), now) == []
    assert decide.unseen_listing_days(eastern(2024, 11, 28, 1), now) == [dt.date(2024, 11, 29)]
    assert decide.unseen_listing_days(eastern(2024, 11, 26, 1), now) == [
        dt.date(2024, 11, 27),
        dt.date(2024, 11, 28),
        dt.date(2024, 11, 29),
    ]
    # a weekend is no gap
    assert decide.unseen_listing_days(eastern(2024, 11, 29, 9), eastern(2024, 12, 2, 9)) == [
        dt.date(2024, 12, 2)
    ]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        # listings, searches and OpenAlex works: once per arXiv rebuild
        (SourceKind.ARXIV_LISTING, eastern(2024, 11, 29, 0, 30)),
        (SourceKind.ARXIV_QUERY, eastern(2024, 11, 29, 0, 30)),
        (SourceKind.OPENALEX, eastern(2024, 11, 29, 0, 30)),
        # a scholar's arXiv author feed: on its own slow interval
        (SourceKind.ARXIV_AUTHOR, eastern(2024, 11, 28, 9) + dt.timedelta(days=3)),
    ],
)
def test_next_check_after_success_by_kind(kind: SourceKind, expected: dt.datetime) -> None:
    now = eastern(2024, 11, 28, 9)
    got = decide.after_success(
        kind, now, dt.timedelta(hours=1), seed=4, author_feed_interval=dt.timedelta(days=3)
    )
    assert got == expected


def test_searches_ask_from_the_earliest_success_less_the_overlap() -> None:
    now = dt.datetime(2024, 11, 28, 12, tzinfo=UTC)
    day = dt.timedelta(days=1)
    ask = {"overlap": 2 * day, "lookback": 7 * day}
    assert decide.ask_since([now - day, now - 3 * day], now, **ask) == now - 5 * day
    # a source never read asks ``lookback`` back, unless another asks further
    assert decide.ask_since([None, now - day], now, **ask) == now - 7 * day
    assert decide.ask_since([None, now - 9 * day], now, **ask) == now - 11 * day


def test_the_longest_due_go_first() -> None:
    at = dt.datetime(2024, 11, 28, tzinfo=UTC)
    sources = [
        Source(n, SourceKind.ARXIV_AUTHOR, f"a_{n}", None, at - dt.timedelta(hours=h))
        for n, h in [(1, 1), (2, 5), (3, 3)]
    ]
    assert [s.id for s in decide.oldest_due(sources, 2)] == [2, 3]
    assert decide.oldest_due(sources, 0) == []

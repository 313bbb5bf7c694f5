"""Scheduling decisions: when a source is next due, how long to back off, when a
reader's digest is due and which instant it covers.

arXiv's calendar (https://info.arxiv.org/help/availability.html): new submissions are
announced at 20:00 US Eastern, Sunday to Thursday; the daily RSS listings are rebuilt
around midnight Eastern after each announcement, so a fresh listing exists on Monday
to Friday mornings (Eastern) and none on weekends.

Pure: every function takes ``now`` (an aware UTC datetime) and does no I/O.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from collections.abc import Sequence

from tracker.models import Source, SourceKind

EASTERN = zoneinfo.ZoneInfo("America/New_York")
LISTING_READY = dt.time(0, 30)  # Eastern; listings are rebuilt around midnight
LISTING_WEEKDAYS = frozenset({0, 1, 2, 3, 4})  # Monday..Friday (Eastern)
STALE_RECHECK = dt.timedelta(hours=1)
STALE_GIVE_UP = dt.timedelta(hours=12)
FIRST_ERROR_DELAY = dt.timedelta(minutes=5)


def _local_instant(day: dt.date, at: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """The UTC instant of a wall-clock time on a day in a zone.

    A time skipped by a daylight-saving jump (02:30 on the spring-forward day) maps
    to the instant just after the jump; a repeated time (fall back) to its first
    occurrence. zoneinfo does exactly this for fold=0 (PEP 495).
    """
    return dt.datetime.combine(day, at, tzinfo=tz).astimezone(dt.UTC)


def listing_time(day: dt.date) -> dt.datetime:
    """When the listing for an announcement day (Eastern) is expected to be ready."""
    return _local_instant(day, LISTING_READY, EASTERN)


def latest_listing_day(now: dt.datetime) -> dt.date:
    """The most recent Eastern weekday whose listing should be out by ``now``."""
    day = now.astimezone(EASTERN).date()
    while day.weekday() not in LISTING_WEEKDAYS or listing_time(day) > now:
        day -= dt.timedelta(days=1)
    return day


def next_listing_time(now: dt.datetime) -> dt.datetime:
    """The first expected listing rebuild strictly after ``now``."""
    day = now.astimezone(EASTERN).date()
    while True:
        if day.weekday() in LISTING_WEEKDAYS and listing_time(day) > now:
            return listing_time(day)
        day += dt.timedelta(days=1)


def after_listing(now: dt.datetime, listing_day: dt.date | None) -> dt.datetime:
    """Next check of listing sources after a successful fetch: the next rebuild, or
    soon again when arXiv has not rebuilt the listing yet (it served an older day)."""
    expected = latest_listing_day(now)
    stale = listing_day is not None and listing_day < expected
    if stale and now - listing_time(expected) < STALE_GIVE_UP:
        return min(now + STALE_RECHECK, next_listing_time(now))
    return next_listing_time(now)


def after_success(
    kind: SourceKind,
    now: dt.datetime,
    feed_interval: dt.timedelta,
    seed: int = 0,
    *,
    author_feed_interval: dt.timedelta = dt.timedelta(days=7),
) -> dt.datetime:
    """Next check after a successful fetch (listings: see ``after_listing``)."""
    if kind in (SourceKind.ARXIV_LISTING, SourceKind.ARXIV_QUERY, SourceKind.OPENALEX):
        # arXiv's search index changes with the announcements: once per rebuild; a
        # scholar's OpenAlex works are asked for as often (once a day).
        return next_listing_time(now)
    if kind is SourceKind.ARXIV_AUTHOR:
        # a scholar's own arXiv feed adds little to the listings and searches: slowly
        return now + author_feed_interval
    # Spread feeds over the interval (up to 10% later) so they do not all fall due at once.
    spread = random.Random(seed).uniform(0.0, 0.1)
    return now + feed_interval * (1 + spread)


def after_failure(
    errors: int,
    now: dt.datetime,
    *,
    retry_after: float | None,
    max_backoff: dt.timedelta,
    seed: int = 0,
) -> dt.datetime:
    """Next check after the ``errors``-th failure in a row: exponential backoff with
    jitter (seeded, so it is reproducible), never sooner than the server asked."""
    exponent = min(max(errors, 1) - 1, 20)
    delay = min(FIRST_ERROR_DELAY * (1 << exponent), max_backoff)
    jitter: float = random.Random(seed * 1_000_003 + errors).uniform(0.8, 1.2)
    delay *= jitter
    if retry_after is not None:
        delay = max(delay, dt.timedelta(seconds=retry_after))
    return now + delay


def ask_since(
    last_successes: Sequence[dt.datetime | None],
    now: dt.datetime,
    *,
    overlap: dt.timedelta,
    lookback: dt.timedelta,
) -> dt.datetime:
    """From when a batch of searches asks (one request for several sources): the
    earliest of their last successes less ``overlap`` (the upstream index lags), or
    ``lookback`` before ``now`` for a source never read."""
    return min((last - overlap) if last else now - lookback for last in last_successes)


def oldest_due(sources: Sequence[Source], limit: int) -> list[Source]:
    """At most ``limit`` sources, those due the longest first (the rest wait)."""
    return sorted(sources, key=lambda s: s.next_check)[: max(0, limit)]


def unseen_listing_days(last_success: dt.datetime | None, now: dt.datetime) -> list[dt.date]:
    """The listing days published since a source's last success (a gap to catch up)."""
    if last_success is None:
        return []
    days: list[dt.date] = []
    day = latest_listing_day(now)
    while listing_time(day) > last_success:
        days.append(day)
        day = latest_listing_day(listing_time(day) - dt.timedelta(seconds=1))
    return sorted(days)


def missed_listings(last_success: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a listing source missed at least one rebuild since its last success
    (the listing only shows the latest day, so the gap must come from the API)."""
    if last_success is None:
        return False
    latest = latest_listing_day(now)
    previous = latest_listing_day(listing_time(latest) - dt.timedelta(seconds=1))
    return last_success < listing_time(previous)


# --- digests ------------------------------------------------------------------------


def digest_cutoff(day: dt.date, at: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """The instant a reader's digest for a local day closes (its delivery time)."""
    return _local_instant(day, at, tz)


ALL_DAYS = frozenset(range(7))


def due_digest_day(
    now: dt.datetime,
    at: dt.time,
    tz: dt.tzinfo,
    last_day: dt.date | None,
    days: frozenset[int] = ALL_DAYS,
    arxiv_days: bool = False,
) -> dt.date | None:
    """The local day whose digest should be built now, if any.

    It is the latest delivery day (``days``: weekdays, Monday 0; ``arxiv_days``: only
    days on which arXiv published a new listing since the day before) whose delivery
    time has passed; after downtime only that one is built (it holds everything since
    the previous digest), so a missed morning is caught up once, not skipped and not
    doubled.
    """
    today = now.astimezone(tz).date()
    for back in range(8):
        day = today - dt.timedelta(days=back)
        if delivers(day, at, tz, days, arxiv_days) and digest_cutoff(day, at, tz) <= now:
            return day if last_day is None or day > last_day else None
    return None


def delivers(
    day: dt.date, at: dt.time, tz: dt.tzinfo, days: frozenset[int], arxiv_days: bool
) -> bool:
    """Whether a reader gets a digest on a local day."""
    if day.weekday() not in days:
        return False
    if not arxiv_days:
        return True
    # a new listing appeared between yesterday's delivery time and today's
    end = digest_cutoff(day, at, tz)
    start = digest_cutoff(day - dt.timedelta(days=1), at, tz)
    return latest_listing_day(end) != latest_listing_day(start)


def next_delivery(
    now: dt.datetime,
    at: dt.time,
    tz: dt.tzinfo,
    days: frozenset[int] = ALL_DAYS,
    arxiv_days: bool = False,
) -> dt.datetime | None:
    """When the reader's next digest is due (None if they have no delivery days)."""
    today = now.astimezone(tz).date()
    for ahead in range(8):
        day = today + dt.timedelta(days=ahead)
        if delivers(day, at, tz, days, arxiv_days) and digest_cutoff(day, at, tz) > now:
            return digest_cutoff(day, at, tz)
    return None


def retry_delivery(
    attempts: int, now: dt.datetime, first: dt.timedelta, longest: dt.timedelta
) -> dt.datetime:
    """When to try a failed delivery again: doubling from ``first`` up to ``longest``."""
    return now + min(first * (1 << min(max(attempts, 1) - 1, 20)), longest)

"""Weekly digests beside the daily ones (``[[readers]] rhythm = "both"``): built on the
reader's ``weekly_day`` at their digest time, in their time zone, from the daily
digests delivered since the previous weekly one, and delivered like a daily digest.

Exactly once, as for daily digests: building records the weekly digest and one
pending delivery per channel in one transaction (one per reader and day); a delivery
is marked sent only after the file is written or the server accepted the message, so
a crash is made good on restart, with the same Message-ID (its own, not the daily
digest's of that day). When the worker was down on the weekly day, the next check
builds it (``decide.due_digest_day``), and it still holds every daily digest since
the previous weekly one: a week is never skipped, and never counted twice.

Readers with ``rhythm = "weekly"`` need nothing here: their one digest a week is the
daily machinery on one weekday (``DigestService``).

Composition: storage, the selection (``week``), the service's rendering and sending.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tracker import decide
from tracker.config import ReaderSettings
from tracker.digest.files import write_atomic
from tracker.digest.week import WEEK_TOP, WEEK_TOP_TITLE, weekly_digest
from tracker.errors import DeliveryError, StorageError
from tracker.models import Delivery, Digest, DigestEntry, Item
from tracker.storage import DigestRow, StoredWeekly

if TYPE_CHECKING:
    from tracker.digest.service import DigestService

log = logging.getLogger(__name__)
FIRST_WEEK = dt.timedelta(days=7)  # what the first weekly digest looks back over


def weekly_path(output_dir: Path, reader: str, day: dt.date) -> Path:
    return output_dir / reader / f"{day.isoformat()}-weekly.md"


@dataclass(frozen=True, slots=True)
class WeeklyOutcome:
    reader: str
    day: dt.date
    path: Path  # where the Markdown file is (written when the reader has that channel)
    digest: Digest
    created: bool  # False when it already existed


class WeeklyDigests:
    """Builds, records and delivers the weekly digests of the readers who have them."""

    def __init__(self, service: DigestService) -> None:
        self.service = service
        self.storage = service.storage

    def readers(self) -> list[ReaderSettings]:
        return [r for r in self.service.readers if r.rhythm == "both"]

    def due(self) -> list[WeeklyOutcome]:
        """Build every weekly digest whose time has come (once per reader and weekly
        day); deliveries are left to ``deliver``."""
        now = self.service.clock()
        outcomes: list[WeeklyOutcome] = []
        for reader in self.readers():
            last = self.storage.last_weekly(reader.name)
            day = decide.due_digest_day(
                now,
                reader.digest_time,
                reader.tz,
                last[0] if last else None,
                frozenset({reader.weekly_day}),
            )
            if day is not None:
                outcomes.append(self.build(reader.name, day))
        return outcomes

    def build(self, reader_name: str | None, day: dt.date | None = None) -> WeeklyOutcome:
        """The reader's weekly digest of a local day: the recorded one, or a new one
        recorded now (with its deliveries pending)."""
        reader = self.service.reader(reader_name)
        now = self.service.clock()
        day = day or now.astimezone(reader.tz).date()
        path = weekly_path(reader.output_dir, reader.name, day)
        stored = self.storage.stored_weekly(reader.name, day)
        if stored is not None:
            return WeeklyOutcome(reader.name, day, path, self.from_stored(stored), False)
        last = self.storage.last_weekly(reader.name)
        after = last[1] if last else now - FIRST_WEEK
        rows = self.storage.week_rows(reader.name, after, now)
        items = {i.id: i for i in self.storage.items(list({r.item_id for r in rows}))}
        entries = [(r.section_kind, _entry(r, items)) for r in rows if r.item_id in items]
        rising = self.service.rising_for(reader, now)
        digest = weekly_digest(reader.name, day, now, entries, reader.weekly_picks, rising)
        try:
            self.storage.record_weekly(
                reader.name,
                day,
                now,
                [_row(e) for s in digest.sections for e in s.entries],
                now,
                reader.channels,
                digest.rising,
            )
        except StorageError:
            theirs = self.storage.stored_weekly(reader.name, day)
            if theirs is None:
                raise
            return WeeklyOutcome(reader.name, day, path, self.from_stored(theirs), False)
        log.info("weekly digest built reader=%s day=%s items=%d", reader.name, day, len(rows))
        return WeeklyOutcome(reader.name, day, path, digest, True)

    def from_stored(self, stored: StoredWeekly) -> Digest:
        items = {i.id: i for i in self.storage.items([r.item_id for r in stored.rows])}
        entries = [(r.section_kind, _entry(r, items)) for r in stored.rows if r.item_id in items]
        return weekly_digest(
            stored.reader, stored.day, stored.cutoff, entries, len(entries), stored.rising
        )

    def deliver(self, reader: str | None = None) -> list[Delivery]:
        """Write or send every pending weekly delivery whose time has come."""
        now = self.service.clock()
        attempted = self.storage.weekly_deliveries(reader, due=now)
        for delivery in attempted:
            configured = {r.name: r for r in self.service.readers}
            settings = configured.get(delivery.reader)
            stored = self.storage.stored_weekly(delivery.reader, delivery.day)
            if settings is None or stored is None:
                self.storage.weekly_delivery_failed(
                    delivery.id, "the reader is no longer configured", None
                )
                continue
            digest = self.from_stored(stored)
            try:
                if delivery.channel == "markdown":
                    path = weekly_path(settings.output_dir, settings.name, delivery.day)
                    try:
                        write_atomic(path, self.service.render(digest))
                    except OSError as e:
                        raise DeliveryError(
                            f"cannot write the digest file: {e}", retryable=True
                        ) from e
                else:
                    self.service.send(settings, digest, now)
            except DeliveryError as e:
                retry = self.service.retry_at(delivery.attempts + 1, now) if e.retryable else None
                self.storage.weekly_delivery_failed(delivery.id, str(e), retry)
                log.warning(
                    "weekly delivery failed reader=%s day=%s channel=%s retry_at=%s error=%s",
                    *(delivery.reader, delivery.day, delivery.channel, retry, e),
                )
                continue
            self.storage.weekly_delivery_done(delivery.id, now)
            log.info(
                "delivered weekly reader=%s day=%s channel=%s",
                *(delivery.reader, delivery.day, delivery.channel),
            )
        ids = {d.id for d in attempted}
        return [d for d in self.storage.weekly_deliveries(reader) if d.id in ids]


def _entry(row: DigestRow, items: dict[int, Item]) -> DigestEntry:
    return DigestEntry(
        items[row.item_id],
        row.reasons,
        row.followed_authors,
        row.announce_type,
        row.score,
        row.note,
    )


def _row(entry: DigestEntry) -> DigestRow:
    return DigestRow(
        entry.item.id,
        WEEK_TOP_TITLE,
        WEEK_TOP,
        entry.reasons,
        entry.announce_type,
        entry.followed_authors,
        entry.score,
        entry.note,
    )

"""Digests as the facade's commands ask for them: build (or find) and deliver a reader's
digest of a day, the weekly one, a preview, one section whole, what a digest would show
now, when the next is due, and training the readers' models ahead of their digests.

A mixin of ``Tracker`` (``app/core.py``), kept apart so the facade stays readable. Only
the scheduler leader delivers: a digest typed at the command line while a worker leads
is built, and its deliveries are left to the worker.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tracker import decide
from tracker.app.leader import Leadership
from tracker.config import Settings
from tracker.digest.readers import due_by
from tracker.digest.service import DigestOutcome, DigestService
from tracker.digest.view import DigestView
from tracker.digest.weekly import WeeklyOutcome
from tracker.errors import NotFoundError, UsageError
from tracker.models import Delivery, Digest, DigestSection
from tracker.reading.service import ReadingService
from tracker.storage import Storage

# readers' models are trained ahead for the digests due before the next fetch ends
PREPARE_SLACK = dt.timedelta(minutes=5)


class Digesting:
    settings: Settings
    storage: Storage
    digests: DigestService
    reading: ReadingService
    leadership: Leadership
    clock: Callable[[], dt.datetime]

    # --- digests ------------------------------------------------------------------------

    @contextmanager
    def _delivering(self) -> Iterator[bool]:
        """Whether this process may deliver now: only the scheduler leader delivers, so
        a digest typed at the command line while a worker leads is left to the worker
        (which sends within a minute) instead of racing it to send the same e-mail."""
        taken = not self.leadership.held and self.leadership.try_lead()
        try:
            yield self.leadership.held
        finally:
            if taken:
                self.leadership.release()

    def build_digest(self, reader_name: str | None, day: dt.date | None = None) -> DigestOutcome:
        """Build (or find) a reader's digest for a local day and deliver it."""
        with self._delivering() as leading:
            return self.digests.build(reader_name, day, deliver=leading)

    def render(self, digest: Digest) -> str:
        return self.digests.render(digest)

    def digest_section(
        self, reader_name: str | None, day: dt.date | None, name: str
    ) -> DigestSection:
        """One section of a built digest, whole, by its name as recorded ("Top picks", a
        field) or as shown ("Cross-domain: <field>"), letter case aside."""
        reader = self.settings.reader(reader_name)
        day = day or self.clock().astimezone(reader.tz).date()
        stored = self.storage.stored_digest(reader.name, day)
        if stored is None:
            raise NotFoundError(f"no digest of {reader.name} for {day} (tracker digest builds it)")
        digest = self.digests.from_stored(stored)
        wanted = name.strip().casefold().removeprefix("cross-domain:").strip()
        for section in digest.sections:
            if section.title.casefold() == wanted:
                return section
        names = ", ".join(f"{s.title!r}" for s in digest.sections) or "none"
        raise NotFoundError(f"the digest of {day} has no section {name!r} (it has {names})")

    def prepare_rankings(self, within: dt.timedelta | None = None) -> int:
        """Train ahead the relevance models of the readers whose digest is due within
        ``within`` (by default before the next fetch: the scheduler leader calls this
        after each fetch, so a model is trained once on the day's last papers, not
        after every fetch of the hour); returns how many were trained."""
        ahead = self.settings.schedule.fetch_every + PREPARE_SLACK if within is None else within
        soon = due_by(self.storage, self.settings.readers, self.clock() + ahead)
        return self.reading.prepare([r.name for r in soon])

    def deliver_due(self) -> list[DigestOutcome]:
        """Build every digest that is due, then deliver everything pending."""
        return self.digests.due()

    def build_weekly(
        self, reader_name: str | None, day: dt.date | None = None
    ) -> tuple[WeeklyOutcome, list[Delivery]]:
        """Build (or find) a reader's weekly digest of a local day and deliver what is
        pending for it (left to a running worker when one leads)."""
        reader = self.settings.reader(reader_name)
        if reader.rhythm != "both":
            raise UsageError(
                f'{reader.name} has no weekly digest beside the daily one (rhythm = "both")'
            )
        with self._delivering() as leading:
            outcome = self.digests.weekly.build(reader.name, day)
            if leading:
                self.digests.weekly.deliver(reader.name)
        found = self.storage.weekly_deliveries(reader.name)
        return outcome, [d for d in found if d.day == outcome.day]

    def weekly_status(self, name: str) -> tuple[dt.datetime | None, list[Delivery]]:
        """When a reader's next weekly digest is due, and its latest one's deliveries."""
        reader = self.settings.reader(name)
        if reader.rhythm != "both":
            return None, []
        upcoming = decide.next_delivery(
            self.clock(), reader.digest_time, reader.tz, frozenset({reader.weekly_day})
        )
        last = self.storage.last_weekly(reader.name)
        found = self.storage.weekly_deliveries(reader.name)
        return upcoming, [d for d in found if last and d.day == last[0]]

    def send_digest(self, reader: str | None, day: dt.date | None = None) -> DigestOutcome:
        with self._delivering() as leading:
            return self.digests.send_now(reader, day, deliver=leading)

    def preview_digest(self, reader: str | None, day: dt.date | None, folder: Path) -> list[Path]:
        """The e-mail's HTML and text written to ``folder``; nothing else changes."""
        return self.digests.preview(reader, day, folder)

    def digest_view(self, reader: str | None, day: dt.date | None = None) -> DigestView:
        """What every renderer shows of a reader's digest for a day: the recorded one,
        or what it would hold now (not recorded)."""
        return self.digests.view(self.digests.peek(reader, day))

    def reader_status(self, name: str) -> tuple[dt.datetime | None, list[Delivery]]:
        """A reader's next delivery time and the deliveries of their latest digest."""
        reader = self.settings.reader(name)
        upcoming = decide.next_delivery(
            self.clock(), reader.digest_time, reader.tz, reader.days, reader.arxiv_days
        )
        last = self.storage.last_digest(reader.name)
        return upcoming, self.storage.deliveries(reader.name, last[0]) if last else []

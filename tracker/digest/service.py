"""Building digests and delivering them: the Markdown file and the e-mail.

Exactly once, in two steps that each survive a crash:

1. **Build** (one transaction): the digest, its items, its "Now published" venue
   events and one *pending* delivery per channel are recorded together. An item, and
   a venue event, is in at most one digest of a reader (a unique key), and everything
   that arrived or was noticed since the previous digest is in this one.
2. **Deliver**: each pending delivery is written or sent, then marked *sent*. A crash
   before the mark leaves it pending, so it is delivered on restart, with the same
   Message-ID; a refused or dropped SMTP attempt is retried with backoff (4xx,
   connection errors) or marked *failed* and reported (5xx).

The one window that cannot be closed: the mail server accepted the message and the
process died before marking it sent. The message is then sent again on restart; it
carries the same Message-ID, which mail clients and many servers use to show it once.

Looking changes nothing: ``peek`` (the preview, the web page) gives the recorded digest
of a day, or the one that would be built now, held in memory only. Every output is
rendered from the digest's one view (``view``), in the reader's language: the Markdown
file, the e-mail's parts.

Composition: what a reader's digest depends on is read from storage (``readers``);
what goes in is ``select``'s decision, what is shown ``view``'s.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from tracker import decide
from tracker.config import DigestSettings, EmailSettings, ReaderSettings
from tracker.digest.catalogs import language
from tracker.digest.email import compose
from tracker.digest.files import digest_path, write_atomic
from tracker.digest.readers import failing_sources, find_reader, reader_view
from tracker.digest.render import render_html, render_markdown, render_text
from tracker.digest.rules import RuleSet
from tracker.digest.select import Ranker, ReaderView, build_digest
from tracker.digest.smtp import SmtpMailer
from tracker.digest.view import DigestView, Presentation, build_view
from tracker.digest.weekly import WeeklyDigests
from tracker.errors import DeliveryError, StorageError, UsageError
from tracker.fields.mapping import FieldMap
from tracker.heap import collector_paused
from tracker.models import Delivery, Digest, DigestEntry, DigestSection, Item, RisingPhrase
from tracker.storage import DigestRow, Storage, StoredDigest

log = logging.getLogger(__name__)
NOT_BEFORE_SLACK = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    reader: str
    day: dt.date
    path: Path  # where the Markdown file is (written when the reader has that channel)
    digest: Digest
    created: bool  # False when the digest already existed
    deliveries: tuple[Delivery, ...] = ()
    # True when another process (the scheduler leader) delivers what is pending
    left_to_leader: bool = False


class DigestService:
    """Builds, records, renders and delivers digests; reads what it needs about each
    reader (follows, saved papers, failing sources) from storage itself."""

    def __init__(
        self,
        storage: Storage,
        clock: Callable[[], dt.datetime],
        *,
        readers: Sequence[ReaderSettings],
        settings: DigestSettings,
        field_map: FieldMap,
        email: EmailSettings | None = None,
        mailer: SmtpMailer | None = None,
        rank: Callable[[str, Sequence[Item]], Ranker] | None = None,
        rising: Callable[[Sequence[str], dt.datetime], list[RisingPhrase]] | None = None,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.readers = tuple(readers)
        self.settings = settings
        self.field_map = field_map
        self.email = email
        self.mailer = mailer
        self._rank = rank
        self._rising = rising
        self.weekly = WeeklyDigests(self)
        self.presentation = Presentation(
            settings.abstract_sentences,
            settings.abstract_max_chars,
            section_items=settings.section_items,
            more_lines=settings.cross_domain_more,
        )

    def reader(self, name: str | None) -> ReaderSettings:
        return find_reader(self.readers, name)

    # --- what a reader's digest depends on --------------------------------------------

    def reader_view(self, reader: ReaderSettings) -> ReaderView:
        """What selection needs to know about a reader, read from storage."""
        return reader_view(self.storage, reader, self.settings, self.field_map)

    # --- building ---------------------------------------------------------------------

    def build(
        self, reader_name: str | None, day: dt.date | None = None, *, deliver: bool = True
    ) -> DigestOutcome:
        """Build a reader's digest for a local day (or find it), then deliver what is
        pending for it (unless ``deliver`` is False: another process delivers); an
        existing digest's Markdown file is written again."""
        reader = self.reader(reader_name)
        now = self.clock()
        day = day or now.astimezone(reader.tz).date()
        stored = self.storage.stored_digest(reader.name, day)
        digest: Digest | None = None
        if stored is None:
            with collector_paused():  # thousands of candidates alive at once (tracker.heap)
                digest = self._new(reader, day, now)
        if digest is None:
            stored = stored or self.storage.stored_digest(reader.name, day)
            assert stored is not None
            digest = self.from_stored(stored)
            if "markdown" in reader.channels:  # an explicit rebuild rewrites the file
                self._write(reader, digest)
        if deliver:
            deliveries = self.deliver(reader.name, digests={day: digest})
        else:
            deliveries = self.storage.deliveries(reader.name, day)
        return DigestOutcome(
            reader.name,
            day,
            digest_path(reader.output_dir, reader.name, day),
            digest,
            stored is None,
            tuple(deliveries),
            left_to_leader=not deliver,
        )

    def peek(self, reader_name: str | None, day: dt.date | None = None) -> Digest:
        """A reader's digest for a local day without changing anything: the recorded one,
        or the one that would be built now (not recorded, nothing delivered)."""
        reader = self.reader(reader_name)
        now = self.clock()
        day = day or now.astimezone(reader.tz).date()
        stored = self.storage.stored_digest(reader.name, day)
        if stored is not None:
            return self.from_stored(stored)
        with collector_paused():  # thousands of candidates alive at once (tracker.heap)
            return self._select(reader, day, now)

    def _select(self, reader: ReaderSettings, day: dt.date, now: dt.datetime) -> Digest:
        """What the reader's digest for ``day`` holds if built now (nothing recorded)."""
        if day > now.astimezone(reader.tz).date():
            raise UsageError(f"{day} has not begun yet for {reader.name} ({reader.timezone})")
        last = self.storage.last_digest(reader.name)
        if last is not None and day < last[0]:
            raise UsageError(
                f"a later digest ({last[0]}) exists for {reader.name}; everything before "
                f"it went there, so a digest for {day} cannot be built any more"
            )
        not_before = last[1] - NOT_BEFORE_SLACK if last else None
        candidates = self.storage.digest_candidates(
            reader.name, now, self.settings.first_lookback, not_before
        )
        view = replace(
            self.reader_view(reader),
            attributions=self.storage.attributions_for(
                reader.name, [c.item.id for c in candidates]
            ),
            ranking=self._ranking(reader.name, [c.item for c in candidates]),
            top_picks=reader.weekly_picks
            if reader.rhythm == "weekly"
            else self.settings.picks_for(reader),
            since=last[1] if last else None,
            rules=RuleSet.of(self.storage.rules(reader.name)),
        )
        digest = build_digest(
            view,
            day,
            now,
            [(c.item, c.sightings) for c in candidates],
            failing_sources(self.storage, reader.name),
        )
        # a digest of the week (rhythm "weekly") always has the week's rising phrases
        if reader.rhythm == "weekly" or (
            reader.rising and day.weekday() == self.settings.rising_day
        ):
            digest = replace(digest, rising=tuple(self._rising_phrases(view, now)))
        # "Now published": venues noticed since the last digest, each event once
        since = not_before if not_before is not None else now - self.settings.first_lookback
        published = self.storage.published_candidates(reader.name, now, since)
        return replace(digest, first=last is None, published=tuple(published))

    def _new(self, reader: ReaderSettings, day: dt.date, now: dt.datetime) -> Digest | None:
        """Record a new digest; None when another process recorded it first."""
        digest = self._select(reader, day, now)
        rows = [
            DigestRow(
                e.item.id,
                s.title,
                s.kind,
                e.reasons,
                e.announce_type,
                e.followed_authors,
                e.score,
                e.note,
            )
            for s in digest.sections
            for e in s.entries
        ]
        try:
            self.storage.record_digest(
                reader.name,
                day,
                now,
                rows,
                now,
                digest.sources_failing,
                channels=reader.channels,
                skip=digest.item_count == 0
                and not digest.published
                and reader.when_empty == "skip",
                rising=digest.rising,
                removed=digest.removed,
                venue_events=[e.id for p in digest.published for e in p.events],
            )
        except StorageError:
            if self.storage.stored_digest(reader.name, day) is None:
                raise
            return None  # built by another process in the meantime: use theirs
        log.info("digest built reader=%s day=%s items=%d", reader.name, day, digest.item_count)
        return digest

    def _ranking(self, reader: str, items: Sequence[Item]) -> Ranker | None:
        """The reader's ranking of the candidates; None without a ranker or items, or
        when the model cannot be trained (the digest is then built unranked)."""
        if self._rank is None or not items:
            return None
        try:
            return self._rank(reader, items)
        except ValueError as e:  # scikit-learn's word for data it cannot fit
            log.warning("digest not ranked reader=%s error=%s", reader, e)
            return None

    def neighbours(self, own: Sequence[str]) -> list[str]:
        """The fields next to a reader's own: those of ``cross_domain_fields`` (fields
        or whole groups), else the other fields of the groups of their own."""
        fmap = self.field_map
        named = self.settings.cross_domain_fields
        if named:
            chosen = [f for f in fmap.fields if f in named or fmap.group_of(f) in named]
        else:
            groups = {fmap.group_of(f) for f in own}
            chosen = [f for f in fmap.fields if fmap.group_of(f) in groups]
        return [f for f in chosen if f not in own]

    def _rising_phrases(self, view: ReaderView, now: dt.datetime) -> list[RisingPhrase]:
        if self._rising is None:
            return []
        return self._rising(self.neighbours(view.own_fields), now)

    def rising_for(self, reader: ReaderSettings, now: dt.datetime) -> list[RisingPhrase]:
        """The week's rising phrases in the fields next to the reader's own."""
        if self._rising is None:
            return []
        return self._rising_phrases(self.reader_view(reader), now)

    def from_stored(self, stored: StoredDigest) -> Digest:
        items = {i.id: i for i in self.storage.items([r.item_id for r in stored.rows])}
        sections: list[DigestSection] = []
        current: list[DigestEntry] = []
        head: tuple[str, str] | None = None
        for row in stored.rows:
            if row.item_id not in items:
                continue
            if head != (row.section, row.section_kind):
                if head and current:
                    sections.append(DigestSection(head[0], head[1], tuple(current)))
                head, current = (row.section, row.section_kind), []
            current.append(
                DigestEntry(
                    items[row.item_id],
                    row.reasons,
                    row.followed_authors,
                    row.announce_type,
                    row.score,
                    row.note,
                )
            )
        if head and current:
            sections.append(DigestSection(head[0], head[1], tuple(current)))
        return Digest(
            stored.reader,
            stored.day,
            stored.cutoff,
            tuple(sections),
            stored.failing_sources,
            first=stored.first,
            rising=stored.rising,
            removed=stored.removed,
            published=tuple(self.storage.published_entries(stored.venue_events))
            if stored.venue_events
            else (),
        )

    # --- delivering -------------------------------------------------------------------

    def view(self, digest: Digest) -> DigestView:
        """What every renderer shows of a digest (the Markdown file, the e-mail, the web
        page), in its reader's language (English for a reader no longer configured)."""
        code = next((r.language for r in self.readers if r.name == digest.reader), "en")
        return build_view(digest, self.presentation, language(code))

    def render(self, digest: Digest) -> str:
        return render_markdown(self.view(digest))

    def _write(self, reader: ReaderSettings, digest: Digest) -> None:
        try:
            write_atomic(
                digest_path(reader.output_dir, reader.name, digest.day), self.render(digest)
            )
        except OSError as e:
            raise DeliveryError(f"cannot write the digest file: {e}", retryable=True) from e

    def retry_at(self, attempts: int, now: dt.datetime) -> dt.datetime:
        """When a failed delivery is tried again."""
        email = self.email
        first = dt.timedelta(minutes=email.retry_minutes if email else 5.0)
        longest = dt.timedelta(hours=email.retry_max_hours if email else 6.0)
        return decide.retry_delivery(attempts, now, first, longest)

    def send(self, reader: ReaderSettings, digest: Digest, now: dt.datetime) -> None:
        """E-mail a digest to the reader (a DeliveryError when it cannot be sent)."""
        email = self.email
        if email is None or self.mailer is None or not reader.email:
            raise DeliveryError(
                f"{reader.name} has no e-mail address or there is no [email] table", retryable=False
            )
        message = compose(
            self.view(digest),
            sender=email.sender,
            to=reader.email,
            now=now,
            unsubscribe=email.unsubscribe,
        )
        self.mailer.send(message)

    def deliver(
        self, reader: str | None = None, *, digests: Mapping[dt.date, Digest] | None = None
    ) -> list[Delivery]:
        """Write or send every pending delivery whose time has come; returns them with
        their new state."""
        now = self.clock()
        attempted: list[Delivery] = []
        cache = dict(digests or {})
        for delivery in self.storage.due_deliveries(now, reader):
            try:
                settings = self.reader(delivery.reader)
            except UsageError:
                self.storage.delivery_failed(
                    delivery.id, "the reader is no longer configured", None
                )
                continue
            attempted.append(delivery)
            digest = cache.get(delivery.day) if delivery.reader == reader else None
            if digest is None:
                stored = self.storage.stored_digest(delivery.reader, delivery.day)
                if stored is None:
                    continue
                digest = self.from_stored(stored)
            try:
                if delivery.channel == "markdown":
                    self._write(settings, digest)
                else:
                    self.send(settings, digest, now)
            except DeliveryError as e:
                retry = self.retry_at(delivery.attempts + 1, now) if e.retryable else None
                self.storage.delivery_failed(delivery.id, str(e), retry)
                log.warning(
                    "delivery failed reader=%s day=%s channel=%s retry_at=%s error=%s",
                    delivery.reader,
                    delivery.day,
                    delivery.channel,
                    retry,
                    e,
                )
                continue
            self.storage.delivery_done(delivery.id, now)
            log.info(
                "delivered reader=%s day=%s channel=%s",
                delivery.reader,
                delivery.day,
                delivery.channel,
            )
        ids = {d.id for d in attempted}
        readers = sorted({d.reader for d in attempted})
        return [d for name in readers for d in self.storage.deliveries(name) if d.id in ids]

    def due(self) -> list[DigestOutcome]:
        """Build every reader's digest whose delivery time has passed (once per delivery
        day), then deliver everything pending, retries included."""
        now = self.clock()
        outcomes: list[DigestOutcome] = []
        for reader in self.readers:
            last = self.storage.last_digest(reader.name)
            day = decide.due_digest_day(
                now,
                reader.digest_time,
                reader.tz,
                last[0] if last else None,
                reader.days,
                reader.arxiv_days,
            )
            if day is not None:
                outcomes.append(self.build(reader.name, day))
        # after the dailies: a weekly digest due today holds today's daily digest too
        self.weekly.due()
        self.deliver()
        self.weekly.deliver()
        return outcomes

    def send_now(
        self, reader_name: str | None, day: dt.date | None = None, *, deliver: bool = True
    ) -> DigestOutcome:
        """Build the day's digest if needed and e-mail it now, whatever was sent before
        (the same Message-ID as any earlier send). With ``deliver`` False the e-mail is
        only made due now, for the process that delivers (the scheduler leader)."""
        reader = self.reader(reader_name)
        if not reader.email:
            raise UsageError(f"{reader.name} has no e-mail address ([[readers]] email)")
        outcome = self.build(reader.name, day, deliver=deliver)
        self.storage.add_delivery(reader.name, outcome.day, "email", self.clock())
        if not deliver:
            return replace(
                outcome, deliveries=tuple(self.storage.deliveries(reader.name, outcome.day))
            )
        delivered = self.deliver(reader.name, digests={outcome.day: outcome.digest})
        state = [
            d for d in self.storage.deliveries(reader.name, outcome.day) if d.channel == "email"
        ]
        if state and state[0].state != "sent":
            raise DeliveryError(
                f"the digest was not sent: {state[0].last_error}",
                retryable=state[0].state == "pending",
            )
        return DigestOutcome(
            outcome.reader,
            outcome.day,
            outcome.path,
            outcome.digest,
            outcome.created,
            tuple(delivered),
        )

    def preview(self, reader_name: str | None, day: dt.date | None, folder: Path) -> list[Path]:
        """Write the day's digest as the e-mail's HTML and text, to look at. Nothing else
        changes: a digest not built yet is built in memory only (not recorded, nothing
        delivered), an existing one is rendered as recorded."""
        digest = self.peek(reader_name, day)
        view = self.view(digest)
        folder.mkdir(parents=True, exist_ok=True)
        base = folder / f"{digest.reader}-{digest.day.isoformat()}"
        html_path, text_path = base.with_suffix(".html"), base.with_suffix(".txt")
        write_atomic(html_path, render_html(view))
        write_atomic(text_path, render_text(view))
        return [html_path, text_path]

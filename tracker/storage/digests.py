"""Digest bookkeeping: candidates for a reader's next digest, and what each digest held.

Exactly-once per reader is a database fact: ``digest_items`` has a unique
(reader, item) pair, and a digest's items are written in the same transaction as the
digest itself. Candidates are the items sighted in a reader's followed sources up to
the cutoff that no earlier digest of that reader contained, so a late or skipped run
loses nothing and repeats nothing.

Each item's reasons are stored as JSON: ``[kind, value, details]``, a detail being
``[code, [values], count]`` (``tracker.reasons``). Digests stored before details were
data hold ``[kind, value, "English text"]``; they are read back through
``reasons.from_text``, so an old digest is shown, in any language, as it was.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, Update, and_, exists, func, select, update

from tracker.errors import StorageError
from tracker.models import (
    Delivery,
    Detail,
    FollowKind,
    Item,
    RankReason,
    Reason,
    RisingPhrase,
    Sighting,
)
from tracker.reasons import from_text
from tracker.storage import schema
from tracker.storage.items import ItemsMixin
from tracker.storage.sources import SourcesMixin

sg, f, d, di = schema.sightings, schema.follows, schema.digests, schema.digest_items
dl = schema.deliveries
# one encoder for every row: ``json.dumps`` with options builds a new one per call
_json = json.JSONEncoder(ensure_ascii=False).encode


@dataclass(frozen=True, slots=True)
class Candidate:
    item: Item
    sightings: tuple[Sighting, ...]


@dataclass(frozen=True, slots=True)
class DigestRow:
    """One item of a stored digest, in its place."""

    item_id: int
    section: str
    section_kind: str
    reasons: tuple[Reason, ...]
    announce_type: str | None
    followed_authors: tuple[str, ...] = ()
    score: float | None = None  # the reader's relevance score, when ranked
    note: RankReason | None = None  # why it is a pick


@dataclass(frozen=True, slots=True)
class StoredDigest:
    reader: str
    day: dt.date
    cutoff: dt.datetime
    rows: tuple[DigestRow, ...]
    failing_sources: tuple[str, ...] = ()
    first: bool = False  # no digest of the reader before this one
    rising: tuple[RisingPhrase, ...] = ()
    removed: int = 0  # items the reader's rules kept out
    venue_events: tuple[int, ...] = ()  # "Now published": the venue events shown, in order


def sent(table: Table, delivery_id: int, now: dt.datetime) -> Update:
    """A delivery (of ``deliveries`` or ``weekly_deliveries``) marked sent."""
    return (
        update(table)
        .where(table.c.id == delivery_id)
        .values(state="sent", sent_at=now, attempts=table.c.attempts + 1, last_error=None)
    )


def failed(table: Table, delivery_id: int, error: str, next_attempt: dt.datetime | None) -> Update:
    """A delivery's failed attempt: retried at ``next_attempt``, or given up (None)."""
    values: dict[str, object] = dict(attempts=table.c.attempts + 1, last_error=error[:2000])
    if next_attempt is None:
        values["state"] = "failed"
    else:
        values["next_attempt_at"] = next_attempt
    return update(table).where(table.c.id == delivery_id).values(**values)


def reasons_json(reasons: Sequence[Reason]) -> str:
    return json.dumps(
        [
            [r.kind.value, r.value, [[x.code, list(x.values), x.count] for x in r.details]]
            for r in reasons
        ],
        ensure_ascii=False,
    )


def _details(raw: Any) -> tuple[Detail, ...]:
    if isinstance(raw, str):  # stored before details were data
        return from_text(raw)
    return tuple(Detail(str(code), tuple(map(str, values)), int(n)) for code, values, n in raw)


def reasons_from_json(text: str) -> tuple[Reason, ...]:
    return tuple(Reason(FollowKind(k), v, _details(raw)) for k, v, raw in json.loads(text))


def day_of(value: Any) -> dt.date:
    """A ``Date`` column's value: a date on PostgreSQL, ISO text on SQLite."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def latest_days(
    conn: Connection, table: Table, reader: str, limit: int
) -> list[tuple[dt.date, int]]:
    """A reader's latest digests of ``table`` (daily or weekly), newest first: (day,
    item count)."""
    rows = conn.execute(
        select(table.c.day, table.c.item_count)
        .where(table.c.reader == reader)
        .order_by(table.c.day.desc())
        .limit(limit)
    )
    return [(day_of(r.day), r.item_count) for r in rows]


def _delivery(row: Any) -> Delivery:
    m = row._mapping
    return Delivery(
        id=m["id"],
        reader=m["reader"],
        day=day_of(m["day"]),
        channel=m["channel"],
        state=m["state"],
        attempts=m["attempts"],
        next_attempt=m["next_attempt_at"],
        last_error=m["last_error"],
        sent_at=m["sent_at"],
    )


class DigestsMixin(ItemsMixin, SourcesMixin):
    def digest_candidates(
        self,
        reader: str,
        cutoff: dt.datetime,
        lookback: dt.timedelta,
        not_before: dt.datetime | None = None,
    ) -> list[Candidate]:
        """Items sighted in the reader's sources by ``cutoff`` and in no digest of theirs.

        A follow brings only what was sighted since it was created (less ``lookback``),
        so following a busy source does not flood the next digest with its history;
        ``not_before`` bounds the look back further (a day before the last digest).
        """
        created = self.follow_created(reader)
        if not created:
            return []
        since = {
            sid: max(when - lookback, not_before) if not_before else when - lookback
            for sid, when in created.items()
        }
        earliest = min(since.values())
        query = (
            select(sg.c.item_id, sg.c.source_id, sg.c.seen_at, sg.c.announce_type)
            .where(
                sg.c.source_id.in_(list(since)),
                sg.c.seen_at <= cutoff,
                sg.c.seen_at >= earliest,
                ~exists().where(and_(di.c.reader == reader, di.c.item_id == sg.c.item_id)),
            )
            .order_by(sg.c.item_id, sg.c.id)
        )
        found: dict[int, list[Sighting]] = {}
        with self._read() as conn:
            for item_id, source_id, seen_at, announce in conn.execute(query):
                if seen_at >= since[source_id]:
                    found.setdefault(item_id, []).append(
                        Sighting(item_id, source_id, seen_at, announce)
                    )
            # Work of followed scholars, whichever source brought it.
            scholars = (
                select(
                    f.c.value.label("scholar"),
                    func.min(f.c.created_at, type_=schema.UTCDateTime).label("since"),
                )
                .where(f.c.reader == reader, f.c.kind == "scholar")
                .group_by(f.c.value)
                .subquery()
            )
            at = schema.attributions
            attributed = conn.execute(
                select(at.c.item_id, at.c.created_at, scholars.c.since)
                .join(scholars, scholars.c.scholar == at.c.scholar)
                .where(
                    at.c.rejected == 0,
                    at.c.created_at <= cutoff,
                    at.c.created_at >= earliest,
                    ~exists().where(and_(di.c.reader == reader, di.c.item_id == at.c.item_id)),
                )
            )
            for a in attributed:
                bound = max(a.since - lookback, not_before) if not_before else a.since - lookback
                if a.created_at >= bound:
                    found.setdefault(a.item_id, [])
            items = self._items(conn, list(found))
        return [Candidate(item, tuple(found[item.id])) for item in items]

    def record_digest(
        self,
        reader: str,
        day: dt.date,
        cutoff: dt.datetime,
        rows: Sequence[DigestRow],
        now: dt.datetime,
        failing_sources: Sequence[str] = (),
        channels: Sequence[str] = ("markdown",),
        skip: bool = False,
        rising: Sequence[RisingPhrase] = (),
        removed: int = 0,
        venue_events: Sequence[int] = (),
    ) -> StoredDigest:
        """Store a digest, its items, its venue events and one pending delivery per
        channel, all at once (``skip``: deliveries are recorded as skipped); fails if
        any item or venue event was already in a digest of this reader."""
        with self._write() as conn:
            if conn.scalar(select(d.c.id).where(d.c.reader == reader, d.c.day == day)):
                raise StorageError(f"a digest for {reader} on {day} already exists")
            earlier = conn.scalar(
                select(d.c.id).where(d.c.reader == reader, d.c.day < day).limit(1)
            )
            digest_id = conn.execute(
                d.insert()
                .values(
                    reader=reader,
                    day=day,
                    cutoff_at=cutoff,
                    built_at=now,
                    item_count=len(rows),
                    removed=removed,
                    failing_sources=json.dumps(list(failing_sources), ensure_ascii=False),
                    rising=json.dumps([r.as_json() for r in rising], ensure_ascii=False)
                    if rising
                    else None,
                )
                .returning(d.c.id)
            ).scalar_one()
            conn.execute(
                dl.insert(),
                [
                    dict(
                        digest_id=digest_id,
                        channel=ch,
                        state="skipped" if skip else "pending",
                        attempts=0,
                        next_attempt_at=now,
                    )
                    for ch in channels
                ],
            )
            if rows:
                # most items of a day share their reasons ("category cs.LG") and have no
                # followed author: each distinct value is encoded once
                reasons: dict[tuple[Reason, ...], str] = {}
                authors: dict[tuple[str, ...], str] = {}
                conn.execute(
                    di.insert(),
                    [
                        dict(
                            digest_id=digest_id,
                            reader=reader,
                            item_id=r.item_id,
                            position=n,
                            section=r.section,
                            section_kind=r.section_kind,
                            announce_type=r.announce_type,
                            followed_authors=authors.get(r.followed_authors)
                            or authors.setdefault(
                                r.followed_authors, _json(list(r.followed_authors))
                            ),
                            reasons=reasons.get(r.reasons)
                            or reasons.setdefault(r.reasons, reasons_json(r.reasons)),
                            score=r.score,
                            note=_json(r.note.as_json()) if r.note else None,
                        )
                        for n, r in enumerate(rows)
                    ],
                )
            if venue_events:
                conn.execute(
                    schema.digest_venues.insert(),
                    [
                        dict(digest_id=digest_id, reader=reader, event_id=e, position=n)
                        for n, e in enumerate(venue_events)
                    ],
                )
        return StoredDigest(
            reader,
            day,
            cutoff,
            tuple(rows),
            tuple(failing_sources),
            first=earlier is None,
            rising=tuple(rising),
            removed=removed,
            venue_events=tuple(venue_events),
        )

    def stored_digest(self, reader: str, day: dt.date) -> StoredDigest | None:
        with self._read() as conn:
            head = conn.execute(select(d).where(d.c.reader == reader, d.c.day == day)).first()
            if head is None:
                return None
            rows = conn.execute(
                select(di).where(di.c.digest_id == head.id).order_by(di.c.position)
            ).all()
            earlier = conn.scalar(
                select(d.c.id).where(d.c.reader == reader, d.c.day < day).limit(1)
            )
            dv = schema.digest_venues
            venue_events = tuple(
                conn.scalars(
                    select(dv.c.event_id).where(dv.c.digest_id == head.id).order_by(dv.c.position)
                )
            )
        return StoredDigest(
            reader,
            day,
            head.cutoff_at,
            tuple(
                DigestRow(
                    r.item_id,
                    r.section,
                    r.section_kind,
                    reasons_from_json(r.reasons),
                    r.announce_type,
                    tuple(json.loads(r.followed_authors)),
                    r.score,
                    RankReason.from_json(json.loads(r.note)) if r.note else None,
                )
                for r in rows
            ),
            tuple(json.loads(head.failing_sources)),
            first=earlier is None,
            rising=tuple(
                phrase
                for raw in (json.loads(head.rising) if head.rising else [])
                if (phrase := RisingPhrase.from_json(raw)) is not None
            ),
            removed=head.removed,
            venue_events=venue_events,
        )

    def due_deliveries(self, now: dt.datetime, reader: str | None = None) -> list[Delivery]:
        """Deliveries waiting to be written or sent whose time has come, oldest first."""
        query = (
            select(dl, d.c.reader, d.c.day)
            .join(d, d.c.id == dl.c.digest_id)
            .where(dl.c.state == "pending", dl.c.next_attempt_at <= now)
            .order_by(d.c.day, dl.c.id)
        )
        if reader is not None:
            query = query.where(d.c.reader == reader)
        with self._read() as conn:
            return [_delivery(r) for r in conn.execute(query)]

    def deliveries(self, reader: str, day: dt.date | None = None) -> list[Delivery]:
        query = (
            select(dl, d.c.reader, d.c.day)
            .join(d, d.c.id == dl.c.digest_id)
            .where(d.c.reader == reader)
        )
        if day is not None:
            query = query.where(d.c.day == day)
        with self._read() as conn:
            return [_delivery(r) for r in conn.execute(query.order_by(d.c.day, dl.c.channel))]

    def add_delivery(self, reader: str, day: dt.date, channel: str, now: dt.datetime) -> None:
        """Make sure a digest has a delivery on ``channel``, and make it due now."""
        with self._write() as conn:
            digest_id = conn.scalar(select(d.c.id).where(d.c.reader == reader, d.c.day == day))
            if digest_id is None:
                raise StorageError(f"no digest for {reader} on {day}")
            conn.execute(
                self._insert_ignore(dl).values(
                    digest_id=digest_id,
                    channel=channel,
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                )
            )
            conn.execute(
                update(dl)
                .where(dl.c.digest_id == digest_id, dl.c.channel == channel)
                .values(state="pending", next_attempt_at=now)
            )

    def delivery_done(self, delivery_id: int, now: dt.datetime) -> None:
        with self._write() as conn:
            conn.execute(sent(dl, delivery_id, now))

    def delivery_failed(
        self, delivery_id: int, error: str, next_attempt: dt.datetime | None
    ) -> None:
        """Record a failed attempt: retried at ``next_attempt``, or given up (None)."""
        with self._write() as conn:
            conn.execute(failed(dl, delivery_id, error, next_attempt))

    def last_digest(self, reader: str) -> tuple[dt.date, dt.datetime] | None:
        """The day and cutoff of the reader's latest digest."""
        with self._read() as conn:
            row = conn.execute(
                select(d.c.day, d.c.cutoff_at)
                .where(d.c.reader == reader)
                .order_by(d.c.day.desc())
                .limit(1)
            ).first()
        return (row.day, row.cutoff_at) if row else None

    def last_digest_day(self, reader: str) -> dt.date | None:
        with self._read() as conn:
            day = conn.scalar(select(func.max(d.c.day)).where(d.c.reader == reader))
        return None if day is None else day_of(day)

    def digest_days(self, reader: str, limit: int = 60) -> list[tuple[dt.date, int]]:
        """The reader's latest digests, newest first: (day, item count)."""
        with self._read() as conn:
            return latest_days(conn, d, reader, limit)

    def digested_item_ids(self, reader: str) -> set[int]:
        with self._read() as conn:
            return set(conn.scalars(select(di.c.item_id).where(di.c.reader == reader)))

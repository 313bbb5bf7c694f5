"""Weekly digests of readers who get daily ones too (``rhythm = "both"``): the entries of
the week's daily digests they are chosen from, and each weekly digest with one
delivery per channel.

Exactly once, as for daily digests: a reader's weekly digest of a day is recorded once
(a unique key), together with its pending deliveries, in one transaction; a delivery
is marked sent only after it was written or accepted. Its items stay in their daily
digests (``digest_items`` is not touched), so the weekly repeats the best of them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from tracker.errors import StorageError
from tracker.models import Delivery, RankReason, RisingPhrase
from tracker.storage import schema
from tracker.storage.base import StorageBase
from tracker.storage.digests import (
    DigestRow,
    day_of,
    failed,
    latest_days,
    reasons_from_json,
    reasons_json,
    sent,
)

d, di = schema.digests, schema.digest_items
wd, wl = schema.weekly_digests, schema.weekly_deliveries


@dataclass(frozen=True, slots=True)
class StoredWeekly:
    reader: str
    day: dt.date
    cutoff: dt.datetime
    rows: tuple[DigestRow, ...]
    rising: tuple[RisingPhrase, ...] = ()


def _row_json(r: DigestRow) -> list[Any]:
    return [
        r.item_id,
        r.section,
        r.section_kind,
        json.loads(reasons_json(r.reasons)),
        r.announce_type,
        list(r.followed_authors),
        r.score,
        r.note.as_json() if r.note else None,
    ]


def _row(raw: list[Any]) -> DigestRow:
    item_id, section, kind, reasons, announce, followed, score, note = raw
    return DigestRow(
        int(item_id),
        str(section),
        str(kind),
        reasons_from_json(json.dumps(reasons)),
        announce,
        tuple(followed),
        score,
        RankReason.from_json(note) if note else None,
    )


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


class WeeklyMixin(StorageBase):
    def week_rows(
        self, reader: str, after: dt.datetime | None, until: dt.datetime
    ) -> list[DigestRow]:
        """The entries of the reader's daily digests whose cutoff is after ``after`` (the
        previous weekly's) and not after ``until``, in digest and position order."""
        query = (
            select(di, d.c.day)
            .join(d, d.c.id == di.c.digest_id)
            .where(d.c.reader == reader, d.c.cutoff_at <= until)
            .order_by(d.c.day, di.c.position)
        )
        if after is not None:
            query = query.where(d.c.cutoff_at > after)
        with self._read() as conn:
            return [
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
                for r in conn.execute(query)
            ]

    def record_weekly(
        self,
        reader: str,
        day: dt.date,
        cutoff: dt.datetime,
        rows: Sequence[DigestRow],
        now: dt.datetime,
        channels: Sequence[str],
        rising: Sequence[RisingPhrase] = (),
    ) -> StoredWeekly:
        """Store a weekly digest and one pending delivery per channel, all at once;
        fails if the reader's weekly digest of that day exists."""
        with self._write() as conn:
            if conn.scalar(select(wd.c.id).where(wd.c.reader == reader, wd.c.day == day)):
                raise StorageError(f"a weekly digest for {reader} on {day} already exists")
            weekly_id = conn.execute(
                wd.insert()
                .values(
                    reader=reader,
                    day=day,
                    cutoff_at=cutoff,
                    built_at=now,
                    item_count=len(rows),
                    entries=json.dumps([_row_json(r) for r in rows], ensure_ascii=False),
                    rising=json.dumps([r.as_json() for r in rising], ensure_ascii=False),
                )
                .returning(wd.c.id)
            ).scalar_one()
            conn.execute(
                wl.insert(),
                [
                    dict(
                        weekly_id=weekly_id,
                        channel=ch,
                        state="pending",
                        attempts=0,
                        next_attempt_at=now,
                    )
                    for ch in channels
                ],
            )
        return StoredWeekly(reader, day, cutoff, tuple(rows), tuple(rising))

    def stored_weekly(self, reader: str, day: dt.date) -> StoredWeekly | None:
        with self._read() as conn:
            head = conn.execute(select(wd).where(wd.c.reader == reader, wd.c.day == day)).first()
        if head is None:
            return None
        return StoredWeekly(
            reader,
            day,
            head.cutoff_at,
            tuple(_row(raw) for raw in json.loads(head.entries)),
            tuple(
                phrase
                for raw in json.loads(head.rising or "[]")
                if (phrase := RisingPhrase.from_json(raw)) is not None
            ),
        )

    def weekly_days(self, reader: str, limit: int = 60) -> list[tuple[dt.date, int]]:
        """The reader's latest weekly digests, newest first: (day, item count)."""
        with self._read() as conn:
            return latest_days(conn, wd, reader, limit)

    def last_weekly(self, reader: str) -> tuple[dt.date, dt.datetime] | None:
        """The day and cutoff of the reader's latest weekly digest."""
        with self._read() as conn:
            row = conn.execute(
                select(wd.c.day, wd.c.cutoff_at)
                .where(wd.c.reader == reader)
                .order_by(wd.c.day.desc())
                .limit(1)
            ).first()
        return (day_of(row.day), row.cutoff_at) if row else None

    def weekly_deliveries(
        self, reader: str | None = None, *, due: dt.datetime | None = None
    ) -> list[Delivery]:
        """Weekly deliveries (with ``due``: the pending ones whose time has come)."""
        query = (
            select(wl, wd.c.reader, wd.c.day)
            .join(wd, wd.c.id == wl.c.weekly_id)
            .order_by(wd.c.day, wl.c.id)
        )
        if reader is not None:
            query = query.where(wd.c.reader == reader)
        if due is not None:
            query = query.where(wl.c.state == "pending", wl.c.next_attempt_at <= due)
        with self._read() as conn:
            return [_delivery(r) for r in conn.execute(query)]

    def weekly_delivery_done(self, delivery_id: int, now: dt.datetime) -> None:
        with self._write() as conn:
            conn.execute(sent(wl, delivery_id, now))

    def weekly_delivery_failed(
        self, delivery_id: int, error: str, next_attempt: dt.datetime | None
    ) -> None:
        """A failed attempt: retried at ``next_attempt``, or given up (None)."""
        with self._write() as conn:
            conn.execute(failed(wl, delivery_id, error, next_attempt))

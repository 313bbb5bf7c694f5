"""Venues noticed later: the watched papers' schedule, venue events, and the events a
reader's next digest should show.

A paper is watched while it has no journal-ref, no DOI of its own (arXiv's preprint
DOIs do not count) and no venue event, is recent enough, and a reader saved it or it
is attributed to a scholar someone follows. ``claim_venue_checks`` hands the due ones
to one worker by moving their next check a lease ahead in the same transaction that
reads them; ``venue_checked`` sets the real next check once they were asked about.

Events are written by ``ingest`` (journal-refs and DOIs fetched through any path) or
by ``record_venue_changes`` (what OpenAlex says), each (item, kind, value) once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, Row, and_, exists, func, or_, select, update

from tracker.models import LINK_ONLY, PublishedEntry, VenueChange, VenueEvent, VenueKind
from tracker.storage import schema
from tracker.storage.items import ItemsMixin
from tracker.storage.lookups import _chunks

i, ve, vc = schema.items, schema.venue_events, schema.venue_checks
sv, at, f, dv = schema.saved, schema.attributions, schema.follows, schema.digest_venues


def _followed_or_saved(item_id: ColumnElement[int]) -> ColumnElement[bool]:
    """The item is saved by a reader or attributed to a scholar someone follows."""
    return or_(
        exists().where(sv.c.item_id == item_id),
        exists().where(
            at.c.item_id == item_id,
            at.c.rejected == 0,
            exists().where(f.c.kind == "scholar", f.c.value == at.c.scholar),
        ),
    )


class VenuesMixin(ItemsMixin):
    def claim_venue_checks(
        self,
        now: dt.datetime,
        *,
        since: dt.datetime,
        settled: dt.datetime,
        limit: int,
        lease: dt.timedelta,
        early: dt.timedelta = dt.timedelta(0),
    ) -> list[tuple[int, str]]:
        """Watched papers due for a check, oldest due first: (item id, arXiv id).

        A paper never checked is due once it was first seen before ``settled`` (what was
        just fetched is as current as a check would make it); ``since`` is the oldest
        first-version date watched. When any paper is due, papers due within ``early``
        fill the requests up, so that checks gather into full batches instead of one
        request for a few papers in every cycle. Their next check moves ``lease`` ahead
        at once, so another worker does not take them too, and a check that fails is
        retried then.
        """
        if limit <= 0:
            return []
        when = func.coalesce(i.c.published_at, i.c.first_seen_at, type_=schema.UTCDateTime)
        due_at = func.coalesce(vc.c.next_check_at, i.c.first_seen_at, type_=schema.UTCDateTime)
        query = (
            select(i.c.id, i.c.arxiv_id, i.c.first_seen_at, vc.c.next_check_at)
            .select_from(i.outerjoin(vc, vc.c.item_id == i.c.id))
            .where(
                i.c.arxiv_id.is_not(None),
                i.c.quality > LINK_ONLY,
                i.c.journal_ref.is_(None),
                or_(i.c.doi.is_(None), func.lower(i.c.doi).like("10.48550/%")),
                when >= since,
                or_(
                    and_(vc.c.item_id.is_(None), i.c.first_seen_at <= settled + early),
                    vc.c.next_check_at <= now + early,
                ),
                ~exists().where(ve.c.item_id == i.c.id),
                _followed_or_saved(i.c.id),
            )
            .order_by(due_at, i.c.id)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            # workers claiming side by side skip each other's papers (SQLite writes one
            # transaction at a time: there the write lock does it)
            query = query.with_for_update(of=i, skip_locked=True)
        with self._write() as conn:
            found = conn.execute(query).all()
            due = any(
                r.first_seen_at <= settled if r.next_check_at is None else r.next_check_at <= now
                for r in found
            )
            if not due:  # only papers due a little later: they wait for their time
                return []
            rows = [(r.id, r.arxiv_id) for r in found]
            ids_ = [item_id for item_id, _ in rows]
            known = set(conn.scalars(select(vc.c.item_id).where(vc.c.item_id.in_(ids_))))
            held = now + lease
            if known:
                conn.execute(update(vc).where(vc.c.item_id.in_(known)).values(next_check_at=held))
            fresh = [n for n in ids_ if n not in known]
            if fresh:
                conn.execute(
                    self._insert_ignore(vc),
                    [dict(item_id=n, checked_at=None, next_check_at=held) for n in fresh],
                )
        return rows

    def venue_checked(self, checks: Sequence[tuple[int, dt.datetime]], now: dt.datetime) -> None:
        """Papers were asked about now: (item id, when next)."""
        if not checks:
            return
        with self._write() as conn:
            for item_id, next_at in checks:
                conn.execute(
                    update(vc)
                    .where(vc.c.item_id == item_id)
                    .values(checked_at=now, next_check_at=next_at)
                )

    def record_venue_changes(
        self, changes: Sequence[tuple[int, VenueChange]], now: dt.datetime
    ) -> int:
        """Record venues stored papers got (item id, change); returns how many were new."""
        if not changes:
            return 0
        with self._write() as conn:
            return self._add_venue_events(conn, changes, now)

    def venue_events(self, item_id: int) -> list[VenueEvent]:
        """A paper's venue events, in the order they were noticed."""
        with self._read() as conn:
            rows = conn.execute(
                select(ve).where(ve.c.item_id == item_id).order_by(ve.c.noticed_at, ve.c.id)
            )
            return [_event(r) for r in rows]

    def published_candidates(
        self, reader: str, cutoff: dt.datetime, since: dt.datetime
    ) -> list[PublishedEntry]:
        """Venue events noticed from ``since`` to ``cutoff`` on papers the reader saved
        or that a scholar they follow wrote, in no digest of theirs yet; one entry per
        paper, in the order the papers' first events were noticed."""
        mine = or_(
            exists().where(sv.c.reader == reader, sv.c.item_id == ve.c.item_id),
            exists().where(
                at.c.item_id == ve.c.item_id,
                at.c.rejected == 0,
                exists().where(
                    f.c.reader == reader, f.c.kind == "scholar", f.c.value == at.c.scholar
                ),
            ),
        )
        query = (
            select(ve)
            .where(
                ve.c.noticed_at <= cutoff,
                ve.c.noticed_at >= since,
                ~exists().where(dv.c.reader == reader, dv.c.event_id == ve.c.id),
                mine,
            )
            .order_by(ve.c.noticed_at, ve.c.id)
        )
        with self._read() as conn:
            events = [_event(r) for r in conn.execute(query)]
            return self._published(conn, events)

    def published_entries(self, event_ids: Sequence[int]) -> list[PublishedEntry]:
        """The events of a recorded digest, grouped by paper as they were shown."""
        with self._read() as conn:
            found: dict[int, VenueEvent] = {}
            for chunk in _chunks(list(event_ids)):
                for r in conn.execute(select(ve).where(ve.c.id.in_(chunk))):
                    found[r.id] = _event(r)
            return self._published(conn, [found[n] for n in event_ids if n in found])

    def _published(self, conn: Connection, events: Sequence[VenueEvent]) -> list[PublishedEntry]:
        by_item: dict[int, list[VenueEvent]] = {}
        for e in events:
            by_item.setdefault(e.item_id, []).append(e)
        items = {item.id: item for item in self._items(conn, list(by_item))}
        return [
            PublishedEntry(items[n], tuple(found)) for n, found in by_item.items() if n in items
        ]


def _event(row: Row[tuple[object, ...]]) -> VenueEvent:
    m = row._mapping
    return VenueEvent(
        id=m["id"],
        item_id=m["item_id"],
        kind=VenueKind(m["kind"]),
        value=m["value"],
        source=m["source"],
        noticed_at=m["noticed_at"],
    )

"""Claims on due sources: how several worker processes share one queue.

A worker claims the due sources it is about to fetch: ``claimed_by`` names it and
``claimed_until`` ends its lease. Every other worker skips a claimed source until the
claim is released (``record_success``, ``record_failure`` and ``postpone`` release it,
as does ``release_claims`` at the end of a cycle) or its lease has run out: a worker
killed mid-cycle leaves its claims behind, and another worker takes those sources once
the lease has passed. A live worker renews its leases while it works.

PostgreSQL: one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING``,
so concurrent claimers skip each other's rows instead of queueing behind them or taking
the same ones. SQLite: the same statement; the write transaction (``BEGIN IMMEDIATE``)
already lets one claimer in at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import exists, or_, select, update

from tracker.models import Source, SourceKind
from tracker.storage import schema
from tracker.storage.sources import RELEASED, SourcesMixin, _source

s, f = schema.sources, schema.follows


class ClaimsMixin(SourcesMixin):
    def claim_due_sources(
        self,
        worker_id: str,
        now: dt.datetime,
        lease: dt.timedelta,
        kinds: Iterable[SourceKind] | None = None,
        limit: int | None = None,
        *,
        everything: bool = False,
    ) -> list[Source]:
        """Claim followed sources that are due (``everything``: due or not) and that no
        one holds (unclaimed, or their lease ended), oldest due first, at most ``limit``;
        they are this worker's until ``now + lease``. Returns them as claimed."""
        wanted = select(s.c.id).where(
            or_(s.c.claimed_until.is_(None), s.c.claimed_until <= now),
            exists().where(f.c.source_id == s.c.id),
        )
        if not everything:
            wanted = wanted.where(s.c.next_check_at <= now)
        if kinds is not None:
            wanted = wanted.where(s.c.kind.in_([k.value for k in kinds]))
        wanted = wanted.order_by(s.c.next_check_at, s.c.id)
        if limit is not None:
            wanted = wanted.limit(limit)
        if self.dialect == "postgresql":
            wanted = wanted.with_for_update(of=s, skip_locked=True)
        claim = (
            update(s)
            .where(s.c.id.in_(wanted.scalar_subquery()))
            .values(claimed_by=worker_id, claimed_until=now + lease)
            .returning(*s.c)
        )
        with self._write() as conn:
            claimed = [_source(r) for r in conn.execute(claim)]
        return sorted(claimed, key=lambda source: (source.next_check, source.id))

    def renew_claims(self, worker_id: str, until: dt.datetime) -> int:
        """Extend every claim this worker holds to ``until``; returns how many."""
        with self._write() as conn:
            renewed = conn.execute(
                update(s)
                .where(s.c.claimed_by == worker_id, s.c.claimed_until.is_not(None))
                .values(claimed_until=until)
            )
            return int(renewed.rowcount or 0)

    def release_claims(self, worker_id: str, source_ids: Sequence[int] | None = None) -> int:
        """Give up this worker's claims (all of them, or on ``source_ids``) without
        recording anything: the sources stay as due as they were."""
        query = update(s).where(s.c.claimed_by == worker_id)
        if source_ids is not None:
            query = query.where(s.c.id.in_(source_ids))
        with self._write() as conn:
            released = conn.execute(query.values(**RELEASED))
            return int(released.rowcount or 0)

"""A shared rate limit in the ``pacing`` table: one row per limited host group (arXiv),
holding the earliest time its next request may start, for every worker process.

Each operation is one short write transaction that locks the row first and only then
reads the clock, so the time it reads is never earlier than the last writer's. The
clock is the database's on PostgreSQL (``clock_timestamp()``: the workers of a lab may
run on machines whose clocks disagree) and this machine's on SQLite (every process on
one file shares it); a caller may pass its own ``now`` (tests).

Only the times live here; one request at a time is the job of a named lock
(``locks.py``), and sleeping is the gate's (``sources/shared_pacing.py``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, select, text, update

from tracker.storage import schema
from tracker.storage.base import StorageBase

p = schema.pacing
NEVER = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # a new row: a request may start at once


class PacingMixin(StorageBase):
    def _pacing_now(self, conn: Connection, now: dt.datetime | None) -> dt.datetime:
        if now is not None:
            return now
        if self.dialect == "postgresql":
            current = conn.scalar(text("SELECT clock_timestamp()"))
            assert isinstance(current, dt.datetime)
            return current.astimezone(dt.UTC)
        return dt.datetime.now(dt.UTC)

    def _pacing_row(self, conn: Connection, key: str) -> dt.datetime:
        """The row's ``next_at``, locked until the transaction ends (created if new)."""
        conn.execute(self._insert_ignore(p).values(key=key, next_at=NEVER))
        query = select(p.c.next_at).where(p.c.key == key)
        if self.dialect == "postgresql":
            query = query.with_for_update()
        value = conn.scalar(query)
        assert isinstance(value, dt.datetime)
        return value

    def pacing_reserve(self, key: str, interval: float, now: dt.datetime | None = None) -> float:
        """Take the next request slot if it has come (returns 0 and moves the next slot
        ``interval`` on), or return the seconds left until it comes."""
        with self._write() as conn:
            next_at = self._pacing_row(conn, key)
            current = self._pacing_now(conn, now)
            if next_at > current:
                return (next_at - current).total_seconds()
            later = current + dt.timedelta(seconds=interval)
            conn.execute(update(p).where(p.c.key == key).values(next_at=later))
            return 0.0

    def pacing_push(self, key: str, seconds: float, now: dt.datetime | None = None) -> None:
        """Let no request start until ``seconds`` from now (or later, if already so)."""
        with self._write() as conn:
            next_at = self._pacing_row(conn, key)
            later = self._pacing_now(conn, now) + dt.timedelta(seconds=seconds)
            if later > next_at:
                conn.execute(update(p).where(p.c.key == key).values(next_at=later))

    def pacing_wait_left(self, key: str, now: dt.datetime | None = None) -> float:
        """Seconds until the next request may start (0 when it may start now)."""
        with self._read() as conn:
            next_at = conn.scalar(select(p.c.next_at).where(p.c.key == key))
            if not isinstance(next_at, dt.datetime):
                return 0.0
            return max(0.0, (next_at - self._pacing_now(conn, now)).total_seconds())

"""Sources, follows and conditional-GET validators.

The database is the queue: each source row carries ``next_check_at`` and its error
count, so what is due survives restarts. A source is due only while someone
follows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Row, delete, exists, func, select, update

from tracker.errors import NotFoundError
from tracker.models import CacheValidators, Follow, FollowKind, Source, SourceKind, SourceStatus
from tracker.storage import schema
from tracker.storage.base import StorageBase, dumps, loads

s, f = schema.sources, schema.follows
# Recording a success, a failure or a postponement ends a worker's claim on the source
# (see claims.py).
RELEASED: dict[str, None] = {"claimed_by": None, "claimed_until": None}


@dataclass(frozen=True, slots=True)
class FollowSpec:
    """A follow to store: what the reader wrote and the source that serves it."""

    kind: FollowKind
    value: str
    source_kind: SourceKind
    source_value: str
    source_title: str | None = None


def _source(row: Row[tuple[object, ...]]) -> Source:
    m = row._mapping
    return Source(
        id=m["id"],
        kind=SourceKind(m["kind"]),
        value=m["value"],
        title=m["title"],
        next_check=m["next_check_at"],
        last_checked=m["last_checked_at"],
        last_success=m["last_success_at"],
        last_error=m["last_error"],
        last_error_at=m["last_error_at"],
        error_count=m["error_count"],
        claimed_by=m["claimed_by"],
        claimed_until=m["claimed_until"],
    )


def _follow(row: Row[tuple[object, ...]]) -> Follow:
    m = row._mapping
    return Follow(
        reader=m["reader"],
        kind=FollowKind(m["kind"]),
        value=m["value"],
        source_id=m["source_id"],
        origin=m["origin"],
        groups=loads(m["groups"]),
    )


class SourcesMixin(StorageBase):
    def _ensure_source(
        self, conn: Connection, kind: SourceKind, value: str, title: str | None, now: dt.datetime
    ) -> int:
        found = conn.execute(
            select(s.c.id, s.c.title).where(s.c.kind == kind.value, s.c.value == value)
        ).first()
        if found:
            if title and found.title != title:
                conn.execute(update(s).where(s.c.id == found.id).values(title=title))
            return int(found.id)
        conn.execute(
            self._insert_ignore(s).values(
                kind=kind.value,
                value=value,
                title=title,
                created_at=now,
                next_check_at=now,
                error_count=0,
            )
        )
        return int(
            conn.execute(
                select(s.c.id).where(s.c.kind == kind.value, s.c.value == value)
            ).scalar_one()
        )

    def sync_follows(
        self, reader: str, specs: Sequence[FollowSpec], now: dt.datetime, origin: str = "config"
    ) -> None:
        """Make the reader's follows of this origin exactly ``specs``; others stay."""
        with self._write() as conn:
            wanted = {
                (
                    sp.kind.value,
                    sp.value,
                    self._ensure_source(
                        conn, sp.source_kind, sp.source_value, sp.source_title, now
                    ),
                )
                for sp in specs
            }
            current = conn.execute(
                select(f.c.id, f.c.kind, f.c.value, f.c.source_id).where(
                    f.c.reader == reader, f.c.origin == origin
                )
            ).all()
            stale = [r.id for r in current if (r.kind, r.value, r.source_id) not in wanted]
            if stale:
                conn.execute(delete(f).where(f.c.id.in_(stale)))
            for sp in specs:
                self._add_follow(conn, reader, sp, now, origin)

    def forget_readers(self, keep: Sequence[str]) -> int:
        """Drop the follows of readers no longer configured (their digests and saved
        marks stay); returns how many follows went."""
        with self._write() as conn:
            gone = conn.execute(delete(f).where(f.c.reader.not_in(list(keep))))
            return int(gone.rowcount or 0)

    def add_follows(
        self, reader: str, specs: Sequence[FollowSpec], now: dt.datetime, origin: str = "cli"
    ) -> bool:
        """Add a follow served by several sources (a scholar); False when nothing new."""
        with self._write() as conn:
            added = [self._add_follow(conn, reader, sp, now, origin) for sp in specs]
        return any(added)

    def add_follow(
        self, reader: str, spec: FollowSpec, now: dt.datetime, origin: str = "cli"
    ) -> bool:
        """Add one follow; False when the reader already follows it."""
        with self._write() as conn:
            return self._add_follow(conn, reader, spec, now, origin)

    def _add_follow(
        self, conn: Connection, reader: str, sp: FollowSpec, now: dt.datetime, origin: str
    ) -> bool:
        source_id = self._ensure_source(conn, sp.source_kind, sp.source_value, sp.source_title, now)
        existing = conn.execute(
            select(f.c.id).where(
                f.c.reader == reader,
                f.c.kind == sp.kind.value,
                f.c.value == sp.value,
                f.c.source_id == source_id,
            )
        ).first()
        if existing:
            return False
        # Ignoring a conflict: another worker starting with the same config may insert
        # the same follow between the check above and this insert.
        added = conn.execute(
            self._insert_ignore(f).values(
                reader=reader,
                kind=sp.kind.value,
                value=sp.value,
                source_id=source_id,
                origin=origin,
                created_at=now,
            )
        )
        return bool(added.rowcount)

    def import_follows(
        self,
        reader: str,
        follows: Sequence[tuple[Sequence[FollowSpec], Sequence[str]]],
        now: dt.datetime,
        origin: str = "cli",
    ) -> tuple[int, int]:
        """Add many follows with their groups in one transaction (all or nothing): each
        is its sources' specs and the folder paths it was found in; a follow the reader
        has already gains the groups. Returns (added, already followed)."""
        added = known = 0
        with self._write() as conn:
            for specs, groups in follows:
                new = [self._add_follow(conn, reader, sp, now, origin) for sp in specs]
                added, known = (added + 1, known) if any(new) else (added, known + 1)
                if groups:
                    self._add_groups(conn, reader, specs[0].kind, specs[0].value, groups)
        return added, known

    def _add_groups(
        self, conn: Connection, reader: str, kind: FollowKind, value: str, groups: Sequence[str]
    ) -> None:
        rows = conn.execute(
            select(f.c.id, f.c.groups).where(
                f.c.reader == reader, f.c.kind == kind.value, f.c.value == value
            )
        ).all()
        for row in rows:
            merged = tuple(dict.fromkeys([*loads(row.groups), *groups]))
            conn.execute(update(f).where(f.c.id == row.id).values(groups=dumps(merged)))

    def remove_follow(
        self, reader: str, kind: FollowKind, value: str, origin: str | None = None
    ) -> None:
        """Remove a reader's follow (only those of ``origin`` when given)."""
        wanted = [f.c.reader == reader, f.c.kind == kind.value, f.c.value == value]
        if origin is not None:
            wanted.append(f.c.origin == origin)
        with self._write() as conn:
            gone = conn.execute(delete(f).where(*wanted))
            if gone.rowcount == 0:
                raise NotFoundError(f"{reader} does not follow {kind.value} {value!r}")

    def follows(self, reader: str | None = None) -> list[Follow]:
        query = select(f).order_by(f.c.reader, f.c.kind, f.c.value)
        if reader is not None:
            query = query.where(f.c.reader == reader)
        with self._read() as conn:
            return [_follow(r) for r in conn.execute(query)]

    def follow_created(self, reader: str) -> dict[int, dt.datetime]:
        """When the reader started following each source (earliest follow)."""
        with self._read() as conn:
            rows = conn.execute(
                select(
                    f.c.source_id,
                    func.min(f.c.created_at, type_=schema.UTCDateTime).label("created"),
                )
                .where(f.c.reader == reader)
                .group_by(f.c.source_id)
            )
            return {r.source_id: r.created for r in rows}

    # --- the queue --------------------------------------------------------------------

    def due_sources(
        self, now: dt.datetime, kinds: Iterable[SourceKind] | None = None
    ) -> list[Source]:
        """Followed sources whose next check time has come, oldest first."""
        query = (
            select(s)
            .where(s.c.next_check_at <= now, exists().where(f.c.source_id == s.c.id))
            .order_by(s.c.next_check_at, s.c.id)
        )
        if kinds is not None:
            query = query.where(s.c.kind.in_([k.value for k in kinds]))
        with self._read() as conn:
            return [_source(r) for r in conn.execute(query)]

    def followed_sources(self) -> list[Source]:
        with self._read() as conn:
            rows = conn.execute(
                select(s).where(exists().where(f.c.source_id == s.c.id)).order_by(s.c.id)
            )
            return [_source(r) for r in rows]

    def source(self, source_id: int) -> Source:
        with self._read() as conn:
            row = conn.execute(select(s).where(s.c.id == source_id)).first()
        if row is None:
            raise NotFoundError(f"no source with id {source_id}")
        return _source(row)

    def record_success(
        self,
        source_ids: Sequence[int],
        now: dt.datetime,
        next_check: dt.datetime,
        title: str | None = None,
        validators: tuple[str, CacheValidators] | None = None,
    ) -> None:
        """Sources read successfully (their claims released); with ``validators``,
        the (URL, validators) to send next time, kept in the same transaction."""
        values: dict[str, object] = dict(
            last_checked_at=now,
            last_success_at=now,
            next_check_at=next_check,
            error_count=0,
            **RELEASED,
        )
        if title:
            values["title"] = title
        with self._write() as conn:
            if validators is not None:
                self._store_validators(conn, *validators, now)
            conn.execute(update(s).where(s.c.id.in_(source_ids)).values(**values))

    def record_failure(
        self, source_id: int, now: dt.datetime, error: str, next_check: dt.datetime
    ) -> None:
        with self._write() as conn:
            conn.execute(
                update(s)
                .where(s.c.id == source_id)
                .values(
                    last_checked_at=now,
                    last_error=error[:2000],
                    last_error_at=now,
                    next_check_at=next_check,
                    error_count=s.c.error_count + 1,
                    **RELEASED,
                )
            )

    def postpone(self, source_ids: Sequence[int], next_check: dt.datetime) -> None:
        """Move sources' next check without counting a success or a failure."""
        with self._write() as conn:
            conn.execute(
                update(s).where(s.c.id.in_(source_ids)).values(next_check_at=next_check, **RELEASED)
            )

    # --- conditional GET --------------------------------------------------------------

    def validators(self, url: str) -> CacheValidators:
        c = schema.http_cache.c
        with self._read() as conn:
            row = conn.execute(select(c.etag, c.last_modified).where(c.url == url)).first()
        return CacheValidators(row.etag, row.last_modified) if row else CacheValidators()

    def store_validators(self, url: str, validators: CacheValidators, now: dt.datetime) -> None:
        with self._write() as conn:
            self._store_validators(conn, url, validators, now)

    def _store_validators(
        self, conn: Connection, url: str, validators: CacheValidators, now: dt.datetime
    ) -> None:
        t = schema.http_cache
        conn.execute(delete(t).where(t.c.url == url))
        if validators.etag or validators.last_modified:
            conn.execute(
                t.insert().values(
                    url=url,
                    etag=validators.etag,
                    last_modified=validators.last_modified,
                    updated_at=now,
                )
            )

    # --- status -----------------------------------------------------------------------

    def source_statuses(self) -> list[SourceStatus]:
        counts = (
            select(schema.sightings.c.source_id, func.count().label("n"))
            .group_by(schema.sightings.c.source_id)
            .subquery()
        )
        with self._read() as conn:
            rows = conn.execute(
                select(s, func.coalesce(counts.c.n, 0).label("n"))
                .outerjoin(counts, counts.c.source_id == s.c.id)
                .where(exists().where(f.c.source_id == s.c.id))
                .order_by(s.c.kind, s.c.value)
            ).all()
            readers: dict[int, list[str]] = {}
            for r in conn.execute(select(f.c.source_id, f.c.reader).distinct()):
                readers.setdefault(r.source_id, []).append(r.reader)
        return [
            SourceStatus(_source(r), int(r.n), tuple(sorted(readers.get(r.id, [])))) for r in rows
        ]

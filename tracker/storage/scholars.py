"""Scholars: profile seeds, attributions of items to scholars, and rejections.

A scholar is followed through several sources (``follows`` rows with kind "scholar"
and the scholar's name); which items are theirs is recorded in ``attributions``, with
the basis (id, feed, name) and the evidence. A rejection is an attribution marked
rejected: it stays, so the item is never attributed to them again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, select, update

from tracker.models import Item, Source
from tracker.storage import schema
from tracker.storage.items import ItemsMixin
from tracker.storage.sources import SourcesMixin, _source

at, sp, f, s = schema.attributions, schema.scholar_profile, schema.follows, schema.sources
STRENGTH = {"name": 0, "feed": 1, "id": 2}


@dataclass(frozen=True, slots=True)
class Seeds:
    """What the user told us about a scholar beyond ids."""

    variants: tuple[str, ...] = ()
    coauthors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ScholarSummary:
    name: str
    readers: tuple[str, ...]
    sources: tuple[Source, ...]
    by_id: int  # items attributed through ids or their feeds
    by_name: int  # items attributed by name (with evidence)
    rejected: int
    latest: dt.datetime | None  # when their newest item was published (or first seen)


class ScholarsMixin(ItemsMixin, SourcesMixin):
    def set_seeds(self, scholar: str, seeds: Seeds) -> None:
        with self._write() as conn:
            conn.execute(delete(sp).where(sp.c.scholar == scholar))
            rows = [
                dict(scholar=scholar, kind=kind, value=v)
                for kind, values in (
                    ("variant", seeds.variants),
                    ("coauthor", seeds.coauthors),
                    ("category", seeds.categories),
                )
                for v in dict.fromkeys(values)
            ]
            if rows:
                conn.execute(sp.insert(), rows)

    def seeds(self) -> dict[str, Seeds]:
        found: dict[str, dict[str, list[str]]] = {}
        with self._read() as conn:
            for row in conn.execute(select(sp).order_by(sp.c.scholar, sp.c.kind, sp.c.value)):
                found.setdefault(row.scholar, {}).setdefault(row.kind, []).append(row.value)
        return {
            name: Seeds(
                tuple(k.get("variant", [])),
                tuple(k.get("coauthor", [])),
                tuple(k.get("category", [])),
            )
            for name, k in found.items()
        }

    def followed_scholars(self) -> dict[str, list[Source]]:
        """Every followed scholar (by any reader) and the sources that serve them."""
        found: dict[str, list[Source]] = {}
        with self._read() as conn:
            rows = conn.execute(
                select(f.c.value.label("scholar"), s)
                .join(s, s.c.id == f.c.source_id)
                .where(f.c.kind == "scholar")
                .distinct()
                .order_by(f.c.value, s.c.id)
            )
            for row in rows:
                found.setdefault(row.scholar, []).append(_source(row))
        return found

    def attribute(self, rows: Sequence[tuple[str, int, str, str]], now: dt.datetime) -> int:
        """Record (scholar, item id, basis, evidence); a stronger basis replaces a weaker
        one, a rejection is never undone. Returns how many are new."""
        if not rows:
            return 0
        new = 0
        with self._write() as conn:
            wanted = {(r[0], r[1]): r for r in rows}
            existing = {
                (row.scholar, row.item_id): row
                for row in conn.execute(
                    select(at).where(
                        at.c.item_id.in_({r[1] for r in rows}),
                        at.c.scholar.in_({r[0] for r in rows}),
                    )
                )
            }
            for pair, (scholar, item_id, basis, evidence) in wanted.items():
                old = existing.get(pair)
                if old is None:
                    conn.execute(
                        at.insert().values(
                            scholar=scholar,
                            item_id=item_id,
                            basis=basis,
                            evidence=evidence,
                            rejected=0,
                            created_at=now,
                        )
                    )
                    new += 1
                elif not old.rejected and STRENGTH[basis] > STRENGTH[old.basis]:
                    conn.execute(
                        update(at)
                        .where(at.c.scholar == scholar, at.c.item_id == item_id)
                        .values(basis=basis, evidence=evidence)
                    )
        return new

    def reject(self, scholar: str, item_id: int, now: dt.datetime) -> None:
        with self._write() as conn:
            done = conn.execute(
                update(at)
                .where(at.c.scholar == scholar, at.c.item_id == item_id)
                .values(rejected=1)
            )
            if not done.rowcount:
                conn.execute(
                    at.insert().values(
                        scholar=scholar,
                        item_id=item_id,
                        basis="name",
                        evidence="rejected",
                        rejected=1,
                        created_at=now,
                    )
                )

    def rejected(self, item_ids: Sequence[int]) -> set[tuple[str, int]]:
        with self._read() as conn:
            rows = conn.execute(
                select(at.c.scholar, at.c.item_id).where(
                    at.c.item_id.in_(list(item_ids)), at.c.rejected == 1
                )
            )
            return {(r.scholar, r.item_id) for r in rows}

    def known_work(self, scholar: str, limit: int = 200) -> list[Item]:
        """Their items attributed through ids or their feeds, newest first (to learn
        their co-authors and usual categories)."""
        with self._read() as conn:
            ids = conn.scalars(
                select(at.c.item_id)
                .where(at.c.scholar == scholar, at.c.rejected == 0, at.c.basis == "id")
                .order_by(at.c.item_id.desc())
                .limit(limit)
            ).all()
            return self._items(conn, ids)

    def name_matches(self, scholar: str) -> list[Item]:
        """Their items attributed by name only (to check again when more is known)."""
        with self._read() as conn:
            ids = conn.scalars(
                select(at.c.item_id).where(
                    at.c.scholar == scholar, at.c.rejected == 0, at.c.basis == "name"
                )
            ).all()
            return self._items(conn, ids)

    def drop_name_matches(self, scholar: str, item_ids: Sequence[int]) -> None:
        with self._write() as conn:
            conn.execute(
                delete(at).where(
                    at.c.scholar == scholar,
                    at.c.item_id.in_(list(item_ids)),
                    at.c.basis == "name",
                    at.c.rejected == 0,
                )
            )

    def scholar_items(self, scholar: str, limit: int = 30) -> list[tuple[Item, str, str, bool]]:
        """Their attributed items, newest first: (item, basis, evidence, rejected)."""
        with self._read() as conn:
            rows = conn.execute(
                select(at).where(at.c.scholar == scholar).order_by(at.c.item_id.desc()).limit(limit)
            ).all()
            items = {i.id: i for i in self._items(conn, [r.item_id for r in rows])}
        return [
            (items[r.item_id], r.basis, r.evidence, bool(r.rejected))
            for r in rows
            if r.item_id in items
        ]

    def attributions_for(
        self, reader: str, item_ids: Sequence[int]
    ) -> dict[int, list[tuple[str, str, str]]]:
        """For each item, the reader's followed scholars it is attributed to (not
        rejected): (scholar, basis, evidence)."""
        found: dict[int, list[tuple[str, str, str]]] = {}
        with self._read() as conn:
            followed = select(f.c.value).where(f.c.reader == reader, f.c.kind == "scholar")
            for chunk_start in range(0, len(item_ids), 500):
                chunk = list(item_ids[chunk_start : chunk_start + 500])
                rows = conn.execute(
                    select(at.c.item_id, at.c.scholar, at.c.basis, at.c.evidence)
                    .where(at.c.item_id.in_(chunk), at.c.rejected == 0, at.c.scholar.in_(followed))
                    .order_by(at.c.item_id, at.c.scholar)
                )
                for r in rows:
                    found.setdefault(r.item_id, []).append((r.scholar, r.basis, r.evidence))
        return found

    def scholar_summaries(self) -> list[ScholarSummary]:
        followed = self.followed_scholars()
        i = schema.items
        with self._read() as conn:
            readers: dict[str, set[str]] = {}
            for row in conn.execute(select(f.c.value, f.c.reader).where(f.c.kind == "scholar")):
                readers.setdefault(row.value, set()).add(row.reader)
            counts: dict[tuple[str, str, int], int] = {}
            for row in conn.execute(
                select(at.c.scholar, at.c.basis, at.c.rejected, func.count().label("n")).group_by(
                    at.c.scholar, at.c.basis, at.c.rejected
                )
            ):
                counts[(row.scholar, row.basis, row.rejected)] = row.n
            latest = {
                row.scholar: row.latest
                for row in conn.execute(
                    select(
                        at.c.scholar,
                        func.max(
                            func.coalesce(i.c.published_at, i.c.first_seen_at),
                            type_=schema.UTCDateTime,
                        ).label("latest"),
                    )
                    .join(i, and_(i.c.id == at.c.item_id, at.c.rejected == 0))
                    .group_by(at.c.scholar)
                )
            }
        return [
            ScholarSummary(
                name=name,
                readers=tuple(sorted(readers.get(name, ()))),
                sources=tuple(sources),
                by_id=counts.get((name, "id", 0), 0) + counts.get((name, "feed", 0), 0),
                by_name=counts.get((name, "name", 0), 0),
                rejected=sum(n for (who, _, rej), n in counts.items() if who == name and rej),
                latest=latest.get(name),
            )
            for name, sources in followed.items()
        ]

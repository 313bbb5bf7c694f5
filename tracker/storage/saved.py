"""Saved marks: a reader's starred items (per reader; nobody sees another's)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, select

from tracker.errors import NotFoundError
from tracker.models import Item
from tracker.storage import schema
from tracker.storage.items import ItemsMixin


class SavedMixin(ItemsMixin):
    def save(self, reader: str, ref: str | int, now: dt.datetime) -> Item:
        with self._write() as conn:
            item_id = self._resolve(conn, ref)
            if item_id is None:
                raise NotFoundError(f"no stored item {ref!r}")
            conn.execute(
                self._insert_ignore(schema.saved).values(
                    reader=reader, item_id=item_id, saved_at=now
                )
            )
            return self._items(conn, [item_id])[0]

    def unsave(self, reader: str, ref: str | int) -> Item:
        with self._write() as conn:
            item_id = self._resolve(conn, ref)
            if item_id is None:
                raise NotFoundError(f"no stored item {ref!r}")
            conn.execute(
                delete(schema.saved).where(
                    schema.saved.c.reader == reader, schema.saved.c.item_id == item_id
                )
            )
            return self._items(conn, [item_id])[0]

    def saved_items(self, reader: str) -> list[Item]:
        sv = schema.saved
        with self._read() as conn:
            found = conn.scalars(
                select(sv.c.item_id).where(sv.c.reader == reader).order_by(sv.c.saved_at.desc())
            ).all()
            return self._items(conn, found)

    def saved_ids(self, reader: str, item_ids: Sequence[int]) -> set[int]:
        """Which of these items the reader saved."""
        if not item_ids:
            return set()
        sv = schema.saved
        with self._read() as conn:
            return set(
                conn.scalars(
                    select(sv.c.item_id).where(
                        sv.c.reader == reader, sv.c.item_id.in_(list(item_ids))
                    )
                )
            )

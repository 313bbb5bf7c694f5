"""Sign-in credentials of readers for the web page: one password hash per reader.

Stores and returns the hash only; making and checking hashes is the application's
(``app/accounts.py``), so no password ever reaches this module.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select

from tracker.storage import schema
from tracker.storage.base import StorageBase

cr = schema.credentials


class AccountsMixin(StorageBase):
    def set_password_hash(self, reader: str, password_hash: str, now: dt.datetime) -> None:
        with self._write() as conn:
            conn.execute(delete(cr).where(cr.c.reader == reader))
            conn.execute(
                cr.insert().values(reader=reader, password_hash=password_hash, changed_at=now)
            )

    def password_hash(self, reader: str) -> str | None:
        with self._read() as conn:
            return conn.scalar(select(cr.c.password_hash).where(cr.c.reader == reader))

    def remove_password(self, reader: str) -> bool:
        with self._write() as conn:
            return conn.execute(delete(cr).where(cr.c.reader == reader)).rowcount > 0

    def readers_with_password(self) -> list[str]:
        with self._read() as conn:
            return list(conn.scalars(select(cr.c.reader).order_by(cr.c.reader)))

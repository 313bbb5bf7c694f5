"""The scheduler leader: the one process of an installation that builds and delivers
digests and retrains the field model, while every worker fetches.

Leadership is the named lock ``scheduler`` (``storage/locks.py``): on PostgreSQL a
session-level advisory lock on a connection of its own, on SQLite ``flock`` on a file
beside the database. The others try again every ``[schedule] leader_retry_seconds``;
when the leader dies its connection closes (or its file lock goes with it), and the
next try of another worker takes over.

If the leader's connection breaks while it lives, another process may lead before the
old leader notices at its next try; digest building stays safe even then, because
storage records a reader's digest for a day, and each item in it, at most once.
"""

from __future__ import annotations

import logging

from tracker.errors import StorageError
from tracker.storage import NamedLock

log = logging.getLogger(__name__)


class Leadership:
    def __init__(self, lock: NamedLock, worker_id: str) -> None:
        self._lock = lock
        self.worker_id = worker_id

    @property
    def held(self) -> bool:
        return self._lock.held

    def try_lead(self) -> bool:
        """Take the lead if no one has it (or check that this process still has it);
        True when this process leads."""
        was = self._lock.held
        try:
            leading = self._lock.acquire(wait=False)
        except StorageError as e:
            log.warning("could not try the scheduler lock worker=%s error=%s", self.worker_id, e)
            leading = False
        if leading and not was:
            log.info("became the scheduler leader worker=%s", self.worker_id)
        elif was and not leading:
            log.warning("lost the scheduler leader lock worker=%s", self.worker_id)
        return leading

    def release(self) -> None:
        if self._lock.held:
            log.info("gave up the scheduler lead worker=%s", self.worker_id)
        self._lock.release()

    def close(self) -> None:
        self._lock.close()

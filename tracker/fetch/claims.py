"""Sharing one fetch queue between worker processes: who a worker is, and the claims it
holds during a cycle.

A fetch cycle claims the due sources it is about to fetch, a batch at a time (see
``storage/claims.py``), so that several workers split the queue and each due source is
fetched by exactly one of them. While the cycle runs, a heartbeat thread renews the
worker's leases, so that a cycle longer than the lease keeps what it holds; a killed
worker stops renewing, and its sources go to another worker when the lease ends. At
the end of the cycle whatever it still holds is released.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from tracker.errors import StorageError
from tracker.models import Source, SourceKind
from tracker.storage import Storage

log = logging.getLogger(__name__)


def new_worker_id() -> str:
    """Host name, process id and a random suffix (a pid is reused after a restart, and
    containers all have pid 1): at most 64 characters, the column's size."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


class Claimer:
    """The claims of one worker during one fetch cycle."""

    def __init__(
        self,
        storage: Storage,
        worker_id: str,
        lease: dt.timedelta,
        clock: Callable[[], dt.datetime],
        *,
        everything: bool = False,
    ) -> None:
        self.storage = storage
        self.worker_id = worker_id
        self.lease = lease
        self.clock = clock
        self.everything = everything
        self._seen: set[int] = set()

    def claim(self, kinds: Iterable[SourceKind], limit: int | None = None) -> list[Source]:
        """Claim due sources of these kinds, at most ``limit``; with ``everything``
        (``tracker fetch --all``), every source not held by another worker, all at once.
        A source already handled in this cycle is handed back, not fetched again: with
        ``everything`` each counts as due after its fetch too, and a source due again at
        once (a clock that stands still) waits for the next cycle."""
        claimed = self.storage.claim_due_sources(
            self.worker_id,
            self.clock(),
            self.lease,
            kinds=list(kinds),
            limit=None if self.everything else limit,
            everything=self.everything,
        )
        again = [s.id for s in claimed if s.id in self._seen]
        if again:
            self.storage.release_claims(self.worker_id, again)
        fresh = [s for s in claimed if s.id not in self._seen]
        self._seen.update(s.id for s in fresh)
        return fresh

    @contextmanager
    def kept(self) -> Iterator[Claimer]:
        """Renew the leases every third of a lease while the block runs; release what
        is left at its end, however it ends."""
        stop = threading.Event()

        def heartbeat() -> None:
            while not stop.wait(self.lease.total_seconds() / 3):
                try:
                    self.storage.renew_claims(self.worker_id, self.clock() + self.lease)
                except StorageError as e:
                    log.warning("could not renew claims worker=%s error=%s", self.worker_id, e)

        thread = threading.Thread(target=heartbeat, name="claims-heartbeat", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()
            try:
                self.storage.release_claims(self.worker_id)
            except StorageError as e:  # the leases end on their own
                log.warning("could not release claims worker=%s error=%s", self.worker_id, e)

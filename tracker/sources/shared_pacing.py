"""arXiv's pacing for every worker process together, through the database.

arXiv's terms (one request every three seconds, one connection at a time, per client)
bind the installation, not each process: several workers, on one machine or many,
must space their requests as one client would. ``SharedPacingGate`` has the interface
of ``PacingGate`` (``slot()``, ``defer()``, ``wait_left()``); for one request it

1. takes the in-process lock (one request at a time in this process), then the
   installation-wide named lock (one connection at a time across processes; the
   database or the kernel frees it if the holder dies mid-request);
2. reserves the next slot in the shared ``pacing`` row in one short write
   transaction, or learns how long to sleep before asking again;
3. after the request pushes the next slot to the end plus ``min_interval``: arrivals at
   the server can be later than starts (see ``pacing.py``), ends never precede them.

``defer`` (a ``Retry-After``, a backoff) pushes the shared next slot for everyone.
``slot(max_wait=...)`` bounds the whole wait, for either lock and for the next slot.
Times come from the database's clock (PostgreSQL) or this machine's (SQLite), never
from two machines' clocks compared; tests may pass a clock and a sleep.
This module sees the database only through the two small protocols below.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from tracker.errors import StorageError
from tracker.sources.pacing import PacingGate, busy

log = logging.getLogger(__name__)
HOLD_POLL = 0.1  # seconds between tries for a named lock held by another worker


class PacingStore(Protocol):
    def pacing_reserve(
        self, key: str, interval: float, now: dt.datetime | None = None
    ) -> float: ...

    def pacing_push(self, key: str, seconds: float, now: dt.datetime | None = None) -> None: ...

    def pacing_wait_left(self, key: str, now: dt.datetime | None = None) -> float: ...


class Holder(Protocol):
    def acquire(self, wait: bool = True) -> bool: ...

    def release(self) -> None: ...


class SharedPacingGate(PacingGate):
    def __init__(
        self,
        store: PacingStore,
        holder: Holder,
        min_interval: float,
        *,
        key: str = "arxiv",
        clock: Callable[[], dt.datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(min_interval, sleep=sleep)
        self.key = key
        self._store = store
        self._holder = holder
        self._now: Callable[[], dt.datetime | None] = clock or (lambda: None)

    @contextmanager
    def slot(self, max_wait: float | None = None) -> Iterator[None]:
        give_up = None if max_wait is None else self._clock() + max_wait
        self._enter(give_up, max_wait)
        try:
            self._hold(give_up, max_wait)
            try:
                while True:
                    wait = self._store.pacing_reserve(self.key, self.min_interval, self._now())
                    if wait <= 0:
                        break
                    self._before_sleep(wait, give_up)
                    self.waited += wait
                    self._sleep(wait)
                self.requests += 1
                try:
                    yield
                finally:
                    self._push(self.min_interval)
            finally:
                self._holder.release()
        finally:
            self._lock.release()

    def _hold(self, give_up: float | None, max_wait: float | None) -> None:
        """Take the installation-wide lock; with a limit, ask again every ``HOLD_POLL``
        seconds until it is taken or the time is up (the locks cannot wait with a
        timeout themselves)."""
        if give_up is None:
            self._holder.acquire(wait=True)
            return
        while not self._holder.acquire(wait=False):
            left = give_up - self._clock()
            if left <= 0:
                raise busy(max_wait)
            self._sleep(min(HOLD_POLL, left))

    def _push(self, seconds: float) -> None:
        try:
            self._store.pacing_push(self.key, seconds, self._now())
        except StorageError as e:
            # The request is over; failing it now would only hide its outcome. The slot
            # reserved at its start still spaced it from the next one.
            log.warning("could not record the end of a paced request key=%s error=%s", self.key, e)

    def defer(self, seconds: float) -> None:
        """Let no worker start a request for ``seconds``."""
        self._push(seconds)

    def wait_left(self) -> float:
        return self._store.pacing_wait_left(self.key, self._now())

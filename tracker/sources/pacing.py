"""The pacing gate: arXiv's terms of use, enforced once for the whole process.

arXiv asks for no more than one request every three seconds and one connection at a
time, per client (https://info.arxiv.org/help/api/tou.html). Every request to an arXiv
host goes through one ``PacingGate``: it is held for the whole request (one
connection), a request starts at least ``min_interval`` after the previous one ended
(so arrivals at the server are that far apart too), and a ``Retry-After`` from the
server pushes the next start later for everyone.

A request may bound its whole wait (``slot(max_wait=...)``): queued behind other
requests, or sleeping until the next start, it gives up with ``RateLimitedError`` as
soon as it is clear that it would wait longer, instead of stalling its thread (and the
fetch cycle) for a long Retry-After that arrived while it was queued.

The clock and sleep are injectable so tests run without waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tracker.errors import RateLimitedError


class PacingGate:
    def __init__(
        self,
        min_interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.min_interval = min_interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._state = threading.Lock()  # guards _next_start only
        self._next_start = 0.0
        self.requests = 0
        self.waited = 0.0

    @contextmanager
    def slot(self, max_wait: float | None = None) -> Iterator[None]:
        """Hold the gate for one request, waiting first if the last one began or ended
        less than ``min_interval`` ago (or a deferral is still running). With
        ``max_wait``, raise ``RateLimitedError`` rather than wait longer than that in
        all, queued behind other requests included."""
        give_up = None if max_wait is None else self._clock() + max_wait
        self._enter(give_up, max_wait)
        try:
            while True:
                with self._state:
                    wait = self._next_start - self._clock()
                if wait <= 0:
                    break
                self._before_sleep(wait, give_up)
                self.waited += wait
                self._sleep(wait)
            started = self._clock()
            with self._state:
                self._next_start = max(self._next_start, started + self.min_interval)
            self.requests += 1
            try:
                yield
            finally:
                # Count the interval from the end as well: the server sees a request when it
                # arrives, which can be well after the slot began (DNS, connect, TLS, a busy
                # CPU), so spacing starts alone lets arrivals come closer than min_interval.
                with self._state:
                    self._next_start = max(self._next_start, self._clock() + self.min_interval)
        finally:
            self._lock.release()

    def _enter(self, give_up: float | None, max_wait: float | None) -> None:
        """Take the in-process lock, within the time left when there is a limit."""
        if give_up is None:
            self._lock.acquire()
        elif not self._lock.acquire(timeout=max(0.0, give_up - self._clock())):
            raise busy(max_wait)

    def _before_sleep(self, wait: float, give_up: float | None) -> None:
        """Refuse a sleep that would end after ``give_up``."""
        if give_up is not None and self._clock() + wait > give_up:
            raise closed(wait)

    def defer(self, seconds: float) -> None:
        """Let no request start for ``seconds`` (a server's Retry-After or a backoff)."""
        with self._state:
            self._next_start = max(self._next_start, self._clock() + seconds)

    def wait_left(self) -> float:
        """Seconds until the next request may start (0 when it may start now)."""
        with self._state:
            return max(0.0, self._next_start - self._clock())


def closed(wait: float) -> RateLimitedError:
    """The gate stays closed longer than the request may wait."""
    error = RateLimitedError(f"rate limited: wait {wait:.0f}s more")
    error.retry_after = wait
    return error


def busy(max_wait: float | None) -> RateLimitedError:
    """Other requests held the gate for as long as this one may wait."""
    return RateLimitedError(f"rate limited: the gate stayed busy for {max_wait or 0:g}s")

"""The pacing gate: arXiv's terms of use, enforced once for the whole process.

arXiv asks for no more than one request every three seconds and one connection at a
time, per client (https://info.arxiv.org/help/api/tou.html). Every request to an arXiv
host goes through one ``PacingGate``: it is held for the whole request (one
connection), a request starts at least ``min_interval`` after the previous one ended
(so arrivals at the server are that far apart too), and a ``Retry-After`` from the
server pushes the next start later for everyone.

The clock and sleep are injectable so tests run without waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


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
    def slot(self) -> Iterator[None]:
        """Hold the gate for one request, waiting first if the last one began or ended
        less than ``min_interval`` ago (or a deferral is still running)."""
        with self._lock:
            while True:
                with self._state:
                    wait = self._next_start - self._clock()
                if wait <= 0:
                    break
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

    def defer(self, seconds: float) -> None:
        """Let no request start for ``seconds`` (a server's Retry-After or a backoff)."""
        with self._state:
            self._next_start = max(self._next_start, self._clock() + seconds)

    def wait_left(self) -> float:
        """Seconds until the next request may start (0 when it may start now)."""
        with self._state:
            return max(0.0, self._next_start - self._clock())

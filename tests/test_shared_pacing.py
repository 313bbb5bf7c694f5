"""Tests for tracker.sources.shared_pacing: arXiv's pacing across worker processes,
through the ``pacing`` table, on every storage backend.

Several "processes" are several gates, each with a ``Storage`` (own connections) and a
handle on the named lock of its own. A fake clock whose sleep advances it makes the
spacing and deferral tests exact; one threaded test uses real time (the database's
clock on PostgreSQL) and checks that requests never overlap and are spaced.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_storage import BACKENDS, database_url
from tracker.errors import RateLimitedError
from tracker.sources.shared_pacing import SharedPacingGate
from tracker.storage import Storage, open_storage

T0 = dt.datetime(2024, 11, 28, 8, 0, tzinfo=dt.UTC)


class FakeClock:
    """Wall time that moves only when someone sleeps or a request runs."""

    def __init__(self) -> None:
        self.now = T0
        self.sleeps: list[float] = []

    def __call__(self) -> dt.datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(str(request.param), tmp_path) as found:
        open_storage(found).close()  # migrated once, before the "processes" open it
        yield found


class Process:
    """One worker process's view: its own storage, lock handle and gate."""

    def __init__(
        self, url: str, interval: float, clock: FakeClock | None = None, key: str = "arxiv"
    ) -> None:
        self.storage: Storage = open_storage(url, migrate=False)
        self.lock = self.storage.named_lock(key)
        self.gate = SharedPacingGate(
            self.storage,
            self.lock,
            interval,
            key=key,
            clock=clock,
            sleep=clock.sleep if clock else time.sleep,
        )

    def close(self) -> None:
        self.lock.close()
        self.storage.close()


@pytest.fixture
def processes(url: str) -> Iterator[list[Process]]:
    made: list[Process] = []
    yield made
    for p in made:
        p.close()


def test_slots_are_spaced_from_the_end_of_the_last_request(
    url: str, processes: list[Process]
) -> None:
    clock = FakeClock()
    processes.append(Process(url, 3.0, clock))
    gate = processes[0].gate
    assert gate.wait_left() == 0.0
    starts = []
    for took in (0.5, 4.0, 0.0):
        with gate.slot():
            starts.append(clock())
            clock.advance(took)  # the request itself
    # the first at once; then 3 s after the end of the one before (not its start)
    assert [(s - T0).total_seconds() for s in starts] == [0.0, 3.5, 10.5]
    assert clock.sleeps == [3.0, 3.0]
    assert gate.requests == 3


def test_workers_share_one_schedule(url: str, processes: list[Process]) -> None:
    clock = FakeClock()
    a, b, c = (Process(url, 3.0, clock) for _ in range(3))
    processes.extend([a, b, c])
    starts = []
    for p in (a, b, c, a, c):
        with p.gate.slot():
            starts.append((clock() - T0).total_seconds())
            clock.advance(1.0)
    assert starts == [0.0, 4.0, 8.0, 12.0, 16.0]


def test_a_deferral_holds_back_every_worker(url: str, processes: list[Process]) -> None:
    clock = FakeClock()
    a, b = Process(url, 3.0, clock), Process(url, 3.0, clock)
    processes.extend([a, b])
    with a.gate.slot():
        a.gate.defer(60.0)  # a 429 with Retry-After: 60
    assert b.gate.wait_left() == 60.0
    b.gate.defer(10.0)  # a shorter deferral never brings the time forward
    assert a.gate.wait_left() == 60.0
    with b.gate.slot():
        assert (clock() - T0).total_seconds() == 60.0
    assert clock.sleeps == [60.0]


def test_gates_with_different_keys_do_not_meet(url: str, processes: list[Process]) -> None:
    clock = FakeClock()
    arxiv, other = Process(url, 3.0, clock), Process(url, 3.0, clock, key="elsewhere")
    processes.extend([arxiv, other])
    with arxiv.gate.slot():
        pass
    with other.gate.slot():
        pass
    assert clock.sleeps == []


def test_concurrent_workers_never_overlap_and_keep_the_interval(
    url: str, processes: list[Process]
) -> None:
    interval = 0.05
    workers = [Process(url, interval) for _ in range(3)]
    processes.extend(workers)
    spans: list[tuple[float, float]] = []
    guard = threading.Lock()

    def run(p: Process) -> None:
        for _ in range(4):
            with p.gate.slot():
                began = time.monotonic()
                time.sleep(0.01)  # the request
                ended = time.monotonic()
            with guard:
                spans.append((began, ended))

    threads = [threading.Thread(target=run, args=(p,)) for p in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    spans.sort()
    assert len(spans) == 12
    for (_, ended), (began, _) in itertools.pairwise(spans):
        assert began - ended >= interval - 0.002  # after the last end, plus the interval


def test_a_request_gives_up_at_its_cap_wherever_it_waits(
    url: str, processes: list[Process]
) -> None:
    """A request that may wait ``max_wait`` at most gives up (RateLimitedError) instead
    of waiting for another worker's request or for another worker's Retry-After."""
    a, b = Process(url, 0.01), Process(url, 0.01)
    processes += [a, b]
    inside, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with a.gate.slot():
            inside.set()
            leave.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert inside.wait(10)
        with (
            pytest.raises(RateLimitedError, match=r"^rate limited: the gate stayed busy"),
            b.gate.slot(max_wait=0.3),
        ):
            pass
    finally:
        leave.set()
        holder.join()
    a.gate.defer(30)  # a Retry-After seen by the other worker
    with (
        pytest.raises(RateLimitedError, match=r"^rate limited: wait (29|30)s more") as info,
        b.gate.slot(max_wait=0.3),
    ):
        pass
    assert info.value.retry_after is not None and 29 <= info.value.retry_after <= 30
    assert b.gate.requests == 0 and b.gate.waited == 0
    assert not b.lock.held  # given back on the way out: the other workers go on

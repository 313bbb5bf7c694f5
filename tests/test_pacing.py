"""Tests for tracker.sources.pacing: the process-wide arXiv gate.

A fake clock whose ``sleep`` advances it checks spacing and deferral without waiting;
one threaded test uses real time with a tiny interval to check that slots never overlap.
"""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from tracker.errors import RateLimitedError
from tracker.sources.pacing import PacingGate


class FakeClock:
    """Monotonic time that only moves when someone sleeps (or a test advances it)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def fake_gate(min_interval: float) -> tuple[PacingGate, FakeClock]:
    clock = FakeClock()
    return PacingGate(min_interval, clock=clock, sleep=clock.sleep), clock


def run_slots(gate: PacingGate, clock: FakeClock, count: int) -> list[float]:
    starts = []
    for _ in range(count):
        with gate.slot():
            starts.append(clock())
    return starts


def test_first_slot_does_not_wait() -> None:
    gate, clock = fake_gate(3.0)
    with gate.slot():
        pass
    assert clock.sleeps == []
    assert gate.requests == 1
    assert gate.waited == 0.0


def test_consecutive_slots_are_min_interval_apart() -> None:
    gate, clock = fake_gate(3.0)
    starts = run_slots(gate, clock, 5)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps == pytest.approx([3.0] * 4)
    assert gate.requests == 5
    assert gate.waited == pytest.approx(12.0)


def test_interval_counts_from_the_end_of_the_previous_request() -> None:
    # The server sees a request when it arrives: if connecting took 2 s, starting the
    # next one 3 s after the first began would let it arrive 1 s after the first.
    gate, clock = fake_gate(3.0)
    with gate.slot():
        clock.advance(2.0)  # a slow connect and transfer
        ended = clock()
    with gate.slot():
        assert clock() - ended == pytest.approx(3.0)
    assert clock.sleeps == pytest.approx([3.0])


def test_no_wait_when_the_interval_has_already_passed() -> None:
    gate, clock = fake_gate(3.0)
    with gate.slot():
        pass
    clock.advance(10.0)
    with gate.slot():
        pass
    assert clock.sleeps == []


@pytest.mark.parametrize(("defer", "expected_gap"), [(10.0, 10.0), (1.0, 3.0), (0.0, 3.0)])
def test_defer_pushes_the_next_start_but_never_earlier(defer: float, expected_gap: float) -> None:
    gate, clock = fake_gate(3.0)
    with gate.slot():
        first = clock()
        gate.defer(defer)  # a Retry-After read while the slot is held
    with gate.slot():
        second = clock()
    assert second - first == pytest.approx(expected_gap)


def test_defer_before_any_request_delays_the_first() -> None:
    gate, clock = fake_gate(3.0)
    start = clock()
    gate.defer(7.5)
    with gate.slot():
        assert clock() - start == pytest.approx(7.5)


def test_defer_from_outside_a_slot_holds_back_later_requests() -> None:
    gate, clock = fake_gate(1.0)
    with gate.slot():
        pass
    clock.advance(5.0)
    gate.defer(20.0)  # a back-off decided between two requests
    before = clock()
    with gate.slot():
        assert clock() - before == pytest.approx(20.0)


def test_a_failing_request_still_counts_for_spacing() -> None:
    gate, clock = fake_gate(3.0)
    with pytest.raises(RuntimeError), gate.slot():
        raise RuntimeError("connection reset")
    first_end = clock()
    with gate.slot():
        assert clock() - first_end == pytest.approx(3.0)


def test_threads_never_overlap_and_starts_are_spaced() -> None:
    interval = 0.02
    gate = PacingGate(interval)
    inside = 0
    max_inside = 0
    starts: list[float] = []
    guard = threading.Lock()

    def worker() -> None:
        nonlocal inside, max_inside
        for _ in range(3):
            with gate.slot():
                with guard:
                    inside += 1
                    max_inside = max(max_inside, inside)
                    starts.append(time.monotonic())
                time.sleep(0.002)  # the request itself
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert max_inside == 1
    assert len(starts) == 15
    assert gate.requests == 15
    starts.sort()
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= interval - 0.002


def test_a_slot_with_a_limit_refuses_to_sleep_past_it() -> None:
    gate, clock = fake_gate(3.0)
    gate.defer(10)
    with (
        pytest.raises(RateLimitedError, match=r"^rate limited: wait 10s more$") as info,
        gate.slot(max_wait=5),
    ):
        pass
    assert info.value.retry_after == 10 and not info.value.retryable
    assert clock.sleeps == [] and gate.requests == 0
    with gate.slot(max_wait=15):  # within the limit: it waits, as without one
        pass
    assert clock.sleeps == [10] and gate.requests == 1

"""The cyclic garbage collector paused around a digest build (``tracker.heap``)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LISTING_MORNING, Clock, write_config
from tracker.app.core import make_tracker
from tracker.config import load_settings
from tracker.heap import collector_paused


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_off_inside_on_again_after_even_when_the_block_raises() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # re-entrant
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_application_stays_off() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_the_last_thread_out_turns_it_on_again() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with collector_paused():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.isenabled())  # the first left: still off for this one
        seen.append(gc.isenabled())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [False, True]


def test_a_digest_is_built_and_previewed_with_the_collector_paused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readers = """
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "07:00"

[readers.follows]
categories = ["cs.LG"]
"""
    config = write_config(tmp_path, "http://127.0.0.1:9", readers=readers)
    t = make_tracker(load_settings(config), clock=Clock(LISTING_MORNING))
    states: list[bool] = []
    candidates = t.storage.digest_candidates

    def watched(*args: Any, **kwargs: Any) -> Any:
        states.append(gc.isenabled())
        return candidates(*args, **kwargs)

    monkeypatch.setattr(t.storage, "digest_candidates", watched)
    try:
        t.digests.peek("ada")
        t.digests.build("ada", deliver=False)
    finally:
        t.close()
    assert states == [False, False]
    assert gc.isenabled()

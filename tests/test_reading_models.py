"""Readers' models kept across digests and restarts: a kept model ranks exactly as a
freshly trained one, anything the model learns from trains it again, and the
scheduler leader trains the models of the digests due soon ahead of them."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Hashable
from pathlib import Path

import numpy as np
import pytest
from apscheduler.schedulers.blocking import BlockingScheduler
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import LISTING_MORNING, Clock, write_config
from tests.support.server import FixtureServer
from tracker.app.core import Tracker, make_tracker
from tracker.config import Settings, load_settings
from tracker.models import FollowKind
from tracker.reading import text
from tracker.reading.model import train
from tracker.reading.rank import Ranking, _best_first
from tracker.reading.service import ReadingService
from tracker.reading.store import ReaderModelStore
from tracker.worker import add_jobs

LIBRARY = Path(__file__).parent / "data" / "library" / "zotero.bib"
READERS = """
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "07:00"

[readers.follows]
categories = ["cs.DC"]
"""


@pytest.fixture
def settings(server: FixtureServer, tmp_path: Path) -> Settings:
    return load_settings(write_config(tmp_path, server.url, readers=READERS))


def fetched(settings: Settings, clock: Clock) -> Tracker:
    t = make_tracker(settings, clock=clock)
    t.fetch()
    return t


def outcome(ranking: Ranking) -> tuple[object, ...]:
    """Everything a digest takes from a ranking."""
    keys: list[Hashable] = list(ranking.scores)
    return (
        ranking.scores,
        ranking.order(),
        ranking.top(10),
        ranking.explain(keys),
        ranking.cross(keys[::2], 5),
    )


def test_a_kept_model_ranks_exactly_as_a_freshly_trained_one(settings: Settings) -> None:
    clock = Clock(LISTING_MORNING)
    t = fetched(settings, clock)
    t.import_library("ada", LIBRARY)
    t.rate("ada", "2411.17722", "down")
    items = t.storage.items(list(range(1, 1000)))  # every stored paper
    assert len(items) > 10
    first = t.reading.ranking("ada", items)
    assert t.reading.trained == 1
    again = t.reading.ranking("ada", items)  # kept in memory
    assert t.reading.trained == 1 and again.model is first.model
    t.close()

    restarted = make_tracker(settings, clock=clock)  # a new process: the model on disk
    kept = restarted.reading.ranking("ada", items)
    assert restarted.reading.trained == 0
    assert kept.model is not first.model

    fresh = ReadingService(restarted.storage, clock)  # keeps nothing: trains
    trained = fresh.ranking("ada", items)
    assert fresh.trained == 1
    assert outcome(kept) == outcome(trained) == outcome(first)
    assert any(s.score > 0 for s in trained.top(10))

    # the very model training gives, array for array
    found = fresh.evidence("ada")
    exclude = [e.item_id for e in found if e.item_id is not None]
    direct = train(found, restarted.storage.recent_texts(2000, exclude))
    assert (kept.model.weights == direct.weights).all() and kept.model.bias == direct.bias
    assert kept.model.vocabulary.terms == direct.vocabulary.terms
    assert kept.model.vocabulary.raw == direct.vocabulary.raw
    assert (kept.model.positive_rows != direct.positive_rows).nnz == 0
    assert kept.model.positives == direct.positives
    restarted.close()


def test_a_rating_a_save_an_import_or_a_follow_trains_the_model_again(
    settings: Settings,
) -> None:
    clock = Clock(LISTING_MORNING)
    t = fetched(settings, clock)
    reading = t.reading
    model = reading.model("ada")
    assert reading.model("ada") is model and reading.trained == 1
    changes = [
        lambda: t.rate("ada", "2411.17722", "up"),
        lambda: t.rate("ada", "2411.17722", "down"),
        lambda: t.save("ada", "2411.17710"),
        lambda: t.import_library("ada", LIBRARY),
        lambda: t.follow("ada", FollowKind.QUERY, "all:diffusion"),
    ]
    for n, change in enumerate(changes, start=2):
        change()
        changed = reading.model("ada")
        assert reading.trained == n and changed is not model
        model = changed
    assert reading.model("ada") is model and reading.trained == len(changes) + 1
    t.close()


def test_the_leader_trains_ahead_the_models_of_the_digests_due_soon(settings: Settings) -> None:
    clock = Clock(LISTING_MORNING)  # ada's digest is at 07:00
    t = fetched(settings, clock)
    t.build_digest("ada")
    assert t.reading.trained == 1
    assert t.prepare_rankings() == 0  # built: the next one is tomorrow's
    clock.now = clock.now + dt.timedelta(hours=22, minutes=30)  # 06:30
    t.rate("ada", "2411.17722", "up")
    # due after the next fetch (every 15 minutes): the model would be trained again
    assert t.prepare_rankings() == 0
    assert t.prepare_rankings(dt.timedelta(hours=1)) == 1
    t.rate("ada", "2411.17722", "none")
    clock.now = clock.now + dt.timedelta(minutes=20)  # 06:50: due before the next fetch
    assert t.prepare_rankings() == 1
    assert t.prepare_rankings() == 0  # nothing changed: kept
    clock.now = clock.now + dt.timedelta(minutes=11)
    assert t.deliver_due()
    assert t.reading.trained == 3  # the digest found the model ready
    t.close()


def test_an_unreadable_or_outdated_model_file_is_trained_again(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(LISTING_MORNING)
    t = fetched(settings, clock)
    t.reading.model("ada")
    store = ReaderModelStore(settings.data_dir / "readers")
    path = store.path("ada")
    assert path.is_file()
    assert store.load("ada", "another fingerprint") is None
    t.close()

    path.write_bytes(b"not a model")
    restarted = make_tracker(settings, clock=clock)
    with caplog.at_level(logging.WARNING, logger="tracker.reading.store"):
        restarted.reading.model("ada")
    assert restarted.reading.trained == 1
    assert "reader model not readable" in caplog.text
    restarted.close()
    again = make_tracker(settings, clock=clock)  # the file was written again
    again.reading.model("ada")
    assert again.reading.trained == 0
    again.close()


def test_names_that_look_alike_keep_their_own_files(tmp_path: Path) -> None:
    store = ReaderModelStore(tmp_path)
    assert store.path("a/b") != store.path("a_b")
    assert store.path("../x").parent == tmp_path


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_words_split_alike_whatever_the_characters(value: str) -> None:
    assert text._separated(value) == value.translate(text._SPLIT)


@given(
    st.lists(st.sampled_from([-1.5, -0.0, 0.0, 0.5, 2.0, 3.25]), max_size=30),
    st.integers(min_value=0, max_value=35),
)
def test_the_best_first_keep_ties_in_order(values: list[float], n: int) -> None:
    expected = [k for _, k in sorted((-v, k) for k, v in enumerate(values))]
    array = np.asarray(values, dtype=np.float64)
    assert _best_first(array) == expected
    assert _best_first(array, n) == expected[:n]


def test_the_leaders_fetch_job_trains_the_models_of_the_digests_due_soon(
    settings: Settings,
) -> None:
    clock = Clock(LISTING_MORNING.replace(hour=6, minute=50))  # ada's digest at 07:00
    t = make_tracker(settings, clock=clock)
    scheduler = BlockingScheduler(timezone=dt.UTC)
    add_jobs(scheduler, t, dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    fetch = scheduler.get_job("fetch")
    assert fetch is not None
    fetch.func()  # not leading: fetches only
    assert t.reading.trained == 0
    assert t.leadership.try_lead()
    fetch.func()
    assert t.reading.trained == 1
    t.build_digest("ada")
    assert t.reading.trained == 1  # the digest found the model ready
    t.close()

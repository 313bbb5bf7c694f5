"""Digest: build and render a day with N candidate items (database query, ranking,
selection, the digest record, Markdown, the atomic write); against loading the same
items from the database, measured in the same run.

Three ways (and one with rules), three readers each (all with the same candidates):

- **model ready**: the reader's relevance model was trained ahead (as the scheduler
  leader does after each fetch for the digests due within the hour): the digest
  checks the model's fingerprint and scores with it;
- **model trained in the build**: nothing kept for the reader, the build trains it
  (the first build of the run also imports scikit-learn);
- **no ranking**: a digest service without a ranker; and the same for readers with
  three mute rules by text (``RULES``: every candidate's words are looked at).

Training alone, and checking and loading a kept model from disk (as after a
restart), are timed too, and the kept model's file measured; so is ranking the
candidates alone, their words split afresh (the first reader of the day in a
process) and kept (``reading.text.Tokens``: every other reader; the ranked builds
above are of those); so are rendering alone (the view and its Markdown) and both
parts of the e-mail from one view, in English and in Chinese (the catalogue compiled
before the timing: once per process). Each time is given as wall-clock seconds and
as the process's CPU seconds (steadier on a loaded machine).

A build pauses CPython's cyclic garbage collector (``tracker.heap``); loading the
items alone does not, so a full collection may fall in that baseline or not: its CPU
time varies by about 0.1 s from run to run."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import median, settings
from bench.corpus import papers
from tracker.app.core import follow_spec, make_tracker
from tracker.digest.catalogs import language
from tracker.digest.render import render_html, render_markdown, render_text
from tracker.digest.service import DigestService
from tracker.digest.view import build_view
from tracker.heap import collector_paused
from tracker.models import FollowKind, Rule, RuleAction
from tracker.reading.rank import Candidate, Ranking
from tracker.reading.service import ReadingService
from tracker.reading.store import ReaderModelStore
from tracker.reading.text import Tokens

READERS = 3
KINDS = ("ready", "trained", "plain", "ruled")
# a reader's mute rules: a phrase in any column, a title word, a prefix
RULES = ('"quantum annealing"', "title:survey", "blockchain*")


def clocked(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def medians(times: list[tuple[float, float]]) -> tuple[float, float]:
    return median([w for w, _ in times]), median([c for _, c in times])


def run(candidates: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        names = [f"{kind}{n}" for kind in KINDS for n in range(READERS)]
        s = settings(
            folder,
            readers=[
                {
                    "name": name,
                    "timezone": "UTC",
                    "digest_time": "07:00",
                    "output_dir": str(folder / "digests"),
                }
                for name in names
            ],
        )
        clock_now = dt.datetime(2024, 1, 2, 12, tzinfo=dt.UTC)
        tracker = make_tracker(s, clock=lambda: clock_now, sync_follows=False)
        storage = tracker.storage
        follow_at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        for name in names:
            for code in ("cs.LG", "cs.DC", "quant-ph"):
                storage.add_follow(name, follow_spec(FollowKind.CATEGORY, code), follow_at)
        sources = {src.value: src.id for src in storage.followed_sources()}
        batch = [
            (entry, [sources[c] for c in entry.categories if c in sources])
            for entry in papers(candidates * 4, seed=9)
        ]
        batch = [b for b in batch if b[1]][:candidates]
        report = storage.ingest(
            batch,
            follow_at + dt.timedelta(hours=1),
            merge=lambda a, b: b,
            prepare=lambda e: e,
            tag=s.field_map.tag,
        )
        ids = list(report.item_ids)
        load = [clocked(lambda: storage.items(ids)) for _ in range(READERS)]
        day = clock_now.date()
        trained = [
            clocked(lambda n=n: tracker.build_digest(f"trained{n}", day)) for n in range(READERS)
        ]
        tracker.reading.prepare([f"ready{n}" for n in range(READERS)])  # trained ahead
        ready = [
            clocked(lambda n=n: tracker.build_digest(f"ready{n}", day)) for n in range(READERS)
        ]
        plain_service = DigestService(
            storage,
            lambda: clock_now,
            readers=s.readers,
            settings=s.digest,
            field_map=s.field_map,
        )
        plain = [clocked(lambda n=n: plain_service.build(f"plain{n}", day)) for n in range(READERS)]
        for n in range(READERS):
            for text in RULES:
                storage.add_rule(f"ruled{n}", Rule(RuleAction.MUTE, text=text), clock_now)
        ruled = [clocked(lambda n=n: plain_service.build(f"ruled{n}", day)) for n in range(READERS)]
        # services that keep nothing: each trains
        fresh = [ReadingService(storage, lambda: clock_now) for _ in range(READERS)]
        training = [clocked(lambda r=r: r.model("ready0")) for r in fresh]
        restarts = [
            ReadingService(storage, lambda: clock_now, models=s.data_dir / "readers")
            for _ in range(READERS)
        ]
        kept = [clocked(lambda r=r: r.model("ready0")) for r in restarts]
        assert not any(r.trained for r in restarts)
        stored = ReaderModelStore(s.data_dir / "readers").path("ready0").stat().st_size
        # ranking alone: the candidates' words split afresh, or kept from another
        # reader's ranking of the same day (as the digest service keeps them)
        model = restarts[0].model("ready0")
        candidates = [
            Candidate(item.id, item.title, f"{item.title}. {item.summary}", item.categories)
            for item in storage.items(ids)
        ]
        with collector_paused():  # as in a build
            cold = [clocked(lambda: Ranking(model, candidates, Tokens())) for _ in range(3)]
            kept_words = Tokens()
            Ranking(model, candidates, kept_words)
            warm = [clocked(lambda: Ranking(model, candidates, kept_words)) for _ in range(3)]
        digest = tracker.build_digest("ready0", day).digest
        render = [clocked(lambda: tracker.render(digest)) for _ in range(3)]
        view = tracker.digests.view(digest)
        email = [clocked(lambda: (render_text(view), render_html(view))) for _ in range(3)]
        chinese = language("zh")
        presentation = tracker.digests.presentation

        def in_chinese() -> None:
            zh = build_view(digest, presentation, chinese)
            render_markdown(zh), render_text(zh), render_html(zh)

        in_chinese()  # the templates compiled for Chinese once, as in a running process
        zh = [clocked(in_chinese) for _ in range(3)]
        tracker.close()
    figures = {
        "build and write, model ready": medians(ready),
        "build and write, no ranking": medians(plain),
        "build and write, no ranking, 3 mute rules": medians(ruled),
        "build and write, model trained in it": medians(trained),
        "training a model": medians(training),
        "checking and loading a kept model": medians(kept),
        "ranking the candidates, words split afresh": medians(cold),
        "ranking the candidates, words kept": medians(warm),
        "of which rendering": medians(render),
        "e-mail parts from the view": medians(email),
        "Chinese view, Markdown and e-mail parts": medians(zh),
        "loading the items alone": medians(load),
    }
    result: dict[str, Any] = {
        "candidates": len(ids),
        "a kept model's file, MB": round(stored / 2**20, 2),
    }
    for label, (wall, cpu) in figures.items():
        result[f"{label} s"] = round(wall, 3)
        result[f"{label} CPU s"] = round(cpu, 3)
    base_wall, base_cpu = figures["loading the items alone"]
    for label, short in (
        ("build and write, model ready", "ready"),
        ("build and write, no ranking", "no ranking"),
        ("build and write, model trained in it", "trained"),
    ):
        wall, cpu = figures[label]
        result[f"{short} / load"] = round(wall / base_wall, 1)
        result[f"{short} / load, CPU"] = round(cpu / base_cpu, 1)
    return result

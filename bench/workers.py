"""Workers: a first fetch cycle shared by 1, 2 and 4 worker processes on one PostgreSQL
database (claims split the due feeds between them), against a loopback server that
answers each request after 50 to 200 ms. Figures (medians over interleaved rounds):
feeds/s, items/s and the workers' CPU per feed for each worker count, and the speed-up
over one worker measured in the same command.

Each run starts from an empty database with ``feeds`` followed feeds of ``PER_FEED``
items each; the workers are separate processes (spawned), each with the default
``[fetch] concurrency``, and start fetching together once all of them are ready, so
their start-up is not counted. A run checks that every feed was fetched once and every
item stored once. Needs ``TRACKER_TEST_POSTGRESQL`` (``bash .ci/postgres``); skips
without.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import tempfile
import time
from dataclasses import replace
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.common import median, settings
from bench.corpus import papers, rss_feed
from bench.feedserver import FeedServer
from tracker.app.core import follow_spec, make_tracker
from tracker.config import Settings
from tracker.models import FollowKind
from tracker.storage import open_storage

PER_FEED = 20
LATENCY = (0.05, 0.2)  # seconds, uniform per response
WORKERS = (1, 2, 4)
NOW = dt.datetime(2024, 11, 28, 8, 0, tzinfo=dt.UTC)


def _settings(folder: Path, database: str) -> Settings:
    return replace(settings(folder), database_url=database)


def _worker(folder: str, database: str, start: Barrier, done: Any) -> None:
    """One worker process: wired, then waits for the others, then one fetch cycle."""
    tracker = make_tracker(_settings(Path(folder), database), sync_follows=False)
    try:
        start.wait()
        cpu = time.process_time()
        report = tracker.fetch()
        done.put((report.checked, len(report.errors), time.process_time() - cpu))
    finally:
        tracker.close()


class Scratch:
    """A database of its own on the server named by TRACKER_TEST_POSTGRESQL."""

    def __init__(self, server: str, name: str) -> None:
        self.admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        self.name = name
        self.url = make_url(server).set(database=name).render_as_string(hide_password=False)
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.dispose()


def _one_run(
    folder: Path, server: FeedServer, scratch: Scratch, count: int, workers: int
) -> tuple[float, float]:
    """Seconds from the start signal until every worker is done, and the CPU seconds the
    workers spent fetching, parsing and storing (the database server's not counted)."""
    storage = open_storage(scratch.url)
    try:
        specs = [follow_spec(FollowKind.FEED, f"{server.url}/feed/{n}.xml") for n in range(count)]
        storage.sync_follows("bench", specs, NOW, origin="cli")
    finally:
        storage.close()
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(workers + 1)
    done = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(str(folder), scratch.url, start, done))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    start.wait(timeout=120)
    began = time.perf_counter()
    reports = [done.get(timeout=1800) for _ in procs]
    seconds = time.perf_counter() - began
    for p in procs:
        p.join(timeout=60)
    checked = sum(r[0] for r in reports)
    errors = sum(r[1] for r in reports)
    storage = open_storage(scratch.url, migrate=False)
    try:
        with storage.engine.connect() as conn:
            items = conn.scalar(sa.text("SELECT count(*) FROM items"))
            held = "SELECT count(*) FROM sources WHERE claimed_by IS NOT NULL"
            claimed = conn.scalar(sa.text(held))
    finally:
        storage.close()
    if checked != count or errors or items != count * PER_FEED or claimed:
        raise SystemExit(
            f"workers={workers}: checked {checked} of {count} feeds, {errors} errors, "
            f"{items} of {count * PER_FEED} items, {claimed} claims left"
        )
    return seconds, sum(r[2] for r in reports)


def run(feeds: int, rounds: int = 3) -> dict[str, Any]:
    """``rounds`` runs of each worker count, interleaved (1, 2, 4, 1, 2, 4, ...) so that
    noise on the machine hits them alike; medians reported."""
    server_url = os.environ.get("TRACKER_TEST_POSTGRESQL")
    if not server_url:
        print("workers: skipped (set TRACKER_TEST_POSTGRESQL: bash .ci/postgres)", flush=True)
        return {"skipped": "TRACKER_TEST_POSTGRESQL is not set"}
    entries = list(papers(feeds * PER_FEED, seed=23))
    docs = {
        f"/feed/{n}.xml": rss_feed(entries[n * PER_FEED : (n + 1) * PER_FEED], f"Lab {n}")
        for n in range(feeds)
    }
    load = os.getloadavg()[0]  # other work on the machine skews the ratios
    server = FeedServer(docs, latency=LATENCY[0], latency_max=LATENCY[1])
    times: dict[int, list[float]] = {w: [] for w in WORKERS}
    cpus: dict[int, list[float]] = {w: [] for w in WORKERS}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for round_no in range(rounds):
                for workers in WORKERS:
                    name = f"tracker_bench_workers_{os.getpid()}_{workers}"
                    scratch = Scratch(server_url, name)
                    try:
                        seconds, cpu = _one_run(Path(tmp), server, scratch, feeds, workers)
                    finally:
                        scratch.drop()
                    times[workers].append(seconds)
                    cpus[workers].append(cpu)
                    print(
                        f"workers: round {round_no + 1}, {workers} process(es): "
                        f"{seconds:.1f}s, {cpu:.1f} CPU s",
                        flush=True,
                    )
    finally:
        server.close()
    base = median(times[1])
    runs = {
        str(w): {
            "seconds": round(median(times[w]), 2),
            "feeds_per_s": round(feeds / median(times[w]), 1),
            "items_per_s": round(feeds * PER_FEED / median(times[w]), 1),
            "worker_cpu_ms_per_feed": round(1000 * median(cpus[w]) / feeds, 1),
            "speedup_vs_1_worker": round(base / median(times[w]), 2),
        }
        for w in WORKERS
    }
    return {
        "feeds": feeds,
        "items_per_feed": PER_FEED,
        "latency_ms": [int(x * 1000) for x in LATENCY],
        "threads_per_worker": settings(Path(".")).fetch.concurrency,
        "cores": os.cpu_count(),
        "load_average_before": round(load, 2),
        "rounds": rounds,
        "runs": runs,
    }

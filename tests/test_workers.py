"""Several worker processes on one PostgreSQL database, as a lab runs them.

The workers are real processes running the real ``tracker run --once`` (forks of the
pre-imported ``tests/support/crash_worker.py``, each with its clock set by the test) or the
real ``tracker run`` daemon; the loopback server plays arXiv and 500 small feeds and
logs every request with its arrival time. Checked here:

- each due source is fetched by exactly one worker per cycle, nothing is stored twice,
  and arXiv's requests arrive ``min_interval`` apart across all the workers together;
- a worker killed (SIGKILL) while it holds claims leaves them until the lease ends,
  then another worker fetches those sources, and nothing is lost;
- one process at a time is the scheduler leader (digests); when it dies, a standby
  takes over within the retry period.

PostgreSQL variants skip without ``TRACKER_TEST_POSTGRESQL`` (and fail under CI); the
leader test also runs on SQLite, where the lock is a file lock.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import REPO, Clock
from tests.support import pg
from tests.support.forker import Forker
from tests.support.server import FixtureServer, Reply
from tests.test_storage import BACKENDS, database_url
from tracker.app.core import make_tracker
from tracker.config import load_settings

START = dt.datetime(2024, 11, 28, 6, 0, tzinfo=dt.UTC)
INTERVAL = 0.3  # arXiv's min_interval here: every worker's requests together keep it
# small ones: the test is about who fetches, not how much there is
CATEGORIES = ("cs.OS", "cs.PL", "math.KT", "cs.DB", "cs.DL", "cs.GT")
QUERIES = ("ti:lattice", "ti:sheaf", "au:Smith")
POSTS = 2  # per feed


def lab_feed(n: int) -> bytes:
    items = "".join(
        f"<item><title>Lab {n} post {k}</title><link>https://lab{n}.example.org/{k}</link>"
        f"<guid>https://lab{n}.example.org/{k}</guid><description>Post {k}.</description></item>"
        for k in range(POSTS)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Lab {n}</title>'
        f"<link>https://lab{n}.example.org/</link>{items}</channel></rss>"
    ).encode()


def serve_feeds(server: FixtureServer, count: int) -> list[str]:
    """``count`` feeds, at ``localhost`` so that they are not behind arXiv's gate."""
    for n in range(count):
        server.add(f"/lab/{n}.xml", lab_feed(n), "application/rss+xml")
    base = server.url.replace("127.0.0.1", "localhost")
    return [f"{base}/lab/{n}.xml" for n in range(count)]


def toml_list(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def write_config(
    folder: Path,
    server: FixtureServer,
    database: str,
    *,
    feeds: list[str],
    categories: tuple[str, ...] = (),
    queries: tuple[str, ...] = (),
    fetch: str = "",
    schedule: str = "",
    digest_time: str = "23:59",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = f"""
[tracker]
data_dir = "data"
database_url = "{database}"
fields_file = "{REPO / "tracker" / "fields" / "fields.toml"}"

[arxiv]
contact_email = "tests@example.org"
api_url = "{server.url}/api/query"
listing_url = "{server.url}/rss/"
oai_url = "{server.url}/oai2"
author_url = "{server.url}/a/"
min_interval = {INTERVAL}
listing_batch = 1  # one request per category: several workers take part
max_query_chars = 20  # one request per search

[fetch]
use_env_proxy = false
{fetch}

[schedule]
{schedule}

[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "{digest_time}"

[readers.follows]
categories = {toml_list(categories)}
queries = {toml_list(queries)}
feeds = {toml_list(feeds)}
"""
    path = folder / "tracker.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def postgresql() -> Iterator[str]:
    with pg.scratch_database() as url:
        yield url


def run_all(forker: Forker, config: Path, now: dt.datetime, count: int) -> list[int]:
    """``count`` workers at once, each one ``tracker run --once``; their exit codes."""
    pids = [forker.start(config, now) for _ in range(count)]
    return [forker.reap(pid) for pid in pids]


def query_db(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(sql))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def arxiv_arrivals(server: FixtureServer) -> list[float]:
    return sorted(r.at for r in server.requests() if r.path.startswith(("/rss/", "/api/")))


def test_three_workers_share_two_cycles(
    server: FixtureServer, postgresql: str, forker: Forker, tmp_path: Path
) -> None:
    feeds = serve_feeds(server, 500)
    config = write_config(
        tmp_path / "lab",
        server,
        postgresql,
        feeds=feeds,
        categories=CATEGORIES,
        queries=QUERIES,
        fetch="concurrency = 4",
    )
    failed = "SELECT kind, value, last_error FROM sources WHERE last_error IS NOT NULL"
    # first cycle from an empty database: the workers also migrate and sync together
    assert run_all(forker, config, START, 3) == [0, 0, 0], query_db(postgresql, failed)
    first = len(arxiv_arrivals(server))
    query_db(postgresql, "UPDATE sources SET next_check_at = '2024-11-28 06:00+00'")
    codes = run_all(forker, config, START + dt.timedelta(minutes=1), 3)
    assert codes == [0, 0, 0], query_db(postgresql, failed)

    # every feed fetched exactly twice in all: once per cycle, by one worker
    counts: dict[str, int] = {}
    for r in server.requests("/lab/"):
        counts[r.path] = counts.get(r.path, 0) + 1
    assert len(counts) == 500
    assert set(counts.values()) == {2}

    # nothing stored twice, nothing missing, nothing left claimed or failing
    [(posts, keys, links)] = query_db(
        postgresql,
        "SELECT count(*), count(DISTINCT key), count(DISTINCT url) FROM items WHERE kind = 'post'",
    )
    assert posts == keys == links == 500 * POSTS
    [(papers, distinct)] = query_db(
        postgresql,
        "SELECT count(*), count(DISTINCT arxiv_id) FROM items WHERE arxiv_id IS NOT NULL",
    )
    assert papers == distinct > 0
    [(sightings, pairs)] = query_db(
        postgresql, "SELECT count(*), count(DISTINCT (item_id, source_id)) FROM sightings"
    )
    assert sightings == pairs
    bad = query_db(
        postgresql,
        "SELECT value FROM sources WHERE last_success_at IS NULL OR error_count > 0 "
        "OR claimed_by IS NOT NULL",
    )
    assert bad == []

    # arXiv's requests, from whichever worker, arrived at least min_interval apart
    arrivals = arxiv_arrivals(server)
    assert first >= len(CATEGORIES) + len(QUERIES)
    assert len(arrivals) >= 2 * (len(CATEGORIES) + len(QUERIES))
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) >= INTERVAL - 0.002, gaps


def test_a_killed_workers_claims_go_to_another_after_the_lease(
    server: FixtureServer, postgresql: str, forker: Forker, tmp_path: Path
) -> None:
    feeds = serve_feeds(server, 60)
    for n in range(60):  # slow answers the first time: the kill lands mid-fetch
        server.script(
            f"/lab/{n}.xml", [Reply(200, lab_feed(n), {"Content-Type": "text/xml"}, delay=0.5)]
        )
    # seconds, in the workers' clocks (set by the test: nobody waits for it to pass);
    # longer than a fetch's deadline, and than the others' whole cycle below
    lease = 30.0
    config = write_config(
        tmp_path / "lab",
        server,
        postgresql,
        feeds=feeds,
        fetch="concurrency = 2\ndeadline = 5",
        schedule=f"claim_lease_minutes = {lease / 60}",
    )
    victim = forker.start(config, START)
    deadline = time.monotonic() + 30
    while not server.requests("/lab/"):
        assert time.monotonic() < deadline, "the victim never fetched"
        time.sleep(0.01)
    time.sleep(0.1)
    os.kill(victim, signal.SIGKILL)
    assert forker.reap(victim) == -signal.SIGKILL
    held = {
        value
        for (value,) in query_db(
            postgresql, "SELECT value FROM sources WHERE claimed_by IS NOT NULL"
        )
    }
    assert held, "the victim held no claims when it died"
    before = len(server.requests("/lab/"))

    # within the lease: two others fetch everything else, not what the dead one holds
    assert run_all(forker, config, START + dt.timedelta(seconds=1), 2) == [0, 0]
    still = query_db(postgresql, "SELECT value FROM sources WHERE claimed_by IS NOT NULL")
    assert {v for (v,) in still} == held
    fetched = {r.path for r in server.requests("/lab/")[before:]}
    assert len(fetched) == 60 - len(held)
    assert not {f.split("/lab/")[1] for f in held} & {p.split("/lab/")[1] for p in fetched}

    # after the lease: the next worker takes them over
    after = len(server.requests("/lab/"))
    assert run_all(forker, config, START + dt.timedelta(seconds=2 * lease), 1) == [0]
    taken = {r.path for r in server.requests("/lab/")[after:]}
    assert {p.split("/lab/")[1] for p in taken} == {f.split("/lab/")[1] for f in held}

    # nothing lost, nothing doubled, nothing held
    [(posts, keys)] = query_db(
        postgresql, "SELECT count(*), count(DISTINCT key) FROM items WHERE kind = 'post'"
    )
    assert posts == keys == 60 * POSTS
    bad = query_db(
        postgresql,
        "SELECT value FROM sources WHERE last_success_at IS NULL OR claimed_by IS NOT NULL",
    )
    assert bad == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cycle_fetches_each_claimed_source_once_and_skips_others_claims(
    server: FixtureServer, backend: str, tmp_path: Path
) -> None:
    """In one process: rolling claims fetch every due feed once (``--all`` too, where
    every source counts as due), and a source another live worker holds is left alone."""
    feeds = serve_feeds(server, 30)
    with database_url(backend, tmp_path) as url:
        config = write_config(tmp_path / "lab", server, url, feeds=feeds, fetch="concurrency = 2")
        clock = Clock(START)
        t = make_tracker(load_settings(config), clock=clock)
        try:
            other = t.storage.claim_due_sources(
                "other:1:x", START, dt.timedelta(minutes=5), limit=3
            )
            report = t.fetch()
            assert report.checked == 27 and report.errors == []
            counts = Counter(r.path for r in server.requests("/lab/"))
            assert len(counts) == 27 and set(counts.values()) == {1}
            assert all(feed_path(s.value) not in counts for s in other)

            t.storage.release_claims("other:1:x")
            everything = t.fetch(everything=True)  # not due, fetched all the same: once each
            assert everything.checked == 30
            counts = Counter(r.path for r in server.requests("/lab/"))
            assert len(counts) == 30
            assert all(counts[feed_path(s.value)] == 1 for s in other)
            assert t.storage.claim_due_sources("any", START, dt.timedelta(minutes=5)) == []
        finally:
            t.close()


def feed_path(url: str) -> str:
    return "/lab/" + url.split("/lab/")[1]


# --- the scheduler leader -------------------------------------------------------------------


class Daemon:
    """A ``tracker run`` process whose log lines are collected as they come."""

    def __init__(self, config: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tracker.cli", "--config", str(config), "run"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self._reader.join(timeout=5)
        return "\n".join(self.lines)


def wait_for(
    predicate: Callable[[], bool], timeout: float, daemons: Sequence[Daemon] = ()
) -> float:
    """Seconds it took for ``predicate`` to hold; fails after ``timeout``, showing what
    the daemons said."""
    began = time.monotonic()
    while not predicate():
        said = "\n---\n".join("\n".join(d.lines) for d in daemons)
        assert time.monotonic() - began < timeout, f"timed out; the daemons said:\n{said}"
        time.sleep(0.02)
    return time.monotonic() - began


LEADS = "became the scheduler leader"
DIGESTS = "running job=digests as the scheduler leader"


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_one_leader_runs_digests_and_a_standby_takes_over(
    server: FixtureServer, backend: str, tmp_path: Path
) -> None:
    retry = 0.5
    with database_url(backend, tmp_path) as url:
        config = write_config(
            tmp_path / "lab",
            server,
            url,
            feeds=serve_feeds(server, 3),
            schedule=f"leader_retry_seconds = {retry}\nfetch_every_minutes = 600",
            digest_time="00:00",
        )
        daemons = [Daemon(config), Daemon(config)]  # started together: one of them leads
        try:
            wait_for(lambda: any(d.said(LEADS) for d in daemons), 60, daemons)
            leader, standby = daemons if daemons[0].said(LEADS) else daemons[::-1]
            wait_for(lambda: leader.said(DIGESTS), 10, daemons)
            wait_for(lambda: standby.said("worker started"), 30, daemons)
            time.sleep(3 * retry)  # it tried, and tried again
            assert not standby.said(LEADS) and not standby.said(DIGESTS)

            leader.process.kill()  # SIGKILL: no goodbye, the lock goes with the process
            leader.process.wait(timeout=10)
            took = wait_for(lambda: standby.said(LEADS), retry + 5, daemons)
            assert took <= retry + 1.5, took
            wait_for(lambda: standby.said(DIGESTS), 5, daemons)  # its first digest check comes soon
        finally:
            outputs = [d.stop() for d in daemons]
        assert standby.process.returncode == 0, outputs
        assert all("Traceback" not in output for output in outputs), outputs
        # built once, by the first leader; the second found it recorded
        [(count,)] = query_db(url, "SELECT count(*) FROM digests")
        assert count == 1
    assert len(list((tmp_path / "lab" / "digests" / "ada").glob("*.md"))) == 1

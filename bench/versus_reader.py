"""Ingest side by side with lemon24/reader: the same synthetic corpus of RSS feeds (50
items each, arXiv-like titles and abstracts) served from 127.0.0.1 with 50 ms latency
per request, fetched by reader's ``update_feeds(workers=8)`` and by tracker's fetch
cycle (``concurrency = 8``), each in a fresh process with a fresh SQLite database,
alternating runs so that the machine's noise hits both alike.

tracker's database (the schema at its latest revision, every feed followed) is made
by a process of its own before the measured one, as an installation's is once
(``tracker db upgrade``): the measured process opens a database at head, as every
``tracker fetch`` does. reader makes its tables in its measured process (a few
``CREATE TABLE``s, no migration tool).

For each: entries per second of the first update (every feed new), CPU seconds per
entry (``os.wait4``'s resource usage of the child: all of its life, start-up
included; CPU of the update alone as the child measured it), peak RSS of that
process (its own VmHWM: ``ru_maxrss`` would count this parent's memory, which Linux
carries into a child across fork and exec),
RSS before the first fetch, and the update with nothing changed (all 304); the ratios
tracker / reader; and feedparser's bare parse rate of the same bytes in this process
(both use feedparser 6 for RSS).

reader is not a dependency of tracker: it runs under the Python named by
``--reader-python`` or ``TRACKER_BENCH_READER_PYTHON`` (reader 3.27 needs Python 3.12:
``python3.12 -m venv .venv-reader && .venv-reader/bin/pip install reader==3.27``), or
this one when it can import reader. Without it only tracker's side is measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import median, settings, timed

PER_FEED = 50
ROUNDS = 3
DRIVER = Path(__file__).with_name("reader_driver.py")


def reader_python(explicit: str | None = None) -> str | None:
    """A Python that can import reader, or None."""
    for candidate in (explicit, os.environ.get("TRACKER_BENCH_READER_PYTHON"), sys.executable):
        if not candidate:
            continue
        found = subprocess.run(
            [candidate, "-c", "import reader"], capture_output=True, check=False
        ).returncode
        if found == 0:
            return candidate
    return None


def _child(argv: list[str]) -> tuple[dict[str, Any], float, float]:
    """Run a driver; its JSON report, its CPU seconds and peak RSS in MB (wait4)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return json.loads(out), usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def tracker_setup(folder: str, urls_file: str) -> None:
    """The tracker side's database, made by a process of its own before the measured
    one starts, as an installation's is (``tracker db upgrade``, or its first start):
    the schema at its latest revision and every feed followed. A fetch then opens a
    database at head and never imports Alembic (``storage/base.py``)."""
    from tracker.app.core import follow_spec, make_tracker
    from tracker.models import FollowKind

    urls = Path(urls_file).read_text().split()
    tracker = make_tracker(settings(Path(folder), concurrency=8), sync_follows=False)
    now = dt.datetime.now(dt.UTC)
    for url in urls:
        tracker.storage.add_follow("bench", follow_spec(FollowKind.FEED, url), now)
    tracker.close()
    json.dump({}, sys.stdout)


def tracker_driver(folder: str, urls_file: str) -> None:
    """The tracker side, in a fresh process over the database ``tracker_setup`` made
    (every feed followed): one fetch cycle, then another with nothing changed; prints
    the same report as reader_driver."""
    from bench.reader_driver import _cpu, _peak_rss, _rss
    from tracker.app.core import make_tracker  # timed with the start-up

    tracker = make_tracker(settings(Path(folder), concurrency=8), sync_follows=False)
    rss_before = _rss()
    cpu_before = cpu_setup = _cpu()
    started = time.perf_counter()
    tracker.fetch(everything=True)
    first = time.perf_counter() - started
    cpu_first = _cpu() - cpu_before
    entries = tracker.storage.count_items()
    cpu_before = _cpu()
    started = time.perf_counter()
    tracker.fetch(everything=True)
    unchanged = time.perf_counter() - started
    cpu_unchanged = _cpu() - cpu_before
    tracker.close()
    json.dump(
        {
            "entries": entries,
            "first s": first,
            "first cpu s": cpu_first,
            "unchanged s": unchanged,
            "unchanged cpu s": cpu_unchanged,
            "start-up cpu s": cpu_setup,
            "rss before first MB": rss_before / 1024 / 1024,
            "peak rss MB": _peak_rss() / 1024 / 1024,
        },
        sys.stdout,
    )


def _summary(runs: list[tuple[dict[str, Any], float, float]]) -> dict[str, Any]:
    entries = runs[0][0]["entries"]
    # reader's search indexing runs after everything else: not part of its process's
    # figures, given apart
    runs = [(r, cpu - r.get("search index cpu s", 0.0), rss) for r, cpu, rss in runs]
    return {
        "entries": entries,
        "entries/s (first update)": round(entries / median([r["first s"] for r, _, _ in runs])),
        "CPU ms per entry (first update)": round(
            1000 * median([r["first cpu s"] for r, _, _ in runs]) / entries, 3
        ),
        "CPU ms per entry (whole process)": round(
            1000 * median([cpu for _, cpu, _ in runs]) / entries, 3
        ),
        "start-up CPU s": round(median([r["start-up cpu s"] for r, _, _ in runs]), 2),
        "RSS before first fetch MB": round(median([r["rss before first MB"] for r, _, _ in runs])),
        "peak RSS MB": round(median([r["peak rss MB"] for r, _, _ in runs])),
        "unchanged update s": round(median([r["unchanged s"] for r, _, _ in runs]), 2),
    }


def run(feeds: int, reader_exe: str | None = None, rounds: int = ROUNDS) -> dict[str, Any]:
    import feedparser  # here, not at the top: the tracker side starts from this module

    from bench.corpus import papers, rss_feed
    from bench.feedserver import FeedServer

    entries = list(papers(feeds * PER_FEED, seed=11))
    docs = {
        f"/feed/{i}.xml": rss_feed(entries[i * PER_FEED : (i + 1) * PER_FEED], f"Blog {i}")
        for i in range(feeds)
    }
    total = feeds * PER_FEED
    python = reader_python(reader_exe)
    out: dict[str, Any] = {"entries": total, "feeds": feeds, "rounds": rounds}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server = FeedServer(docs, latency=0.05)
        urls_file = folder / "urls.txt"
        urls_file.write_text("".join(f"{server.url}{path}\n" for path in docs))
        ours: list[tuple[dict[str, Any], float, float]] = []
        theirs: list[tuple[dict[str, Any], float, float]] = []
        parse_times: list[float] = []
        try:
            for n in range(rounds):
                if python:
                    db = folder / f"reader{n}.sqlite"
                    theirs.append(_child([python, str(DRIVER), str(db), str(urls_file)]))
                mine = [str(folder / f"tracker{n}"), str(urls_file)]
                here = [sys.executable, "-m", "bench.versus_reader"]
                _child([*here, "--setup", *mine])  # not measured: the database, made once
                ours.append(_child([*here, *mine]))
                parse_times.append(timed(lambda: [feedparser.parse(b) for b in docs.values()]))
        finally:
            server.close()
    parse_rate = total / median(parse_times)
    out["feedparser bare parse entries/s"] = round(parse_rate)
    out["tracker"] = mine = _summary(ours)
    mine["/ feedparser"] = round(mine["entries/s (first update)"] / parse_rate, 2)
    if not python:
        out["reader"] = "not measured: no Python with reader (see --reader-python)"
        return out
    out["reader"] = other = _summary(theirs)
    other["version"] = theirs[0][0]["version"]
    search_cpu = median([r["search index cpu s"] for r, _, _ in theirs])
    other["search index CPU ms per entry (update_search)"] = round(1000 * search_cpu / total, 3)
    # both searchable: tracker's first update indexes as it stores, reader's needs
    # update_search after it
    other["CPU ms per entry (first update + update_search)"] = round(
        other["CPU ms per entry (first update)"] + 1000 * search_cpu / total, 3
    )
    other["/ feedparser"] = round(other["entries/s (first update)"] / parse_rate, 2)
    out["tracker / reader"] = {
        key: round(mine[key] / max(other[key], 1e-9), 2)
        for key in (
            "entries/s (first update)",
            "CPU ms per entry (first update)",
            "CPU ms per entry (whole process)",
            "RSS before first fetch MB",
            "peak RSS MB",
            "unchanged update s",
        )
    }
    out["tracker / reader"]["CPU ms per entry, both searchable"] = round(
        mine["CPU ms per entry (first update)"]
        / max(other["CPU ms per entry (first update + update_search)"], 1e-9),
        2,
    )
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the tracker side of the comparison")
    parser.add_argument("folder")
    parser.add_argument("urls")
    parser.add_argument("--setup", action="store_true", help="only make the database")
    args = parser.parse_args()
    (tracker_setup if args.setup else tracker_driver)(args.folder, args.urls)

"""Drive lemon24/reader over a list of feed URLs, for ``python -m bench --only
ingest-vs-reader``: runs in its own process, under whichever Python has ``reader``
installed (reader 3.27 needs Python 3.12 or newer; the benchmark finds it through
``--reader-python`` or ``TRACKER_BENCH_READER_PYTHON``), and imports nothing of ours,
only reader and the standard library.

    python bench/reader_driver.py DB URLS_FILE --workers 8

adds every URL of ``URLS_FILE`` (one per line) to a fresh reader database, updates
every feed once (the first update: every feed new), then once more (nothing changed;
``scheduled=False``: every feed, due or not, as tracker's ``fetch --all``), and prints
one JSON object: entries stored, seconds and CPU seconds of each update, RSS before the
first update and at its peak; then, apart, reader's own search indexing of what was
stored (``enable_search``, ``update_search``: tracker indexes as it stores).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _peak_rss() -> int:
    """This process's peak RSS in bytes (VmHWM). Not ``ru_maxrss``: Linux carries it
    across fork and exec, so a child started by a large parent reports the parent's."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("db")
    parser.add_argument("urls")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    from reader import make_reader  # here: timed with the start-up

    with open(args.urls, encoding="utf-8") as f:
        urls = [line.strip() for line in f if line.strip()]
    reader = make_reader(args.db)
    for url in urls:
        reader.add_feed(url)
    rss_before = _rss()
    cpu_before = cpu_setup = _cpu()
    started = time.perf_counter()
    reader.update_feeds(workers=args.workers, scheduled=False)
    first = time.perf_counter() - started
    cpu_first = _cpu() - cpu_before
    entries = reader.get_entry_counts().total
    cpu_before = _cpu()
    started = time.perf_counter()
    reader.update_feeds(workers=args.workers, scheduled=False)
    unchanged = time.perf_counter() - started
    cpu_unchanged = _cpu() - cpu_before
    peak = _peak_rss()
    # Last, and apart: reader's update does not index for search (tracker's does), its
    # update_search does. Its cost, so that the two can be compared searchable.
    cpu_before = _cpu()
    started = time.perf_counter()
    reader.enable_search()
    reader.update_search()
    search = time.perf_counter() - started
    cpu_search = _cpu() - cpu_before
    reader.close()
    json.dump(
        {
            "version": sys.modules["reader"].__version__,
            "entries": entries,
            "first s": first,
            "first cpu s": cpu_first,
            "unchanged s": unchanged,
            "unchanged cpu s": cpu_unchanged,
            "start-up cpu s": cpu_setup,
            "rss before first MB": rss_before / 1024 / 1024,
            "peak rss MB": peak / 1024 / 1024,
            "search index s": search,
            "search index cpu s": cpu_search,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()

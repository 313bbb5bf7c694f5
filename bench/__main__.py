"""Run the benchmarks: ``python -m bench [--size small|medium|large] [--only NAME]``.

small (CI: proves they still work): 1k entries, 10k papers, 1k digest candidates;
medium: 10k entries, 100k papers, 5k digest candidates; large: 100k entries, 100k and 1M
papers; backfill harvests 5k, 100k and 1M OAI-PMH records; workers fetches 200 and 1k
feeds with 1, 2 and 4 worker processes (PostgreSQL); web serves the search and digest
pages over 10k papers (small) or 100k; ingest-vs-reader fetches 1k, 10k and 100k
entries with tracker and with lemon24/reader (when a Python with reader is given).
Every figure is also given as a ratio to a baseline measured in the same run.
Search before and after a change: ``python -m bench.search_ab``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench import (
    backfill,
    digest,
    fields,
    ingest,
    ranking,
    scholars,
    search,
    versus_reader,
    web,
    workers,
)

SIZES = {
    "small": {
        "ingest": 20,
        "search": [10_000],
        "digest": 1_000,
        "scholars": 0.05,
        "fields": 8,
        "ranking": 4,
    },
    "medium": {
        "ingest": 200,
        "search": [100_000],
        "digest": 5_000,
        "scholars": 3.0,
        "fields": 1,
        "ranking": 1,
    },
    "large": {
        "ingest": 2_000,
        "search": [100_000, 1_000_000],
        "digest": 5_000,
        "scholars": 3.0,
        "fields": 1,
        "ranking": 1,
    },
}
BACKFILL = {"small": 5_000, "medium": 100_000, "large": 1_000_000}  # OAI records harvested
VERSUS_READER = {"small": 20, "medium": 200, "large": 2_000}  # feeds of 50 entries
WORKERS = {"small": (200, 3), "medium": (1_000, 2), "large": (1_000, 3)}  # feeds, rounds
WEB = {"small": (10_000, 100), "medium": (100_000, 300), "large": (100_000, 300)}  # papers, digest


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--size", choices=list(SIZES), default="medium")
    parser.add_argument(
        "--only",
        choices=[
            "ingest",
            "search",
            "digest",
            "scholars",
            "fields",
            "ranking",
            "backfill",
            "workers",
            "web",
            "ingest-vs-reader",
        ],
    )
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="keep the search databases in DIR and reuse them"
    )
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="database for the search and backfill benchmarks (postgresql: the server named "
        "by TRACKER_TEST_POSTGRESQL)",
    )
    parser.add_argument(
        "--reader-python",
        metavar="PYTHON",
        help="a Python that has reader installed, for ingest-vs-reader "
        "(default: TRACKER_BENCH_READER_PYTHON, else this one if it has reader)",
    )
    args = parser.parse_args()
    size = SIZES[args.size]
    results: dict[str, object] = {"size": args.size}
    started = time.perf_counter()
    if args.only in (None, "ingest"):
        results["ingest"] = ingest.run(size["ingest"])  # type: ignore[arg-type]
        print(json.dumps({"ingest": results["ingest"]}, indent=2), flush=True)
    if args.only in (None, "search"):
        results["search"] = search.run(
            size["search"],  # type: ignore[arg-type]
            args.keep,
            args.backend,
        )
        print(json.dumps({"search": results["search"]}, indent=2), flush=True)
    if args.only in (None, "digest"):
        results["digest"] = digest.run(size["digest"])  # type: ignore[arg-type]
        print(json.dumps({"digest": results["digest"]}, indent=2), flush=True)
    if args.only in (None, "scholars"):
        results["scholars"] = scholars.run(size["scholars"])  # type: ignore[arg-type]
        print(json.dumps({"scholars": results["scholars"]}, indent=2), flush=True)
    if args.only in (None, "fields"):
        results["fields"] = fields.run(
            size["fields"],  # type: ignore[arg-type]
            large=args.size == "large",
        )
        print(json.dumps({"fields": results["fields"]}, indent=2), flush=True)
    if args.only in (None, "ranking"):
        results["ranking"] = ranking.run(size["ranking"])  # type: ignore[arg-type]
        print(json.dumps({"ranking": results["ranking"]}, indent=2), flush=True)
    if args.only in (None, "backfill"):
        results["backfill"] = backfill.run(BACKFILL[args.size], args.backend)
        print(json.dumps({"backfill": results["backfill"]}, indent=2), flush=True)
    if args.only in (None, "workers"):
        results["workers"] = workers.run(*WORKERS[args.size])
        print(json.dumps({"workers": results["workers"]}, indent=2), flush=True)
    if args.only in (None, "web"):
        results["web"] = web.run(*WEB[args.size], keep=args.keep)
        print(json.dumps({"web": results["web"]}, indent=2), flush=True)
    if args.only in (None, "ingest-vs-reader"):
        results["ingest-vs-reader"] = versus_reader.run(
            VERSUS_READER[args.size], args.reader_python
        )
        print(json.dumps({"ingest-vs-reader": results["ingest-vs-reader"]}, indent=2), flush=True)
    print(f"done in {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()

"""Search before and after a change, in one run: the 60 queries of ``bench.search`` timed
by two checkouts of tracker, each on its own copy of the same database (the one made
with, or migrated by, that checkout), alternating rounds so that the machine's noise
hits both alike; p50/p95/p99 of each, their ratios and the slowest queries.

    python -m bench.search_ab --before CHECKOUT URL --after CHECKOUT URL [--rounds 3]

``CHECKOUT`` is a folder holding the ``tracker`` package (the repository); its code runs
in a child process with that folder first on ``sys.path``, opening ``URL`` without
migrating it. Latency is wall time per query (the median of the rounds); CPU time of
the child process per query is given beside it (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from bench.common import median, percentile

CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from bench.corpus import Vocabulary
from bench.search import queries
from tracker.storage import Storage
from tracker.storage.base import make_engine
storage = Storage(make_engine(sys.argv[2]))
qs = queries(Vocabulary(seed=5))
out = []
for q, f in qs:
    wall, cpu = time.perf_counter(), time.process_time()
    storage.search(q, f, limit=20)
    out.append([(time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000])
json.dump(out, sys.stdout)
"""


def _round(checkout: str, url: str) -> list[list[float]]:
    bench_root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=bench_root)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, checkout, url],
        capture_output=True,
        check=True,
        env=env,
        text=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _summary(values: list[float]) -> dict[str, float]:
    return {f"p{p}": round(percentile(values, p), 1) for p in (50, 95, 99)}


def run(sides: dict[str, tuple[str, str]], rounds: int) -> dict[str, Any]:
    from bench.corpus import Vocabulary
    from bench.search import queries

    def label(q: str, f: Any) -> str:
        given = {k.name: str(getattr(f, k.name)) for k in fields(f) if getattr(f, k.name)}
        return f"{q!r} {given}" if given else repr(q)

    labels = [label(q, f) for q, f in queries(Vocabulary(seed=5))]
    runs: dict[str, list[list[list[float]]]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, (checkout, url) in sides.items():
            runs[name].append(_round(checkout, url))
    out: dict[str, Any] = {"rounds": rounds, "queries": len(labels)}
    walls: dict[str, list[float]] = {}
    for name, measured in runs.items():
        wall = [median([r[n][0] for r in measured]) for n in range(len(labels))]
        cpu = [median([r[n][1] for r in measured]) for n in range(len(labels))]
        walls[name] = wall
        slowest = sorted(range(len(labels)), key=lambda n: -wall[n])[:4]
        out[name] = {
            "ms (wall)": _summary(wall),
            "ms (CPU of the client process)": _summary(cpu),
            "slowest": [f"{labels[n]} {wall[n]:.1f} ms" for n in slowest],
        }
    if len(walls) == 2:
        before, after = walls.values()
        out["before / after (p50, p95, p99)"] = [
            round(percentile(before, p) / max(percentile(after, p), 1e-6), 1) for p in (50, 95, 99)
        ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.search_ab", description=__doc__)
    parser.add_argument("--before", nargs=2, metavar=("CHECKOUT", "URL"), required=True)
    parser.add_argument("--after", nargs=2, metavar=("CHECKOUT", "URL"), required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sides = {"before": tuple(args.before), "after": tuple(args.after)}
    result = run(sides, args.rounds)  # type: ignore[arg-type]
    print(json.dumps({"search before/after": result}, indent=2))


if __name__ == "__main__":
    main()

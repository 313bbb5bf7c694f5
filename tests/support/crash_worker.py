"""A pre-imported process that forks one ``tracker run --once`` per request, for the
crash tests (not a test module itself).

A fresh interpreter spends about 1.5 s importing before it does anything, which would
put most kills in the imports and 50 kill-and-restart rounds out of CI time; a fork of
this process starts working at once. Each child runs the real command line
(``tracker.cli.main`` with ``run --once``): only its clock is set, through the
composition root's ``clock`` parameter, to the time the test gives, so digests and
listings fall due when the test wants. Nothing is opened before the fork. When its
fetch stage ends, a child appends "<pid> <seconds since it began>" to ``stages.log``
beside the config, so the test can aim its kills at either stage.

Protocol, one line each way:
  ``run <config> <iso time>``  → the child's pid (it runs; it is not reaped yet, so
                                 the pid cannot be reused before the test kills it)
  ``reap <pid>``               → its exit code (negative: the signal that killed it)
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import Any

import tracker.cli as cli
import tracker.cli.base as cli_base
from tracker.app.core import Tracker, make_tracker
from tracker.config import Settings
from tracker.fetch.cycle import CycleReport


def child(config: str, start: dt.datetime) -> None:
    began = time.monotonic()

    def clock() -> dt.datetime:
        return start + dt.timedelta(seconds=time.monotonic() - began)

    def wired(settings: Settings, **kwargs: Any) -> Tracker:
        tracker = make_tracker(settings, clock=clock, **kwargs)
        fetch = tracker.fetch

        def timed_fetch(**options: Any) -> CycleReport:
            report = fetch(**options)
            with Path(config).with_name("stages.log").open("a") as log:
                log.write(f"{os.getpid()} {time.monotonic() - began:.3f}\n")
            return report

        tracker.fetch = timed_fetch  # type: ignore[method-assign]
        return tracker

    cli_base.make_tracker = wired  # type: ignore[assignment]
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    code = 0
    try:
        cli.main(["--config", config, "run", "--once"], standalone_mode=False)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:
        code = 1
    os._exit(code)


def main() -> None:
    print("ready", flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "run":
            pid = os.fork()
            if pid == 0:
                child(args[0], dt.datetime.fromisoformat(args[1]))
            print(pid, flush=True)
        elif command == "reap":
            _, status = os.waitpid(int(args[0]), 0)
            print(os.waitstatus_to_exitcode(status), flush=True)


if __name__ == "__main__":
    main()

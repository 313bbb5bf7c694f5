"""The parent side of ``crash_worker``: starts that process, asks it to fork runs of
``tracker run --once`` with a clock set by the test, kills them on cue (SIGKILL) and
reaps them. Used by the crash tests and the multi-worker tests (the ``forker`` fixture
in conftest)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.data import REPO


@dataclass(frozen=True)
class Run:
    code: int  # exit code; negative: killed by that signal
    took: float  # seconds it ran
    fetched: float | None  # seconds into the run when its fetch stage ended


class Forker:
    """Talks to tests/support/crash_worker.py."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.crash_worker"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._read() == "ready"

    def _read(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def _ask(self, line: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self._read()

    def start(self, config: Path, now: dt.datetime) -> int:
        return int(self._ask(f"run {config} {now.isoformat()}"))

    def reap(self, pid: int) -> int:
        return int(self._ask(f"reap {pid}"))

    def run(
        self,
        config: Path,
        now: dt.datetime,
        *,
        kill_after: float = 60,
        kill_after_fetch: float | None = None,
    ) -> Run:
        """One run, killed ``kill_after`` seconds after it began, or ``kill_after_fetch``
        seconds after its fetch stage ended, unless it ended before."""
        pid = self.start(config, now)
        started = time.monotonic()
        fetched = None
        while (elapsed := time.monotonic() - started) < kill_after:
            # the child is the forker's, not ours: it has ended when it is a zombie
            if Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z":
                break
            if fetched is None:
                fetched = self._fetched(config, pid)
                if fetched is not None and kill_after_fetch is not None:
                    kill_after = elapsed + kill_after_fetch
            time.sleep(0.002)
        else:
            os.kill(pid, signal.SIGKILL)
        code = self.reap(pid)
        return Run(code, elapsed, fetched or self._fetched(config, pid))

    @staticmethod
    def _fetched(config: Path, pid: int) -> float | None:
        with contextlib.suppress(FileNotFoundError):
            for line in config.with_name("stages.log").read_text().splitlines():
                if line.startswith(f"{pid} "):
                    return float(line.split()[1])
        return None

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=10)

"""The worker as users run it: a `tracker run` process against the local server.

It fetches at once, writes the digest that is due, keeps running, and stops cleanly on
SIGTERM; restarted, it repeats neither the fetch of sources not yet due nor the digest.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import write_config
from tests.support.server import FixtureServer

READERS = """
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "00:00"

[readers.follows]
categories = ["cs.AR"]
"""


def _start(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tracker.cli", "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _wait_for(predicate: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_worker_fetches_writes_the_digest_and_stops_on_sigterm(
    server: FixtureServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, server.url, readers=READERS)
    digests = tmp_path / "digests" / "ada"
    worker = _start(config)
    try:
        assert _wait_for(lambda: digests.is_dir() and any(digests.glob("*.md"))), "no digest"
        [digest] = list(digests.glob("*.md"))
        assert "cs.AR" in digest.read_text()
        assert len(server.requests("/rss")) == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert "stopping on signal" in output
    assert "Traceback" not in output
    # the log speaks of tracker's jobs by name, without the libraries' chatter
    assert 'Added job "fetch"' in output and 'Added job "digests"' in output
    assert "<locals>" not in output
    assert "alembic" not in output and "HTTP Request:" not in output

    # restarted: nothing is due yet and today's digest exists, so nothing happens again
    before = len(server.requests())
    again = _start(config)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(again.stdout or ()), daemon=True)
    reader.start()
    try:
        # the signal handler is installed before "worker started"; the first cycle
        # (nothing due) ends with "cycle done": only then has the worker had its chance
        assert _wait_for(lambda: any("cycle done" in line for line in lines), 60), lines
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=30)
        reader.join(timeout=10)
    output = "".join(lines)
    assert again.returncode == 0, output
    assert len(server.requests()) == before
    assert len(list(digests.glob("*.md"))) == 1

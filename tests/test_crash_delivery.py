"""Crashes while digests are built and sent: the worker is killed (SIGKILL) at chosen
points of the SMTP exchange and at random moments, and restarted.

After the last restart every digest is delivered, every item is in exactly one
digest, each e-mailed digest arrived under one Message-ID, and a message the server
accepted just before the crash is at worst sent again with the same Message-ID and
the same content (the documented window). No digest file is ever half-written.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.support.server import FixtureServer
from tests.support.smtp import SmtpServer
from tracker.config import load_settings
from tracker.storage import open_storage


def _config(tmp_path: Path, server: FixtureServer, smtp: SmtpServer) -> Path:
    readers = """
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "00:00"
email = "ada@example.org"
channels = ["markdown", "email"]

[readers.follows]
categories = ["cs.AR", "cs.DC"]
"""
    email = f"""
[email]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
from = "tracker <tracker@lab.example.org>"
timeout = 5
retry_minutes = 0.001
"""
    return write_config(tmp_path, server.url, readers=readers, extra=email)


def _start(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tracker.cli", "--config", str(config), "run", "--once"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )


def _finish(config: Path) -> None:
    """Restart until everything pending is delivered (retries wait a few ms)."""
    for _ in range(5):
        process = _start(config)
        assert process.wait(timeout=60) == 0
        settings = load_settings(config)
        storage = open_storage(settings.database_url)
        pending = [d for d in storage.deliveries("ada") if d.state != "sent"]
        storage.close()
        if not pending:
            return
        time.sleep(0.05)
    raise AssertionError(f"still pending: {pending}")


def _check(config: Path, smtp: SmtpServer) -> None:
    settings = load_settings(config)
    storage = open_storage(settings.database_url)
    try:
        assert storage.check_integrity() == []
        days = {d.day for d in storage.deliveries("ada")}
        assert all(d.state == "sent" for d in storage.deliveries("ada"))
        in_digests: list[int] = []
        for day in days:
            stored = storage.stored_digest("ada", day)
            assert stored is not None
            in_digests += [r.item_id for r in stored.rows]
        assert len(in_digests) == len(set(in_digests)), "an item is in two digests"
        # everything sighted in the followed listing is in a digest
        cutoff = max(storage.stored_digest("ada", d).cutoff for d in days)  # type: ignore[union-attr]
        candidates = storage.digest_candidates("ada", cutoff, settings.digest.first_lookback)
        assert candidates == [], "an item was left out"
    finally:
        storage.close()
    by_id = smtp.box.by_id()
    assert len(by_id) == len(days)  # one Message-ID per digest
    for copies in by_id.values():
        bodies = {str(m.get_body(("plain",)).get_content()) for m in copies}  # type: ignore[union-attr]
        assert len(bodies) == 1, "a resend differs from the first send"
    folder = settings.readers[0].output_dir / "ada"
    for md in folder.glob("*.md"):
        text = md.read_text()
        assert text.startswith("---\n") and text.endswith("\n")
    assert not list(folder.glob(".*.tmp"))


@pytest.fixture
def smtp() -> SmtpServer:
    server = SmtpServer().start()
    yield server  # type: ignore[misc]
    server.stop()


def test_killed_before_the_server_has_the_message(
    server: FixtureServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    config = _config(tmp_path, server, smtp)
    smtp.box.faults.append("hold-rcpt")
    process = _start(config)
    assert smtp.box.in_rcpt.wait(timeout=60)
    process.send_signal(signal.SIGKILL)
    process.wait()
    smtp.box.release.set()
    _finish(config)
    assert len(smtp.box.messages) == 1
    _check(config, smtp)


def test_killed_after_the_server_accepted_resends_the_same_message(
    server: FixtureServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    config = _config(tmp_path, server, smtp)
    smtp.box.faults.append("hold")
    process = _start(config)
    assert smtp.box.in_data.wait(timeout=60)  # the whole message is with the server
    process.send_signal(signal.SIGKILL)
    process.wait()
    smtp.box.release.set()
    assert smtp.box.accepted.wait(timeout=10)
    _finish(config)
    [copies] = smtp.box.by_id().values()
    assert len(copies) == 2  # the one window: accepted, then the crash, then resent
    _check(config, smtp)


def test_killed_at_random_moments(server: FixtureServer, smtp: SmtpServer, tmp_path: Path) -> None:
    config = _config(tmp_path, server, smtp)
    rng = random.Random(20241128)
    for _ in range(8):
        process = _start(config)
        time.sleep(rng.uniform(0.2, 2.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
    _finish(config)
    _check(config, smtp)

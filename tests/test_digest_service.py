"""What DigestService tells and changes: a first digest is not "since your last
digest", sources that failed are in the next digest from their first failure, and a
preview changes nothing (against a real HTTP server on 127.0.0.1 and real SQLite)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import LISTING_MORNING, Clock, write_config
from tests.support.server import FixtureServer
from tracker.app.core import Tracker, make_tracker
from tracker.cli import main
from tracker.config import load_settings
from tracker.worker import run_once

GOOD = "/feeds/feeds-realworld/feedjira/FeedjiraBlog.xml"


def wire(server: FixtureServer, tmp_path: Path, feed: str, **more: str) -> tuple[Tracker, Clock]:
    feeds = server.url.replace("127.0.0.1", "localhost")  # not arXiv's pacing gate
    readers = f"""
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "07:00"

[readers.follows]
categories = {more.get("categories", "[]")}
feeds = [{{ url = "{feeds}{feed}", title = "Lab blog" }}]
"""
    clock = Clock(LISTING_MORNING)
    config = write_config(tmp_path, server.url, readers=readers)
    return make_tracker(load_settings(config), clock=clock), clock


def test_a_first_digest_after_every_source_failed_says_so(
    server: FixtureServer, tmp_path: Path
) -> None:
    server.add("/down.xml", "unavailable", "text/plain", status=503)
    t, clock = wire(server, tmp_path, "/down.xml")
    try:
        report, [outcome] = run_once(t)
        assert report.errors  # the one source failed, once
        text = outcome.path.read_text(encoding="utf-8")
        assert outcome.digest.item_count == 0
        assert "since your last digest" not in text  # there was none
        assert "Nothing new yet: this is your first digest." in text
        assert "1 source could not be read (listed at the end)." in text
        footer = text.split("**Sources failing:**")[1]
        assert "feed Lab blog: HTTP 503" in footer  # from the first failure on
        html, plain = (p.read_text() for p in t.preview_digest("ada", None, tmp_path / "p"))
        for part in (html, plain):
            assert "this is your first digest" in part and "Lab blog: HTTP 503" in part

        # the next day: still failing, and now there was a digest before
        clock.advance(days=1)
        _, [outcome] = run_once(t)
        text = outcome.path.read_text(encoding="utf-8")
        assert "Nothing new since your last digest." in text
        assert "feed Lab blog: HTTP 503" in text.split("**Sources failing:**")[1]
        # the first day's digest, written again, is still a first digest
        again = t.build_digest("ada", LISTING_MORNING.date())
        assert "this is your first digest" in again.path.read_text(encoding="utf-8")
    finally:
        t.close()


def test_a_preview_changes_nothing(server: FixtureServer, tmp_path: Path) -> None:
    t, _ = wire(server, tmp_path, GOOD, categories='["cs.DC"]')
    config = tmp_path / "tracker.toml"
    try:
        t.fetch()
        day = LISTING_MORNING.date()
        digest_file = t.settings.readers[0].output_dir / "ada" / f"{day}.md"
        look = ["--preview", str(tmp_path / "look"), "--date", day.isoformat()]
        shown = CliRunner().invoke(main, ["--config", str(config), "digest", *look])
        assert shown.exit_code == 0, shown.output
        html = (tmp_path / "look" / f"ada-{day}.html").read_text()
        assert "Digest for ada" in html
        # nothing recorded, nothing delivered, no digest file
        assert t.storage.stored_digest("ada", day) is None
        assert t.storage.deliveries("ada") == []
        assert t.storage.last_digest("ada") is None
        assert not digest_file.exists()

        # the digest built afterwards holds what the preview showed
        built = t.build_digest("ada", day)
        assert built.created and built.digest.item_count > 0
        text = (tmp_path / "look" / f"ada-{day}.txt").read_text()
        for entry in (e for s in built.digest.sections for e in s.entries):
            assert entry.item.title.split()[0] in text
        states = [(d.channel, d.state, d.attempts) for d in t.storage.deliveries("ada")]

        # a preview of an existing digest renders it and leaves everything as it was
        digest_file.unlink()
        paths = t.preview_digest("ada", day, tmp_path / "again")
        assert paths[1].read_text() == text
        assert not digest_file.exists()
        assert [(d.channel, d.state, d.attempts) for d in t.storage.deliveries("ada")] == states
    finally:
        t.close()


def test_a_preview_of_a_day_that_has_not_begun_is_refused(
    server: FixtureServer, tmp_path: Path
) -> None:
    t, _ = wire(server, tmp_path, GOOD)
    try:
        later = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)  # the CLI's clock
        result = CliRunner().invoke(
            main,
            [
                *("--config", str(tmp_path / "tracker.toml"), "digest"),
                *("--preview", str(tmp_path), "--date", later.isoformat()),
            ],
        )
        assert result.exit_code != 0 and "has not begun yet" in result.output
        assert t.storage.last_digest("ada") is None
    finally:
        t.close()

"""Tagging and the database: the field model is never asked while the database's
write lock is held (a fetch cycle, a backfill, a re-tagging), and starting a command
does not re-tag the database; ``tracker fields`` and the worker's leader do.

The probe model checks the lock for real: at every prediction it tries to take
SQLite's write lock from a connection of its own, without waiting."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path

from tests.conftest import LISTING_MORNING, Clock, write_config
from tests.support.server import FixtureServer
from tracker.app.core import make_tracker
from tracker.config import Settings, load_settings
from tracker.fields.tagger import Tagger

SYS = "Computer Science > Systems"
BLOG = "/feeds/feeds-realworld/feedjira-2009-blogs/AllThingsDistributed.xml"
READERS = """
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "00:00"

[readers.follows]
categories = ["cs.AR"]
feeds = ["FEED"]
"""


class LockProbe:
    """A model that says Systems, after checking that nobody holds the write lock."""

    version = 9
    threshold = 0.5

    def __init__(self, database: Path) -> None:
        self.database = database
        self.calls = 0
        self.while_locked = 0

    def _write_lock_is_free(self) -> bool:
        conn = sqlite3.connect(self.database, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:  # "database is locked"
            return False
        finally:
            conn.close()

    def predict(self, title: str, summary: str, top: int = 3) -> list[tuple[str, float]]:
        self.calls += 1
        if not self._write_lock_is_free():
            self.while_locked += 1
        return [(SYS, 0.9)][:top]

    def top_terms(self, title: str, summary: str, label: str, n: int = 6) -> list[str]:
        return ["distributed", "consistency", "replicas"][:n]


def test_the_model_is_never_asked_while_the_write_lock_is_held(
    server: FixtureServer, settings_for: Callable[..., Settings]
) -> None:
    settings = settings_for(server.url, readers=READERS.replace("FEED", server.url + BLOG))
    t = make_tracker(settings, clock=Clock(LISTING_MORNING))
    try:
        probe = LockProbe(settings.data_dir / "tracker.db")
        assert probe._write_lock_is_free()
        t.fields._tagger = Tagger(settings.field_map, probe)
        t.fetch()
        assert probe.calls > 0 and probe.while_locked == 0
        posts = [i for i in t.storage.items(range(1, 2000)) if not i.arxiv_id]
        assert posts and all(p.fields[0].origin == "model" for p in posts)
        before = probe.calls
        assert t.storage.retag(t.fields.tag, uncategorised_only=True) == len(posts)
        assert probe.calls > before and probe.while_locked == 0
    finally:
        t.close()


def test_starting_does_not_retag_but_tracker_fields_does(
    server: FixtureServer, tmp_path: Path
) -> None:
    shipped = Path(__file__).resolve().parents[1] / "tracker" / "fields" / "fields.toml"
    edited = tmp_path / "fields.toml"
    edited.write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    config = write_config(tmp_path, server.url, readers=READERS.replace("FEED", server.url + BLOG))
    config.write_text(config.read_text().replace(str(shipped), str(edited)))
    t = make_tracker(load_settings(config), clock=Clock(LISTING_MORNING))
    try:
        t.fetch()
        stored = t.storage.items(range(1, 2000))
        paper = next(i for i in stored if i.fields and i.fields[0].basis == "cs.AR")
    finally:
        t.close()
    assert {t.basis: t.field for t in paper.fields}["cs.AR"] == SYS
    # cs.AR moves from Systems to Theory: a new mapping
    text = edited.read_text(encoding="utf-8")
    moved = text.replace('categories = ["cs.AR", ', "categories = [", 1)
    moved = moved.replace('categories = ["cs.CC", ', 'categories = ["cs.AR", "cs.CC", ', 1)
    assert moved != text
    edited.write_text(moved, encoding="utf-8")
    t = make_tracker(load_settings(config), clock=Clock(LISTING_MORNING + dt.timedelta(hours=1)))
    try:
        assert t.item(paper.key).fields == paper.fields  # starting changed nothing
        remapped, _ = t.sync_fields()
        assert remapped >= 1
        now = {tag.basis: tag.field for tag in t.item(paper.key).fields}
        assert now["cs.AR"] == "Computer Science > Theory"
        assert t.sync_fields() == (0, 0)  # done once
    finally:
        t.close()

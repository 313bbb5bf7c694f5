"""Mute and must rules applied where a reader's digest is built and where they search:
a category mute removes the papers listed in that category (their primary) and keeps
the papers of a followed category cross-listed into it; the footer of every output
says how many items the rules removed; ``search = true`` rules leave the reader's
search results; ``tracker follows`` lists the rules (against the recorded arXiv
listing of 2024-11-28 served on 127.0.0.1, real SQLite)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import LISTING_MORNING, Clock, write_config
from tests.support.server import FixtureServer
from tests.test_rules import paper
from tracker.app.core import Tracker, make_tracker
from tracker.cli import main
from tracker.config import load_settings
from tracker.digest.rules import RuleSet
from tracker.digest.select import ReaderView, build_digest
from tracker.models import Follow, FollowKind, Rule, RuleAction, SearchFilters, Sighting

READERS = """
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "07:00"

[readers.follows]
categories = ["cs.LG", "cs.CV"]
"""


@pytest.fixture
def wired(server: FixtureServer, tmp_path: Path) -> Iterator[tuple[Tracker, Path]]:
    config = write_config(tmp_path, server.url, readers=READERS)
    t = make_tracker(load_settings(config), clock=Clock(LISTING_MORNING))
    try:
        t.fetch()
        yield t, config
    finally:
        t.close()


def cli(config: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_category_mute_removes_the_primary_listing_not_a_cross_list(
    wired: tuple[Tracker, Path],
) -> None:
    t, config = wired
    day = LISTING_MORNING.date()
    before = [e.item for s in t.digests.peek("ada", day).sections for e in s.entries]
    primary_cv = {i.id for i in before if i.primary_category == "cs.CV"}
    lg_into_cv = {i.id for i in before if i.primary_category == "cs.LG" and "cs.CV" in i.categories}
    assert primary_cv and lg_into_cv  # the recorded day has both

    assert "rule 1: mute category cs.CV" in cli(config, "mute", "--category", "cs.CV")
    built = t.build_digest("ada", day)
    kept = {e.item.id for s in built.digest.sections for e in s.entries}
    assert not kept & primary_cv
    assert lg_into_cv <= kept
    assert kept == {i.id for i in before} - primary_cv
    assert built.digest.removed == len(primary_cv)

    note = f"{len(primary_cv)} items removed by your rules"
    assert note in built.path.read_text(encoding="utf-8")
    html, text = (p.read_text() for p in t.preview_digest("ada", day, config.parent / "look"))
    assert note in html and note in text
    # as recorded: written again, the same count
    assert t.storage.stored_digest("ada", day).removed == len(primary_cv)  # type: ignore[union-attr]
    assert note in t.build_digest("ada", day).path.read_text(encoding="utf-8")

    listed = cli(config, "follows")
    assert "mute category cs.CV" in listed
    rules = [r for r in json.loads(cli(config, "follows", "--json")) if r["kind"] == "rule"]
    assert rules == [
        {"reader": "ada", "kind": "rule", "id": 1, "rule": "mute category cs.CV", "origin": "cli"}
    ]


def test_no_rules_no_note(wired: tuple[Tracker, Path]) -> None:
    t, _ = wired
    built = t.build_digest("ada", LISTING_MORNING.date())
    assert built.digest.removed == 0
    assert "removed by your rules" not in built.path.read_text(encoding="utf-8")


def test_a_must_rule_narrows_one_follow_and_the_count_says_so(
    wired: tuple[Tracker, Path],
) -> None:
    t, config = wired
    day = LISTING_MORNING.date()
    before = [e for s in t.digests.peek("ada", day).sections for e in s.entries]
    cli(config, "must", "category", "cs.CV", "segmentation")
    built = t.build_digest("ada", day)
    kept = {e.item.id for s in built.digest.sections for e in s.entries}
    only_cv = [
        e.item
        for e in before
        if {(r.kind, r.value) for r in e.reasons} == {(FollowKind.CATEGORY, "cs.CV")}
    ]
    dropped = {i.id for i in only_cv if "segment" not in (i.title + i.summary).lower()}
    assert dropped and not kept & dropped
    assert built.digest.removed == len({e.item.id for e in before} - kept)
    assert {i.id for i in only_cv} - dropped <= kept


def test_mute_rules_marked_search_leave_the_readers_search(wired: tuple[Tracker, Path]) -> None:
    t, config = wired
    cv = SearchFilters(category="cs.CV")
    everything = t.search("", cv, limit=200, reader="ada")
    assert any(h.item.primary_category == "cs.CV" for h in everything)
    cli(config, "mute", "--category", "cs.CV")  # the digest only
    assert t.search("", cv, limit=200, reader="ada") == everything
    cli(config, "mute", "--category", "cs.CV", "--search")
    found = t.search("", cv, limit=200, reader="ada")
    assert found == [h for h in everything if h.item.primary_category != "cs.CV"]
    # other readers and searches without a reader are not affected
    assert t.search("", cv, limit=200) == [h for h in t.search("", cv, limit=200)]
    assert len(t.search("", cv, limit=200)) == len(everything)


def test_removed_counts_only_items_that_arrived_since_the_previous_digest() -> None:
    """An item sighted before the previous cutoff comes back as a candidate (the day of
    slack): removed again, it is not counted twice."""
    import datetime as dt

    when = dt.datetime(2026, 12, 3, 8, tzinfo=dt.UTC)
    follows = [Follow("ada", FollowKind.CATEGORY, "cs.CV", 1)]
    view = ReaderView(
        "ada",
        follows,
        (),
        {},
        {},
        since=when,
        rules=RuleSet.of([Rule(RuleAction.MUTE, category="cs.CV")]),
    )
    old = paper("Old", categories=("cs.CV",), ident=1)
    new = paper("New", categories=("cs.CV",), ident=2)
    candidates = [
        (old, [Sighting(1, 1, when - dt.timedelta(hours=2))]),
        (new, [Sighting(2, 1, when + dt.timedelta(hours=2))]),
    ]
    digest = build_digest(view, when.date(), when + dt.timedelta(days=1), candidates)
    assert digest.item_count == 0 and digest.removed == 1

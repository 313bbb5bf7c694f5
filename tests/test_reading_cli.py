"""Reading from the command line, against the local arXiv server: a Zotero library
imported, items rated, and the digest that opens with top picks and picks papers of
other fields from the whole day, each with why."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import LISTING_MORNING, Clock, write_config
from tests.support.server import FixtureServer
from tracker.app.core import make_tracker
from tracker.cli import main
from tracker.config import load_settings
from tracker.models import FollowKind
from tracker.sources.arxiv import ARCHIVES

LIBRARY_FILES = Path(__file__).parent / "data" / "library"
READERS = """
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "07:00"

[readers.follows]
categories = ["cs.DC"]
"""


@pytest.fixture
def cli(server: FixtureServer, tmp_path: Path) -> tuple[CliRunner, Path]:
    extra = "[digest]\nsection_items = 3\n"
    config = write_config(tmp_path, server.url, readers=READERS, extra=extra, discover=True)
    return CliRunner(), config


def run(cli: tuple[CliRunner, Path], *args: str) -> Result:
    runner, config = cli
    return runner.invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def test_import_a_zotero_library_and_rate_from_the_command_line(
    cli: tuple[CliRunner, Path], server: FixtureServer
) -> None:
    assert run(cli, "fetch").exit_code == 0
    # one listing request: the whole day, which holds the followed category
    assert [r.path for r in server.requests("/rss")] == ["/rss/" + "+".join(ARCHIVES)]

    imported = run(cli, "library", "import", str(LIBRARY_FILES / "zotero.bib"))
    assert imported.exit_code == 0, imported.output
    assert "5 entries (bibtex): 2 matched to stored papers, 3 kept as texts; 5 new" in (
        imported.output
    )
    assert "1 the parser could not read" in imported.output
    again = run(cli, "library", "import", str(LIBRARY_FILES / "zotero.ris"))
    assert "3 entries (ris): 1 matched to stored papers, 2 kept as texts; 0 new" in again.output

    shown = run(cli, "library", "show")
    assert shown.output.startswith("5 entries, 2 matched to stored papers")
    assert "arXiv:2411.17741" in shown.output and "(not stored)" in shown.output

    assert "rated down: " in run(cli, "rate", "2411.17710", "down").output
    assert "rated up: " in run(cli, "rate", "https://arxiv.org/abs/2411.17732v1", "up").output
    assert "rating removed: " in run(cli, "rate", "2411.17732", "none").output
    missing = run(cli, "rate", "2411.99999", "up")
    assert missing.exit_code == 1 and "no stored item" in missing.output
    bad = run(cli, "library", "import", str(LIBRARY_FILES.parent / "library"))
    assert bad.exit_code == 2

    assert run(cli, "digest").exit_code == 0
    field = "Computer Science > Systems"
    short = run(cli, "digest", "--section", field)
    whole = run(cli, "digest", "--section", field.lower(), "--all")
    assert whole.exit_code == 0, whole.output
    lines = [line for line in whole.output.splitlines() if "arXiv:" in line]
    assert len(lines) > 3  # more than a section shows in the digest (section_items)
    assert "… and" not in whole.output
    assert re.search(r"… and \d+ more \(--all\)", short.output)
    scores = [float(line.split()[0]) for line in lines]
    assert scores == sorted(scores, reverse=True)
    top = run(cli, "digest", "--section", "Top picks", "--all")
    assert "close to '" in top.output
    missing = run(cli, "digest", "--section", "Astrology")
    assert missing.exit_code == 1 and "has no section 'Astrology'" in missing.output


def test_the_digest_opens_with_top_picks_and_picks_other_fields_with_reasons(
    server: FixtureServer, tmp_path: Path
) -> None:
    settings = load_settings(write_config(tmp_path, server.url, readers=READERS, discover=True))
    clock = Clock(LISTING_MORNING)
    t = make_tracker(settings, clock=clock)
    assert any(f.kind is FollowKind.DISCOVERY for f in t.follows("ada"))
    t.fetch()
    t.import_library("ada", LIBRARY_FILES / "zotero.bib")
    t.rate("ada", "2411.17722", "down")  # "When IoT Meet LLMs"
    outcome = t.build_digest("ada")
    digest = outcome.digest
    kinds = [s.kind for s in digest.sections]
    assert kinds[0] == "top"
    top = digest.sections[0].entries
    assert 0 < len(top) <= settings.digest.top_picks
    scores = [e.score for e in top]
    assert all(s is not None and s > 0 for s in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert all(e.note is not None and e.note.terms for e in top)
    # the library's cs.DC papers make LLM serving the reader's subject
    assert any(e.note is not None and e.note.kind == "library" for e in top)
    # every section is in score order
    for section in digest.sections:
        values = [e.score or 0.0 for e in section.entries]
        assert values == sorted(values, reverse=True), section.title
    # cross-domain picks: from fields other than the reader's, at most five, each with why
    picks = [e for s in digest.sections if s.kind == "cross" for e in s.entries]
    assert 0 < len(picks) <= settings.digest.cross_domain_items
    for e in picks:
        assert e.note is not None and e.note.title and e.note.terms
        assert "cs.DC" not in e.item.categories
    # a paper rated down is no top pick
    assert "2411.17722" not in {e.item.arxiv_id for e in top}

    text = outcome.path.read_text(encoding="utf-8")
    assert text.index("## Top picks") < text.index("## Computer Science")
    assert re.search(r"\*Top pick:\* close to '.+' in your library \(shared: ", text)
    assert re.search(r"\*Picked:\* close to '.+'.* \(shared: ", text)
    assert "today's arXiv" in text
    front = text.split("---")[1]
    assert json.loads(re.search(r"items: (\d+)", front).group(1)) == digest.item_count  # type: ignore[union-attr]
    t.close()


def test_config_check_explains_the_reading_keys(tmp_path: Path) -> None:
    extra = """[digest]
top_picks = -1
section_items = 0
cross_domain_more = "ten"
rising_day = "someday"
discover = "yes"
"""
    readers = READERS.replace(
        "[readers.follows]", 'top_picks = -2\nrising = "weekly"\ndiscover = 1\n[readers.follows]'
    )
    path = write_config(tmp_path, "http://127.0.0.1:9", readers=readers, extra=extra)
    result = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert result.exit_code == 2
    for problem in (
        "digest.top_picks: expected 0 or more, got -1",
        "digest.section_items: expected a positive number, got 0",
        "digest.cross_domain_more: expected int, got a string",
        "digest.rising_day: expected a weekday such as \"mon\", got 'someday'",
        "digest.discover: expected bool, got a string",
        "readers[0].top_picks: expected 0 or more, got -2",
        "readers[0].rising: expected bool, got a string",
        "readers[0].discover: expected bool, got int",
    ):
        assert problem in result.output, result.output
    mine = READERS.replace("[readers.follows]", "rising = true\ntop_picks = 3\n[readers.follows]")
    good = write_config(tmp_path, "http://127.0.0.1:9", readers=mine)
    settings = load_settings(good, environ={})
    reader = settings.readers[0]
    assert (
        reader.rising,
        settings.digest.picks_for(reader),
        settings.digest.discovers(reader),
    ) == (
        True,
        3,
        False,
    )
    assert settings.digest.rising_day == 0 and settings.digest.section_items == 20


def test_a_weekly_rising_section_from_the_neighbouring_fields(
    server: FixtureServer, tmp_path: Path
) -> None:
    readers = READERS.replace("[readers.follows]", "rising = true\n[readers.follows]")
    extra = '[digest]\nrising_day = "thu"\nrising_phrases = 3\n'
    config = write_config(tmp_path, server.url, readers=readers, extra=extra, discover=True)
    t = make_tracker(load_settings(config), clock=Clock(LISTING_MORNING))  # a Thursday
    t.fetch()
    outcome = t.build_digest("ada")
    rising = outcome.digest.rising
    assert 0 < len(rising) <= 3
    for phrase in rising:
        assert phrase.papers >= 3 and phrase.share > phrase.before
        assert 1 <= len(phrase.examples) <= 2
        assert all(ref.startswith("arXiv:") for ref, _ in phrase.examples)
    text = outcome.path.read_text(encoding="utf-8")
    assert "## Rising across fields" in text
    assert f"**{rising[0].phrase}**" in text
    # the rebuilt digest reads the phrases back from the database
    again = t.build_digest("ada")
    assert not again.created and again.digest.rising == rising
    t.close()

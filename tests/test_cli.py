"""The command line, as a user types it, against a real local server and SQLite file.

Bad input always gives one clear line and a non-zero exit, never a traceback, and
changes nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import write_config
from tests.support.server import FixtureServer
from tracker.cli import main

READERS = """
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "00:00"

[readers.follows]
categories = ["cs.AR"]
"""


@pytest.fixture
def cli(server: FixtureServer, tmp_path: Path) -> tuple[CliRunner, Path]:
    config = write_config(tmp_path, server.url, readers=READERS)
    return CliRunner(), config


def run(cli: tuple[CliRunner, Path], *args: str) -> Result:
    runner, config = cli
    return runner.invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def test_the_whole_loop_from_the_command_line(cli: tuple[CliRunner, Path]) -> None:
    fetched = run(cli, "fetch")
    assert fetched.exit_code == 0, fetched.output
    assert re.search(r"checked 1 sources \(0 unchanged\): \d+ new items", fetched.output)

    status = run(cli, "status", "--json")
    [source] = json.loads(status.output)
    assert source["kind"] == "arxiv_listing" and source["value"] == "cs.AR"
    assert source["items"] > 0 and source["error_count"] == 0

    digest = run(cli, "digest")
    assert digest.exit_code == 0
    written = re.search(r"markdown: sent \((.+)\)", digest.output)
    assert written, digest.output
    path = Path(written.group(1))
    assert path.is_file() and path.parent.name == "ada"

    found = run(cli, "search", "hardware", "--category", "cs.AR", "--json")
    hits = json.loads(found.output)
    assert hits and all("cs.AR" in h["categories"] for h in hits)
    first = hits[0]["arxiv_id"]

    shown = run(cli, "show", f"https://arxiv.org/abs/{first}v1")
    assert shown.exit_code == 0 and hits[0]["title"] in shown.output

    assert "saved:" in run(cli, "save", first).output
    saved = json.loads(run(cli, "search", "--saved", "--json").output)
    assert [h["arxiv_id"] for h in saved] == [first]

    bib = run(cli, "export", "--format", "bibtex").output
    assert bib.startswith("@misc{") and f"eprint        = {{{first}}}" in bib
    assert bib.count("@misc{") == 1
    exported = json.loads(run(cli, "export", "--format", "json").output)
    assert [e["arxiv_id"] for e in exported] == [first]
    searched = run(cli, "export", "--search", "hardware", "--category", "cs.AR").output
    assert searched.count("@misc{") == len(hits)

    assert "unsaved:" in run(cli, "unsave", first).output
    assert run(cli, "search", "--saved", "--json").output.strip() == "[]"


def test_follows_from_the_command_line(cli: tuple[CliRunner, Path]) -> None:
    assert "now following" in run(cli, "follow", "category", "cs.DC").output
    assert "already following" in run(cli, "follow", "category", "cs.DC").output
    run(cli, "follow", "query", '"speculative decoding"')
    run(cli, "follow", "scholar", "Tri Dao")
    listed = json.loads(run(cli, "follows", "--json").output)
    assert {(f["kind"], f["value"], f["origin"]) for f in listed} == {
        ("category", "cs.AR", "config"),
        ("category", "cs.DC", "cli"),
        ("query", 'all:"speculative decoding"', "cli"),
        ("scholar", "Tri Dao", "cli"),
    }
    assert "unfollowed" in run(cli, "unfollow", "category", "cs.DC").output
    missing = run(cli, "unfollow", "category", "cs.DC")
    assert missing.exit_code == 1 and "does not follow" in missing.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["follow", "category", "cs.XYZ"], 2, "unknown arXiv category"),
        (["follow", "query", "foo:bar"], 2, "not a valid arXiv query"),
        (["follow", "feed", "file:///etc/passwd"], 2, "feed must be an http(s) URL"),
        (["follow", "scholar", "Tri Dao", "--reader", "bob"], 2, "unknown reader 'bob'"),
        (["digest", "--date", "yesterday"], 2, "expected a date YYYY-MM-DD"),
        (["digest", "--date", "2999-01-01"], 2, "has not begun yet"),
        (["search"], 1, "give words to search for or at least one filter"),
        (["search", "((("], 1, "no words to search for"),
        (["search", "--", "-only"], 1, "needs at least one word"),
        (["search", "x", "--since", "2024-13-01"], 2, "expected a date"),
        (["show", "2411.99999"], 1, "no stored item"),
        (["save", "nonsense"], 1, "no stored item"),
    ],
)
def test_bad_input_gives_a_clear_message(
    cli: tuple[CliRunner, Path], args: list[str], code: int, message: str
) -> None:
    result = run(cli, *args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "text",
    [
        '"',
        "C++",
        "e-mail",
        "AND",
        "'; DROP TABLE items; --",
        "speculative decoding",
        'title:"a b"',
        "naïve Schrödinger",
    ],
)
def test_odd_search_text_never_crashes(cli: tuple[CliRunner, Path], text: str) -> None:
    run(cli, "fetch")
    result = run(cli, "search", text)
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 1:
        assert result.output.startswith("error: ")


def test_run_once_and_db_upgrade(cli: tuple[CliRunner, Path]) -> None:
    once = run(cli, "run", "--once")
    assert once.exit_code == 0, once.output
    assert "digest:" in once.output
    upgraded = run(cli, "db", "upgrade")
    assert upgraded.exit_code == 0 and "already up to date" in upgraded.output


def test_console_script_is_installed() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "version" in result.stdout
    no_config = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "status"],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    assert no_config.returncode == 2
    assert "copy config/tracker.example.toml" in no_config.stderr

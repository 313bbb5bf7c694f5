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

import click
import pytest
from click.testing import CliRunner, Result

from tests.conftest import write_config
from tests.support.server import FixtureServer
from tracker.cli import main
from tracker.cli.base import TrackerGroup
from tracker.errors import (
    ConfigError,
    NotFoundError,
    StorageError,
    TrackerError,
    UsageError,
)

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
    assert re.search(
        r"tried 1 source: 1 fetched \(0 unchanged\), 0 failed; \d+ new items", fetched.output
    )

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
        (["search"], 2, "give words to search for or at least one filter"),
        (["search", ""], 2, "give words to search for or at least one filter"),
        (["search", "((("], 2, "no words to search for"),
        (["search", "--", "-only"], 2, "needs at least one word"),
        (["search", "x", "--since", "2024-13-01"], 2, "expected a date"),
        (["search", "--author", ""], 2, "--author: empty"),
        (["search", "x", "--category", ""], 2, "--category: empty"),
        (["search", "--field", " "], 2, "--field: empty"),
        (["search", "--source", ""], 2, "--source: empty"),
        (["export", "--category", ""], 2, "--category: empty"),
        (["export", "--search", "x", "--author", ""], 2, "--author: empty"),
        (["search", "x", "--category", "cs.XY"], 2, "unknown arXiv category or archive 'cs.XY'"),
        (["search", "x", "--category", "cs.lg"], 2, "(did you mean 'cs.LG'?)"),
        (["export", "--category", "mathh"], 2, "(did you mean 'math'?)"),
        (["search", "x", "--field", "Computer Sciense"], 2, "(did you mean 'Computer Science'?)"),
        (["search", "x", "--field", "Computer Science > Sytems"], 2, "unknown field or group"),
        (
            ["search", "x", "--since", "2024-12-01", "--until", "2024-11-01"],
            2,
            "--since 2024-12-01 is after --until 2024-11-01",
        ),
        (["search", "x", "--limit", "-1"], 2, "--limit"),
        (["search", "x", "--limit", "0"], 2, "--limit"),
        (["export", "--limit", "-5"], 2, "--limit"),
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
    assert "SELECT" not in result.output and "items" not in result.output  # never SQL


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
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
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


def test_config_check_warns_about_the_example_contact_address(
    cli: tuple[CliRunner, Path],
) -> None:
    runner, config = cli
    example = runner.invoke(
        main, ["--config", str(config), "config", "check"], env={"TRACKER_ARXIV_CONTACT": ""}
    )
    assert example.exit_code == 0, example.output  # a warning, not an error
    assert "warning:" in example.output
    assert "arxiv.contact_email: 'tests@example.org' is an example address" in example.output
    own = runner.invoke(
        main,
        ["--config", str(config), "config", "check"],
        env={"TRACKER_ARXIV_CONTACT": "ada@uni-heidelberg.de"},
    )
    assert own.exit_code == 0 and "warning" not in own.output


def test_readers_shows_times_in_the_readers_time_zone(
    server: FixtureServer, tmp_path: Path
) -> None:
    tokyo = READERS.replace('timezone = "UTC"', 'timezone = "Asia/Tokyo"').replace(
        'digest_time = "00:00"', 'digest_time = "07:30"'
    )
    cli = (CliRunner(), write_config(tmp_path, server.url, readers=tokyo))
    shown = run(cli, "readers")
    assert shown.exit_code == 0, shown.output
    assert re.search(r"next digest \w{3} \d{4}-\d\d-\d\d 07:30 Asia/Tokyo", shown.output)
    [row] = json.loads(run(cli, "readers", "--json").output)
    assert row["next_digest"].endswith("T07:30:00+09:00")


# --- exit codes: what cron and systemd see ---------------------------------------------------


def _with_feeds(server: FixtureServer, tmp_path: Path, categories: str, *feeds: str) -> Path:
    readers = READERS.replace(
        'categories = ["cs.AR"]',
        f"categories = {categories}\nfeeds = {json.dumps([server.url + f for f in feeds])}",
    )
    return write_config(tmp_path, server.url, readers=readers)


def test_fetch_exits_1_when_every_source_failed(server: FixtureServer, tmp_path: Path) -> None:
    cli = (CliRunner(), _with_feeds(server, tmp_path, "[]", "/gone/a.xml", "/gone/b.xml"))
    fetched = run(cli, "fetch")
    assert fetched.exit_code == 1, fetched.output
    assert "tried 2 sources: 0 fetched, 2 failed" in fetched.output
    assert "nothing could be fetched" in fetched.output
    assert "/gone/a.xml" in fetched.output  # which ones, and why
    (tmp_path / "once").mkdir()
    gone = ("/gone/a.xml", "/gone/b.xml")
    once = run((CliRunner(), _with_feeds(server, tmp_path / "once", "[]", *gone)), "run", "--once")
    assert once.exit_code == 1, once.output
    assert "tried 2 sources: 0 fetched, 2 failed" in once.output
    assert "digest:" in once.output  # the digest is still written


def test_fetch_exits_3_when_some_sources_failed(server: FixtureServer, tmp_path: Path) -> None:
    cli = (CliRunner(), _with_feeds(server, tmp_path, '["cs.AR"]', "/gone/a.xml"))
    once = run(cli, "run", "--once")
    assert once.exit_code == 3, once.output
    assert re.search(r"tried 2 sources: 1 fetched \(0 unchanged\), 1 failed; \d+ new", once.output)
    again = run(cli, "fetch", "--all")
    assert again.exit_code == 3, again.output
    assert "tried 2 sources: 1 fetched (1 unchanged), 1 failed; 0 new items" in again.output


def test_fetch_exits_0_when_nothing_is_due(cli: tuple[CliRunner, Path]) -> None:
    assert run(cli, "fetch").exit_code == 0
    again = run(cli, "fetch")
    assert again.exit_code == 0, again.output
    assert "nothing was due" in again.output


# --- files and folders to write ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "-o", "{tmp}/missing/dir/x.bib"], "folder {tmp}/missing/dir does not exist"),
        (["export", "-o", "{tmp}/afile/x.bib"], "{tmp}/afile is a file, not a folder"),
        (["export", "-o", "{tmp}/afile/sub/x.bib"], "{tmp}/afile is a file, not a folder"),
        (["export", "-o", "{tmp}"], "is a directory"),
        (["digest", "--preview", "{tmp}/afile/sub"], "{tmp}/afile is a file, not a folder"),
        (["digest", "--preview", "{tmp}/afile"], "is a file"),
        (["digest", "--preview", "{tmp}/nonexistent/x"], "folder {tmp}/nonexistent does not exist"),
    ],
)
def test_unwritable_outputs_are_one_clear_line(
    cli: tuple[CliRunner, Path], tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "afile").write_text("not a folder")
    before = sorted(tmp_path.rglob("*"))
    result = run(cli, *[a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 2, result.output
    assert message.format(tmp=tmp_path) in result.output
    assert "Traceback" not in result.output
    assert sorted(tmp_path.rglob("*")) == before  # no folder made, no digest recorded


def test_preview_makes_its_own_folder_only(cli: tuple[CliRunner, Path], tmp_path: Path) -> None:
    result = run(cli, "digest", "--preview", str(tmp_path / "preview"))
    assert result.exit_code == 0, result.output
    assert sorted(p.suffix for p in (tmp_path / "preview").iterdir()) == [".html", ".txt"]


# --- a post by its own link ---------------------------------------------------------------------

BLOG_FEED = "/feeds/feeds-realworld/feedjira/FeedjiraBlog.xml"
POST_URL = "http://feedjira.com/blog/2014/03/17/feedjira-goes-one-point-oh.html"


def test_show_and_save_take_a_posts_own_url(server: FixtureServer, tmp_path: Path) -> None:
    cli = (CliRunner(), _with_feeds(server, tmp_path, "[]", BLOG_FEED))
    assert run(cli, "fetch").exit_code == 0
    [post] = [
        h
        for h in json.loads(
            run(cli, "search", "--source", "feed", "--json", "--limit", "100").output
        )
        if h["url"] == POST_URL
    ]
    for ref in (POST_URL, POST_URL + "?utm_source=rss", POST_URL.replace("http://", "HTTP://")):
        shown = run(cli, "show", ref)
        assert shown.exit_code == 0, shown.output
        assert shown.output.startswith(post["title"])
    saved = run(cli, "save", POST_URL)
    assert saved.exit_code == 0 and post["title"] in saved.output
    assert [h["url"] for h in json.loads(run(cli, "search", "--saved", "--json").output)] == [
        POST_URL
    ]
    missing = run(cli, "show", "http://feedjira.com/blog/never-written.html")
    assert missing.exit_code == 1 and "no stored item" in missing.output


# --- follows from the config file ------------------------------------------------------------

TRI_DAO = (
    '{ name = "Tri Dao", arxiv = "dao_t_1", orcid = "0000-0002-1825-0097", '
    'feeds = ["https://tridao.me/feed.xml"] }'
)
SCHOLARLY = f"""
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "00:00"

[readers.follows]
categories = ["cs.AR", "cs.DC"]
scholars = ["Grace Hopper", {TRI_DAO}]
"""


def test_unfollow_of_a_config_follow_says_where_it_comes_from(
    server: FixtureServer, tmp_path: Path
) -> None:
    cli = (CliRunner(), write_config(tmp_path, server.url, readers=SCHOLARLY))
    for kind, value, where in [
        ("category", "cs.DC", "readers[0].follows.categories"),
        ("scholar", "Tri Dao", "readers[0].follows.scholars[1]"),
    ]:
        refused = run(cli, "unfollow", kind, value)
        assert refused.exit_code == 2, refused.output
        assert "unfollowed" not in refused.output
        assert str(tmp_path / "tracker.toml") in refused.output and where in refused.output
    listed = {(f["kind"], f["value"]) for f in json.loads(run(cli, "follows", "--json").output)}
    assert ("category", "cs.DC") in listed and ("scholar", "Tri Dao") in listed
    # one followed on the command line as well is unfollowed there, and said to stay
    assert run(cli, "follow", "category", "cs.DC").exit_code == 0
    assert run(cli, "unfollow", "category", "cs.DC").exit_code == 2


def test_follows_lists_a_scholar_once_with_every_identity(
    server: FixtureServer, tmp_path: Path
) -> None:
    cli = (CliRunner(), write_config(tmp_path, server.url, readers=SCHOLARLY))
    listed = json.loads(run(cli, "follows", "--json").output)
    [dao] = [f for f in listed if f["value"] == "Tri Dao"]
    assert {(s["kind"], s["value"]) for s in dao["sources"]} == {
        ("arxiv_author", "dao_t_1"),
        ("openalex", "orcid:0000-0002-1825-0097"),
        ("feed", "https://tridao.me/feed.xml"),
    }
    [hopper] = [f for f in listed if f["value"] == "Grace Hopper"]
    assert [s["kind"] for s in hopper["sources"]] == ["arxiv_query"]  # by name alone
    text = run(cli, "follows").output
    assert text.count("Tri Dao") == 1, text
    assert "arXiv author dao_t_1" in text and "ORCID 0000-0002-1825-0097" in text
    assert "https://tridao.me/feed.xml" in text


# --- dates: the first version's, and each version's ---------------------------------------


def test_a_new_version_of_an_old_paper_keeps_its_year(
    server: FixtureServer, tmp_path: Path
) -> None:
    readers = READERS.replace('categories = ["cs.AR"]', 'categories = ["cs.DC"]')
    cli = (CliRunner(), write_config(tmp_path, server.url, readers=readers))
    assert run(cli, "fetch").exit_code == 0
    # 2210.03055v5 is in the listing of 2024-11-28 as a replacement: first seen here
    found = run(cli, "search", "lattice-linear algorithms")
    assert "arXiv:2210.03055" in found.output and " 2022 Fully Lattice-Linear" in found.output
    [hit] = json.loads(run(cli, "search", "lattice-linear algorithms", "--json").output)
    assert hit["published"] == "2022-10-01T00:00:00+00:00"  # the month of its id
    assert hit["updated"] == "2024-11-28T05:00:00+00:00"  # this version's announcement
    shown = run(cli, "show", "2210.03055").output
    assert "date: 2022-10 (the month of its arXiv id)" in shown
    assert "version 5: 2024-11-28" in shown
    in_2022 = run(cli, "search", "--since", "2022-01-01", "--until", "2022-12-31", "--json")
    assert "2210.03055" in {h["arxiv_id"] for h in json.loads(in_2022.output)}


@pytest.mark.parametrize(
    ("error", "code", "output"),
    [
        (
            ConfigError(["t.toml: a.b: bad", "t.toml: c: worse"]),
            2,
            "configuration errors:\n  t.toml: a.b: bad\n  t.toml: c: worse\n",
        ),
        (UsageError("unknown reader 'x'"), 2, "error: unknown reader 'x'\n"),
        (NotFoundError("no stored item 7"), 1, "error: no stored item 7\n"),
        (StorageError("database is locked"), 1, "error: database is locked\n"),
    ],
)
def test_errors_of_any_command_become_one_message_and_an_exit_code(
    error: TrackerError, code: int, output: str
) -> None:
    """The group maps our errors: a command, even in a subgroup, needs no decorator."""
    group = click.Group("sub")

    @group.command()
    def fails() -> None:
        raise error

    cli = TrackerGroup("tracker", commands={"sub": group})
    result = CliRunner().invoke(cli, ["sub", "fails"])
    assert (result.exit_code, result.stderr) == (code, output)
    assert result.stdout == ""
    # a programming error is not ours to hide
    group.add_command(click.Command("bug", callback=lambda: 1 / 0))
    assert isinstance(CliRunner().invoke(cli, ["sub", "bug"]).exception, ZeroDivisionError)


def test_search_has_code_lists_only_papers_with_a_repository(cli: tuple[CliRunner, Path]) -> None:
    run(cli, "fetch")
    everything = json.loads(
        run(cli, "search", "--category", "cs.AR", "--json", "--limit", "500").output
    )
    coded = json.loads(run(cli, "search", "--has-code", "--json", "--limit", "500").output)
    expected = [i["id"] for i in everything if any(c["kind"] == "code" for c in i["code"])]
    assert expected and sorted(i["id"] for i in coded) == sorted(expected)
    exported = json.loads(run(cli, "export", "--has-code", "--format", "json").output)
    assert sorted(i["id"] for i in exported) == sorted(expected)

"""Configuration: the example loads; every mistake is reported with file, key and what
was expected; nothing half-valid gets through."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import CONFIG_DIR
from tracker.cli import main
from tracker.config import load_settings
from tracker.errors import ConfigError

EXAMPLE = CONFIG_DIR / "tracker.example.toml"


def test_example_config_is_valid_and_documented() -> None:
    settings = load_settings(EXAMPLE, environ={})
    assert settings.arxiv.api_url == "https://export.arxiv.org/api/query"
    assert settings.arxiv.listing_url == "https://rss.arxiv.org/rss/"
    assert settings.arxiv.oai_url == "https://export.arxiv.org/oai2"
    assert settings.arxiv.min_interval == 3.0
    assert "mailto:you@example.org" in settings.arxiv.user_agent
    assert settings.database_url == f"sqlite:///{CONFIG_DIR / 'data' / 'tracker.db'}"
    reader = settings.readers[0]
    assert reader.digest_time == dt.time(7, 30)
    assert reader.follows.categories == ("cs.DC", "cs.AR", "cs.LG")
    assert reader.follows.queries[0] == 'all:"speculative decoding"'
    # every key of the example is explained by the comment above it (or its group's)
    documented = False
    for line in EXAMPLE.read_text().splitlines():
        if line.startswith("#"):
            documented = True
        elif not line.strip() or line.startswith("["):
            documented = False
        elif "=" in line and not line.startswith((" ", "{", "]")):
            assert documented, f"undocumented key: {line}"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


BAD = """
[tracker]
databse_url = "sqlite:///x.db"
log_level = "LOUD"

[arxiv]
contact_email = "nobody"
min_interval = 1
page_size = 5000

[fetch]
timeout = -1
max_redirects = "five"

[[readers]]
name = "ada"
timezone = "Mars/Olympus"
digest_time = "25:00"
fields = ["Computer Science > Sytems"]
language = "fr"

[readers.follows]
categories = ["cs.DC", "cs.XYZ", "cs.dc"]
queries = ["foo:bar", "(unclosed"]
scholars = ["  "]
feeds = ["ftp://example.org/feed", { title = "no url" }]

[[readers]]
name = "ada"
language = "zh-CN"
"""


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, BAD)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    problems = caught.value.problems
    text = "\n".join(problems)
    expected = [
        "tracker.databse_url: unknown key (did you mean 'database_url'?)",
        "tracker.log_level: expected one of DEBUG, INFO, WARNING, ERROR",
        "arxiv.contact_email: expected your e-mail address",
        "arxiv.min_interval: expected at least 3 seconds",
        "arxiv.page_size: arXiv serves at most 2000",
        "fetch.timeout: expected a positive number, got -1",
        "fetch.max_redirects: expected int, got a string",
        "readers[0].timezone: unknown time zone 'Mars/Olympus'",
        "readers[0].digest_time: expected HH:MM (24-hour), got '25:00'",
        "readers[0].fields: unknown field 'Computer Science > Sytems' (did you mean "
        "'Computer Science > Systems'?)",
        "readers[0].follows.categories: unknown arXiv category 'cs.XYZ'",
        "readers[0].follows.categories: unknown arXiv category 'cs.dc' (did you mean 'cs.DC'?)",
        "readers[0].follows.queries: 'foo:bar': unknown field 'foo'",
        "readers[0].follows.queries: '(unclosed': missing closing parenthesis",
        "has no surname",
        "readers[0].follows.feeds[0]: expected an http(s) URL, got 'ftp://example.org/feed'",
        "readers[0].follows.feeds[1]: expected a URL or a table",
        "readers[1].name: reader 'ada' is configured twice",
        "readers[0].language: no digest translation for 'fr' (available: en (English), zh (中文))",
        "readers[1].language: no digest translation for 'zh-CN'; did you mean 'zh'? "
        "(available: en (English), zh (中文))",
    ]
    for fragment in expected:
        assert fragment in text, f"missing: {fragment}\n---\n{text}"
    assert all(p.startswith(f"{path}: ") for p in problems)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[tracker\n", "not valid TOML"),
        ('readers = "ada"', "readers: expected at least one [[readers]] table"),
        ("[arxiv]\ncontact_email = 'a@b.org'\n", "expected at least one [[readers]]"),
        ("[bogus]\n", "bogus: unknown key"),
        ('[tracker]\ndatabase_url = "mysql://x"', "expected a sqlite:/// or postgresql:// URL"),
        ('[tracker]\nfields_file = "missing.toml"', "field mapping not found"),
    ],
)
def test_single_mistakes(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        load_settings(_write(tmp_path, text), environ={})
    assert fragment in str(caught.value)


def test_a_reader_chooses_the_digest_language(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert load_settings(EXAMPLE, environ={}).readers[0].language == "en"
    path = _write(tmp_path, text.replace('language = "en"', 'language = "zh"'))
    assert load_settings(path, environ={}).readers[0].language == "zh"
    shown = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert shown.exit_code == 0 and "readers:  ada (zh) (" in shown.output, shown.output
    path = _write(tmp_path, text.replace('language = "en"\n', ""))
    assert load_settings(path, environ={}).readers[0].language == "en"  # the default
    path = _write(tmp_path, text.replace('language = "en"', "language = 1"))
    with pytest.raises(ConfigError, match=r"readers\[0\]\.language: expected str, got int"):
        load_settings(path, environ={})


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings("/nonexistent/tracker.toml")


def test_environment_overrides(tmp_path: Path) -> None:
    path = _write(tmp_path, EXAMPLE.read_text().replace("you@example.org", "nobody"))
    settings = load_settings(
        path,
        environ={
            "TRACKER_DATABASE_URL": "sqlite:////tmp/elsewhere.db",
            "TRACKER_ARXIV_CONTACT": "lab@example.org",
        },
    )
    assert settings.database_url == "sqlite:////tmp/elsewhere.db"
    assert settings.arxiv.contact_email == "lab@example.org"


def test_local_endpoints_may_go_faster_than_arxiv(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    for key in ("api_url", "listing_url", "oai_url"):
        text = text.replace(f'{key} = "https://', f'{key} = "http://127.0.0.1:9/x/', 1)
    text = text.replace("\n[arxiv]\n", '\n[arxiv]\nauthor_url = "http://127.0.0.1:9/a/"\n', 1)
    settings = load_settings(
        _write(tmp_path, text.replace("min_interval = 3.0", "min_interval = 0.1")), environ={}
    )
    assert settings.arxiv.min_interval == 0.1


def test_config_check_command(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["--config", str(EXAMPLE), "config", "check"])
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output
    assert "web:      127.0.0.1:8080, sign-in password, admins ada" in ok.output
    bad = runner.invoke(main, ["--config", str(_write(tmp_path, BAD)), "config", "check"])
    assert bad.exit_code == 2
    assert "unknown time zone 'Mars/Olympus'" in bad.output
    assert "Traceback" not in bad.output
    # a bad config never starts a worker
    run = runner.invoke(main, ["--config", str(tmp_path / "bad.toml"), "run", "--once"])
    assert run.exit_code == 2
    assert not (tmp_path / "data").exists()

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


# --- the messages of every kind of mistake ---------------------------------------------------

MINIMAL = """
[arxiv]
contact_email = "lab@university.edu"

[[readers]]
name = "ada"
"""


def _problems(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> list[str]:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=environ or {})
    assert all(p.startswith(f"{path}: ") for p in caught.value.problems)
    return [p.removeprefix(f"{path}: ") for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        # types: the value's kind in words, what the key holds in TOML's words
        ('[fetch]\nconcurrency = "4"', "fetch.concurrency: expected int, got a string"),
        ("[fetch]\nconcurrency = 2.5", "fetch.concurrency: expected int, got float"),
        ("[fetch]\nuse_env_proxy = 1", "fetch.use_env_proxy: expected bool, got int"),
        ("[fetch]\nconcurrency = true", "fetch.concurrency: expected int, got a boolean"),
        ("fetch = 3", "fetch: expected a table, got int"),
        ("[web]\nadmins = 'ada'", "web.admins: expected a list of strings, got a string"),
        ("[web]\nadmins = ['ada', 3]", "web.admins: expected str, got int"),
        # ranges
        (
            "[digest]\nabstract_sentences = 0",
            "digest.abstract_sentences: expected a positive number, got 0",
        ),
        ("[fetch]\nmax_body_mb = -0.5", "fetch.max_body_mb: expected a positive number, got -0.5"),
        # unknown keys anywhere, with the closest known one
        (
            "[schedule]\nfetch_every = 5",
            "schedule.fetch_every: unknown key (did you mean 'fetch_every_minutes'?)",
        ),
        (
            "[email]\nhost = 'smtp.example.org'\nform = 'a@b.org'",
            "email.form: unknown key (did you mean 'from'?)",
        ),
        (
            "[tracker]\nLOG_LEVEL = 'INFO'",
            "tracker.LOG_LEVEL: unknown key (did you mean 'log_level'?)",
        ),
        ("[readerz]", "readerz: unknown key (did you mean 'readers'?)"),
        # a key the file spells differently from the code is named as the file spells it
        (
            "[email]\nhost = 'smtp.example.org'\nfrom = 'nobody'",
            "email.from: expected a From: address, got 'nobody'",
        ),
        ("[email]\nfrom = 'a@b.org'", "email.host: expected the SMTP server's host name"),
        (
            "[email]\nfrom = 'a@b.org'\nhost = 'h'\nsecurity = 'ssl'",
            'email.security: expected "starttls", "tls" or "none", got \'ssl\'',
        ),
        (
            "[email]\nfrom = 'a@b.org'\nhost = 'h'\nunsubscribe = 'x'",
            "email.unsubscribe: expected a mailto: or http(s): address",
        ),
        (
            "[email]\nfrom = 'a@b.org'\nhost = 'h'\nca_file = 'no.pem'",
            "email.ca_file: no such file",
        ),
        (
            "[openalex]\nurl = 'api.openalex.org'",
            "openalex.url: expected an http(s) URL, got 'api.openalex.org'",
        ),
        # an optional key (no default in the file) is named by its key, not pydantic's union
        (
            "[email]\nfrom = 'a@b.org'\nhost = 'h'\nport = '25'",
            "email.port: expected int, got a string",
        ),
        (
            "[email]\nfrom = 'a@b.org'\nhost = 'h'\nport = 0",
            "email.port: expected a positive number, got 0",
        ),
        (
            "[tracker]\ndatabase_url = 'postgresql://h:port/x'",
            "tracker.database_url: not a database URL: its port is not a number",
        ),
    ],
)
def test_each_kind_of_mistake_is_explained(tmp_path: Path, text: str, problem: str) -> None:
    problems = _problems(tmp_path, text + "\n" + MINIMAL)
    assert problem in problems or any(p.startswith(problem) for p in problems), problems


READER = """
[arxiv]
contact_email = "lab@university.edu"

[[readers]]
"""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name = 'a b'", "readers[0].name: expected a name of letters, digits, '.', '_' or '-'"),
        ("digest_time = 07:30:00", "readers[0].digest_time: expected str, got time"),
        (
            "channels = ['email']",
            "readers[0].email: expected the reader's e-mail address, got None",
        ),
        (
            "channels = ['pigeon']",
            "readers[0].channels: expected some of ['markdown', 'email'], got 'pigeon'",
        ),
        ("channels = []", "readers[0].channels: expected at least one channel"),
        (
            "days = ['mon', 'someday']",
            'readers[0].days: expected "every day", "weekdays", '
            '"arxiv" or a list like ["mon", "thu"], got [\'mon\', \'someday\']',
        ),
        ("when_empty = 'quiet'", 'readers[0].when_empty: expected "note" or "skip", got \'quiet\''),
        ("mute = 'x'", "readers[0].mute: expected a list of rules, got a string"),
        ("mute = [3]", "readers[0].mute[0]: expected a text or a table"),
        (
            "mute = [{ author = 'A. B', text = 'x' }]",
            "readers[0].mute[0]: a mute rule needs exactly one of text, author, category or feed",
        ),
        (
            "mute = [{ category = 'cs.XX' }]",
            "readers[0].mute[0].category: unknown arXiv category or archive 'cs.XX'",
        ),
        ("mute = [{ txt = 'x' }]", "readers[0].mute[0].txt: unknown key (did you mean 'text'?)"),
        (
            "mute = ['-greedy']",
            "readers[0].mute[0]: text '-greedy': the search needs at least one word",
        ),
        ("must = ['x']", "readers[0].must[0]: expected a table {follow, text}"),
        (
            "must = [{ follow = 'topic x', text = 'y' }]",
            "readers[0].must[0].follow: expected "
            "'<kind> <value>' with a kind of ['category', 'query', 'scholar', 'feed', 'discovery']",
        ),
        (
            "must = [{ follow = 'query x' }]",
            "readers[0].must[0]: a must rule needs a follow and a text that its items must match",
        ),
        (
            "follows = { scholars = 'Tri Dao' }",
            "readers[0].follows.scholars: expected a list of names or scholar tables, got a string",
        ),
        (
            "follows = { scholars = [3] }",
            "readers[0].follows.scholars[0]: expected a name or a "
            "table {name = ..., orcid = ..., ...}",
        ),
        (
            "follows = { scholars = [{ name = 'Tri Dao', orcid = '1234' }] }",
            "readers[0].follows."
            "scholars[0].orcid: expected an ORCID like 0000-0002-1825-0097, got '1234'",
        ),
        (
            "follows = { scholars = [{ name = 'Tri Dao', openalex = ['A1'] }] }",
            "readers[0]."
            "follows.scholars[0].openalex: expected an OpenAlex author id like A5023888391, got "
            "'A1'",
        ),
        (
            "follows = { scholars = [{ name = 'Tri Dao', arxiv = 'Dao' }] }",
            "readers[0].follows."
            "scholars[0].arxiv: expected an arXiv author id like dao_t_1, got 'Dao'",
        ),
        (
            "follows = { scholars = [{ name = 'Tri Dao', categories = 'cs.XYZ' }] }",
            "readers[0].follows.scholars[0].categories: unknown arXiv category 'cs.XYZ'",
        ),
        (
            "follows = { scholars = [{ name = 'Tri Dao', orcd = 'x' }] }",
            "readers[0].follows.scholars[0].orcd: unknown key (did you mean 'orcid'?)",
        ),
        (
            "follows = { feeds = 'https://example.org/feed' }",
            "readers[0].follows.feeds: "
            "expected a list of URLs or {url = ..., title = ...} tables, got a string",
        ),
        (
            "follows = { feeds = [{ url = 'https://example.org/f', titel = 'x' }] }",
            "readers[0].follows.feeds[0].titel: unknown key (did you mean 'title'?)",
        ),
        (
            "follows = { feeds = [{ url = 'example.org/f' }] }",
            "readers[0].follows.feeds[0].url: expected an http(s) URL, got 'example.org/f'",
        ),
        ("follows = { topics = ['x'] }", "readers[0].follows.topics: unknown key"),
        (
            "follows = { feeds = [{ url = 'https://example.org/f', title = 3 }] }",
            "readers[0].follows.feeds[0].title: expected str, got int",
        ),
        ("top_picks = '5'", "readers[0].top_picks: expected int, got a string"),
        ("discover = 'yes'", "readers[0].discover: expected bool, got a string"),
        ("weekly_picks = 4", 'readers[0].rhythm: weekly_day is used only with rhythm "weekly"'),
        ("rhythm = 'weekly'\nweekly_day = 3", "readers[0].weekly_day: expected str, got int"),
        ("rhythm = 'both'\nweekly_picks = '4'", "readers[0].weekly_picks: expected int, got a"),
    ],
)
def test_each_kind_of_reader_mistake_is_explained(tmp_path: Path, text: str, problem: str) -> None:
    problems = _problems(tmp_path, READER + text + "\n")
    assert any(p.startswith(problem) for p in problems), problems


def test_a_bad_table_does_not_hide_the_checks_of_the_others(tmp_path: Path) -> None:
    """Checks across tables still run on the keys of a table that has other mistakes."""
    problems = _problems(
        tmp_path,
        """
[arxiv]
contact_email = "lab@university.edu"

[web]
port = "8080"
admins = ["adda"]

[fields]
min_papers = 0
training_data = "nowhere.jsonl"

[[readers]]
name = "ada"
timezone = "Mars/Olympus"
channels = ["email"]
email = "ada@university.edu"
""",
    )
    assert "web.port: expected int, got a string" in problems
    assert "web.admins: unknown reader 'adda' (did you mean 'ada'?)" in problems
    assert any(p.startswith("fields.training_data: ") for p in problems)
    assert "email: readers ['ada'] get e-mail, but there is no [email] table" in problems


def test_environment_variables_are_checked_under_their_own_names(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        MINIMAL.replace("lab@university.edu", "nobody"),
        environ={"TRACKER_DATABASE_URL": "mysql://x"},
    )
    assert "TRACKER_DATABASE_URL: expected a sqlite:/// or postgresql:// URL" in problems
    # the contact is checked as the file's key, whichever gave it
    assert any(p.startswith("arxiv.contact_email: expected your e-mail address") for p in problems)
    # a variable replaces its key: the file's value is not used, nor checked
    text = MINIMAL + '\n[tracker]\ndatabase_url = "mysql://x"\n'
    environ = {
        "TRACKER_DATABASE_URL": "sqlite:////tmp/x.db",
        "TRACKER_DATA_DIR": str(tmp_path / "elsewhere"),
        "TRACKER_DIGESTS_DIR": str(tmp_path / "digests"),
        "TRACKER_BLOCK_PRIVATE_ADDRESSES": "yes",
    }
    settings = load_settings(_write(tmp_path, text), environ=environ)
    assert settings.database_url == "sqlite:////tmp/x.db"
    assert settings.data_dir == tmp_path / "elsewhere"
    assert settings.readers[0].output_dir == tmp_path / "digests"
    assert settings.fetch.block_private_addresses


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("x", encoding="utf-8")
    text = MINIMAL + (
        '\n[email]\nhost = "smtp.example.org"\nfrom = "tracker <t@example.org>"\n'
        'ca_file = "ca.pem"\nsecurity = "tls"\n'
    )
    settings = load_settings(_write(tmp_path, text), environ={})
    assert settings.data_dir == tmp_path / "data"
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'tracker.db'}"
    assert settings.readers[0].output_dir == tmp_path / "digests"
    assert settings.email is not None
    assert (settings.email.ca_file, settings.email.port) == (tmp_path / "ca.pem", 465)


def test_values_are_read_as_the_settings_use_them(tmp_path: Path) -> None:
    text = (
        READER
        + """
name = "ada"
days = ["Mon", "thursday"]
channels = ["markdown", "email", "markdown"]
email = "ada@university.edu"
mute = ["crypto*", { author = "A. Nonymous", search = true }]
must = [{ follow = "query diffusion", text = "inverse problem*" }]

[readers.follows]
categories = ["cs.DC", "cs.DC", "math.ST", "stat.TH"]
scholars = [
  "Tri  Dao",
  { name = "Albert Gu", orcid = "https://orcid.org/0000-0002-1825-0097", feeds = "FEED" },
]
feeds = ["HTTPS://Example.org/feed.xml", { url = "https://example.org/b", title = "B" }]

[email]
host = "smtp.example.org"
from = "tracker <t@example.org>"
"""
    ).replace("FEED", "https://example.org/gu/feed.xml")
    settings = load_settings(_write(tmp_path, text), environ={})
    reader = settings.readers[0]
    assert (reader.days, reader.arxiv_days, reader.channels) == (
        frozenset({0, 3}),
        False,
        ("markdown", "email"),
    )
    assert reader.follows.categories == ("cs.DC", "math.ST")  # stat.TH is math.ST's alias
    tri, albert = reader.follows.scholars
    assert tri.name == "Tri Dao" and albert.orcid == ("0000-0002-1825-0097",)
    assert albert.feeds == ("https://example.org/gu/feed.xml",)
    assert [f.url for f in reader.follows.feeds] == [
        "https://example.org/feed.xml",
        "https://example.org/b",
    ]
    assert [(r.action.value, r.text, r.author, r.search) for r in reader.rules] == [
        ("mute", "crypto*", None, False),
        ("mute", None, "A. Nonymous", True),
        ("must", "inverse problem*", None, False),
    ]
    assert settings.email is not None and settings.email.port == 587


def test_a_weekly_rhythm_delivers_on_its_weekly_day_only(tmp_path: Path) -> None:
    text = READER + "name = 'ada'\nrhythm = 'weekly'\nweekly_day = 'Friday'\nweekly_picks = 4\n"
    reader = load_settings(_write(tmp_path, text), environ={}).readers[0]
    assert (reader.rhythm, reader.weekly_day, reader.weekly_picks) == ("weekly", 4, 4)
    assert (reader.days, reader.arxiv_days) == (frozenset({4}), False)
    both = load_settings(
        _write(tmp_path, READER + "name = 'ada'\nrhythm = 'both'\ndays = 'weekdays'\n"), environ={}
    )
    assert both.readers[0].days == frozenset(range(5)) and both.readers[0].weekly_day == 0
    # a weekly reader's mistake in "days" does not hide the others
    problems = _problems(tmp_path, READER + "rhythm = 'weekly'\ndays = ['mon']\ntop_picks = -1\n")
    assert any(p.startswith("readers[0].days: a weekly rhythm delivers") for p in problems)
    assert any(p.startswith("readers[0].top_picks: expected 0 or more") for p in problems)

"""Shared pytest fixtures.

Recorded real data: ``fixtures_dir`` is the part kept in the repository (tests/data),
``corpus_dir`` the full corpus, for the tests marked ``corpus`` (a test that asks for
``corpus_dir`` is marked so by itself). Without the corpus those tests skip with the
reason, and fail under CI (see tests/support/data.py).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.data import DATA, REPO, corpus_missing, corpus_root
from tests.support.forker import Forker
from tests.support.server import FixtureServer, Paper, load_papers
from tracker.config import Settings, load_settings

CONFIG_DIR = REPO / "config"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs the full corpus is a corpus test: ``-m "not corpus"`` leaves
    it out."""
    for item in items:
        if "corpus_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.corpus)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The recorded data kept in the repository (tests/data)."""
    return DATA


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The full recorded corpus; without it the test skips, or fails under CI."""
    missing = corpus_missing()
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs the corpus tests: {missing}")
        pytest.skip(missing)
    return corpus_root()


# --- real local servers and wired trackers -----------------------------------------------


@pytest.fixture(scope="session")
def papers(fixtures_dir: Path) -> list[Paper]:
    """The recorded 2024-11-28 listing's papers, as the fake arXiv API serves them."""
    return load_papers(fixtures_dir)


@pytest.fixture
def server(fixtures_dir: Path, papers: list[Paper]) -> Iterator[FixtureServer]:
    """A real HTTP server on 127.0.0.1 playing arXiv and feed hosts (tests/support/server.py)."""
    srv = FixtureServer(fixtures_dir, papers).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def forker() -> Iterator[Forker]:
    """The crash worker's parent process (tests/support/forker.py)."""
    f = Forker()
    try:
        yield f
    finally:
        f.close()


def write_config(
    folder: Path,
    base_url: str,
    *,
    readers: str | None = None,
    extra: str = "",
    min_interval: float = 0.05,
    discover: bool = False,
) -> Path:
    """A config file whose arXiv endpoints all point at a local server. The whole
    day's listing for cross-domain picks (``[digest] discover``) is off unless asked
    for: most tests are about what follows bring (test_reading_cli is about it)."""
    setting = f"discover = {str(discover).lower()}\n"
    if "[digest]" in extra:
        if "discover =" not in extra:
            extra = extra.replace("[digest]\n", "[digest]\n" + setting, 1)
    else:  # after extra: its first lines may belong to [fetch] above
        extra = f"{extra}\n[digest]\n{setting}"
    readers = (
        readers
        or """
[[readers]]
name = "ada"
timezone = "Europe/Berlin"
digest_time = "07:30"

[readers.follows]
categories = ["cs.DC", "cs.AR"]
"""
    )
    text = f"""
[tracker]
data_dir = "data"
fields_file = "{REPO / "tracker" / "fields" / "fields.toml"}"

[arxiv]
contact_email = "tests@example.org"
api_url = "{base_url}/api/query"
listing_url = "{base_url}/rss/"
oai_url = "{base_url}/oai2"
author_url = "{base_url}/a/"
min_interval = {min_interval}

[openalex]
url = "{base_url}/openalex"

[fetch]
use_env_proxy = false  # tests talk to 127.0.0.1 only, whatever the environment says
{extra}
{readers}
"""
    path = folder / "tracker.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[..., Settings]:
    """Build settings for a local server: ``settings_for(server.url, readers=..., extra=...)``."""

    def build(base_url: str, **kwargs: object) -> Settings:
        return load_settings(write_config(tmp_path, base_url, **kwargs))  # type: ignore[arg-type]

    return build


class Clock:
    """A settable clock for trackers under test (aware UTC)."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kwargs: float) -> dt.datetime:
        self.now += dt.timedelta(**kwargs)
        return self.now


# Thursday 2024-11-28 08:00 UTC (09:00 in Berlin): the recorded listing's morning.
LISTING_MORNING = dt.datetime(2024, 11, 28, 8, 0, tzinfo=dt.UTC)

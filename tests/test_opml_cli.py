"""`tracker follows import/export`: OPML files of feed readers into follows with groups,
all or nothing, and back out, on both database backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import write_config
from tests.test_storage import BACKENDS, database_url
from tracker.cli import main

DATA = Path(__file__).parent / "data" / "opml"
READERS = """
[[readers]]
name = "ada"
timezone = "UTC"

[readers.follows]
categories = ["cs.DC"]

[[readers]]
name = "bob"
timezone = "UTC"
"""


@pytest.fixture(params=BACKENDS)
def config(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    with database_url(str(request.param), tmp_path) as url:
        path = write_config(tmp_path, "http://127.0.0.1:9", readers=READERS)
        text = path.read_text().replace(
            'data_dir = "data"', f'data_dir = "data"\ndatabase_url = "{url}"'
        )
        path.write_text(text)
        yield path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args])


def listed(config: Path, reader: str) -> list[str]:
    result = run(config, "follows", "--reader", reader)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_import_follows_feeds_arxiv_listings_queries_and_author_feeds_with_groups(
    config: Path,
) -> None:
    result = run(config, "follows", "import", str(DATA / "inoreader.xml"), "--reader", "ada")
    assert result.exit_code == 0, result.output
    assert "now following 6 new, 1 already followed, in 2 groups" in result.output
    lines = listed(config, "ada")
    assert any("category  cs.CL  [cli]  (arXiv)" in line for line in lines)
    assert any('query     all:"speculative decoding"' in line for line in lines)
    assert any("scholar   Tri Dao  [cli]" in line for line in lines)
    assert any("arXiv author dao_t_1" in line for line in lines)
    assert any("feed      https://rjlipton.com/feed/  [cli]  (Blogs)" in line for line in lines)
    # the config's own follow is still there, once
    assert sum("cs.DC" in line for line in lines) == 1


def test_a_bad_outline_stops_the_import_and_nothing_changes(config: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.opml"
    bad.write_text(
        """<opml version="2.0"><body>
<outline text="Good" xmlUrl="https://example.org/good.xml"/>
<outline text="Typo" xmlUrl="https://rss.arxiv.org/rss/cs.XX"/>
<outline text="Evil" xmlUrl="javascript:alert(1)"/>
</body></opml>"""
    )
    before = listed(config, "ada")
    result = run(config, "follows", "import", str(bad), "--reader", "ada")
    assert result.exit_code == 2
    assert "nothing imported: 2 outline(s) cannot be followed" in result.output
    assert "line 4: feed 'Evil': only http(s) URLs" in result.output
    assert "category 'cs.XX': unknown arXiv category" in result.output
    assert listed(config, "ada") == before

    result = run(config, "follows", "import", str(bad), "--reader", "ada", "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "now following 1 new" in result.output and "2 skipped" in result.output
    assert any("https://example.org/good.xml" in line for line in listed(config, "ada"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html><body>not a feed list</body></html>", "not an OPML file"),
        (b"<opml><body><outline", "not well-formed XML"),
        (b"", "the file is empty"),
    ],
)
def test_files_that_are_not_opml_are_refused(
    config: Path, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "x.opml"
    path.write_bytes(content)
    result = run(config, "follows", "import", str(path), "--reader", "ada")
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_dry_run_changes_nothing(config: Path) -> None:
    before = listed(config, "bob")
    result = run(
        config, "follows", "import", str(DATA / "feedly.opml"), "--reader", "bob", "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert "would follow 6 new, 0 already followed, in 2 groups" in result.output
    assert listed(config, "bob") == before


def test_export_then_import_gives_another_reader_the_same_follows(
    config: Path, tmp_path: Path
) -> None:
    for name in ("feedly.opml", "inoreader.xml", "freshrss.opml.xml"):
        assert run(config, "follows", "import", str(DATA / name), "--reader", "ada").exit_code == 0
    out = tmp_path / "ada.opml"
    result = run(config, "follows", "export", "--reader", "ada", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert run(config, "follows", "import", str(out), "--reader", "bob").exit_code == 0

    def follows(reader: str) -> list[str]:
        return sorted(line.split(maxsplit=1)[1] for line in listed(config, reader))

    # the config's cs.DC of ada's comes over as an ordinary follow of bob's
    assert follows("bob") == [line.replace("[config]", "[cli]") for line in follows("ada")]
    # importing the same file again adds nothing
    again = run(config, "follows", "import", str(out), "--reader", "bob")
    assert "now following 0 new" in again.output


def test_export_to_a_missing_folder_is_a_usage_error(config: Path, tmp_path: Path) -> None:
    result = run(
        config, "follows", "export", "--reader", "ada", "-o", str(tmp_path / "no" / "x.opml")
    )
    assert result.exit_code == 2 and "does not exist" in result.output

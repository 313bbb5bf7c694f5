"""Commands that neither rank nor classify do not import scikit-learn, SciPy, NumPy or
joblib (seconds of start-up): each runs in a fresh interpreter, which then lists the
heavy modules it loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_config

HEAVY = ("sklearn", "scipy", "numpy", "joblib")
SCRIPT = f"""
import json, sys
from click.testing import CliRunner
from tracker.cli import main
result = CliRunner().invoke(main, ["--config", sys.argv[1], *sys.argv[2:]])
heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
print(json.dumps({{"exit": result.exit_code, "output": result.output, "heavy": heavy}}))
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # nothing is fetched: the arXiv endpoints point at a closed port
    return write_config(tmp_path_factory.mktemp("imports"), "http://127.0.0.1:9")


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["follows"],
        ["readers"],
        ["search", "speculative decoding"],
        ["db", "status"],
        ["fields"],  # the list: no model yet, nothing to classify
    ],
    ids=" ".join,
)
def test_commands_that_do_not_classify_stay_light(config: Path, args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["exit"] == 0, found["output"]
    assert found["heavy"] == [], f"tracker {' '.join(args)} imported {found['heavy']}"


FETCH_PATH = f"""
import json, sys
from tracker.app.core import make_tracker
from tracker.config import load_settings
tracker = make_tracker(load_settings(sys.argv[1]))
built = sorted(m for m in {HEAVY!r} if m in sys.modules)
report = tracker.fetch(everything=True)  # every source fails: nothing listens there
tracker.close()
fetched = sorted(m for m in {HEAVY!r} if m in sys.modules)
print(json.dumps({{"built": built, "fetched": fetched, "tried": report.tried}}))
"""


def test_the_fetch_path_starts_without_numpy_or_scikit_learn(config: Path) -> None:
    """Importing and building the fetch path, and a cycle with no field model yet,
    load none of them: a worker that only fetches stays small and quick to start."""
    done = subprocess.run(
        [sys.executable, "-c", FETCH_PATH, str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["built"] == [] and found["fetched"] == [], found
    assert found["tried"] > 0  # the cycle did run its sources


LIGHT_FETCH = """
import json, sys
from tracker.app.core import make_tracker
from tracker.config import load_settings
tracker = make_tracker(load_settings(sys.argv[1]))
report = tracker.fetch(everything=True)  # every source fails: nothing listens there
tracker.close()
unwanted = ("alembic", "mako", "rich", "pygments", "snowballstemmer")
print(json.dumps({"loaded": sorted(m for m in unwanted if m in sys.modules)}))
"""


def test_a_fetch_over_a_database_at_head_loads_no_migration_tool_cli_or_stemmer(
    config: Path,
) -> None:
    """Once the database is at the latest revision (the first run made it), a fetch
    process does not import Alembic and Mako (its revision is read directly), httpx's
    command-line client (click, rich, pygments when installed) or the stemmers
    (used by search and arXiv query matching, not by a cycle that reads no answer)."""
    for _ in range(2):  # the first run migrates the new database
        done = subprocess.run(
            [sys.executable, "-c", LIGHT_FETCH, str(config)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["loaded"] == [], found

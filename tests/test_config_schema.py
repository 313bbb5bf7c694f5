"""The config file's JSON Schema: published beside the example (config/tracker.schema.json)
and printed by ``tracker config schema``, always the one the models make; the example
config is valid under it, mistakes are not; every key is described for an editor's hover."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from tests.conftest import CONFIG_DIR
from tests.test_config import BAD, EXAMPLE
from tracker.cli import main
from tracker.config import json_schema_text

SCHEMA_FILE = CONFIG_DIR / "tracker.schema.json"


def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def test_the_published_schema_is_the_one_the_models_make() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == json_schema_text(), (
        "config/tracker.schema.json is out of date: tracker config schema > "
        "config/tracker.schema.json"
    )
    printed = CliRunner().invoke(main, ["config", "schema"])  # needs no config file
    assert printed.exit_code == 0 and printed.output == json_schema_text()


def test_the_example_names_the_schema_for_editors() -> None:
    first = EXAMPLE.read_text(encoding="utf-8").splitlines()[0]
    assert first == "#:schema ./tracker.schema.json"  # Taplo's and Tombi's directive
    assert (EXAMPLE.parent / "tracker.schema.json").is_file()


def test_the_example_is_valid_and_mistakes_are_not() -> None:
    jsonschema.Draft7Validator.check_schema(schema())
    validator = jsonschema.Draft7Validator(schema())
    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert [e.message for e in validator.iter_errors(example)] == []
    errors = {
        ".".join(map(str, e.absolute_path)) or "(top)": e.message
        for e in validator.iter_errors(tomllib.loads(BAD))
    }
    assert "databse_url" in errors["tracker"]  # additionalProperties
    assert "'five' is not of type 'integer'" in errors["fetch.max_redirects"]
    assert errors["fetch.timeout"] == "-1 is less than or equal to the minimum of 0"
    assert "2000" in errors["arxiv.page_size"]
    assert "does not match" in errors["readers.0.digest_time"]
    assert "is not valid under any of the given schemas" in errors["readers.0.follows.feeds.1"]
    # what needs the field mapping, the clock or other tables is for `tracker config check`
    assert "readers.0.timezone" not in errors


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ('[digest]\nrising_day = "thu"', True),
        ('[digest]\nrising_day = "Thursday"', True),  # as `tracker config check` takes it
        ('[digest]\nrising_day = "someday"', False),
        ("[digest]\ntop_picks = 0\ncross_domain_more = 0", True),
        ("[digest]\ntop_picks = -1", False),
        ("[digest]\nsection_items = 0", False),
        ('[digest]\ndiscover = "yes"', False),
        ("[[readers]]\nname = 'ada'\ntop_picks = 0\ndiscover = false\nrising = true", True),
        ("[[readers]]\nname = 'ada'\ntop_picks = -2", False),
        ("[[readers]]\nname = 'ada'\nrising = 'weekly'", False),
        ("[[readers]]\nname = 'ada'\nlanguage = 'zh'", True),
        ("[[readers]]\nname = 'ada'\nlanguage = 'fr'", False),  # no catalogue
        (
            "[[readers]]\nname = 'ada'\nrhythm = 'both'\nweekly_day = 'Sunday'\nweekly_picks = 3",
            True,
        ),
        ("[[readers]]\nname = 'ada'\nrhythm = 'monthly'", False),
        ("[[readers]]\nname = 'ada'\nrhythm = 'weekly'\nweekly_day = 'someday'", False),
        ("[[readers]]\nname = 'ada'\nrhythm = 'weekly'\nweekly_picks = 0", False),
        ("[published]\nenabled = false\nwindow_days = 30\ncheck_hours = 12.5", True),
        ("[published]\nbatch_size = 2000\nbatches_per_cycle = 1\nopenalex = false", True),
        ("[published]\nbatch_size = 2001", False),
        ("[published]\nwindow_days = 0", False),
        ("[published]\nevery = 1", False),
    ],
)
def test_the_schema_checks_the_newer_keys_as_config_check_does(text: str, valid: bool) -> None:
    document = tomllib.loads(text)
    document.setdefault("readers", [{"name": "ada"}])
    assert jsonschema.Draft7Validator(schema()).is_valid(document) == valid


def _properties(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            yield f"{path}.{key}", value
        for key, value in node.items():
            yield from _properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for value in node:
            yield from _properties(value, path)


def test_every_key_is_described() -> None:
    found = dict(_properties(schema()))
    assert len(found) > 100
    tables = schema()["definitions"]

    def description(value: dict[str, Any]) -> str:
        target = value.get("$ref", "").rsplit("/", 1)[-1]
        return str(value.get("description") or tables.get(target, {}).get("description", ""))

    assert [path for path, value in found.items() if not description(value)] == []
    assert all(t.get("additionalProperties") is False for t in tables.values())


@pytest.mark.parametrize("module", ["tracker.cli", "tracker.config"])
def test_pydantic_is_imported_on_the_first_load_only(module: str) -> None:
    """``tracker --help`` and the package import do not pay for the validation library."""
    code = f"import sys, {module}; print('pydantic' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"

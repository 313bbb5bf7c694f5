"""What an install from a wheel has: the built-in field mapping, the digest's templates
and its translation catalogues are package data.

The default category → field mapping ships inside the package (tracker/fields/fields.toml)
and is read through importlib.resources, so a regular (non-editable) install works with
a config file alone; a ``fields.toml`` beside the config, or ``[tracker] fields_file``,
replaces it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import CONFIG_DIR, REPO
from tracker.config import load_settings
from tracker.config.load import default_fields_file

EXAMPLE = CONFIG_DIR / "tracker.example.toml"
SMALL_MAPPING = """
[archives]
cs = "Computer Science"

[fields."Computer Science > Systems"]
categories = ["cs.DC", "cs.AR", "cs.LG"]  # the example config's follows
keywords = ["cluster"]
"""


def test_without_a_fields_file_the_built_in_mapping_is_used(tmp_path: Path) -> None:
    config = tmp_path / "tracker.toml"
    shutil.copy(EXAMPLE, config)
    settings = load_settings(config)
    assert settings.fields_file == Path(str(default_fields_file()))
    assert settings.fields_file == REPO / "tracker" / "fields" / "fields.toml"
    assert settings.field_map.field_of("cs.DC") == "Computer Science > Systems"


def test_a_fields_toml_beside_the_config_replaces_it(tmp_path: Path) -> None:
    config = tmp_path / "tracker.toml"
    shutil.copy(EXAMPLE, config)
    (tmp_path / "fields.toml").write_text(SMALL_MAPPING, encoding="utf-8")
    settings = load_settings(config)
    assert settings.fields_file == tmp_path / "fields.toml"
    assert list(settings.field_map.fields) == ["Computer Science > Systems"]


def test_a_wheel_install_checks_a_config_without_a_fields_file(tmp_path: Path) -> None:
    """Build the wheel as pip does, install it apart from this checkout, and run
    ``tracker config check`` with the example config alone in a folder."""
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    [wheel] = wheels.glob("tracker-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "tracker/fields/fields.toml",
        "tracker/py.typed",
        "tracker/sources/__init__.py",
        "tracker/sources/arxiv_xml.py",
        "tracker/storage/migrations/env.py",
        "tracker/storage/migrations/script.py.mako",
        "tracker/storage/migrations/versions/0001_initial.py",
        "tracker/digest/templates/digest.md.j2",
        "tracker/locale/zh/LC_MESSAGES/tracker.po",
        "tracker/web/templates/base.html",
        "tracker/web/templates/digest.html",
        "tracker/web/static/style.css",
        "tracker/web/static/app.js",
    ):
        assert needed in names, needed
    assert not [n for n in names if n.startswith(("tests/", "config/", "bench/"))]

    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet"]
    install = subprocess.run(
        [*pip, "--target", str(site), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(EXAMPLE, home / "tracker.toml")
    env = {**os.environ, "PYTHONPATH": str(site)}
    for name in ("TRACKER_CONFIG", "TRACKER_DATABASE_URL", "TRACKER_DATA_DIR"):
        env.pop(name, None)
    where = subprocess.run(
        [sys.executable, "-c", "import tracker; print(tracker.__file__)"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout + where.stderr
    check = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "--config", "tracker.toml", "config", "check"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert str(site / "tracker" / "fields" / "fields.toml") in check.stdout
    # the digest's catalogues are there, and compiled from the installed .po
    chinese = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tracker.digest.catalogs import language, languages; "
            "print(languages(), language('zh').gettext('Followed scholars'))",
        ],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert chinese.stdout.strip() == "('en', 'zh') 关注的学者", chinese.stdout + chinese.stderr

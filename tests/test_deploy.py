"""The deployment files: docker-compose.yml and the Dockerfile agree with the code.

Docker cannot run here, so the compose file is checked as data: it parses, the worker
is built from this repository, its environment names settings the code reads, and the
database and digests live in a named volume.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.conftest import REPO
from tracker.config import load_settings

COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"


def test_compose_file_runs_the_worker_with_a_volume() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    worker = compose["services"]["worker"]
    assert worker["build"] == "."
    assert worker["command"] == ["run"]
    assert worker["restart"] == "unless-stopped"
    volumes = worker["volumes"]
    assert "./config:/config:ro" in volumes
    named = [v.split(":")[0] for v in volumes if not v.startswith((".", "/"))]
    assert named and all(n in compose["volumes"] for n in named)
    env = worker["environment"]
    assert env["TRACKER_CONFIG"] == "/config/tracker.toml"
    assert env["TRACKER_DATA_DIR"].startswith("/srv/tracker")
    assert env["TRACKER_DIGESTS_DIR"].startswith("/srv/tracker")
    assert worker["healthcheck"]["test"][:2] == ["CMD", "tracker"]


def test_environment_names_are_the_ones_the_code_reads(tmp_path: Path) -> None:
    text = COMPOSE.read_text() + DOCKERFILE.read_text()
    names = set(re.findall(r"\bTRACKER_[A-Z_]+", text))
    code = "".join(p.read_text() for p in (REPO / "tracker").rglob("*.py"))
    for name in names:
        assert f'"{name}"' in code, f"{name} is set for the container but never read"
    # and they take effect: data and digests move where the container keeps them
    example = REPO / "config" / "tracker.example.toml"
    settings = load_settings(
        example,
        environ={
            "TRACKER_DATA_DIR": "/srv/tracker/data",
            "TRACKER_DIGESTS_DIR": "/srv/tracker/digests",
        },
    )
    assert settings.database_url == "sqlite:////srv/tracker/data/tracker.db"
    assert all(str(r.output_dir) == "/srv/tracker/digests" for r in settings.readers)


def test_dockerfile_installs_the_package_and_runs_unprivileged() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.1[1-9]", text, re.MULTILINE)
    assert "pip install" in text and "COPY tracker" in text and "COPY config" in text
    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE)
    assert 'ENTRYPOINT ["tracker"]' in text

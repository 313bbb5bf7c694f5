"""The deployment files: docker-compose.yml and the Dockerfile agree with the code.

Docker cannot run here, so the compose file is checked as data: it is valid against
the Compose Specification's JSON schema, and a focused check holds what the schema
cannot (the worker scales, waits for a healthy database, reaches it by its service
name; ports are published on 127.0.0.1 only; named volumes are declared; every
environment variable is one the code reads). Then the same services run natively: the
PostgreSQL test server for ``db``, an aiosmtpd server for ``mailcatcher``, and the
``migrate`` and ``worker`` commands as real ``tracker`` processes with the compose
file's own environment, the hosts of the compose network moved to 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from tests.conftest import REPO, write_config
from tests.support import pg
from tests.support.server import FixtureServer
from tests.support.smtp import SmtpServer
from tracker.config import load_settings
from tracker.storage import open_storage, schema

COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
SERVICES = {"db", "migrate", "worker", "mailcatcher", "solo", "web", "solo-web"}
TRACKER_SERVICES = ("migrate", "worker", "solo", "web", "solo-web")  # built from this repository

# ${NAME}, ${NAME:-default}, ${NAME-default} and $$: the interpolation the file uses
_VARIABLE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?-)(?P<default>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_]\w*)"
)


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's variable substitution, for the forms above."""

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group("name") or m.group("bare")
        got, op = env.get(name), m.group("op")
        if (op == ":-" and not got) or (op == "-" and got is None):
            return m.group("default")
        return got or ""

    return _VARIABLE.sub(one, value)


def service_environment(service: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """A service's environment as its container sees it (``env`` plays ``.env``)."""
    raw = compose()["services"][service]["environment"]
    return {name: interpolate(str(value), env or {}) for name, value in raw.items()}


# --- the files as data --------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    # the schema as check-jsonschema ships it (a test dependency): no network here
    import check_jsonschema.builtin_schemas.vendor as vendor
    import jsonschema

    spec = json.loads((Path(vendor.__file__).parent / "compose-spec.json").read_text())
    validator = jsonschema.Draft202012Validator(spec)
    assert [e.message for e in validator.iter_errors(compose())] == []
    # strict enough to catch a misspelt key or condition
    for path, value in [
        (("db", "helthcheck"), {}),
        (("worker", "depends_on", "db", "condition"), "service_ready"),
        (("worker", "restart"), ["always"]),
    ]:
        broken = compose()
        node = broken["services"]
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        assert list(validator.iter_errors(broken)), path


def test_the_lab_services_and_how_they_wait_for_each_other() -> None:
    data = compose()
    services = data["services"]
    assert set(services) == SERVICES
    assert set(data) <= {"name", "services", "volumes", "networks", "configs", "secrets"} | {
        k for k in data if k.startswith("x-")
    }
    db = services["db"]
    assert re.fullmatch(r"postgres:1[5-7]", db["image"])
    assert db["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert {"interval", "timeout", "retries"} <= set(db["healthcheck"])
    assert "ports" not in db  # reached from the compose network only
    # the migrations run once, before any worker starts
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    worker = services["worker"]
    assert worker["command"] == ["run"] and worker["restart"] == "unless-stopped"
    assert worker["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
        "mailcatcher": {"condition": "service_started"},
    }
    # `docker compose up --scale worker=3`: nothing that two containers cannot share
    assert not {"container_name", "ports", "hostname"} & set(worker)
    assert worker["healthcheck"]["test"][:2] == ["CMD", "tracker"]
    # one person, no server: only when asked for (`docker compose up -d solo`)
    solo = services["solo"]
    assert solo["profiles"] == ["solo"] and solo["command"] == ["run"]
    assert "TRACKER_DATABASE_URL" not in solo["environment"]  # SQLite in the volume
    assert "depends_on" not in solo


def test_the_web_page_runs_beside_the_workers() -> None:
    services = compose()["services"]
    for name, profile in (("web", None), ("solo-web", ["solo"])):
        web = services[name]
        assert web["command"] == ["web", "--host", "0.0.0.0", "--port", "8080"]
        assert web.get("profiles") == profile and web["restart"] == "unless-stopped"
        assert web["ports"] == ["127.0.0.1:8080:8080"]  # this machine only
        assert "/healthz" in " ".join(web["healthcheck"]["test"])
        assert service_environment(name)["TRACKER_WEB_SECRET"] == ""  # a file in the volume
        assert (
            service_environment(name, {"TRACKER_WEB_SECRET": "x" * 40})["TRACKER_WEB_SECRET"]
            == "x" * 40
        )
    # the lab's page reads the lab's database, once it is migrated
    assert (
        service_environment("web")["TRACKER_DATABASE_URL"]
        == service_environment("worker")["TRACKER_DATABASE_URL"]
    )
    assert services["web"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    assert "TRACKER_DATABASE_URL" not in services["solo-web"]["environment"]


def test_tracker_services_are_built_here_and_keep_data_in_volumes() -> None:
    data = compose()
    for name in TRACKER_SERVICES:
        service = data["services"][name]
        assert service["build"] == "." and service["image"] == "tracker:latest"
        assert "./config:/config:ro" in service["volumes"]
        env = service_environment(name)
        assert env["TRACKER_CONFIG"] == "/config/tracker.toml"
        assert env["TRACKER_DATA_DIR"].startswith("/srv/tracker/")
        assert env["TRACKER_DIGESTS_DIR"].startswith("/srv/tracker/")
        # users may add feeds: never fetch private or loopback addresses
        assert env["TRACKER_BLOCK_PRIVATE_ADDRESSES"] == "1"
    for name, service in data["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in data["volumes"], f"{name}: volume {source} is not declared"
    assert "postgres-data:/var/lib/postgresql/data" in data["services"]["db"]["volumes"]


def test_the_worker_reaches_the_database_and_the_mail_catcher_by_service_name() -> None:
    services = compose()["services"]
    db = service_environment("db", {"POSTGRES_PASSWORD": "s3cret"})
    for name in ("migrate", "worker"):
        env = service_environment(name, {"POSTGRES_PASSWORD": "s3cret"})
        url = make_url(env["TRACKER_DATABASE_URL"])
        assert url.get_backend_name() == "postgresql"
        assert (url.host, url.port) == ("db", 5432) and url.host in services
        assert (url.username, url.password, url.database) == (
            db["POSTGRES_USER"],
            db["POSTGRES_PASSWORD"],
            db["POSTGRES_DB"],
        )
    # without .env: a placeholder password, the same on both sides
    placeholder = service_environment("db")["POSTGRES_PASSWORD"]
    assert make_url(service_environment("worker")["TRACKER_DATABASE_URL"]).password == placeholder
    env = service_environment("worker")
    assert env["TRACKER_SMTP_HOST"] in services and env["TRACKER_SMTP_PORT"] == "1025"
    assert env["TRACKER_SMTP_SECURITY"] == "none"
    # a real server from .env instead
    real = service_environment("worker", {"TRACKER_SMTP_HOST": "smtp.example.org"})
    assert real["TRACKER_SMTP_HOST"] == "smtp.example.org"


def test_published_ports_are_on_this_machine_only() -> None:
    published = {name: service.get("ports", []) for name, service in compose()["services"].items()}
    assert published["mailcatcher"] == ["127.0.0.1:8025:8025"]  # the web page, not SMTP
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} to everyone"


def test_environment_names_are_the_ones_the_code_reads() -> None:
    text = COMPOSE.read_text() + DOCKERFILE.read_text()
    names = set(re.findall(r"\bTRACKER_[A-Z_]+", text))
    code = "".join(p.read_text() for p in (REPO / "tracker").rglob("*.py"))
    for name in names:
        assert f'"{name}"' in code, f"{name} is set for the container but never read"
    # every substitution is one of the forms interpolate() knows, with a default
    for match in re.finditer(r"\$\{[^}]*\}", COMPOSE.read_text()):
        assert re.fullmatch(r"\$\{[A-Z_]+:-[^}]*\}", match.group(0)), match.group(0)


def test_the_container_environment_takes_effect(tmp_path: Path) -> None:
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
    # the SMTP server from the environment (the worker's mail catcher); the rest of
    # [email] from the file
    config = write_config(tmp_path, "http://127.0.0.1:9", extra=EMAIL, readers=READERS)
    lab = load_settings(config, environ=service_environment("worker"))
    assert lab.email is not None
    assert (lab.email.host, lab.email.port, lab.email.security) == ("mailcatcher", 1025, "none")
    assert (lab.email.username, lab.email.sender) == ("tracker", SENDER)
    assert lab.fetch.block_private_addresses
    plain = load_settings(config, environ={})
    assert plain.email is not None
    assert (plain.email.host, plain.email.port, plain.email.security) == (
        "smtp.example.org",
        587,
        "starttls",
    )
    # without an [email] table the variables change nothing
    bare = load_settings(
        write_config(tmp_path, "http://127.0.0.1:9"), environ=service_environment("worker")
    )
    assert bare.email is None


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("TRACKER_SMTP_PORT", "smtp", "TRACKER_SMTP_PORT: expected a port number, got 'smtp'"),
        ("TRACKER_SMTP_PORT", "70000", "TRACKER_SMTP_PORT: expected a port number"),
        ("TRACKER_SMTP_SECURITY", "ssl", 'TRACKER_SMTP_SECURITY: expected "starttls", "tls"'),
    ],
)
def test_bad_smtp_variables_are_explained(
    tmp_path: Path, variable: str, value: str, problem: str
) -> None:
    from tracker.errors import ConfigError

    config = write_config(tmp_path, "http://127.0.0.1:9", extra=EMAIL, readers=READERS)
    with pytest.raises(ConfigError) as e:
        load_settings(config, environ={variable: value})
    assert any(problem in p for p in e.value.problems), e.value.problems


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions in order, as (INSTRUCTION, arguments), with
    continuation lines joined and comments left out."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            instructions.append((word.upper(), rest.strip()))
    return instructions


def dockerignored(path: str) -> bool:
    """Whether ``.dockerignore`` keeps ``path`` out of the build context: Docker's rules
    for the patterns the file uses (``*``, ``**``, ``!``; the last match wins; a
    pattern that matches a folder matches everything in it)."""
    rules = []
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negated = line.startswith("!")
            pattern = line.lstrip("!").strip("/")
            regex = "".join(
                ".*" if part == "**" else "[^/]*" if part == "*" else re.escape(part)
                for part in re.split(r"(\*\*|\*)", pattern)
            )
            rules.append((negated, re.compile(regex)))
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for negated, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            ignored = not negated
    return ignored


def test_dockerfile_installs_the_package_and_runs_unprivileged() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.1[1-9]", text, re.MULTILINE)
    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE)
    assert 'ENTRYPOINT ["tracker"]' in text
    # the extra the image installs is the one pyproject declares
    assert "postgresql = [" in (REPO / "pyproject.toml").read_text()


def test_dockerfile_installs_dependencies_before_the_code() -> None:
    steps = dockerfile()
    copies = [(n, args) for n, (word, args) in enumerate(steps) if word in ("COPY", "ADD")]
    runs = [(n, args) for n, (word, args) in enumerate(steps) if word == "RUN"]
    # the first copy brings pyproject.toml alone, and the dependencies are installed from it
    first_copy, first_args = copies[0]
    assert first_args.split()[:-1] == ["pyproject.toml"]
    [(deps_at, deps)] = [(n, args) for n, args in runs if "-r " in args]
    assert first_copy < deps_at
    assert "['dependencies']" in deps and "['optional-dependencies']['postgresql']" in deps
    # the code comes after that layer, and is installed without dependencies, not editable
    code_at = next(n for n, args in copies if args.split()[0] == "tracker")
    assert deps_at < code_at
    [(install_at, install)] = [(n, args) for n, args in runs if "--no-deps" in args]
    assert code_at < install_at
    assert re.search(r"pip install --no-deps \.(\s|$)", install)
    assert not re.search(r"pip install[^&]*(\s-e\s|--editable)", DOCKERFILE.read_text())


def test_no_configuration_is_built_into_the_image() -> None:
    for word, args in dockerfile():
        if word in ("COPY", "ADD"):
            sources = args.split()[:-1]
            assert not [
                s
                for s in sources
                if "config" in s or (s.endswith((".toml", ".env")) and s != "pyproject.toml")
            ], args
    env = dict(re.findall(r"(TRACKER_\w+)=(\S+)", DOCKERFILE.read_text()))
    assert env["TRACKER_CONFIG"] == "/config/tracker.toml"  # mounted by the compose file
    for name in TRACKER_SERVICES:
        assert "./config:/config:ro" in compose()["services"][name]["volumes"]


def test_the_build_context_holds_only_what_the_image_needs() -> None:
    for path in (
        ".venv/lib/python3.11/site-packages/httpx/__init__.py",
        "data/tracker.db",
        "digests/ada/2024-11-28.md",
        ".git/HEAD",
        ".env",
        "tracker.toml",
        "config/tracker.toml",
        ".mypy_cache/3.11/tracker/models.data.json",
        ".pytest_cache/v/cache/lastfailed",
        ".ruff_cache/CACHEDIR.TAG",
        "tracker/__pycache__/models.cpython-311.pyc",
        "tests/test_deploy.py",
        "bench/results/search-small.txt",
    ):
        assert dockerignored(path), path
    for path in (
        "pyproject.toml",
        "README.md",
        "tracker/cli/base.py",
        "tracker/fields/fields.toml",
    ):
        assert not dockerignored(path), path
    # everything the Dockerfile copies is in the context
    for word, args in dockerfile():
        if word in ("COPY", "ADD"):
            for source in args.split()[:-1]:
                assert not dockerignored(source.rstrip("/")), source


def test_secrets_and_own_settings_are_not_committed() -> None:
    ignored = set((REPO / ".gitignore").read_text().splitlines())
    # the compose file's database password and a user's config, wherever the README puts it
    assert {".env", "/tracker.toml", "/config/tracker.toml"} <= ignored


def test_images_from_elsewhere_are_pinned() -> None:
    for name, service in compose()["services"].items():
        if "build" in service:
            continue
        image, _, tag = service["image"].rpartition(":")
        assert image and tag and tag != "latest", f"{name}: {service['image']}"
    # the mail catcher to the release: a new one is taken on purpose, not by a pull
    assert re.fullmatch(
        r"axllent/mailpit:v\d+\.\d+\.\d+", compose()["services"]["mailcatcher"]["image"]
    )


# --- the same services, natively -------------------------------------------------------------

SENDER = "tracker <tracker@lab.example.org>"
READERS = """
[[readers]]
name = "ada"
timezone = "UTC"
digest_time = "00:00"
email = "ada@example.org"
channels = ["markdown", "email"]

[readers.follows]
categories = ["cs.AR"]
"""
# the host here is the one a lab writes; the worker's TRACKER_SMTP_HOST replaces it
EMAIL = f"""
[email]
host = "smtp.example.org"
username = "tracker"
from = "{SENDER}"
timeout = 10
"""
SCALE = 2  # docker compose up --scale worker=2


def _native_environment(
    service: str, mounts: Mapping[str, Path], db_url: str, smtp_port: int
) -> dict[str, str]:
    """The service's compose environment with the compose network's hosts and the
    container's mount points moved onto this machine."""
    env = service_environment(service)
    scratch = make_url(db_url)
    url = make_url(env["TRACKER_DATABASE_URL"])
    assert url.host == "db"
    env["TRACKER_DATABASE_URL"] = url.set(
        host=scratch.host, port=scratch.port, database=scratch.database
    ).render_as_string(hide_password=False)
    if "TRACKER_SMTP_HOST" in env:
        assert (env["TRACKER_SMTP_HOST"], env["TRACKER_SMTP_PORT"]) == ("mailcatcher", "1025")
        env.update(TRACKER_SMTP_HOST="127.0.0.1", TRACKER_SMTP_PORT=str(smtp_port))
    for name, value in env.items():
        for target, folder in mounts.items():
            if value == target or value.startswith(target + "/"):
                env[name] = str(folder) + value[len(target) :]
    # The compose file blocks private addresses, and every server here is on 127.0.0.1
    # (the fixture server plays arXiv): the one setting this test must turn off.
    env["TRACKER_BLOCK_PRIVATE_ADDRESSES"] = "0"
    # Mailpit accepts any login; this server wants the password (.env would give it)
    if "TRACKER_SMTP_PASSWORD" in env:
        env["TRACKER_SMTP_PASSWORD"] = env["TRACKER_SMTP_PASSWORD"] or "anything"
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    return {**base, **env, "PYTHONUNBUFFERED": "1"}


def _tracker(command: list[str], env: Mapping[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tracker.cli", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(env),
    )


def _wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def mailcatcher() -> Iterator[SmtpServer]:
    server = SmtpServer(login=("tracker", "anything")).start()
    yield server
    server.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_lab_runs_natively_with_the_compose_environment(
    server: FixtureServer, mailcatcher: SmtpServer, tmp_path: Path
) -> None:
    services = compose()["services"]
    mounts: dict[str, Path] = {}
    for volume in services["worker"]["volumes"]:
        source, target = volume.split(":")[:2]
        mounts[target] = tmp_path / source.strip("./")  # ./config and tracker-data
    mounts["/config"].mkdir()
    write_config(mounts["/config"], server.url, readers=READERS, extra=EMAIL)

    with pg.scratch_database() as db_url:
        # db is healthy: migrate runs its command once, then the workers start
        migrate = _tracker(
            services["migrate"]["command"],
            _native_environment("migrate", mounts, db_url, mailcatcher.port),
        )
        output, _ = migrate.communicate(timeout=120)
        assert migrate.returncode == 0, output
        assert "database created at revision" in output

        env = _native_environment("worker", mounts, db_url, mailcatcher.port)
        workers = [_tracker(services["worker"]["command"], env) for _ in range(SCALE)]
        outputs: list[str] = []
        try:
            arrived = _wait_for(lambda: bool(mailcatcher.box.messages), timeout=120)
            time.sleep(3)  # long enough for a second digest, were there one
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
            for w in workers:
                out, _ = w.communicate(timeout=60)
                outputs.append(out)
        assert arrived, "no digest e-mail arrived:\n" + "\n---\n".join(outputs)
        for w, out in zip(workers, outputs, strict=True):
            assert w.returncode == 0, out
            assert "Traceback" not in out

        # one digest, e-mailed once, by whichever worker led
        [message] = mailcatcher.box.messages
        assert message["To"] == "ada <ada@example.org>" and message["From"] == SENDER
        assert message["Subject"].startswith("Digest for ada, ")
        [markdown] = list((mounts["/srv/tracker"] / "digests" / "ada").glob("*.md"))
        assert "cs.AR" in markdown.read_text()
        # the items are in PostgreSQL, with the delivery recorded
        st = open_storage(db_url, migrate=False)
        try:
            assert st.dialect == "postgresql" and st.count_items() > 0
            with st.engine.connect() as conn:
                states = {
                    (r.channel, r.state)
                    for r in conn.execute(schema.deliveries.select()).mappings()
                }
            assert states == {("markdown", "sent"), ("email", "sent")}
        finally:
            st.close()

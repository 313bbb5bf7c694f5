"""Reading a config file into settings: ``load_settings`` and ``settings_from_dict``.

The file is validated table by table with the models of ``tables`` and
``reader_tables`` (so a bad table never hides another's problems), after the
environment's overrides are put in; then what needs more than one table, or the disk,
is checked here: unique reader names, an [email] table for e-mail readers, web admins
that are readers, a claim lease longer than a fetch, files that exist. Every problem
is collected before anything is built: a bad file never yields settings.

This module reads the config and field-mapping files and looks for the files they
name; pydantic is imported on the first load, not by importing the package.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.config.problems import Problems, did_you_mean, environ_flag
from tracker.config.settings import Settings
from tracker.config.web import exposure_problem, is_loopback
from tracker.errors import ConfigError
from tracker.fields.mapping import FieldMap

if TYPE_CHECKING:
    from tracker.config.delivery_tables import EmailTable, WebTable
    from tracker.config.reader_tables import ReaderTable
    from tracker.config.tables import FetchTable, FieldsTable, ScheduleTable


def load_settings(path: Path | str, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate a config file; raises ConfigError listing every problem."""
    path = Path(path)
    environ = os.environ if environ is None else environ
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError as e:
        raise ConfigError([f"{path}: file not found"]) from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"{path}: not valid TOML: {e}"]) from e
    except OSError as e:
        raise ConfigError([f"{path}: cannot read: {e.strerror}"]) from e
    return settings_from_dict(data, origin=str(path), base_dir=path.parent, environ=environ)


def settings_from_dict(
    data: Mapping[str, Any],
    *,
    origin: str,
    base_dir: Path,
    environ: Mapping[str, str],
) -> Settings:
    """Settings from a parsed file; raises ConfigError listing every problem."""
    from tracker.config import delivery_tables as d
    from tracker.config import tables as t
    from tracker.config.schema import ConfigFile

    found = Problems(origin)
    for key in data:
        if key not in ConfigFile.model_fields:
            found.add(key, f"unknown key{did_you_mean(key, sorted(ConfigFile.model_fields))}")
    data = _with_environment(data, environ, found)

    top = found.validate(t.TrackerTable, data.get("tracker", {}), ("tracker",))
    given = data.get("tracker", {})
    configured = given.get("fields_file") if isinstance(given, dict) else None
    fields_file, field_map = _load_field_map(
        found, configured if isinstance(configured, str) else "", base_dir
    )
    context = {"field_map": field_map}
    arxiv = found.validate(t.ArxivTable, data.get("arxiv", {}), ("arxiv",))
    fetch = found.validate(t.FetchTable, data.get("fetch", {}), ("fetch",))
    schedule = found.validate(t.ScheduleTable, data.get("schedule", {}), ("schedule",))
    digest = found.validate(d.DigestTable, data.get("digest", {}), ("digest",), context)
    fields = found.validate(t.FieldsTable, data.get("fields", {}), ("fields",))
    openalex = found.validate(t.OpenAlexTable, data.get("openalex", {}), ("openalex",))
    web = found.validate(d.WebTable, data.get("web", {}), ("web",))
    published = found.validate(t.PublishedTable, data.get("published", {}), ("published",))
    email = found.validate(d.EmailTable, data["email"], ("email",)) if "email" in data else None
    readers, names = _readers(found, data.get("readers"), context)

    _check_lease(found, fetch, schedule)
    _check_files(found, base_dir, fields, email)
    wanted = [r.name for r in readers if r is not None and "email" in r.channels]
    if wanted and "email" not in data:
        found.add("email", f"readers {wanted} get e-mail, but there is no [email] table")
    _check_web(found, web, names, exposed="web" in data)
    if found.lines:
        raise ConfigError(found.lines)

    # every table validated: none is None below
    assert top and arxiv and fetch and schedule and digest and fields and openalex and web
    assert published
    assert field_map is not None and all(readers)
    data_dir = Path(environ.get("TRACKER_DATA_DIR") or base_dir / top.data_dir)
    digests_dir = environ.get("TRACKER_DIGESTS_DIR")
    contact = arxiv.contact_email
    return Settings(
        path=Path(origin),
        data_dir=data_dir,
        database_url=environ.get("TRACKER_DATABASE_URL")
        or top.database_url
        or f"sqlite:///{data_dir / 'tracker.db'}",
        arxiv=arxiv.settings(contact),
        field_map=field_map,
        fields_file=fields_file,
        readers=tuple(
            r.settings(Path(digests_dir) if digests_dir else base_dir / r.output_dir, field_map)
            for r in readers
            if r is not None
        ),
        fetch=fetch.settings(environ_flag(environ, "TRACKER_BLOCK_PRIVATE_ADDRESSES")),
        schedule=schedule.settings(),
        digest=digest.settings(),
        log_level=top.log_level,
        email=email.settings(base_dir) if email else None,
        openalex=openalex.settings(contact),
        fields=fields.settings(base_dir),
        web=web.settings(),
        published=published.settings(),
    )


def _with_environment(
    data: Mapping[str, Any], environ: Mapping[str, str], found: Problems
) -> dict[str, Any]:
    """The file's tables with the environment's overrides in them. A variable replaces
    its key (the file's value is then not used, nor checked); a bad value is a
    problem named by the variable, except the contact address, which is checked as
    ``arxiv.contact_email`` whichever gave it."""
    from tracker.config.delivery_tables import SECURITY, security_wording
    from tracker.config.tables import database_url_problem

    data = dict(data)

    def put(table: str, key: str, value: object) -> None:
        current = data.get(table, {})
        if isinstance(current, dict):
            data[table] = {**current, key: value}

    def drop(table: str, key: str) -> None:
        current = data.get(table)
        if isinstance(current, dict):
            data[table] = {k: v for k, v in current.items() if k != key}

    if environ.get("TRACKER_ARXIV_CONTACT"):
        put("arxiv", "contact_email", environ["TRACKER_ARXIV_CONTACT"])
    if url := environ.get("TRACKER_DATABASE_URL"):
        drop("tracker", "database_url")
        if why := database_url_problem(url):
            found.add("TRACKER_DATABASE_URL", why)
    # TRACKER_SMTP_HOST, _PORT, _SECURITY and _USERNAME choose the server without
    # editing the file (docker-compose points them at its mail catcher); without an
    # [email] table they change nothing
    if "email" not in data:
        return data
    for variable, key in (("TRACKER_SMTP_HOST", "host"), ("TRACKER_SMTP_USERNAME", "username")):
        if environ.get(variable):
            put("email", key, environ[variable])
    if security := environ.get("TRACKER_SMTP_SECURITY"):
        drop("email", "security")
        if security in SECURITY:
            put("email", "security", security)
        else:
            found.add("TRACKER_SMTP_SECURITY", security_wording(security))
    if port := environ.get("TRACKER_SMTP_PORT"):
        drop("email", "port")
        if port.strip().isdigit() and 0 < int(port) < 65536:
            put("email", "port", int(port))
        else:
            found.add("TRACKER_SMTP_PORT", f"expected a port number, got {port!r}")
    return data


def _readers(
    found: Problems, raw: object, context: dict[str, Any]
) -> tuple[list[ReaderTable | None], list[str]]:
    """Each [[readers]] table (see ``Problems.validate``) and the names given."""
    from tracker.config.reader_tables import READER_NAME, ReaderTable

    if not isinstance(raw, list) or not raw:
        found.add("readers", "expected at least one [[readers]] table")
        return [], []
    readers: list[ReaderTable | None] = []
    names: list[str] = []
    for i, given in enumerate(raw):
        readers.append(found.validate(ReaderTable, given, ("readers", i), context))
        name = given.get("name") if isinstance(given, dict) else None
        if isinstance(name, str) and READER_NAME.match(name.strip()):
            if name.strip() in names:
                found.add(f"readers[{i}].name", f"reader {name.strip()!r} is configured twice")
            names.append(name.strip())
    return readers, names


def _check_lease(found: Problems, fetch: FetchTable | None, schedule: ScheduleTable | None) -> None:
    # a claim must outlast one fetch, or a slow fetch's source goes to a second worker
    if fetch is None or schedule is None:
        return
    lease = schedule.claim_lease_minutes * 60
    if lease <= fetch.deadline:
        found.add(
            "schedule.claim_lease_minutes",
            f"must be longer than one fetch's deadline ([fetch] deadline = {fetch.deadline:g} s), "
            f"got {lease:g} s",
        )


def _check_files(
    found: Problems, base_dir: Path, fields: FieldsTable | None, email: EmailTable | None
) -> None:
    if fields is not None and fields.training_data:
        training_data = base_dir / fields.training_data
        if not training_data.exists():
            found.add(
                "fields.training_data",
                f"{training_data} does not exist (a JSONL file or a folder of arXiv metadata)",
            )
    if email is not None and email.ca_file and not (base_dir / email.ca_file).is_file():
        found.add("email.ca_file", f"no such file {base_dir / email.ca_file}")


def _check_web(found: Problems, web: WebTable | None, names: list[str], exposed: bool) -> None:
    if web is None:
        return
    for admin in web.admins:
        if admin not in names:
            found.add("web.admins", f"unknown reader {admin!r}{did_you_mean(admin, names)}")
    # without authentication the page may only listen on loopback, for one reader
    problem = exposure_problem(web.settings(), web.host, len(names))
    if problem and exposed:
        found.add("web.auth" if is_loopback(web.host) else "web.host", problem)


def default_fields_file() -> Traversable:
    """The field mapping shipped in the package (``tracker/fields/fields.toml``)."""
    return files("tracker.fields").joinpath("fields.toml")


def _load_field_map(
    found: Problems, configured: str, base_dir: Path
) -> tuple[Path, FieldMap | None]:
    # a file you name, else your own fields.toml beside the config, else the built-in one
    candidates: list[Traversable] = (
        [base_dir / configured] if configured else [base_dir / "fields.toml", default_fields_file()]
    )
    for candidate in candidates:
        if candidate.is_file():
            where = Path(str(candidate))
            try:
                with candidate.open("rb") as f:
                    return where, FieldMap.from_dict(tomllib.load(f), str(where))
            except tomllib.TOMLDecodeError as e:
                found.add("tracker.fields_file", f"{where} is not valid TOML: {e}")
            except ConfigError as e:
                found.lines.extend(e.problems)
            return where, None
    found.add(
        "tracker.fields_file",
        f"field mapping not found (looked for {', '.join(str(p) for p in candidates)}); "
        "set this key to your copy, or remove it to use the built-in mapping",
    )
    return Path(str(candidates[0])), None

"""Reading a config file into settings: ``load_settings`` and the tables that
decide the rest (schedule, fields)."""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tracker.config.checker import (
    _Checker,
    _did_you_mean,
    _url,
)
from tracker.config.readers import (
    _email,
    _readers,
)
from tracker.config.settings import (
    WEEKDAYS,
    DigestSettings,
    FetchSettings,
    FieldsSettings,
    OpenAlexSettings,
    ScheduleSettings,
    Settings,
)
from tracker.config.sources import (
    _arxiv,
    _fetch,
)
from tracker.config.web import _web
from tracker.errors import ConfigError
from tracker.fields.mapping import FieldMap


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
    c = _Checker(origin)
    c.unknown_keys(
        data,
        "",
        {
            "tracker",
            "arxiv",
            "fetch",
            "schedule",
            "digest",
            "readers",
            "email",
            "openalex",
            "fields",
            "web",
        },
    )
    top = c.table(data, "tracker", {"data_dir", "database_url", "log_level", "fields_file"})
    data_dir = Path(
        environ.get("TRACKER_DATA_DIR") or base_dir / c.get(top, "tracker", "data_dir", str, "data")
    )
    database_url = environ.get("TRACKER_DATABASE_URL") or c.get(
        top, "tracker", "database_url", str, ""
    )
    if not database_url:
        database_url = f"sqlite:///{data_dir / 'tracker.db'}"
    else:
        from_env = bool(environ.get("TRACKER_DATABASE_URL"))
        where = "TRACKER_DATABASE_URL" if from_env else "tracker.database_url"
        _check_database_url(c, where, database_url)
    log_level = c.get(top, "tracker", "log_level", str, "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        c.problem("tracker.log_level", "expected one of DEBUG, INFO, WARNING, ERROR")
    fields_file, field_map = _load_field_map(c, top, base_dir)

    arxiv = _arxiv(c, data, environ)
    fetch = _fetch(c, data, environ)
    schedule = _schedule(c, data, fetch)
    dig = c.table(
        data,
        "digest",
        {
            "abstract_sentences",
            "abstract_max_chars",
            "cross_domain_items",
            "cross_domain_fields",
            "top_picks",
            "section_items",
            "cross_domain_more",
            "discover",
            "rising_phrases",
            "rising_weeks",
            "rising_day",
        },
    )
    rising_day = c.get(dig, "digest", "rising_day", str, "mon")
    if rising_day[:3].lower() not in WEEKDAYS:
        c.problem("digest.rising_day", f'expected a weekday such as "mon", got {rising_day!r}')
        rising_day = "mon"
    digest = DigestSettings(
        abstract_sentences=c.positive(dig, "digest", "abstract_sentences", int, 2),
        abstract_max_chars=c.positive(dig, "digest", "abstract_max_chars", int, 400),
        cross_domain_items=_at_least_zero(c, dig, "digest", "cross_domain_items", 5),
        cross_domain_fields=_neighbours(c, dig, field_map),
        top_picks=_at_least_zero(c, dig, "digest", "top_picks", 10),
        section_items=c.positive(dig, "digest", "section_items", int, 20),
        cross_domain_more=_at_least_zero(c, dig, "digest", "cross_domain_more", 10),
        discover=c.get(dig, "digest", "discover", bool, True),
        rising_phrases=c.positive(dig, "digest", "rising_phrases", int, 8),
        rising_weeks=c.positive(dig, "digest", "rising_weeks", int, 8),
        rising_day=WEEKDAYS.index(rising_day[:3].lower()),
    )
    fields_settings = _fields(c, data, base_dir)
    digests_dir = environ.get("TRACKER_DIGESTS_DIR")
    readers = _readers(c, data, base_dir, field_map, Path(digests_dir) if digests_dir else None)
    email = _email(c, data, base_dir, readers, environ)
    oa = c.table(data, "openalex", {"url", "mailto", "batch", "min_interval", "lookback_days"})
    openalex = OpenAlexSettings(
        url=_url(c, "openalex.url", c.get(oa, "openalex", "url", str, "https://api.openalex.org")),
        mailto=c.get(oa, "openalex", "mailto", str, "") or arxiv.contact_email,
        batch=min(100, c.positive(oa, "openalex", "batch", int, 50)),
        min_interval=c.get(oa, "openalex", "min_interval", float, 0.2),
        lookback_days=c.positive(oa, "openalex", "lookback_days", int, 30),
    )
    web = _web(c, data, readers)
    if c.problems:
        raise ConfigError(c.problems)
    assert field_map is not None  # problems were recorded otherwise
    return Settings(
        path=Path(origin),
        data_dir=data_dir,
        database_url=database_url,
        arxiv=arxiv,
        field_map=field_map,
        fields_file=fields_file,
        readers=tuple(readers),
        fetch=fetch,
        schedule=schedule,
        digest=digest,
        log_level=log_level,
        email=email,
        openalex=openalex,
        fields=fields_settings,
        web=web,
    )


def _check_database_url(c: _Checker, where: str, url: str) -> None:
    """A database URL's form; the URL itself is never repeated (it may hold a password)."""
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", url):
        c.problem(where, "expected a sqlite:/// or postgresql:// URL")
        return
    try:
        urlsplit(url).port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        c.problem(where, "not a database URL: its port is not a number from 1 to 65535")


def _schedule(c: _Checker, data: Mapping[str, Any], fetch: FetchSettings) -> ScheduleSettings:
    sched = c.table(
        data, "schedule", {"fetch_every_minutes", "claim_lease_minutes", "leader_retry_seconds"}
    )
    lease = dt.timedelta(minutes=c.positive(sched, "schedule", "claim_lease_minutes", float, 5.0))
    if lease.total_seconds() <= fetch.deadline:
        # a claim must outlast one fetch, or a slow fetch's source goes to a second worker
        c.problem(
            "schedule.claim_lease_minutes",
            f"must be longer than one fetch's deadline ([fetch] deadline = {fetch.deadline:g} s), "
            f"got {lease.total_seconds():g} s",
        )
    return ScheduleSettings(
        fetch_every=dt.timedelta(
            minutes=c.positive(sched, "schedule", "fetch_every_minutes", float, 15.0)
        ),
        claim_lease=lease,
        leader_retry=dt.timedelta(
            seconds=c.positive(sched, "schedule", "leader_retry_seconds", float, 30.0)
        ),
    )


def _at_least_zero(
    c: _Checker, table: Mapping[str, Any], where: str, key: str, default: int
) -> int:
    value = c.get(table, where, key, int, default)
    if value < 0:
        c.problem(f"{where}.{key}", f"expected 0 or more, got {value}")
        return default
    return value


def _neighbours(
    c: _Checker, table: Mapping[str, Any], field_map: FieldMap | None
) -> tuple[str, ...]:
    names = c.str_list(table, "digest", "cross_domain_fields")
    if field_map is not None:
        known = [*field_map.fields, *dict.fromkeys(field_map.group_of(f) for f in field_map.fields)]
        for name in names:
            if name not in known:
                hint = _did_you_mean(name, known)
                c.problem("digest.cross_domain_fields", f"unknown field or group {name!r}{hint}")
    return tuple(names)


def _fields(c: _Checker, data: Mapping[str, Any], base_dir: Path) -> FieldsSettings:
    t = c.table(
        data,
        "fields",
        {
            "training_data",
            "min_papers",
            "retrain_days",
            "max_examples",
            "stored_weight",
            "stored_priors",
        },
    )
    given = c.get(t, "fields", "training_data", str, "")
    training_data = base_dir / given if given else None
    if training_data is not None and not training_data.exists():
        c.problem(
            "fields.training_data",
            f"{training_data} does not exist (a JSONL file or a folder of arXiv metadata)",
        )
    stored_weight = c.get(t, "fields", "stored_weight", float, 1.0)
    if not 1.0 <= stored_weight <= 100.0:
        c.problem(
            "fields.stored_weight",
            f"expected a number from 1 (a stored paper counts like a cold-start one) to 100, "
            f"got {stored_weight}",
        )
        stored_weight = 1.0
    stored_priors = c.get(t, "fields", "stored_priors", float, 0.0)
    if not 0.0 <= stored_priors <= 1.0:
        c.problem(
            "fields.stored_priors",
            f"expected a share from 0 (no priors from stored papers) to 1, got {stored_priors}",
        )
        stored_priors = 0.0
    return FieldsSettings(
        training_data=training_data,
        min_papers=c.positive(t, "fields", "min_papers", int, 1000),
        retrain_every=dt.timedelta(days=c.positive(t, "fields", "retrain_days", float, 7.0)),
        max_examples=c.positive(t, "fields", "max_examples", int, 100_000),
        stored_weight=stored_weight,
        stored_priors=stored_priors,
    )


def default_fields_file() -> Traversable:
    """The field mapping shipped in the package (``tracker/fields/fields.toml``)."""
    return files("tracker.fields").joinpath("fields.toml")


def _load_field_map(
    c: _Checker, top: Mapping[str, Any], base_dir: Path
) -> tuple[Path, FieldMap | None]:
    configured = c.get(top, "tracker", "fields_file", str, "")
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
                c.problem("tracker.fields_file", f"{where} is not valid TOML: {e}")
            except ConfigError as e:
                c.problems.extend(e.problems)
            return where, None
    c.problem(
        "tracker.fields_file",
        f"field mapping not found (looked for {', '.join(str(p) for p in candidates)}); "
        "set this key to your copy, or remove it to use the built-in mapping",
    )
    return Path(str(candidates[0])), None

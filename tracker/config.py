"""Configuration: one TOML file, read once, validated into frozen settings.

``load_settings(path)`` reports every mistake at once, each with the file, the key
and what was expected, as a ``ConfigError``; a bad file never yields settings. Paths
in the file are relative to the file's folder. Environment variables override some
settings: ``TRACKER_DATABASE_URL``, ``TRACKER_ARXIV_CONTACT``, ``TRACKER_DATA_DIR``,
``TRACKER_DIGESTS_DIR`` (every reader's digest folder, as in a container) and the SMTP
server's ``TRACKER_SMTP_HOST``, ``_PORT``, ``_SECURITY`` and ``_USERNAME``; secrets are
only ever read from the environment.

This module reads the config and field-mapping files; it does no other I/O.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tracker import query
from tracker.errors import ConfigError
from tracker.fields import FieldMap
from tracker.ids import canonical_url
from tracker.names import split_name

ARXIV_MIN_INTERVAL = 3.0  # arXiv's terms of use: one request every three seconds
ALL_DAYS = frozenset(range(7))
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CHANNELS = ("markdown", "email")
ARXIV_HOSTS = ("arxiv.org",)
DEFAULT_API_URL = "https://export.arxiv.org/api/query"
DEFAULT_LISTING_URL = "https://rss.arxiv.org/rss/"
DEFAULT_OAI_URL = "https://export.arxiv.org/oai2"
_READER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class ArxivSettings:
    contact_email: str
    api_url: str = DEFAULT_API_URL
    listing_url: str = DEFAULT_LISTING_URL
    oai_url: str = DEFAULT_OAI_URL
    min_interval: float = ARXIV_MIN_INTERVAL
    page_size: int = 200
    max_pages: int = 5
    lookback_days: int = 7
    max_query_chars: int = 1000
    listing_batch: int = 25
    id_batch: int = 100
    author_url: str = "https://arxiv.org/a/"  # scholars' author feeds: <author_url><id>.atom
    author_feed_days: float = 7.0  # how often one author feed is read
    author_feeds_per_cycle: int = 5  # at most this many author feeds in one cycle

    @property
    def user_agent(self) -> str:
        from tracker import __version__

        return f"tracker/{__version__} (self-hosted paper tracker; mailto:{self.contact_email})"

    @property
    def origins(self) -> frozenset[tuple[str, int]]:
        """(host, port) of the configured endpoints: their traffic is arXiv's."""
        return frozenset(
            origin(u) for u in (self.api_url, self.listing_url, self.oai_url, self.author_url)
        )

    @property
    def hosts(self) -> frozenset[str]:
        """Host names of the configured endpoints."""
        urls = (self.api_url, self.listing_url, self.oai_url, self.author_url)
        hosts = {urlsplit(u).hostname or "" for u in urls}
        return frozenset(h for h in hosts if h)


@dataclass(frozen=True)
class OpenAlexSettings:
    """OpenAlex (https://docs.openalex.org): works of scholars by id or ORCID."""

    url: str = "https://api.openalex.org"
    mailto: str = ""  # the polite pool; default: the arXiv contact address
    batch: int = 50  # author ids OR-ed into one request
    min_interval: float = 0.2  # seconds between requests (their limit is 10 per second)
    lookback_days: int = 30


@dataclass(frozen=True)
class FetchSettings:
    timeout: float = 20.0  # connect and read timeouts, seconds
    deadline: float = 60.0  # whole transfer, seconds
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    feed_interval: dt.timedelta = dt.timedelta(hours=1)
    max_backoff: dt.timedelta = dt.timedelta(hours=24)
    concurrency: int = 4
    use_env_proxy: bool = True  # honour HTTP(S)_PROXY / NO_PROXY from the environment
    block_private_addresses: bool = False  # refuse feeds on private/loopback addresses
    failing_after: int = 3  # consecutive errors before a source is reported as failing


@dataclass(frozen=True)
class ScheduleSettings:
    fetch_every: dt.timedelta = dt.timedelta(minutes=15)
    # how long a worker's claim on the sources it fetches lasts unless renewed (a killed
    # worker's sources go to another worker after it); longer than any one fetch
    claim_lease: dt.timedelta = dt.timedelta(minutes=5)
    leader_retry: dt.timedelta = dt.timedelta(seconds=30)  # standby workers try to lead


@dataclass(frozen=True)
class FeedFollow:
    url: str
    title: str | None = None


@dataclass(frozen=True)
class ScholarFollow:
    """A scholar: a name, and any stable ids and own feeds the user knows of."""

    name: str
    arxiv: tuple[str, ...] = ()  # arXiv author ids ("dao_t_1")
    orcid: tuple[str, ...] = ()
    openalex: tuple[str, ...] = ()  # OpenAlex author ids ("A5023888391")
    feeds: tuple[str, ...] = ()  # their blog, their lab's feed
    variants: tuple[str, ...] = ()  # other spellings of the name
    coauthors: tuple[str, ...] = ()  # people they publish with (evidence for name matches)
    categories: tuple[str, ...] = ()  # their usual arXiv categories

    @property
    def has_ids(self) -> bool:
        return bool(self.arxiv or self.orcid or self.openalex)


@dataclass(frozen=True)
class Follows:
    categories: tuple[str, ...] = ()
    queries: tuple[str, ...] = ()  # normalised arXiv expressions
    scholars: tuple[ScholarFollow, ...] = ()
    feeds: tuple[FeedFollow, ...] = ()


@dataclass(frozen=True)
class ReaderSettings:
    name: str
    timezone: str
    digest_time: dt.time
    output_dir: Path
    follows: Follows = field(default_factory=Follows)
    fields: tuple[str, ...] = ()  # the reader's own fields; empty: from followed categories
    email: str | None = None
    channels: tuple[str, ...] = ("markdown",)  # "markdown" and/or "email"
    days: frozenset[int] = ALL_DAYS  # local weekdays with a digest (Monday is 0)
    arxiv_days: bool = False  # only days after arXiv published a new listing
    when_empty: str = "note"  # on a day with nothing new: "note" or "skip"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


@dataclass(frozen=True)
class EmailSettings:
    """SMTP delivery. The password is never in the file: it is read from the
    environment variable named by ``password_env`` when a message is sent."""

    host: str
    sender: str  # the From: address, e.g. "tracker <tracker@example.org>"
    port: int = 587
    security: str = "starttls"  # "starttls", "tls" (implicit, port 465) or "none"
    username: str | None = None
    password_env: str = "TRACKER_SMTP_PASSWORD"
    timeout: float = 30.0
    ca_file: Path | None = None  # extra CA certificates to trust (a private mail server)
    unsubscribe: str | None = None  # mailto: or https: for the List-Unsubscribe header
    retry_minutes: float = 5.0  # first wait after a failed send; doubles up to retry_max_hours
    retry_max_hours: float = 6.0


@dataclass(frozen=True)
class DigestSettings:
    abstract_sentences: int = 2
    abstract_max_chars: int = 400
    first_lookback: dt.timedelta = dt.timedelta(days=1)
    cross_domain_items: int = 5  # full cross-domain entries; the rest are listed compactly
    cross_domain_fields: tuple[str, ...] = ()  # fields or groups counted as neighbouring


@dataclass(frozen=True)
class FieldsSettings:
    """The field classifier: what it is trained on and how often."""

    training_data: Path | None = None  # arXiv metadata JSONL, a file or a folder
    min_papers: int = 1000  # database papers needed to train on the database alone
    retrain_every: dt.timedelta = dt.timedelta(days=7)
    max_examples: int = 100_000  # newest database papers used in one training


@dataclass(frozen=True)
class Settings:
    path: Path | None
    data_dir: Path
    database_url: str
    arxiv: ArxivSettings
    field_map: FieldMap
    fields_file: Path
    readers: tuple[ReaderSettings, ...]
    fetch: FetchSettings = field(default_factory=FetchSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    log_level: str = "INFO"
    email: EmailSettings | None = None
    openalex: OpenAlexSettings = field(default_factory=OpenAlexSettings)
    fields: FieldsSettings = field(default_factory=FieldsSettings)

    def reader(self, name: str | None) -> ReaderSettings:
        from tracker.errors import UsageError

        if name is None:
            if len(self.readers) == 1:
                return self.readers[0]
            names = ", ".join(r.name for r in self.readers)
            raise UsageError(f"several readers are configured ({names}); choose one with --reader")
        for r in self.readers:
            if r.name == name:
                return r
        names = ", ".join(r.name for r in self.readers) or "none"
        raise UsageError(f"unknown reader {name!r} (configured: {names})")


T = TypeVar("T")


class _Checker:
    """Reads typed values out of nested tables, collecting every problem."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.origin}: {key}: {message}")

    def table(self, data: Mapping[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
        value = data.get(key.rsplit(".", 1)[-1], {})
        if not isinstance(value, dict):
            self.problem(key, f"expected a table, got {_kind(value)}")
            return {}
        self.unknown_keys(value, key, allowed)
        return value

    def unknown_keys(self, table: Mapping[str, Any], where: str, allowed: set[str]) -> None:
        for k in table:
            if k not in allowed:
                hint = _did_you_mean(k, sorted(allowed))
                self.problem(f"{where}.{k}" if where else k, f"unknown key{hint}")

    def get(self, table: Mapping[str, Any], where: str, key: str, kind: type[T], default: T) -> T:
        if key not in table:
            return default
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problem(f"{where}.{key}", f"expected {kind.__name__}, got {_kind(value)}")
            return default
        return value

    def positive(
        self, table: Mapping[str, Any], where: str, key: str, kind: type[T], default: T
    ) -> T:
        value = self.get(table, where, key, kind, default)
        if isinstance(value, int | float) and value <= 0:
            self.problem(f"{where}.{key}", f"expected a positive number, got {value}")
            return default
        return value

    def str_list(self, table: Mapping[str, Any], where: str, key: str) -> list[str]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(f"{where}.{key}", f"expected a list of strings, got {_kind(value)}")
            return []
        return [v.strip() for v in value]


def origin(url: str) -> tuple[str, int]:
    """(host, port) of a URL, the port filled in from the scheme."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return (parts.hostname or "").lower(), port or (443 if parts.scheme == "https" else 80)


def _did_you_mean(value: str, options: list[str] | tuple[str, ...]) -> str:
    """ " (did you mean 'X'?)" for the closest option, ignoring case first."""
    by_case = [o for o in options if o.lower() == value.lower()]
    close = by_case or difflib.get_close_matches(value, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _kind(value: object) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


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
    elif not re.match(r"^(sqlite|postgresql)(\+\w+)?://", database_url):
        c.problem("tracker.database_url", "expected a sqlite:/// or postgresql:// URL")
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
        {"abstract_sentences", "abstract_max_chars", "cross_domain_items", "cross_domain_fields"},
    )
    digest = DigestSettings(
        abstract_sentences=c.positive(dig, "digest", "abstract_sentences", int, 2),
        abstract_max_chars=c.positive(dig, "digest", "abstract_max_chars", int, 400),
        cross_domain_items=_at_least_zero(c, dig, "digest", "cross_domain_items", 5),
        cross_domain_fields=_neighbours(c, dig, field_map),
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
    )


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
    t = c.table(data, "fields", {"training_data", "min_papers", "retrain_days", "max_examples"})
    given = c.get(t, "fields", "training_data", str, "")
    training_data = base_dir / given if given else None
    if training_data is not None and not training_data.exists():
        c.problem(
            "fields.training_data",
            f"{training_data} does not exist (a JSONL file or a folder of arXiv metadata)",
        )
    return FieldsSettings(
        training_data=training_data,
        min_papers=c.positive(t, "fields", "min_papers", int, 1000),
        retrain_every=dt.timedelta(days=c.positive(t, "fields", "retrain_days", float, 7.0)),
        max_examples=c.positive(t, "fields", "max_examples", int, 100_000),
    )


def _load_field_map(
    c: _Checker, top: Mapping[str, Any], base_dir: Path
) -> tuple[Path, FieldMap | None]:
    configured = c.get(top, "tracker", "fields_file", str, "")
    candidates = (
        [base_dir / configured]
        if configured
        else [
            base_dir / "fields.toml",
            Path(__file__).resolve().parents[1] / "config" / "fields.toml",
        ]
    )
    for candidate in candidates:
        if candidate.is_file():
            try:
                with candidate.open("rb") as f:
                    return candidate, FieldMap.from_dict(tomllib.load(f), str(candidate))
            except tomllib.TOMLDecodeError as e:
                c.problem("tracker.fields_file", f"{candidate} is not valid TOML: {e}")
            except ConfigError as e:
                c.problems.extend(e.problems)
            return candidate, None
    c.problem(
        "tracker.fields_file",
        f"field mapping not found (looked for {', '.join(str(p) for p in candidates)}); "
        "copy config/fields.toml next to your config file or set this key",
    )
    return candidates[0], None


def _url(c: _Checker, where: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        c.problem(where, f"expected an http(s) URL, got {value!r}")
    return value


def _arxiv(c: _Checker, data: Mapping[str, Any], environ: Mapping[str, str]) -> ArxivSettings:
    allowed = {
        "contact_email",
        "api_url",
        "listing_url",
        "oai_url",
        "min_interval",
        "page_size",
        "max_pages",
        "lookback_days",
        "max_query_chars",
        "listing_batch",
        "id_batch",
        "author_url",
        "author_feed_days",
        "author_feeds_per_cycle",
    }
    t = c.table(data, "arxiv", allowed)
    contact = environ.get("TRACKER_ARXIV_CONTACT") or c.get(t, "arxiv", "contact_email", str, "")
    if not _EMAIL.match(contact):
        c.problem(
            "arxiv.contact_email",
            "expected your e-mail address (arXiv asks API users for a contact in the "
            f"User-Agent), got {contact!r}",
        )
    settings = ArxivSettings(
        contact_email=contact,
        api_url=_url(c, "arxiv.api_url", c.get(t, "arxiv", "api_url", str, DEFAULT_API_URL)),
        listing_url=_url(
            c, "arxiv.listing_url", c.get(t, "arxiv", "listing_url", str, DEFAULT_LISTING_URL)
        ),
        oai_url=_url(c, "arxiv.oai_url", c.get(t, "arxiv", "oai_url", str, DEFAULT_OAI_URL)),
        min_interval=c.get(t, "arxiv", "min_interval", float, ARXIV_MIN_INTERVAL),
        page_size=c.positive(t, "arxiv", "page_size", int, 200),
        max_pages=c.positive(t, "arxiv", "max_pages", int, 5),
        lookback_days=c.positive(t, "arxiv", "lookback_days", int, 7),
        max_query_chars=c.positive(t, "arxiv", "max_query_chars", int, 1000),
        listing_batch=c.positive(t, "arxiv", "listing_batch", int, 25),
        id_batch=c.positive(t, "arxiv", "id_batch", int, 100),
        author_url=_url(
            c, "arxiv.author_url", c.get(t, "arxiv", "author_url", str, "https://arxiv.org/a/")
        ),
        author_feed_days=c.positive(t, "arxiv", "author_feed_days", float, 7.0),
        author_feeds_per_cycle=c.positive(t, "arxiv", "author_feeds_per_cycle", int, 5),
    )
    if settings.page_size > 2000:
        c.problem("arxiv.page_size", "arXiv serves at most 2000 results per page")
    real_arxiv = any(h == a or h.endswith("." + a) for h in settings.hosts for a in ARXIV_HOSTS)
    if settings.min_interval < 0 or (real_arxiv and settings.min_interval < ARXIV_MIN_INTERVAL):
        c.problem(
            "arxiv.min_interval",
            f"expected at least {ARXIV_MIN_INTERVAL:g} seconds for arXiv's servers "
            f"(their terms of use), got {settings.min_interval:g}",
        )
    return settings


def environ_flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _fetch(c: _Checker, data: Mapping[str, Any], environ: Mapping[str, str]) -> FetchSettings:
    allowed = {
        "timeout",
        "deadline",
        "max_body_mb",
        "max_redirects",
        "feed_interval_minutes",
        "max_backoff_hours",
        "concurrency",
        "use_env_proxy",
        "block_private_addresses",
        "failing_after",
    }
    t = c.table(data, "fetch", allowed)
    return FetchSettings(
        timeout=c.positive(t, "fetch", "timeout", float, 20.0),
        deadline=c.positive(t, "fetch", "deadline", float, 60.0),
        max_body_bytes=int(c.positive(t, "fetch", "max_body_mb", float, 10.0) * 1024 * 1024),
        max_redirects=c.get(t, "fetch", "max_redirects", int, 5),
        feed_interval=dt.timedelta(
            minutes=c.positive(t, "fetch", "feed_interval_minutes", float, 60.0)
        ),
        max_backoff=dt.timedelta(hours=c.positive(t, "fetch", "max_backoff_hours", float, 24.0)),
        concurrency=c.positive(t, "fetch", "concurrency", int, 4),
        use_env_proxy=c.get(t, "fetch", "use_env_proxy", bool, True),
        block_private_addresses=environ_flag(environ, "TRACKER_BLOCK_PRIVATE_ADDRESSES")
        or c.get(t, "fetch", "block_private_addresses", bool, False),
        failing_after=c.positive(t, "fetch", "failing_after", int, 3),
    )


def _readers(
    c: _Checker,
    data: Mapping[str, Any],
    base_dir: Path,
    field_map: FieldMap | None,
    digests_dir: Path | None,
) -> list[ReaderSettings]:
    raw = data.get("readers", [])
    if not isinstance(raw, list) or not raw:
        c.problem("readers", "expected at least one [[readers]] table")
        return []
    readers: list[ReaderSettings] = []
    seen: set[str] = set()
    for i, r in enumerate(raw):
        where = f"readers[{i}]"
        if not isinstance(r, dict):
            c.problem(where, "expected a table")
            continue
        c.unknown_keys(
            r,
            where,
            {
                "name",
                "timezone",
                "digest_time",
                "output_dir",
                "fields",
                "follows",
                "email",
                "channels",
                "days",
                "when_empty",
            },
        )
        name = c.get(r, where, "name", str, "")
        if not _READER_NAME.match(name):
            c.problem(f"{where}.name", "expected a name of letters, digits, '.', '_' or '-'")
        elif name in seen:
            c.problem(f"{where}.name", f"reader {name!r} is configured twice")
        seen.add(name)
        tz = c.get(r, where, "timezone", str, "UTC")
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            c.problem(f"{where}.timezone", f"unknown time zone {tz!r} (e.g. 'Europe/Berlin')")
            tz = "UTC"
        when = c.get(r, where, "digest_time", str, "07:00")
        m = _TIME.match(when)
        if not m:
            c.problem(f"{where}.digest_time", f"expected HH:MM (24-hour), got {when!r}")
        digest_time = dt.time(int(m.group(1)), int(m.group(2))) if m else dt.time(7)
        fields = c.str_list(r, where, "fields")
        if field_map is not None:
            for f in fields:
                if f not in field_map.fields:
                    hint = _did_you_mean(f, field_map.fields)
                    c.problem(f"{where}.fields", f"unknown field {f!r}{hint}")
        readers.append(
            ReaderSettings(
                name=name,
                timezone=tz,
                digest_time=digest_time,
                output_dir=digests_dir or base_dir / c.get(r, where, "output_dir", str, "digests"),
                follows=_follows(c, r, f"{where}.follows", field_map),
                fields=tuple(fields),
                **_delivery(c, r, where),
            )
        )
    return readers


_ORCID = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")
_OPENALEX_AUTHOR = re.compile(r"^A\d{4,}$")
_ARXIV_AUTHOR = re.compile(r"^[a-z][a-z0-9_]*_\d+$")


def check_scholar(table: Mapping[str, Any], field_map: FieldMap) -> ScholarFollow:
    """A scholar given on the command line, checked like one in the config file."""
    from tracker.errors import UsageError

    c = _Checker("command line")
    scholar = _scholar(c, "scholar", dict(table), field_map)
    if c.problems or scholar is None:
        raise UsageError("; ".join(p.split(": ", 1)[-1] for p in c.problems) or "bad scholar")
    return scholar


def _scholar(
    c: _Checker, where: str, item: object, field_map: FieldMap | None
) -> ScholarFollow | None:
    """A scholar as a name or a table {name, arxiv, orcid, openalex, feeds, ...}."""
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict):
        c.problem(where, "expected a name or a table {name = ..., orcid = ..., ...}")
        return None
    c.unknown_keys(
        item,
        where,
        {"name", "arxiv", "orcid", "openalex", "feeds", "variants", "coauthors", "categories"},
    )
    name = " ".join(c.get(item, where, "name", str, "").split())
    if not split_name(name).surname:
        c.problem(f"{where}.name", f"{name!r} has no surname")
        return None

    def strings(key: str) -> list[str]:
        value = item.get(key, [])
        return [value] if isinstance(value, str) else c.str_list(item, where, key)

    orcid = [o.removeprefix("https://orcid.org/") for o in strings("orcid")]
    openalex = [o.removeprefix("https://openalex.org/") for o in strings("openalex")]
    for o in orcid:
        if not _ORCID.match(o):
            c.problem(f"{where}.orcid", f"expected an ORCID like 0000-0002-1825-0097, got {o!r}")
    for o in openalex:
        if not _OPENALEX_AUTHOR.match(o):
            c.problem(
                f"{where}.openalex", f"expected an OpenAlex author id like A5023888391, got {o!r}"
            )
    for a in strings("arxiv"):
        if not _ARXIV_AUTHOR.match(a):
            c.problem(f"{where}.arxiv", f"expected an arXiv author id like dao_t_1, got {a!r}")
    feeds = [canonical_url(_url(c, f"{where}.feeds", u)) for u in strings("feeds")]
    categories = strings("categories")
    if field_map is not None:
        for code in categories:
            if not field_map.knows(code):
                c.problem(f"{where}.categories", f"unknown arXiv category {code!r}")
    return ScholarFollow(
        name=name,
        arxiv=tuple(strings("arxiv")),
        orcid=tuple(orcid),
        openalex=tuple(openalex),
        feeds=tuple(feeds),
        variants=tuple(" ".join(v.split()) for v in strings("variants")),
        coauthors=tuple(" ".join(v.split()) for v in strings("coauthors")),
        categories=tuple(field_map.canonical(x) for x in categories)
        if field_map
        else tuple(categories),
    )


def _delivery(c: _Checker, r: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A reader's channels, e-mail address, delivery days and empty-day policy."""
    channels = c.str_list(r, where, "channels") if "channels" in r else ["markdown"]
    for ch in channels:
        if ch not in CHANNELS:
            c.problem(f"{where}.channels", f"expected some of {list(CHANNELS)}, got {ch!r}")
    if not channels:
        c.problem(f"{where}.channels", "expected at least one channel")
    email = c.get(r, where, "email", str, "") or None
    if "email" in channels and not (email and _EMAIL.match(email)):
        c.problem(f"{where}.email", f"expected the reader's e-mail address, got {email!r}")
    raw_days = r.get("days", "every day")
    arxiv_days = raw_days == "arxiv"
    if raw_days in ("every day", "daily", "arxiv"):
        days = ALL_DAYS
    elif raw_days == "weekdays":
        days = frozenset(range(5))
    elif (
        isinstance(raw_days, list)
        and all(isinstance(d, str) and d[:3].lower() in WEEKDAYS for d in raw_days)
        and raw_days
    ):
        days = frozenset(WEEKDAYS.index(d[:3].lower()) for d in raw_days)
    else:
        c.problem(
            f"{where}.days",
            'expected "every day", "weekdays", "arxiv" or a list like ["mon", "thu"], '
            f"got {raw_days!r}",
        )
        days = ALL_DAYS
    when_empty = c.get(r, where, "when_empty", str, "note")
    if when_empty not in ("note", "skip"):
        c.problem(f"{where}.when_empty", f'expected "note" or "skip", got {when_empty!r}')
    return dict(
        email=email,
        channels=tuple(dict.fromkeys(channels)),
        days=days,
        arxiv_days=arxiv_days,
        when_empty=when_empty,
    )


def _email(
    c: _Checker,
    data: Mapping[str, Any],
    base_dir: Path,
    readers: list[ReaderSettings],
    environ: Mapping[str, str],
) -> EmailSettings | None:
    allowed = {
        "host",
        "port",
        "security",
        "username",
        "password_env",
        "from",
        "timeout",
        "ca_file",
        "unsubscribe",
        "retry_minutes",
        "retry_max_hours",
    }
    t = c.table(data, "email", allowed)
    wanted = [r.name for r in readers if "email" in r.channels]
    if not t:
        if wanted:
            c.problem("email", f"readers {wanted} get e-mail, but there is no [email] table")
        return None
    # TRACKER_SMTP_HOST, _PORT, _SECURITY and _USERNAME choose the server without
    # editing the file (docker-compose points them at its mail catcher); without an
    # [email] table they change nothing
    host = environ.get("TRACKER_SMTP_HOST") or c.get(t, "email", "host", str, "")
    sender = c.get(t, "email", "from", str, "")
    if not host:
        c.problem("email.host", "expected the SMTP server's host name")
    if not _EMAIL.search(sender.split("<")[-1].rstrip(">")):
        c.problem("email.from", f"expected a From: address, got {sender!r}")
    security = environ.get("TRACKER_SMTP_SECURITY") or c.get(
        t, "email", "security", str, "starttls"
    )
    if security not in ("starttls", "tls", "none"):
        where = (
            "TRACKER_SMTP_SECURITY" if environ.get("TRACKER_SMTP_SECURITY") else "email.security"
        )
        c.problem(where, f'expected "starttls", "tls" or "none", got {security!r}')
    port = c.positive(t, "email", "port", int, 465 if security == "tls" else 587)
    if environ.get("TRACKER_SMTP_PORT"):
        try:
            port = int(environ["TRACKER_SMTP_PORT"])
        except ValueError:
            port = 0
        if not 0 < port < 65536:
            c.problem(
                "TRACKER_SMTP_PORT",
                f"expected a port number, got {environ['TRACKER_SMTP_PORT']!r}",
            )
    ca_file = c.get(t, "email", "ca_file", str, "")
    if ca_file and not (base_dir / ca_file).is_file():
        c.problem("email.ca_file", f"no such file {base_dir / ca_file}")
    unsubscribe = c.get(t, "email", "unsubscribe", str, "") or None
    if unsubscribe and not unsubscribe.startswith(("mailto:", "https://", "http://")):
        c.problem("email.unsubscribe", "expected a mailto: or http(s): address")
    return EmailSettings(
        host=host,
        sender=sender,
        port=port,
        security=security,
        username=environ.get("TRACKER_SMTP_USERNAME")
        or c.get(t, "email", "username", str, "")
        or None,
        password_env=c.get(t, "email", "password_env", str, "TRACKER_SMTP_PASSWORD"),
        timeout=c.positive(t, "email", "timeout", float, 30.0),
        ca_file=base_dir / ca_file if ca_file else None,
        unsubscribe=unsubscribe,
        retry_minutes=c.positive(t, "email", "retry_minutes", float, 5.0),
        retry_max_hours=c.positive(t, "email", "retry_max_hours", float, 6.0),
    )


def _follows(
    c: _Checker, reader: Mapping[str, Any], where: str, field_map: FieldMap | None
) -> Follows:
    t = c.table(reader, where, {"categories", "queries", "scholars", "feeds"})
    categories: list[str] = []
    for code in c.str_list(t, where, "categories"):
        if field_map is not None and not field_map.knows(code):
            known = list(field_map.category_field) + list(field_map.aliases)
            hint = _did_you_mean(code, known)
            c.problem(f"{where}.categories", f"unknown arXiv category {code!r}{hint}")
            continue
        code = field_map.canonical(code) if field_map else code
        if code not in categories:
            categories.append(code)
    queries: list[str] = []
    for text in c.str_list(t, where, "queries"):
        try:
            queries.append(query.normalise(text))
        except query.QuerySyntaxError as e:
            c.problem(f"{where}.queries", f"{text!r}: {e}")
    scholars: list[ScholarFollow] = []
    raw_scholars = t.get("scholars", [])
    if not isinstance(raw_scholars, list):
        c.problem(f"{where}.scholars", "expected a list of names or scholar tables")
        raw_scholars = []
    for j, item in enumerate(raw_scholars):
        scholar = _scholar(c, f"{where}.scholars[{j}]", item, field_map)
        if scholar is not None:
            scholars.append(scholar)
    feeds: list[FeedFollow] = []
    raw_feeds = t.get("feeds", [])
    if not isinstance(raw_feeds, list):
        c.problem(f"{where}.feeds", "expected a list of URLs or {url = ..., title = ...} tables")
        raw_feeds = []
    for j, item in enumerate(raw_feeds):
        if isinstance(item, str):
            feeds.append(FeedFollow(canonical_url(_url(c, f"{where}.feeds[{j}]", item))))
        elif isinstance(item, dict) and isinstance(item.get("url"), str):
            c.unknown_keys(item, f"{where}.feeds[{j}]", {"url", "title"})
            title = item.get("title")
            feeds.append(
                FeedFollow(
                    canonical_url(_url(c, f"{where}.feeds[{j}].url", item["url"])),
                    title if isinstance(title, str) else None,
                )
            )
        else:
            c.problem(f"{where}.feeds[{j}]", "expected a URL or a table {url = ..., title = ...}")
    return Follows(tuple(categories), tuple(queries), tuple(scholars), tuple(feeds))

"""The frozen settings a validated config file becomes (no I/O here)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tracker.fields.mapping import FieldMap
from tracker.models import Rule

ARXIV_MIN_INTERVAL = 3.0  # arXiv's terms of use: one request every three seconds
ALL_DAYS = frozenset(range(7))
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CHANNELS = ("markdown", "email")
ARXIV_HOSTS = ("arxiv.org",)
DEFAULT_API_URL = "https://export.arxiv.org/api/query"
DEFAULT_LISTING_URL = "https://rss.arxiv.org/rss/"
DEFAULT_OAI_URL = "https://export.arxiv.org/oai2"


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
        """The User-Agent for arXiv and OpenAlex, which ask for a contact address
        (other hosts get ``tracker.USER_AGENT``, without it)."""
        from tracker import PROJECT_URL, __version__

        return f"tracker/{__version__} (+{PROJECT_URL}; mailto:{self.contact_email})"

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
class PublishedSettings:
    """Venues noticed later ("Now published"): which papers are asked about again, how
    often and in how many requests."""

    enabled: bool = True
    window: dt.timedelta = dt.timedelta(days=365)  # papers whose first version is this recent
    check_every: dt.timedelta = dt.timedelta(hours=24)  # one paper asked about this often
    batch_size: int = 100  # arXiv ids in one API request (id_list)
    batches_per_cycle: int = 3  # arXiv requests of the watch in one fetch cycle, at most
    openalex: bool = True  # also ask OpenAlex for each paper's published version


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
    language: str = "en"  # of the digest's fixed texts: "en" or a catalogue's ("zh")
    rules: tuple[Rule, ...] = ()  # mute and must rules of the config file
    top_picks: int | None = None  # the digest's top picks; None: [digest] top_picks
    discover: bool | None = None  # cross-domain picks from all of arXiv; None: [digest]
    rising: bool = False  # a weekly "Rising across fields" section
    # "daily"; "weekly": one digest a week (on weekly_day); "both": daily digests and a
    # weekly one (the week's top picks and rising phrases) on weekly_day
    rhythm: str = "daily"
    weekly_day: int = 0  # the local weekday of the weekly digest (Monday is 0)
    weekly_picks: int = 10  # entries of the weekly digest's top picks

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
    top_picks: int = 10  # the best items of the day, first, each with why (0: none)
    section_items: int = 20  # entries shown per section; the rest as a count and a command
    cross_domain_more: int = 10  # lines of "More from other fields" shown
    discover: bool = True  # read the whole day of arXiv (one request) for cross-domain picks
    rising_phrases: int = 8  # phrases of the weekly "Rising across fields" section
    rising_weeks: int = 8  # earlier weeks a phrase's share is compared with
    rising_day: int = 0  # the weekday (Monday is 0) whose digest has it

    def picks_for(self, reader: ReaderSettings) -> int:
        """A reader's number of top picks."""
        return self.top_picks if reader.top_picks is None else reader.top_picks

    def discovers(self, reader: ReaderSettings) -> bool:
        """Whether the reader's cross-domain picks come from the whole day of arXiv."""
        wanted = self.discover if reader.discover is None else reader.discover
        return wanted and self.cross_domain_items > 0


@dataclass(frozen=True)
class FieldsSettings:
    """The field classifier: what it is trained on and how often."""

    training_data: Path | None = None  # arXiv metadata JSONL, a file or a folder
    min_papers: int = 1000  # database papers needed to train on the database alone
    retrain_every: dt.timedelta = dt.timedelta(days=7)
    max_examples: int = 100_000  # newest database papers used in one training
    stored_weight: float = 1.0  # a stored paper of the newest day, in cold-start papers
    stored_priors: float = 0.0  # share of the fields' priors learned from stored papers
    stored_adapt: float = 1.0  # scale of the stored papers' own features; 0: no adaptation


@dataclass(frozen=True)
class WebSettings:
    """``tracker web``: where it listens, who may sign in and how."""

    host: str = "127.0.0.1"
    port: int = 8080
    auth: str = "password"  # "password", "proxy" (a trusted reverse proxy's header) or "none"
    admins: tuple[str, ...] = ()  # readers who see the status page
    proxy_header: str = "X-Forwarded-User"  # auth = "proxy": the header naming the reader
    trusted_proxies: tuple[str, ...] = ()  # addresses or networks whose header is believed
    session_days: float = 14.0  # a sign-in lasts this long
    secure_cookies: bool = False  # send the session cookie over HTTPS only
    login_attempts: int = 5  # failed sign-ins per address and reader ...
    login_window_minutes: float = 15.0  # ... in this many minutes before a pause
    threads: int = 8  # requests served at once


@dataclass(frozen=True)
class Settings:
    path: Path | None
    data_dir: Path
    database_url: str = field(repr=False)  # may hold a password: never in a repr or a log
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
    web: WebSettings = field(default_factory=WebSettings)
    published: PublishedSettings = field(default_factory=PublishedSettings)

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


def origin(url: str) -> tuple[str, int]:
    """(host, port) of a URL, the port filled in from the scheme."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return (parts.hostname or "").lower(), port or (443 if parts.scheme == "https" else 80)

"""The config file's tables as it spells them (pydantic models): [tracker], [arxiv],
[fetch], [schedule], [openalex], [published] and [fields]; [digest], [email] and [web] are in
``delivery_tables``, readers in ``reader_tables`` and ``follow_tables``.

A model says which keys a table may have, their types, defaults and ranges, and
checks each value on its own (a field validator may look at the keys above it in the
same table); it turns into the frozen settings of ``settings`` with ``settings()``.
What needs more than one table, the environment or the disk is checked in ``load``.

Pure: no I/O here.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from tracker.config.settings import (
    ARXIV_HOSTS,
    ARXIV_MIN_INTERVAL,
    DEFAULT_API_URL,
    DEFAULT_LISTING_URL,
    DEFAULT_OAI_URL,
    ArxivSettings,
    FetchSettings,
    FieldsSettings,
    OpenAlexSettings,
    PublishedSettings,
    ScheduleSettings,
)
from tracker.config.values import (
    EMAIL,
    HttpUrl,
    Positive,
    PositiveFloat,
    Table,
    enum,
    problem,
)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


# --- [tracker] ---------------------------------------------------------------------------


def database_url_problem(url: str) -> str | None:
    """What is wrong with a database URL's form; the URL itself is never repeated (it
    may hold a password)."""
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", url):
        return "expected a sqlite:/// or postgresql:// URL"
    try:
        urlsplit(url).port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        return "not a database URL: its port is not a number from 1 to 65535"
    return None


def _database_url(url: str) -> str:
    why = database_url_problem(url) if url else None
    if why:
        raise problem(why)
    return url


def _log_level(value: str) -> str:
    if value.upper() not in LOG_LEVELS:
        raise problem(f"expected one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return value.upper()


class TrackerTable(Table):
    """Where the data lives and how much is logged."""

    data_dir: str = Field(
        "data", description="Folder of the SQLite database (data_dir/tracker.db) and the model."
    )
    database_url: Annotated[str, AfterValidator(_database_url)] = Field(
        "",
        description="SQLAlchemy URL of the database (sqlite:/// or postgresql+psycopg://). "
        "Empty: SQLite in data_dir. TRACKER_DATABASE_URL overrides it.",
    )
    log_level: Annotated[
        str, AfterValidator(_log_level), enum([*LOG_LEVELS, *(x.lower() for x in LOG_LEVELS)])
    ] = Field("INFO", description="Log level of `tracker run`.")
    fields_file: str = Field(
        "",
        description="The category -> field mapping. Empty: fields.toml beside the config, "
        "else the built-in one.",
    )


# --- [arxiv] -----------------------------------------------------------------------------


def _contact(value: str) -> str:
    if not EMAIL.match(value):
        raise problem(
            "expected your e-mail address (arXiv asks API users for a contact in the "
            f"User-Agent), got {value!r}"
        )
    return value


def _page_size(value: int) -> int:
    if value > 2000:
        raise problem("arXiv serves at most 2000 results per page")
    return value


class ArxivTable(Table):
    """arXiv's endpoints, its pacing and the size of requests."""

    contact_email: Annotated[str, AfterValidator(_contact)] = Field(
        "",
        validate_default=True,
        description="Required: your e-mail address, sent in the User-Agent (arXiv asks API "
        "clients for a contact). TRACKER_ARXIV_CONTACT overrides it.",
    )
    api_url: HttpUrl = Field(DEFAULT_API_URL, description="arXiv's search API.")
    listing_url: HttpUrl = Field(DEFAULT_LISTING_URL, description="arXiv's daily listings.")
    oai_url: HttpUrl = Field(DEFAULT_OAI_URL, description="arXiv's OAI-PMH endpoint.")
    author_url: HttpUrl = Field(
        "https://arxiv.org/a/", description="Scholars' author feeds: <author_url><id>.atom."
    )
    min_interval: float = Field(
        ARXIV_MIN_INTERVAL,
        description="Seconds between two requests to arXiv (at least 3 for arXiv's servers).",
    )
    page_size: Annotated[Positive, AfterValidator(_page_size)] = Field(
        200, description="Results per API page.", json_schema_extra={"maximum": 2000}
    )
    max_pages: Positive = Field(5, description="Pages per search at most.")
    lookback_days: Positive = Field(
        7, description="How far back a new follow looks on its first fetch."
    )
    max_query_chars: Positive = Field(
        1000, description="Longest search expression sent in one request."
    )
    listing_batch: Positive = Field(25, description="Categories per listing request.")
    id_batch: Positive = Field(100, description="Paper ids per lookup.")
    author_feed_days: PositiveFloat = Field(7.0, description="How often one author feed is read.")
    author_feeds_per_cycle: Positive = Field(
        5, description="At most this many author feeds in one fetch cycle."
    )

    @field_validator("min_interval")
    @classmethod
    def _arxiv_pace(cls, value: float, info: ValidationInfo) -> float:
        # arXiv's terms of use: one request every three seconds (a test server may go faster)
        urls = [info.data.get(k) for k in ("api_url", "listing_url", "oai_url", "author_url")]
        hosts = {(urlsplit(u).hostname or "") for u in urls if isinstance(u, str)}
        real = any(h == a or h.endswith("." + a) for h in hosts for a in ARXIV_HOSTS)
        if value < 0 or (real and value < ARXIV_MIN_INTERVAL):
            raise problem(
                f"expected at least {ARXIV_MIN_INTERVAL:g} seconds for arXiv's servers "
                f"(their terms of use), got {value:g}"
            )
        return value

    def settings(self, contact: str) -> ArxivSettings:
        return ArxivSettings(
            contact_email=contact,
            api_url=self.api_url,
            listing_url=self.listing_url,
            oai_url=self.oai_url,
            min_interval=self.min_interval,
            page_size=self.page_size,
            max_pages=self.max_pages,
            lookback_days=self.lookback_days,
            max_query_chars=self.max_query_chars,
            listing_batch=self.listing_batch,
            id_batch=self.id_batch,
            author_url=self.author_url,
            author_feed_days=self.author_feed_days,
            author_feeds_per_cycle=self.author_feeds_per_cycle,
        )


# --- [fetch], [schedule] -------------------------------------------------------------------


class FetchTable(Table):
    """How sources are fetched: timeouts, sizes, concurrency, the network's limits."""

    timeout: PositiveFloat = Field(20.0, description="Seconds to connect and between bytes.")
    deadline: PositiveFloat = Field(60.0, description="Seconds for a whole transfer.")
    max_body_mb: PositiveFloat = Field(
        10.0, description="Largest body accepted, after decompression, in MiB."
    )
    max_redirects: int = Field(5, description="Redirects followed at most.")
    feed_interval_minutes: PositiveFloat = Field(60.0, description="How often a feed is checked.")
    max_backoff_hours: PositiveFloat = Field(
        24.0, description="Longest wait after repeated errors."
    )
    concurrency: Positive = Field(4, description="Feeds fetched at the same time.")
    use_env_proxy: bool = Field(True, description="Use HTTP(S)_PROXY and NO_PROXY.")
    block_private_addresses: bool = Field(
        False,
        description="Refuse feeds on private, loopback and link-local addresses "
        "(TRACKER_BLOCK_PRIVATE_ADDRESSES=1 does the same).",
    )
    failing_after: Positive = Field(3, description="Errors in a row before a source is FAILING.")

    def settings(self, block_private: bool) -> FetchSettings:
        return FetchSettings(
            timeout=self.timeout,
            deadline=self.deadline,
            max_body_bytes=int(self.max_body_mb * 1024 * 1024),
            max_redirects=self.max_redirects,
            feed_interval=dt.timedelta(minutes=self.feed_interval_minutes),
            max_backoff=dt.timedelta(hours=self.max_backoff_hours),
            concurrency=self.concurrency,
            use_env_proxy=self.use_env_proxy,
            block_private_addresses=block_private or self.block_private_addresses,
            failing_after=self.failing_after,
        )


class ScheduleTable(Table):
    """The worker's rhythm."""

    fetch_every_minutes: PositiveFloat = Field(
        15.0, description="How often the worker looks for due sources."
    )
    claim_lease_minutes: PositiveFloat = Field(
        5.0,
        description="How long a worker's claim on the sources it fetches lasts; longer than "
        "[fetch] deadline.",
    )
    leader_retry_seconds: PositiveFloat = Field(
        30.0, description="How often a standby worker tries to become the leader."
    )

    def settings(self) -> ScheduleSettings:
        return ScheduleSettings(
            fetch_every=dt.timedelta(minutes=self.fetch_every_minutes),
            claim_lease=dt.timedelta(minutes=self.claim_lease_minutes),
            leader_retry=dt.timedelta(seconds=self.leader_retry_seconds),
        )


# --- [fields] --------------------------------------------------------------------------


def _stored_weight(value: float) -> float:
    if not 1.0 <= value <= 100.0:
        raise problem(
            "expected a number from 1 (a stored paper counts like a cold-start one) to 100, "
            f"got {value}"
        )
    return value


def _stored_priors(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise problem(f"expected a share from 0 (no priors from stored papers) to 1, got {value}")
    return value


def _stored_adapt(value: float) -> float:
    if not 0.0 <= value <= 10.0:
        raise problem(
            f"expected a number from 0 (no adaptation to stored papers) to 10, got {value}"
        )
    return value


class FieldsTable(Table):
    """The field classifier for items without categories."""

    training_data: str = Field(
        "", description="arXiv metadata JSONL (a file or a folder) to train on from the start."
    )
    min_papers: Positive = Field(
        1000, description="Database papers needed to train on the database alone."
    )
    retrain_days: PositiveFloat = Field(7.0, description="Train again this often.")
    max_examples: Positive = Field(
        100_000, description="Newest database papers used in one training."
    )
    stored_weight: Annotated[float, AfterValidator(_stored_weight)] = Field(
        1.0,
        description="A stored paper of the newest day counts as this many cold-start papers "
        "(1 to 100; the extra halves every 180 days).",
        json_schema_extra={"minimum": 1, "maximum": 100},
    )
    stored_priors: Annotated[float, AfterValidator(_stored_priors)] = Field(
        0.0,
        description="Share (0 to 1) of the fields' prior probabilities learned from stored papers.",
        json_schema_extra={"minimum": 0, "maximum": 1},
    )

    stored_adapt: Annotated[float, AfterValidator(_stored_adapt)] = Field(
        1.0,
        description="How far the model adapts to stored papers: the scale (0 to 10; 0 is off) "
        "of the stored papers' own copy of their features in training.",
        json_schema_extra={"minimum": 0, "maximum": 10},
    )

    def settings(self, base_dir: Path) -> FieldsSettings:
        return FieldsSettings(
            training_data=base_dir / self.training_data if self.training_data else None,
            min_papers=self.min_papers,
            retrain_every=dt.timedelta(days=self.retrain_days),
            max_examples=self.max_examples,
            stored_weight=self.stored_weight,
            stored_priors=self.stored_priors,
            stored_adapt=self.stored_adapt,
        )


# --- [openalex] ----------------------------------------------------------------------------


class OpenAlexTable(Table):
    """OpenAlex (works of scholars by id or ORCID)."""

    url: HttpUrl = Field("https://api.openalex.org", description="OpenAlex's API.")
    mailto: str = Field("", description="The polite pool's address; default: the arXiv contact.")
    batch: Positive = Field(50, description="Author ids in one request (at most 100 are used).")
    min_interval: float = Field(0.2, description="Seconds between requests.")
    lookback_days: Positive = Field(30, description="How far back a scholar's works are read.")

    def settings(self, contact: str) -> OpenAlexSettings:
        return OpenAlexSettings(
            url=self.url,
            mailto=self.mailto or contact,
            batch=min(100, self.batch),
            min_interval=self.min_interval,
            lookback_days=self.lookback_days,
        )


# --- [published] ---------------------------------------------------------------------------

MAX_ID_LIST = 2000  # the API's largest max_results: more ids than that in one request fail


def _id_list(value: int) -> int:
    if value > MAX_ID_LIST:
        raise problem(
            f"expected at most {MAX_ID_LIST} ids per request (arXiv's largest page), got {value}"
        )
    return value


class PublishedTable(Table):
    """Venues noticed later ("Now published"): saved and followed scholars' papers asked
    about again until they have a journal reference, a DOI or a venue."""

    enabled: bool = Field(
        True,
        description="Ask about papers again; false: only the journal-refs fetches bring count.",
    )
    window_days: PositiveFloat = Field(
        365.0, description="Papers whose first version is at most this many days old."
    )
    check_hours: PositiveFloat = Field(
        24.0, description="How often one paper is asked about (spread by a tenth of it)."
    )
    batch_size: Annotated[Positive, AfterValidator(_id_list)] = Field(
        100,
        description="arXiv ids per request (at most 2000).",
        json_schema_extra={"maximum": MAX_ID_LIST},
    )
    batches_per_cycle: Positive = Field(3, description="arXiv requests per fetch cycle, at most.")
    openalex: bool = Field(
        True, description="Also ask OpenAlex for each paper's published version."
    )

    def settings(self) -> PublishedSettings:
        return PublishedSettings(
            enabled=self.enabled,
            window=dt.timedelta(days=self.window_days),
            check_every=dt.timedelta(hours=self.check_hours),
            batch_size=self.batch_size,
            batches_per_cycle=self.batches_per_cycle,
            openalex=self.openalex,
        )

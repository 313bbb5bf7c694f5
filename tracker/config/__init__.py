"""Configuration: one TOML file, read once, validated into frozen settings.

``load_settings(path)`` reports every mistake at once, each with the file, the key
and what was expected, as a ``ConfigError``; a bad file never yields settings. Paths
in the file are relative to the file's folder. Environment variables override some
settings: ``TRACKER_DATABASE_URL``, ``TRACKER_ARXIV_CONTACT``, ``TRACKER_DATA_DIR``,
``TRACKER_DIGESTS_DIR`` (every reader's digest folder, as in a container) and the SMTP
server's ``TRACKER_SMTP_HOST``, ``_PORT``, ``_SECURITY`` and ``_USERNAME``; secrets are
only ever read from the environment.

The package reads the config and field-mapping files (``load``); it does no other
I/O. ``settings`` holds the frozen records, ``checker`` the validation helpers,
``sources`` and ``readers`` the tables by domain.
"""

from tracker.config.checker import did_you_mean, environ_flag
from tracker.config.load import load_settings, settings_from_dict
from tracker.config.notices import notices
from tracker.config.readers import check_scholar
from tracker.config.settings import (
    ARXIV_MIN_INTERVAL,
    ArxivSettings,
    DigestSettings,
    EmailSettings,
    FeedFollow,
    FetchSettings,
    FieldsSettings,
    Follows,
    OpenAlexSettings,
    PublishedSettings,
    ReaderSettings,
    ScheduleSettings,
    ScholarFollow,
    Settings,
    WebSettings,
    origin,
)
from tracker.config.web import exposure_problem, is_loopback, proxy_network

__all__ = [
    "ARXIV_MIN_INTERVAL",
    "ArxivSettings",
    "DigestSettings",
    "EmailSettings",
    "FeedFollow",
    "FetchSettings",
    "FieldsSettings",
    "Follows",
    "OpenAlexSettings",
    "PublishedSettings",
    "ReaderSettings",
    "ScheduleSettings",
    "ScholarFollow",
    "Settings",
    "WebSettings",
    "check_scholar",
    "did_you_mean",
    "environ_flag",
    "exposure_problem",
    "is_loopback",
    "load_settings",
    "notices",
    "origin",
    "proxy_network",
    "settings_from_dict",
]

"""Configuration: one TOML file, read once, validated into frozen settings.

``load_settings(path)`` reports every mistake at once, each with the file, the key
and what was expected, as a ``ConfigError``; a bad file never yields settings. Paths
in the file are relative to the file's folder. Environment variables override some
settings: ``TRACKER_DATABASE_URL``, ``TRACKER_ARXIV_CONTACT``, ``TRACKER_DATA_DIR``,
``TRACKER_DIGESTS_DIR`` (every reader's digest folder, as in a container),
``TRACKER_BLOCK_PRIVATE_ADDRESSES`` and the SMTP server's ``TRACKER_SMTP_HOST``,
``_PORT``, ``_SECURITY`` and ``_USERNAME``; secrets are only ever read from the
environment.

The file's tables are pydantic models (``tables``, ``delivery_tables``,
``reader_tables``, ``follow_tables``; their base and shared value types in ``values``;
the whole file and its JSON Schema in ``schema``); ``problems``
turns validation errors into "<file>: <key>: <problem>" lines; ``load`` reads the
files, applies the environment and checks what spans tables; ``settings`` holds the
frozen records everything else uses. The package reads the config and field-mapping
files (``load``); it does no other I/O. pydantic is imported on the first load, so
``tracker --help`` does not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracker.config.load import load_settings, settings_from_dict
from tracker.config.notices import notices
from tracker.config.problems import did_you_mean, environ_flag
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

if TYPE_CHECKING:
    from tracker.fields.mapping import FieldMap


def check_scholar(table: dict[str, Any], field_map: FieldMap) -> ScholarFollow:
    """A scholar given on the command line or the web page, checked like one in the
    config file; raises UsageError saying what is wrong."""
    from tracker.config.follow_tables import check_scholar as check

    return check(table, field_map)


def json_schema_text() -> str:
    """The JSON Schema of tracker.toml, as ``config/tracker.schema.json`` holds it."""
    from tracker.config.schema import json_schema_text as text

    return text()


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
    "json_schema_text",
    "load_settings",
    "notices",
    "origin",
    "proxy_network",
    "settings_from_dict",
]

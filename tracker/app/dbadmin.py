"""Database maintenance for the ``tracker db`` commands: status, upgrade, copy.

No ``Tracker`` here: ``make_tracker`` migrates the database on open (the worker
relies on that), while these report the revision as it was and migrate only when
asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tracker.config import Settings
from tracker.storage import HEAD_REVISION, CopyReport, open_storage
from tracker.storage import copy_database as _copy_database
from tracker.storage.base import shown
from tracker.storage.copy import Progress as CopyProgress
from tracker.storage.copy import parse_database_url


@dataclass(frozen=True)
class DatabaseStatus:
    url: str  # the password hidden
    backend: str
    revision: str | None  # None: no tracker tables yet
    latest: str
    items: int | None


def shown_url(url: str) -> str:
    """A database URL for messages and logs: its password hidden."""
    return shown(url)


def database_status(settings: Settings) -> DatabaseStatus:
    url = parse_database_url(settings.database_url)
    backend = url.get_backend_name()
    if backend == "sqlite" and not Path(url.database or "").expanduser().is_file():
        return DatabaseStatus(shown(url), backend, None, HEAD_REVISION, None)
    storage = open_storage(settings.database_url, migrate=False)
    try:
        revision = storage.revision()
        items = storage.count_items() if revision is not None else None
    finally:
        storage.close()
    return DatabaseStatus(shown(url), backend, revision, HEAD_REVISION, items)


def upgrade_database(settings: Settings) -> tuple[str | None, str, list[str]]:
    """Bring the configured database to the latest revision, and index the papers an
    interrupted harvest left waiting for the search index: (revision before, after,
    problems the database reports about itself)."""
    storage = open_storage(settings.database_url, migrate=False)
    try:
        before = storage.revision()
        storage.migrate()
        storage.index_waiting()
        return before, storage.revision() or HEAD_REVISION, storage.check_integrity()
    finally:
        storage.close()


def copy_database(
    settings: Settings,
    target_url: str,
    *,
    replace: bool = False,
    progress: CopyProgress | None = None,
) -> CopyReport:
    """Copy the configured database into another (see ``storage/copy.py``)."""
    return _copy_database(settings.database_url, target_url, replace=replace, progress=progress)

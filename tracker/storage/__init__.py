"""Storage: the one seam to the database (SQLite by default, PostgreSQL for a lab).

``Storage`` speaks the domain (``ingest``, ``due_sources``, ``digest_candidates``,
``search`` ...) and returns frozen model objects; SQLAlchemy never leaves this
package. Each aggregate has its own module; ``Storage`` combines them.
"""

from __future__ import annotations

from tracker.storage.accounts import AccountsMixin
from tracker.storage.base import HEAD_REVISION, make_engine
from tracker.storage.claims import ClaimsMixin
from tracker.storage.copy import CopyReport, TableCopy, copy_database
from tracker.storage.digests import Candidate, DigestRow, DigestsMixin, StoredDigest
from tracker.storage.fieldstats import FieldStatsMixin
from tracker.storage.items import IngestReport
from tracker.storage.locks import LocksMixin, NamedLock
from tracker.storage.pacing import PacingMixin
from tracker.storage.reading import ReaderPapers, ReadingMixin, library_key
from tracker.storage.rules import RulesMixin
from tracker.storage.saved import SavedMixin
from tracker.storage.scholars import ScholarsMixin, ScholarSummary, Seeds
from tracker.storage.search import SearchMixin
from tracker.storage.sources import FollowSpec
from tracker.storage.venues import VenuesMixin
from tracker.storage.weekly import StoredWeekly, WeeklyMixin

__all__ = [
    "HEAD_REVISION",
    "Candidate",
    "CopyReport",
    "DigestRow",
    "FollowSpec",
    "IngestReport",
    "NamedLock",
    "ReaderPapers",
    "ScholarSummary",
    "Seeds",
    "Storage",
    "StoredDigest",
    "StoredWeekly",
    "TableCopy",
    "copy_database",
    "library_key",
    "open_storage",
]


class Storage(
    SearchMixin,
    ReadingMixin,
    DigestsMixin,
    ScholarsMixin,
    FieldStatsMixin,
    ClaimsMixin,
    PacingMixin,
    LocksMixin,
    SavedMixin,
    AccountsMixin,
    RulesMixin,
    WeeklyMixin,
    VenuesMixin,
):
    """Everything tracker keeps, behind intent-named methods."""


def open_storage(url: str, *, migrate: bool = True) -> Storage:
    storage = Storage(make_engine(url))
    if migrate:
        storage.migrate()
    return storage

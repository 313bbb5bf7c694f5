"""What the web page asks of the ``Tracker`` facade beyond the CLI's commands: result
counts, an item's versions, which items a reader saved, stored digests by day, a
reader's own scholars, and sign-in through passwords.

A mixin of ``Tracker`` (``app/core.py``), kept apart so the facade stays readable.
Every method that concerns a reader takes the reader's name and answers for that
reader only. Nothing here builds a digest: a page shows what the worker built.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from tracker.app.accounts import Accounts
from tracker.app.filters import check_filters
from tracker.config import Settings
from tracker.digest.links import safe_link
from tracker.digest.service import DigestService
from tracker.digest.view import DigestView
from tracker.models import NO_FILTERS, Item, SearchFilters
from tracker.names import same_person_name
from tracker.storage import ScholarSummary, Storage


class Browsing:
    settings: Settings
    storage: Storage
    digests: DigestService
    accounts: Accounts

    # --- search and items ---------------------------------------------------------------

    def search_count(
        self, text: str, filters: SearchFilters = NO_FILTERS, *, cap: int = 1000
    ) -> int:
        """How many items a search finds, up to ``cap`` + 1 ("more than cap")."""
        return self.storage.search_count(text, check_filters(self.settings, filters), cap=cap)

    def item_versions(self, item: Item) -> list[tuple[int, dt.datetime | None, dt.datetime]]:
        """(version, its date, first seen here) of each version seen, oldest first."""
        return self.storage.versions(item.id)

    def saved_ids(self, reader: str, item_ids: Sequence[int]) -> set[int]:
        return self.storage.saved_ids(self.settings.reader(reader).name, item_ids)

    def code_links(self, item: Item) -> list[tuple[str, str]]:
        """(label, URL) of the code, models and project pages a paper points to (found
        in its abstract and comments when it was stored; only http(s) links)."""
        return [(link.label, url) for link in item.code if (url := safe_link(link.url))]

    # --- digests ------------------------------------------------------------------------

    def digest_days(self, reader: str, limit: int = 60) -> list[tuple[dt.date, int]]:
        """The reader's latest digests: (day, item count), newest first."""
        return self.storage.digest_days(self.settings.reader(reader).name, limit)

    def stored_digest_view(self, reader: str, day: dt.date) -> DigestView | None:
        """What every renderer shows of the reader's digest of a day, as it was built;
        None when there is none (nothing is selected or built here)."""
        stored = self.storage.stored_digest(self.settings.reader(reader).name, day)
        return self.digests.view(self.digests.from_stored(stored)) if stored else None

    def weekly_days(self, reader: str, limit: int = 60) -> list[tuple[dt.date, int]]:
        """The reader's latest weekly digests: (day, item count), newest first."""
        return self.storage.weekly_days(self.settings.reader(reader).name, limit)

    def stored_weekly_view(self, reader: str, day: dt.date) -> DigestView | None:
        """What every renderer shows of the reader's weekly digest of a day, as it was
        built; None when there is none."""
        stored = self.storage.stored_weekly(self.settings.reader(reader).name, day)
        return self.digests.view(self.digests.weekly.from_stored(stored)) if stored else None

    def reader_today(self, reader: str, now: dt.datetime) -> dt.date:
        """The reader's local day at ``now``."""
        return now.astimezone(self.settings.reader(reader).tz).date()

    # --- scholars -----------------------------------------------------------------------

    def reader_scholars(self, reader: str) -> list[ScholarSummary]:
        """The scholars this reader follows, with their ids, sources and counts."""
        name = self.settings.reader(reader).name
        return [s for s in self.storage.scholar_summaries() if name in s.readers]

    def author_scholars(
        self, reader: str, authors: Mapping[int, Sequence[str]]
    ) -> dict[int, dict[str, str]]:
        """For each item (id: its authors), those of its authors who are scholars the
        reader follows and the item is attributed to: {item id: {author: scholar}}."""
        name = self.settings.reader(reader).name
        attributed = self.storage.attributions_for(name, list(authors))
        found: dict[int, dict[str, str]] = {}
        for item_id, names in authors.items():
            scholars = [scholar for scholar, _, _ in attributed.get(item_id, ())]
            for author in names:
                match = next((s for s in scholars if same_person_name(s, author)), None)
                if match:
                    found.setdefault(item_id, {})[author] = match
        return found

    # --- sign-in ------------------------------------------------------------------------

    def set_password(self, reader: str, password: str) -> None:
        self.accounts.set_password(self.settings.reader(reader).name, password)

    def remove_password(self, reader: str) -> bool:
        return self.storage.remove_password(self.settings.reader(reader).name)

    def check_password(self, reader: str, password: str) -> bool:
        """Whether ``password`` is the configured reader's (False for anyone else)."""
        known = any(r.name == reader for r in self.settings.readers)
        return self.accounts.check(reader if known else "", password) and known

    def password_stamp(self, reader: str) -> str | None:
        return self.accounts.stamp(reader)

    def readers_with_password(self) -> list[str]:
        configured = {r.name for r in self.settings.readers}
        return [r for r in self.storage.readers_with_password() if r in configured]

"""``tracker backfill``: harvest arXiv's OAI-PMH ListRecords into storage, resumably.

One harvest is a set, a datestamp range and a metadata format (``Harvest``). Its
pages are fetched one at a time by ``OaiClient`` (paced like every arXiv request),
read as a stream, one page ahead of storing in a thread (``tracker.fetch.readahead``),
and stored in batches of ``BATCH`` records, one transaction each,
through the same ``Storage.ingest`` path as every fetched entry: the version-less
arXiv id is the identity, so a paper stored from the listing or the API becomes one
item with the harvested one, fields come from its categories as for any paper, and a
second harvest of the same range stores nothing new. OAI's dates are days; a stored
first-version timestamp from around that day (the API's) is kept (``merge_harvested``).

After each page its resumption token and the running counts are saved in the
database's key/value store under the harvest's key. Running the same harvest again
continues from that token; when arXiv no longer knows the token (tokens expire), the
harvest starts over, which costs requests but never duplicates anything. A finished
harvest leaves a record of when it completed.

Deleted records (``<header status="deleted">``) are counted, and never delete what
is stored: readers' saved marks and digests refer to those papers.

Of a page cut short, the full batches read before the break are stored (the batch in
progress is not); the page is read again on resume, those records then unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from tracker import ids
from tracker.errors import NotFoundError, SourceError
from tracker.fetch.merge import dated_by_id, merge, normalise_new
from tracker.fetch.readahead import PageEnd, ReadAhead
from tracker.fetch.venues import venue_changes
from tracker.models import Entry, VenueChange
from tracker.sources.oai import BAD_TOKEN, OaiClient, OaiError, OaiPage, OaiRecord
from tracker.storage import Storage
from tracker.storage.items import PretagFn

log = logging.getLogger(__name__)
BATCH = 500  # records per transaction
_DAY_SLACK = dt.timedelta(days=2)
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Harvest:
    """What to harvest: an OAI set (``cs``, ``physics:hep-th``), datestamps, a format."""

    set_spec: str
    since: dt.date | None = None  # OAI "from": records changed on or after this day
    until: dt.date | None = None
    prefix: str = "arXiv"

    @property
    def key(self) -> str:
        """The key/value store key of this harvest's state."""
        return f"backfill:{self.prefix}:{self.set_spec}:{self.since or ''}:{self.until or ''}"

    def describe(self) -> str:
        span = f"from {self.since or 'the start'} until {self.until or 'today'}"
        return f"set {self.set_spec}, {span}, metadataPrefix={self.prefix}"


@dataclass
class Counts:
    pages: int = 0
    records: int = 0  # every <record> read, deleted ones included
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0  # records marked deleted upstream
    deleted_stored: int = 0  # ... of which we have the paper (kept)
    skipped: int = 0  # records without arXiv metadata we can read


@dataclass
class BackfillReport:
    harvest: Harvest
    counts: Counts = field(default_factory=Counts)
    resumed: bool = False  # continued from a saved resumption token
    restarted: bool = False  # the saved token had expired: started again from page 1
    nothing_matched: bool = False  # noRecordsMatch
    last_completed: dt.datetime | None = None  # when this harvest last finished before
    completed: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class _State:
    url: str
    token: str | None
    counts: Counts
    started: dt.datetime | None
    last_completed: dt.datetime | None


def _noticed_by_oai(old: Entry, new: Entry, merged: Entry) -> tuple[VenueChange, ...]:
    """Journal-refs and DOIs a harvest brings for stored papers (venue events)."""
    return venue_changes(old, new, merged, source="oai")


def merge_harvested(old: Entry, new: Entry) -> Entry:
    """``merge``, except that OAI's first-version date (a day, read as 00:00 UTC) does
    not replace a stored timestamp of that paper's first version from around that day
    (the API's, to the second); arXiv's day is not always the UTC one."""
    merged = merge(old, new)
    if (
        old.published
        and not dated_by_id(old)  # the month of the id: any day is better
        and new.published
        and merged.published != old.published
        and abs(old.published - new.published) < _DAY_SLACK
    ):
        return replace(merged, published=old.published)
    return merged


def _when(value: object) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None


class Backfill:
    def __init__(
        self,
        storage: Storage,
        client: OaiClient,
        *,
        pretag: PretagFn,
        clock: Callable[[], dt.datetime],
        batch_size: int = BATCH,
    ) -> None:
        self.storage = storage
        self.client = client
        self.pretag = pretag  # fields computed before each write transaction
        self.clock = clock
        self.batch_size = batch_size

    # --- the saved state ------------------------------------------------------------

    def saved(self, harvest: Harvest) -> _State | None:
        raw = self.storage.get_meta(harvest.key)
        if not raw:
            return None
        try:
            data = json.loads(raw)
            known = {f.name for f in dataclasses.fields(Counts)}
            counts = Counts(**{k: int(v) for k, v in data.get("counts", {}).items() if k in known})
            return _State(
                url=str(data.get("url", "")),
                token=data.get("token") or None,
                counts=counts,
                started=_when(data.get("started")),
                last_completed=_when(data.get("last_completed")),
            )
        except (ValueError, TypeError) as e:
            log.warning("unreadable backfill state ignored key=%s error=%s", harvest.key, e)
            return None

    def _save(self, harvest: Harvest, state: _State) -> None:
        data = {
            "url": state.url,
            "set": harvest.set_spec,
            "from": harvest.since.isoformat() if harvest.since else None,
            "until": harvest.until.isoformat() if harvest.until else None,
            "prefix": harvest.prefix,
            "token": state.token,
            "counts": dataclasses.asdict(state.counts),
            "started": state.started.isoformat() if state.started else None,
            "saved": self.clock().isoformat(),
            "last_completed": state.last_completed.isoformat() if state.last_completed else None,
        }
        self.storage.set_meta(harvest.key, json.dumps(data, sort_keys=True))

    # --- the harvest ----------------------------------------------------------------

    def run(self, harvest: Harvest, progress: Progress | None = None) -> BackfillReport:
        say = progress or (lambda message: None)
        saved = self.saved(harvest)
        report = BackfillReport(harvest, last_completed=saved.last_completed if saved else None)
        token: str | None = None
        started = self.clock()
        if saved and saved.token and saved.url == self.client.url:
            token, started, report.resumed = saved.token, saved.started or started, True
            report.counts = replace(saved.counts)
            say(
                f"resuming the unfinished harvest ({harvest.describe()}) at page "
                f"{saved.counts.pages + 1}, {saved.counts.records} records read so far"
            )
        counts = report.counts
        first = True
        ahead = self._read_ahead(harvest, token)
        try:
            while True:
                try:
                    page = self._store_page(ahead, counts)
                except OaiError as e:
                    if e.code == BAD_TOKEN and first and report.resumed:
                        # Resumption tokens expire upstream; storing is idempotent, so the
                        # whole harvest runs again rather than failing.
                        say(
                            "arXiv no longer knows the saved resumption token (they expire): "
                            "starting the harvest again from the beginning; papers already "
                            "stored are not duplicated"
                        )
                        token, report.resumed, report.restarted = None, False, True
                        report.counts = counts = Counts()
                        started = self.clock()
                        first = False
                        ahead.close()
                        ahead = self._read_ahead(harvest, None)
                        continue
                    raise self._failed(e, harvest, counts, token) from e
                except SourceError as e:
                    raise self._failed(e, harvest, counts, token) from e
                first = False
                counts.pages += 1
                report.nothing_matched = report.nothing_matched or page.no_records
                token = page.token
                done = self.clock() if token is None else None
                last = done or report.last_completed
                self._save(harvest, _State(self.client.url, token, counts, started, last))
                of = f" of {page.complete_size}" if page.complete_size else ""
                say(
                    f"page {counts.pages}: {counts.records}{of} records, {counts.new} new, "
                    f"{counts.updated} updated, {counts.deleted} deleted"
                )
                if done is not None:
                    report.completed = done
                    return report
        finally:
            ahead.close()

    def _read_ahead(self, harvest: Harvest, token: str | None) -> ReadAhead:
        """The harvest's pages from ``token`` on, fetched and read in a thread while the
        previous page is stored (``tracker.fetch.readahead``)."""

        def fetch(page_token: str | None) -> OaiPage:
            return self.client.list_records(
                prefix=harvest.prefix,
                set_spec=harvest.set_spec,
                since=harvest.since,
                until=harvest.until,
                token=page_token,
            )

        return ReadAhead(fetch, token, self.batch_size)

    def _store_page(self, ahead: ReadAhead, counts: Counts) -> PageEnd:
        """Store the next page, batch by batch; its end."""
        deleted: list[str] = []

        def store(records: list[OaiRecord]) -> None:
            batch: list[Entry] = []
            for record in records:
                counts.records += 1
                if record.deleted:
                    counts.deleted += 1
                    if record.arxiv_id:
                        deleted.append(record.arxiv_id)
                elif record.entry is None:
                    counts.skipped += 1
                    log.info(
                        "OAI record skipped (no arXiv metadata) identifier=%s", record.identifier
                    )
                else:
                    batch.append(record.entry)
            if batch:
                self._store(batch, counts)

        end = ahead.read_page(store)
        for arxiv_id in deleted:  # rare: a few per harvest
            try:
                self.storage.item(arxiv_id)
            except NotFoundError:
                continue
            counts.deleted_stored += 1
            log.info("paper deleted upstream, kept here arxiv_id=%s", arxiv_id)
        return end

    def _store(self, batch: list[Entry], counts: Counts) -> None:
        keyed = [(replace(e, key=ids.item_key(e, "")), ()) for e in batch]
        tag = self.pretag([entry for entry, _ in keyed])
        result = self.storage.ingest(
            keyed,
            self.clock(),
            merge=merge_harvested,
            prepare=normalise_new,
            tag=tag,
            notice=_noticed_by_oai,
        )
        counts.new += result.new_items
        counts.updated += result.updated_items
        counts.unchanged += len(result.item_ids) - result.new_items - result.updated_items

    def _failed(
        self, error: SourceError, harvest: Harvest, counts: Counts, token: str | None
    ) -> SourceError:
        where = f"page {counts.pages + 1} ({counts.records} records read before it)"
        if isinstance(error, OaiError) and token is None:
            # Refused outright (badArgument, cannotDisseminateFormat, noSetHierarchy):
            # running it again will not help.
            return SourceError(f"arXiv refused the harvest ({harvest.describe()}): {error}")
        if token is None:
            hint = "no page was finished yet; run the same command again to start over"
        else:
            hint = (
                "progress is saved: run the same command again (same --set, --from, "
                "--until and --prefix) to resume from this page"
            )
        return SourceError(f"backfill stopped at {where}: {error}; {hint}")

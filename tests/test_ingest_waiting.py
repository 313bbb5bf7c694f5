"""A fetch cycle's ingest on SQLite (``index_later``: new items wait for the search
index, written as prebuilt tuples with their ids taken up front) stores the rows the
ingest of one feed at a time stores, column by column, the search index included once
the waiting items are indexed: papers with and without categories, without dates,
repeated in a batch, and stored ones updated by a later batch."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import replace
from pathlib import Path

import feedparser

from bench.corpus import papers
from tests.test_bulk import FIELDS_FILE, keyed, rows, waiting_from
from tracker.fetch.merge import merge, normalise_new
from tracker.fetch.venues import venue_changes
from tracker.fields.mapping import FieldMap
from tracker.models import Entry
from tracker.storage import Storage, open_storage

NOW = dt.datetime(2024, 2, 1, 12, 0, tzinfo=dt.UTC)
DATA = Path(__file__).parent / "data" / "feeds-realworld"


def feed_entries() -> list[Entry]:
    """Real feed texts as entries without categories: keyword-tagged."""
    found: list[Entry] = []
    for path in sorted(DATA.rglob("*.xml"))[:6]:
        for n, raw in enumerate(feedparser.parse(path.read_bytes()).entries[:15]):
            found.append(
                Entry(
                    key="",
                    title=raw.get("title", ""),
                    summary=raw.get("summary", ""),
                    url=f"https://blog.example/{path.stem}/{n}",
                )
            )
    return found


def batches() -> list[list[Entry]]:
    synthetic = list(papers(80, seed=5))
    plain = [
        replace(e, categories=(), primary_category=None, arxiv_id=None) for e in synthetic[60:]
    ]
    odd = [
        replace(synthetic[0], title="Twice in one batch, the second is merged", version=3),
        replace(synthetic[1], published=None, updated=None, version=None),
    ]
    first = keyed(synthetic[:40] + odd + feed_entries())
    changed = [
        replace(e, title=e.title + " (revised)", version=(e.version or 1) + 1)
        for e in synthetic[30:40]
    ]
    second = keyed(changed + synthetic[40:60] + plain)
    return [first, second]


def store(storage: Storage, index_later: bool) -> None:
    fields = FieldMap.from_dict(tomllib.loads(FIELDS_FILE.read_text()), str(FIELDS_FILE))
    for n, batch in enumerate(batches()):
        storage.ingest(
            [(e, ()) for e in batch],
            NOW + dt.timedelta(minutes=n),
            merge=merge,
            prepare=normalise_new,
            tag=fields.tag,
            notice=venue_changes,
            index_later=index_later,
        )
    storage.index_waiting()


def test_a_cycles_ingest_stores_the_rows_of_the_ingest_one_at_a_time(tmp_path: Path) -> None:
    at_once, waiting = (open_storage(f"sqlite:///{tmp_path}/{name}.db") for name in ("a", "b"))
    try:
        store(at_once, index_later=False)
        store(waiting, index_later=True)
        expected, got = rows(at_once), rows(waiting)
        assert len(expected["items"]) > 100 and len(expected["item_fields"]) > 100
        for table in expected:
            assert got[table] == expected[table], table
        assert waiting_from(waiting) is None
        assert waiting.check_integrity() == []
    finally:
        at_once.close()
        waiting.close()

"""The bulk write path of ``tracker backfill`` (``storage/bulk.py``), on both backends.

The rows it writes must be the rows ``ingest`` writes for the same entries, column by
column (the search index included); a harvest killed at any moment leaves SQLite's
search index holding exactly the papers below the "not indexed from" mark, and the next
harvest, fetch cycle or ``tracker db upgrade`` indexes the rest; a fetch cycle storing
papers while a harvest runs loses none of them; a record harvested again is merged
into its item. Afterwards text search finds every paper.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from tests.support import pg
from tests.support.data import REPO
from tests.test_backfill import (
    ARGS,
    OaiServer,
    _recorded_records,
    backfill,
    envelope,
    record_xml,
)
from tracker import ids
from tracker.cli import main
from tracker.config import load_settings
from tracker.fetch.backfill import merge_harvested
from tracker.fetch.merge import normalise_new
from tracker.fields.mapping import FieldMap
from tracker.models import API, Entry
from tracker.sources.oai import OaiPage
from tracker.storage import Storage, open_storage, schema

BACKENDS = ["sqlite", "postgresql"]
FIELDS_FILE = REPO / "tracker" / "fields" / "fields.toml"
NOW = dt.datetime(2024, 2, 1, 12, 0, tzinfo=dt.UTC)
TABLES = {
    "items": "id",
    "item_fields": "item_id, position",
    "item_categories": "item_id, category",
    "item_versions": "item_id, version",
    "sightings": "item_id, source_id",
}


@contextmanager
def database_url(backend: str, folder: Path, name: str = "t") -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder}/{name}.db"
        return
    with pg.scratch_database() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def field_map() -> FieldMap:
    with FIELDS_FILE.open("rb") as f:
        return FieldMap.from_dict(tomllib.load(f), str(FIELDS_FILE))


def parsed(body: bytes) -> list[Entry]:
    return [r.entry for r in OaiPage(body, "test") if r.entry is not None]


def keyed(entries: list[Entry]) -> list[Entry]:
    return [replace(e, key=ids.item_key(e, "")) for e in entries]


def rows(storage: Storage) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the item tables, and of SQLite's search index."""
    found: dict[str, list[tuple[object, ...]]] = {}
    with storage.engine.connect() as conn:
        for table, order in TABLES.items():
            found[table] = [
                tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {order}")
            ]
        if storage.dialect == "sqlite":
            for table, order in (("items_fts_vocab", "term"), ("items_fts_docsize", "id")):
                found[table] = [
                    tuple(r)
                    for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {order}")
                ]
    return found


def indexed_ids(storage: Storage) -> set[int]:
    """The items SQLite's search index holds (one ``docsize`` row per indexed item)."""
    with storage.engine.connect() as conn:
        return {r[0] for r in conn.exec_driver_sql("SELECT id FROM items_fts_docsize")}


def waiting_from(storage: Storage) -> int | None:
    with storage.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT min(from_id) FROM items_fts_pending").scalar()


def assert_index_consistent(storage: Storage) -> None:
    """The index holds exactly the items below the mark (all of them without one)."""
    if storage.dialect != "sqlite":
        return
    mark = waiting_from(storage)
    with storage.engine.connect() as conn:
        every = {r[0] for r in conn.exec_driver_sql("SELECT id FROM items")}
    assert indexed_ids(storage) == {n for n in every if mark is None or n < mark}


def assert_every_paper_found(storage: Storage, numbers: range) -> None:
    """Text search finds every paper whose title says "paper number" (as many as SQL
    counts), and a sample of the synthetic ones each by its own title phrase alone."""
    with storage.engine.connect() as conn:
        titled = conn.execute(
            sa.select(sa.func.count()).where(schema.items.c.title.contains("paper number"))
        ).scalar()
    assert storage.search_count('"paper number"', cap=100_000) == titled
    step = max(1, len(numbers) // 40)
    for n in [*numbers[::step], *numbers[-1:]]:
        hits = storage.search(f'"paper number {n}"', limit=5)
        assert [h.item.arxiv_id for h in hits] == [f"2401.{n:05d}"], n


# --- the same rows as ingest ------------------------------------------------------------


def test_bulk_rows_are_the_rows_ingest_writes_column_by_column(
    backend: str, tmp_path: Path, field_map: FieldMap, fixtures_dir: Path
) -> None:
    hepcrawl = fixtures_dir / "arxiv-oai" / "hepcrawl"
    synthetic = parsed(envelope("".join(record_xml(n) for n in range(120)), None))
    recorded = parsed((hepcrawl / "functional_arxiv-physics-hep-th.xml").read_bytes())
    recorded += parsed(envelope(_recorded_records(hepcrawl), None))
    assert len(recorded) > 10
    odd = [
        replace(synthetic[0], title="Twice in one batch, the second is merged", version=3),
        replace(synthetic[1], arxiv_id="2312.99999", published=None, version=None, doi=None),
        replace(synthetic[2], arxiv_id="2312.99998", title="  Ragged\u00a0 text  ", quality=API),
    ]
    before = keyed(synthetic[100:])  # stored before the harvest: merged, not bulk-written
    batches = [keyed(synthetic[:50] + odd), keyed(synthetic[50:] + recorded)]

    def store(storage: Storage, bulk: bool) -> None:
        common = dict(merge=merge_harvested, prepare=normalise_new, tag=field_map.tag)
        storage.ingest([(e, ()) for e in before], NOW, **common)  # type: ignore[arg-type]
        for n, batch in enumerate(batches):
            now = NOW + dt.timedelta(minutes=n)
            if bulk:
                storage.store_harvested(batch, now, **common)  # type: ignore[arg-type]
            else:
                storage.ingest([(e, ()) for e in batch], now, **common)  # type: ignore[arg-type]
        storage.index_waiting()

    with (
        database_url(backend, tmp_path, "ingest") as one,
        database_url(backend, tmp_path, "bulk") as two,
    ):
        by_ingest, by_bulk = open_storage(one), open_storage(two)
        try:
            store(by_ingest, bulk=False)
            store(by_bulk, bulk=True)
            expected, got = rows(by_ingest), rows(by_bulk)
            assert len(expected["items"]) > 122
            for table in expected:
                assert got[table] == expected[table], table
            assert by_bulk.check_integrity() == [] and waiting_from_any(by_bulk) is None
            assert_every_paper_found(by_bulk, range(3, 120))
        finally:
            by_ingest.close()
            by_bulk.close()


def waiting_from_any(storage: Storage) -> int | None:
    return waiting_from(storage) if storage.dialect == "sqlite" else None


# --- writers side by side -----------------------------------------------------------------


def test_papers_a_fetch_cycle_stores_during_a_harvest_are_all_indexed(
    backend: str, tmp_path: Path, field_map: FieldMap
) -> None:
    """Another process's writes while harvested papers wait: new papers (also ones the
    harvest brings later), updates of waiting and of indexed papers."""
    harvested = keyed(parsed(envelope("".join(record_xml(n) for n in range(300)), None)))
    common = dict(merge=merge_harvested, prepare=normalise_new, tag=field_map.tag)
    with database_url(backend, tmp_path) as url:
        harvest, cycle = open_storage(url), open_storage(url)
        try:
            harvest.store_harvested(harvested[:100], NOW, **common)  # type: ignore[arg-type]
            harvest.index_waiting()
            harvest.store_harvested(harvested[100:200], NOW, **common)  # type: ignore[arg-type]
            if backend == "sqlite":
                assert waiting_from(harvest) is not None
            fetched = [
                replace(harvested[5], title="Indexed paper number 5 renamed"),
                replace(harvested[150], title="Waiting paper number 150 renamed"),
                replace(harvested[250], quality=API),  # the harvest brings it later too
                *keyed(parsed(envelope("".join(record_xml(n) for n in range(300, 310)), None))),
            ]
            cycle.ingest([(e, ()) for e in fetched], NOW, **common)  # type: ignore[arg-type]
            assert_index_consistent(harvest)
            harvest.store_harvested(harvested[200:], NOW, **common)  # type: ignore[arg-type]
            assert_index_consistent(harvest)
            harvest.index_waiting()
            assert_index_consistent(harvest)
            assert harvest.check_integrity() == []
            assert harvest.count_items() == 310
            assert_every_paper_found(harvest, range(300, 310))
            assert_every_paper_found(harvest, range(6, 150))
            assert_every_paper_found(harvest, range(151, 300))
            for word, n in (("indexed", 5), ("waiting", 150)):
                hits = harvest.search(f"{word} renamed")
                assert [h.item.arxiv_id for h in hits] == [f"2401.{n:05d}"]
        finally:
            harvest.close()
            cycle.close()


def test_a_fetch_cycles_new_papers_wait_for_the_index_and_are_all_found_after(
    backend: str, tmp_path: Path, field_map: FieldMap
) -> None:
    """``ingest(index_later=True)``, as a fetch cycle stores: new papers wait from the
    first of them on, batch after batch (a mark already there stays where it is); a
    waiting paper and an indexed one are updated meanwhile; a harvest's papers wait
    among them; the index is consistent at every step and whole after
    ``index_waiting``."""
    papers = keyed(parsed(envelope("".join(record_xml(n) for n in range(400)), None)))
    common = dict(merge=merge_harvested, prepare=normalise_new, tag=field_map.tag)
    with database_url(backend, tmp_path) as url:
        storage = open_storage(url)
        try:
            storage.ingest([(e, ()) for e in papers[:100]], NOW, **common)  # type: ignore[arg-type]
            assert waiting_from(storage) is None if backend == "sqlite" else True
            first = None
            for batch in (papers[100:150], papers[150:200]):
                report = storage.ingest(
                    [(e, ()) for e in batch],
                    NOW,
                    index_later=True,
                    **common,  # type: ignore[arg-type]
                )
                assert report.new_items == 50
                first = first or min(report.item_ids)
                assert_index_consistent(storage)
                if backend == "sqlite":  # from the first new paper on, however many batches
                    assert waiting_from(storage) == first
            changed = [
                replace(papers[5], title="Indexed paper number 5 renamed"),
                replace(papers[120], title="Waiting paper number 120 renamed"),
                *papers[200:250],
            ]
            storage.ingest([(e, ()) for e in changed], NOW, index_later=True, **common)  # type: ignore[arg-type]
            assert_index_consistent(storage)
            storage.store_harvested(papers[250:300], NOW, **common)  # type: ignore[arg-type]
            storage.ingest([(e, ()) for e in papers[300:]], NOW, index_later=True, **common)  # type: ignore[arg-type]
            assert_index_consistent(storage)
            storage.index_waiting()
            assert_index_consistent(storage)
            if backend == "sqlite":
                assert waiting_from(storage) is None
            assert storage.check_integrity() == []
            assert storage.count_items() == 400
            assert_every_paper_found(storage, range(6, 120))
            assert_every_paper_found(storage, range(121, 400))
            for word, n in (("indexed", 5), ("waiting", 120)):
                hits = storage.search(f"{word} renamed")
                assert [h.item.arxiv_id for h in hits] == [f"2401.{n:05d}"]
        finally:
            storage.close()


def test_a_fetch_cycle_running_while_a_harvest_stores_loses_nothing(
    backend: str, tmp_path: Path, field_map: FieldMap, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real harvest (paced, in a thread) and writes of a fetch cycle in between."""
    with database_url(backend, tmp_path, "db") as url, oai_server(1_200, 200) as oai:
        monkeypatch.setenv("TRACKER_DATABASE_URL", url)
        config = write(tmp_path, oai.url, min_interval=0.15)
        result: list[object] = []
        worker = threading.Thread(target=lambda: result.append(backfill(config)))
        worker.start()
        common = dict(merge=merge_harvested, prepare=normalise_new, tag=field_map.tag)
        other = open_storage(url)
        try:
            fetched = keyed(
                parsed(envelope("".join(record_xml(n) for n in range(1_200, 1_260)), None))
            )
            later = keyed(
                parsed(envelope("".join(record_xml(n) for n in range(1_000, 1_020)), None))
            )
            for n in range(0, 60, 10):  # while pages keep arriving
                time.sleep(0.1)
                other.ingest([(e, ()) for e in fetched[n : n + 10]], NOW, **common)  # type: ignore[arg-type]
            other.ingest([(e, ()) for e in later], NOW, **common)  # type: ignore[arg-type]
            worker.join(timeout=120)
            assert result and result[0].exit_code == 0, result  # type: ignore[attr-defined]
            assert len(oai.requests()) == 6
            assert other.count_items() == 1_260
            assert other.check_integrity() == []
            assert_index_consistent(other)
            assert waiting_from_any(other) is None
            assert_every_paper_found(other, range(1_260))
        finally:
            other.close()


# --- crashes --------------------------------------------------------------------------------


def test_a_harvest_killed_mid_way_leaves_the_index_consistent_and_loses_nothing(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL while a page is stored (4 transactions before its papers are indexed),
    until a kill has left papers waiting; the index then holds exactly the papers below
    the mark; a fetch cycle indexes the rest; the harvest run again resumes and ends
    with every paper found by text search."""
    with database_url(backend, tmp_path, "db") as url, oai_server(6_000, 2_000) as oai:
        monkeypatch.setenv("TRACKER_DATABASE_URL", url)
        config = write(tmp_path, oai.url, min_interval=0.0)
        env = {**os.environ, "TRACKER_DATABASE_URL": url}
        kills, left_waiting = 0, backend != "sqlite"
        # into storing page 1 (page 2 is read): the window moves with the machine's
        # speed, so the delays sweep it until one kill lands inside
        delays = (0.2, 0.1, 0.4, 0.05, 0.3, 0.6, *(0.025 * k for k in range(1, 40)))
        for delay in delays:
            seen = len(oai.requests())
            child = subprocess.Popen(
                [sys.executable, "-m", "tracker.cli", "--config", str(config), "backfill", *ARGS],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 60
            while (
                child.poll() is None
                and len(oai.requests()) < seen + 2
                and time.monotonic() < deadline
            ):
                time.sleep(0.002)
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
            child.wait()
            if child.returncode == 0 and backend == "sqlite":
                # the harvest ended before the kill: start the next try from nothing
                database = Path(str(make_url(url).database))
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{database}{suffix}").unlink(missing_ok=True)
                continue
            kills += child.returncode == -signal.SIGKILL
            storage = open_storage(url)
            try:
                assert_index_consistent(storage)
                left_waiting = left_waiting or waiting_from_any(storage) is not None
            finally:
                storage.close()
            if left_waiting and kills:
                break
        assert kills and left_waiting

        settings = load_settings(config)
        from tracker.app.core import make_tracker

        with make_tracker(settings) as t:  # a fetch cycle: nothing due, the index caught up
            stored = t.storage.count_items()
            assert stored < 6_000
            t.fetch()
            assert waiting_from_any(t.storage) is None
            assert t.storage.check_integrity() == []
            assert_every_paper_found(t.storage, range(stored))

        again = CliRunner().invoke(
            main, ["--config", str(config), "backfill", *ARGS], catch_exceptions=False
        )
        assert again.exit_code == 0, again.output
        storage = open_storage(url)
        try:
            assert storage.count_items() == 6_000
            assert storage.check_integrity() == []
            assert waiting_from_any(storage) is None
            assert_every_paper_found(storage, range(6_000))
        finally:
            storage.close()


def test_db_upgrade_indexes_what_an_interrupted_harvest_left_waiting(
    tmp_path: Path, field_map: FieldMap
) -> None:
    with database_url("sqlite", tmp_path) as url:
        storage = open_storage(url)
        try:
            entries = keyed(parsed(envelope("".join(record_xml(n) for n in range(50)), None)))
            storage.store_harvested(
                entries, NOW, merge=merge_harvested, prepare=normalise_new, tag=field_map.tag
            )
            assert indexed_ids(storage) == set() and waiting_from(storage) == 1
            assert storage.search('"paper number 7"') == []  # waiting: not found yet
        finally:
            storage.close()
        config = write(tmp_path, "http://127.0.0.1:9")
        upgrade = CliRunner().invoke(
            main, ["--config", str(config), "db", "upgrade"], env={"TRACKER_DATABASE_URL": url}
        )
        assert upgrade.exit_code == 0, upgrade.output
        storage = open_storage(url)
        try:
            assert waiting_from(storage) is None and storage.check_integrity() == []
            assert_every_paper_found(storage, range(50))
        finally:
            storage.close()


# --- harvesting again -----------------------------------------------------------------------


def test_a_changed_record_harvested_again_updates_its_item(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database_url(backend, tmp_path, "db") as url, oai_server(1_000, 250) as oai:
        monkeypatch.setenv("TRACKER_DATABASE_URL", url)
        config = write(tmp_path, oai.url)
        first = backfill(config)
        assert first.exit_code == 0, first.output
        oai.rename = (b"Synthetic   paper", b"Revised paper")  # new titles upstream
        again = backfill(config)
        assert again.exit_code == 0, again.output
        assert "1000 records in 4 pages: 0 new, 1000 updated, 0 unchanged" in again.stdout
        storage = open_storage(url)
        try:
            assert storage.count_items() == 1_000
            assert storage.check_integrity() == []
            assert storage.search_count("synthetic") == 0
            assert storage.search_count("revised", cap=2_000) == 1_000
            assert_every_paper_found(storage, range(1_000))
        finally:
            storage.close()


# --- helpers --------------------------------------------------------------------------------


class _Renaming(OaiServer):
    rename: tuple[bytes, bytes] | None = None

    def page(self, index: int) -> bytes:
        body = super().page(index)
        return body.replace(*self.rename) if self.rename else body


@contextmanager
def oai_server(total: int, page_size: int) -> Iterator[_Renaming]:
    server = _Renaming(total, page_size)
    try:
        yield server
    finally:
        server.close()


def write(folder: Path, base_url: str, min_interval: float = 0.02) -> Path:
    from tests.conftest import write_config
    from tests.test_backfill import READERS

    return write_config(folder, base_url, readers=READERS, min_interval=min_interval)


def test_papers_another_writer_stored_meanwhile_are_merged_not_duplicated(
    backend: str, tmp_path: Path, field_map: FieldMap, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between reading which keys are stored and writing the new rows, another worker
    stores some of them (PostgreSQL runs writers side by side): the batch is read again."""
    entries = keyed(parsed(envelope("".join(record_xml(n) for n in range(40)), None)))
    common = dict(merge=merge_harvested, prepare=normalise_new, tag=field_map.tag)
    with database_url(backend, tmp_path) as url:
        storage, other = open_storage(url), open_storage(url)
        try:
            other.ingest([(e, ()) for e in entries[:10]], NOW, **common)  # type: ignore[arg-type]
            real = type(storage)._ids_of
            calls = []

            def blind_once(self: Storage, conn: object, keys: list[str]) -> dict[str, int]:
                calls.append(len(keys))
                return {} if len(calls) == 1 else real(self, conn, keys)  # type: ignore[arg-type]

            monkeypatch.setattr(type(storage), "_ids_of", blind_once)
            report = storage.store_harvested(entries, NOW, **common)  # type: ignore[arg-type]
            assert len(calls) == 2
            assert (report.new_items, len(set(report.item_ids))) == (30, 40)
            assert storage.count_items() == 40
            storage.index_waiting()
            assert storage.check_integrity() == []
            assert_every_paper_found(storage, range(40))
        finally:
            storage.close()
            other.close()

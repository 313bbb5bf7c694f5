"""`tracker db upgrade`, `db status` and `db copy` as a user types them, on real
databases: a SQLite file filled through the storage's own methods (items with
categories and fields, follows, saved marks, a digest with deliveries, a scholar's
attributions), copied into a scratch PostgreSQL database and back.

Every table is compared row by row (all columns); ids are kept, new rows get fresh
ones, a copy into a database that holds data is refused and changes nothing, a copy
that fails half-way leaves the target empty, bad URLs are one clear line.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from tests.conftest import write_config
from tests.support import pg
from tests.test_storage import (
    DAY,
    HOUR,
    T0,
    category,
    feed,
    follow,
    ingest,
    load_field_map,
    paper,
    post,
    query,
)
from tracker.cli import main
from tracker.errors import StorageError
from tracker.models import (
    CacheValidators,
    FollowKind,
    LibraryRecord,
    RankReason,
    Reason,
    RisingPhrase,
    Rule,
    RuleAction,
    SearchFilters,
    VenueChange,
    VenueKind,
)
from tracker.storage import HEAD_REVISION, DigestRow, Seeds, Storage, open_storage, schema
from tracker.storage import copy as copy_module

TABLES = [t.name for t in schema.metadata.sorted_tables]


# --- a database with something in every table -------------------------------------------


def fill(url: str) -> None:
    """Write through the storage's own methods what a few weeks of use leave behind."""
    field_map = load_field_map()
    st = open_storage(url)
    try:
        dc = follow(st, "ada", category("cs.DC"))
        llm = follow(st, "ada", query('"speculative decoding"'))
        blog = follow(st, "bob", feed("https://lab.example.org/feed.xml", "Example Lab"))
        report = ingest(
            st,
            field_map,
            [
                (paper("2411.00001", "Speculative decoding at scale", announce_type="new"), [dc]),
                (paper("2411.00002", "Sparse collectives", categories=("cs.DC", "cs.LG")), [dc]),
                (paper("2411.00003", "Ünïcode in titles ✓", authors=("Émilie Châtelet",)), [llm]),
                (post("https://lab.example.org", "retreat", "Lab retreat"), [blog]),
            ],
        )
        a, b, c, blog_post = report.item_ids
        # a new version, a second sighting
        ingest(
            st,
            field_map,
            [(paper("2411.00001", "Speculative decoding at scale", version=2), [dc, llm])],
            T0 + HOUR,
        )
        st.save("ada", a, T0 + HOUR)
        st.save("bob", blog_post, T0 + 2 * HOUR)
        st.record_venue_changes([(b, VenueChange(VenueKind.DOI, "10.1/sparse", "openalex"))], T0)
        [event] = st.venue_events(b)
        # "a" is saved and has no venue: the watch claims it
        assert st.claim_venue_checks(
            T0 + DAY, since=T0 - 400 * DAY, settled=T0 + DAY, limit=5, lease=HOUR
        ) == [(a, "2411.00001")]
        day = T0.date()
        st.record_digest(
            "ada",
            day,
            T0 + HOUR,
            [
                DigestRow(
                    a,
                    "Computer Science > Systems",
                    "field",
                    (Reason(FollowKind.CATEGORY, "cs.DC"),),
                    "new",
                ),
                DigestRow(
                    b,
                    "Computer Science > Systems",
                    "field",
                    (),
                    None,
                    ("Ada Lovelace",),
                    1.5,
                    RankReason("saved", "Speculative decoding at scale", "", ("decoding",)),
                ),
            ],
            T0 + HOUR,
            ("feed https://down.example.org/feed: HTTP 503",),
            channels=("markdown", "email"),
            rising=(RisingPhrase("state space", 3, 0.1, 0.01, (("arXiv:2411.00002", "x"),)),),
            venue_events=[event.id],
        )
        st.record_weekly(
            "ada",
            day,
            T0 + 2 * HOUR,
            st.week_rows("ada", None, T0 + 2 * HOUR),
            T0 + 2 * HOUR,
            ("markdown",),
            (RisingPhrase("state space", 3, 0.1, 0.01, ()),),
        )
        st.rate("ada", c, -1, T0 + HOUR)
        st.import_library(
            "ada",
            [
                LibraryRecord("Sparse collectives", arxiv_id="2411.00002"),
                LibraryRecord("A book", "Its abstract.", ("Ann Author",), 1999),
            ],
            T0 + HOUR,
        )
        [email, markdown] = sorted(st.deliveries("ada", day), key=lambda d: d.channel)
        st.delivery_done(markdown.id, T0 + HOUR)
        st.delivery_failed(email.id, "451 try again later", T0 + 2 * HOUR)
        st.attribute([("Émilie Châtelet", c, "id", "arXiv author feed chatelet_e_1")], T0)
        st.reject("Ada Lovelace", b, T0)
        st.set_seeds(
            "Émilie Châtelet", Seeds(("E. Châtelet",), ("Voltaire",), ("physics.hist-ph",))
        )
        st.record_failure(blog, T0, "HTTP 503", T0 + DAY)
        st.store_validators(
            "https://lab.example.org/feed.xml",
            CacheValidators('"etag-1"', "Wed, 27 Nov 2024 10:00:00 GMT"),
            T0,
        )
        st.set_meta("field_map", "0123abcd")
        st.set_password_hash("ada", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", T0)
        st.add_rule("ada", Rule(RuleAction.MUTE, category="cs.CV", search=True), T0)
        st.add_rule(
            "ada", Rule(RuleAction.MUST, text="theory", follow=(FollowKind.QUERY, "llm")), T0
        )
        with st.engine.begin() as conn:  # no storage method writes these yet
            conn.execute(schema.pacing.insert().values(key="arxiv", next_at=T0 + HOUR))
            conn.execute(
                schema.sources.update()
                .where(schema.sources.c.id == dc)
                .values(claimed_by="worker-1", claimed_until=T0 + HOUR)
            )
    finally:
        st.close()


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, all columns (datetimes aware UTC through the schema's
    types), sorted: what must be equal after a copy."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return {
                t.name: sorted((tuple(r) for r in conn.execute(sa.select(t))), key=repr)
                for t in schema.metadata.sorted_tables
            }
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'data' / 'tracker.db'}"
    fill(url)
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg.scratch_database() as url:
        yield url


def tracker_cli(tmp_path: Path, database_url: str, *args: str) -> Result:
    """``tracker --config ... ARGS`` with the configured database at ``database_url``."""
    config = tmp_path / "tracker.toml"
    if not config.exists():
        write_config(tmp_path, "http://127.0.0.1:9")  # nothing is fetched here
    return CliRunner().invoke(
        main,
        ["--config", str(config), *args],
        env={"TRACKER_DATABASE_URL": database_url},
        catch_exceptions=False,
    )


# --- db copy ------------------------------------------------------------------------------


def test_sqlite_copies_into_postgresql_row_for_row(
    sqlite_url: str, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = dump(sqlite_url)
    assert all(source[name] for name in TABLES), "the fill leaves a table empty"
    monkeypatch.setattr(copy_module, "BATCH", 2)  # several batches per table

    result = tracker_cli(tmp_path, sqlite_url, "db", "copy", "--to", pg_url)
    assert result.exit_code == 0, result.output
    assert dump(pg_url) == source
    # the report: a line per table with both counts, then the summary
    for name in TABLES:
        n = len(source[name])
        assert any(line.split() == [name, str(n), str(n)] for line in result.output.splitlines())
    assert f"(revision {HEAD_REVISION})" in result.output
    assert "every table's count matches" in result.output
    assert "alembic_version" not in result.output

    st = open_storage(pg_url)
    try:
        assert st.revision() == HEAD_REVISION
        # what points at items still points at the same ones
        [saved] = st.saved_items("ada")
        assert saved.arxiv_id == "2411.00001" and saved.version == 2
        stored = st.stored_digest("ada", T0.date())
        assert stored is not None and [r.item_id for r in stored.rows] == [
            st.item("2411.00001").id,
            st.item("2411.00002").id,
        ]
        b = st.item("2411.00002").id
        assert st.rejected([b]) == {("Ada Lovelace", b)}
    finally:
        st.close()


def test_new_rows_on_the_copy_get_ids_after_the_copied_ones(
    sqlite_url: str, pg_url: str, tmp_path: Path
) -> None:
    assert tracker_cli(tmp_path, sqlite_url, "db", "copy", "--to", pg_url).exit_code == 0
    copied = dump(pg_url)
    highest = {name: max(row[0] for row in copied[name]) for name in ("items", "sources")}
    field_map = load_field_map()
    st = open_storage(pg_url)
    try:
        source_id = follow(st, "carol", category("cs.AR"))
        [item_id] = ingest(st, field_map, [(paper("2411.09999"), [source_id])]).item_ids
        st.record_digest("carol", T0.date(), T0, [DigestRow(item_id, "x", "field", (), None)], T0)
    finally:
        st.close()
    assert item_id > highest["items"] and source_id > highest["sources"]
    after = dump(pg_url)
    assert max(r[0] for r in after["digests"]) > max(r[0] for r in copied["digests"])
    assert max(r[0] for r in after["sightings"]) > max(r[0] for r in copied["sightings"])


def test_a_second_copy_is_refused_and_changes_nothing(
    sqlite_url: str, pg_url: str, tmp_path: Path
) -> None:
    assert tracker_cli(tmp_path, sqlite_url, "db", "copy", "--to", pg_url).exit_code == 0
    before = dump(pg_url)
    again = tracker_cli(tmp_path, sqlite_url, "db", "copy", "--to", pg_url)
    assert again.exit_code == 1
    assert again.output.startswith("error: ") and "already holds data (" in again.output
    assert "items 4" in again.output and "--replace" in again.output
    assert "Traceback" not in again.output
    assert dump(pg_url) == before


def test_replace_swaps_what_the_target_held(sqlite_url: str, pg_url: str, tmp_path: Path) -> None:
    st = open_storage(pg_url)  # a worker started on the server before the move
    try:
        follow(st, "ada", category("math.AG"))
        ingest(st, load_field_map(), [(paper(f"2412.{n:05}"), []) for n in range(1, 9)])
    finally:
        st.close()
    result = tracker_cli(tmp_path, sqlite_url, "db", "copy", "--to", pg_url, "--replace")
    assert result.exit_code == 0, result.output
    assert "after deleting" in result.output
    assert dump(pg_url) == dump(sqlite_url)


def test_a_failed_copy_leaves_the_target_empty_and_can_run_again(
    sqlite_url: str, pg_url: str, tmp_path: Path
) -> None:
    # SQLite does not enforce VARCHAR lengths, PostgreSQL does: the last table fails
    st = open_storage(sqlite_url)
    try:
        st.set_meta("k" * 80, "a key longer than the column allows")
    finally:
        st.close()
    failed = tracker_cli(tmp_path, sqlite_url, "db", "copy", "--to", pg_url)
    assert failed.exit_code == 1
    assert failed.output.startswith("error: copying table meta failed")
    assert "value too long" in failed.output and "INSERT" not in failed.output
    assert all(rows == [] for rows in dump(pg_url).values())  # rolled back, migrated

    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(schema.meta.delete().where(sa.func.length(schema.meta.c.key) > 64))
    engine.dispose()
    again = tracker_cli(tmp_path, sqlite_url, "db", "copy", "--to", pg_url)
    assert again.exit_code == 0, again.output
    assert dump(pg_url) == dump(sqlite_url)


def test_postgresql_copies_back_into_sqlite(sqlite_url: str, pg_url: str, tmp_path: Path) -> None:
    assert tracker_cli(tmp_path, sqlite_url, "db", "copy", "--to", pg_url).exit_code == 0
    back = f"sqlite:///{tmp_path / 'back' / 'tracker.db'}"
    result = tracker_cli(tmp_path, pg_url, "db", "copy", "--to", back)
    assert result.exit_code == 0, result.output
    assert dump(back) == dump(sqlite_url)
    st = open_storage(back)
    try:
        assert st.check_integrity() == []  # the FTS5 index was built by its triggers
        hits = st.search("speculative decoding")
        assert [h.item.arxiv_id for h in hits] == ["2411.00001"]
        assert [h.item.arxiv_id for h in st.search("", SearchFilters(category="cs.LG"))] == [
            "2411.00002"
        ]
    finally:
        st.close()


def test_search_works_on_the_postgresql_copy(sqlite_url: str, pg_url: str, tmp_path: Path) -> None:
    assert tracker_cli(tmp_path, sqlite_url, "db", "copy", "--to", pg_url).exit_code == 0
    st = open_storage(pg_url)
    try:
        try:
            hits = st.search("speculative decoding")
        except StorageError as e:
            if "not available" not in str(e):
                raise
            pytest.skip(f"PostgreSQL search is not there yet: {e}")
        assert [h.item.arxiv_id for h in hits] == ["2411.00001"]
        assert [h.item.title for h in st.search("ünïcode")] == ["Ünïcode in titles ✓"]
    finally:
        st.close()


@pytest.mark.parametrize(
    ("target", "code", "message"),
    [
        ("not a url", 2, "not a database URL: 'not a url'"),
        ("mysql://root@127.0.0.1/tracker", 2, "SQLite or PostgreSQL only"),
        ("sqlite://", 2, "give the SQLite file"),
        ("postgresql://tracker:s3cret@127.0.0.1:port/x", 2, "not a database URL"),
        ("postgresql://tracker:s3cret@127.0.0.1:1/nowhere", 1, "cannot open the target database"),
    ],
)
def test_bad_targets_are_one_clear_line(
    sqlite_url: str, tmp_path: Path, target: str, code: int, message: str
) -> None:
    before = dump(sqlite_url)
    result = tracker_cli(tmp_path, sqlite_url, "db", "copy", "--to", target)
    assert result.exit_code == code, result.output
    [line] = result.output.splitlines()
    assert line.startswith("error: ") and message in line
    assert "s3cret" not in line  # passwords are never shown
    assert dump(sqlite_url) == before


def test_copying_a_database_onto_itself_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    same = f"sqlite:///{Path(path).parent}/../data/tracker.db"
    result = tracker_cli(tmp_path, sqlite_url, "db", "copy", "--to", same)
    assert result.exit_code == 2 and "is the database being copied" in result.output


def test_an_old_source_must_be_upgraded_first(tmp_path: Path) -> None:
    old = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(old)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('0002')")
    engine.dispose()
    target = f"sqlite:///{tmp_path / 'new.db'}"
    result = tracker_cli(tmp_path, old, "db", "copy", "--to", target)
    assert result.exit_code == 1
    assert f"at revision 0002, this tracker expects {HEAD_REVISION}" in result.output
    assert "tracker db upgrade" in result.output


# --- db upgrade and db status ---------------------------------------------------------------


def test_upgrade_and_status_report_revisions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'tracker.db'}"
    status = tracker_cli(tmp_path, url, "db", "status")
    assert status.exit_code == 0, status.output
    assert "revision: none yet" in status.output

    created = tracker_cli(tmp_path, url, "db", "upgrade")
    assert created.exit_code == 0
    assert created.output.strip() == f"database created at revision {HEAD_REVISION}"

    # an older database: the migrations from 0002 on run, and say so
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_items_first_seen_at_id")
        conn.exec_driver_sql("DROP INDEX ix_item_categories_item_id_category")
        conn.exec_driver_sql("DROP TABLE digest_venues")
        conn.exec_driver_sql("DROP TABLE venue_checks")
        conn.exec_driver_sql("DROP TABLE venue_events")
        conn.exec_driver_sql("DROP TABLE weekly_deliveries")
        conn.exec_driver_sql("DROP TABLE weekly_digests")
        conn.exec_driver_sql("ALTER TABLE digests DROP COLUMN removed")
        conn.exec_driver_sql("ALTER TABLE items DROP COLUMN code_links")
        conn.exec_driver_sql("ALTER TABLE items DROP COLUMN has_code")
        conn.exec_driver_sql("DROP TABLE ratings")
        conn.exec_driver_sql("DROP TABLE library_entries")
        conn.exec_driver_sql("ALTER TABLE digest_items DROP COLUMN score")
        conn.exec_driver_sql("ALTER TABLE digest_items DROP COLUMN note")
        conn.exec_driver_sql("ALTER TABLE digests DROP COLUMN rising")
        conn.exec_driver_sql("DROP TABLE pacing")
        conn.exec_driver_sql("DROP TABLE credentials")
        conn.exec_driver_sql("DROP TABLE rules")
        conn.exec_driver_sql("ALTER TABLE follows DROP COLUMN groups")
        conn.exec_driver_sql("ALTER TABLE sources DROP COLUMN claimed_by")
        conn.exec_driver_sql("ALTER TABLE sources DROP COLUMN claimed_until")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0002'")
    engine.dispose()
    behind = tracker_cli(tmp_path, url, "db", "status")
    assert f"revision: 0002 ({HEAD_REVISION} available: tracker db upgrade)" in behind.output
    upgraded = tracker_cli(tmp_path, url, "db", "upgrade")
    assert upgraded.exit_code == 0
    assert upgraded.output.strip() == f"database upgraded from revision 0002 to {HEAD_REVISION}"
    again = tracker_cli(tmp_path, url, "db", "upgrade")
    assert again.output.strip() == f"database already up to date (revision {HEAD_REVISION})"

    fill(url)
    status = tracker_cli(tmp_path, url, "db", "status")
    assert status.exit_code == 0
    assert status.output.splitlines()[1:] == [
        "backend:  sqlite",
        f"revision: {HEAD_REVISION}",
        "items:    4",
    ]


def test_status_hides_the_password(pg_url: str, tmp_path: Path) -> None:
    with_password = pg_url.replace("tracker@", "tracker:s3cret@", 1)
    tracker_cli(tmp_path, pg_url, "db", "upgrade")
    status = tracker_cli(tmp_path, with_password, "db", "status")  # trust auth: any password
    assert status.exit_code == 0, status.output
    assert "s3cret" not in status.output and "***" in status.output
    assert "backend:  postgresql" in status.output


def test_workers_starting_together_migrate_once(pg_url: str) -> None:
    """`docker compose up --scale worker=3` on an empty database: each worker migrates
    at start; they must not trip over each other."""
    errors: list[BaseException] = []
    storages: list[Storage] = []

    def start() -> None:
        try:
            storages.append(open_storage(pg_url))
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for st in storages:
        st.close()
    assert not any(t.is_alive() for t in threads), "a migration is stuck"
    assert errors == [] and len(storages) == len(threads)
    st = open_storage(pg_url, migrate=False)
    try:
        assert st.revision() == HEAD_REVISION
    finally:
        st.close()


def test_a_copy_reads_one_snapshot_of_the_source(sqlite_url: str, tmp_path: Path) -> None:
    """Rows written to the source during a copy are not half in it: counts still match."""
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    writes: list[int] = []

    def write_meanwhile(message: str) -> None:
        if message.startswith("items:") and not writes:
            engine = sa.create_engine(sqlite_url)
            with engine.begin() as conn:
                conn.execute(schema.meta.insert().values(key="late", value="x"))
            engine.dispose()
            writes.append(1)

    before = dump(sqlite_url)
    report = copy_module.copy_database(sqlite_url, target, batch=1, progress=write_meanwhile)
    assert writes == [1]
    assert dump(target) == before
    assert [(t.table, t.source_rows) for t in report.tables] == [
        (name, len(before[name])) for name in TABLES
    ]


# --- passwords are never shown ----------------------------------------------------------------


def test_config_check_hides_the_password(tmp_path: Path) -> None:
    url = "postgresql://tracker:s3cret@127.0.0.1:9/tracker"
    checked = tracker_cli(tmp_path, url, "config", "check")
    assert checked.exit_code == 0, checked.output
    assert "s3cret" not in checked.output
    assert "database: postgresql://tracker:***@127.0.0.1:9/tracker" in checked.output


@pytest.mark.parametrize(
    "args",
    [("status",), ("db", "status"), ("db", "upgrade"), ("config", "check")],
)
def test_a_url_that_cannot_be_read_is_one_line_without_its_password(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    url = "postgresql://tracker:s3cret@127.0.0.1:port/tracker"  # not a port number
    result = tracker_cli(tmp_path, url, *args)
    assert result.exit_code == 2, result.output
    assert "s3cret" not in result.output and "Traceback" not in result.output
    assert "database URL" in result.output and "port" in result.output


def test_logs_never_show_the_password(
    pg_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with_password = pg_url.replace("tracker@", "tracker:s3cret@", 1)
    caplog.set_level("DEBUG")
    for args in (("-vv", "status"), ("-vv", "db", "upgrade"), ("-vv", "search", "x")):
        result = tracker_cli(tmp_path, with_password, *args)
        assert "s3cret" not in result.output
    assert caplog.records and "s3cret" not in caplog.text

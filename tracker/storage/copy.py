"""Copy a whole tracker database into another: SQLite to PostgreSQL (a solo setup
moving to a lab's server), or back.

The target must hold no data (or ``replace`` deletes it first, in the copy's
transaction) and is migrated to the latest revision. Every table of
``schema.metadata`` is then copied in foreign-key order, in batches read through a
streaming cursor so memory stays constant (INSERTs, or COPY into PostgreSQL), primary
keys unchanged: digests, saved marks, attributions and sightings still point to the
same items. The copy is one transaction on the target, and the row counts of every
table are compared before it commits, so a failed copy leaves the target migrated but
as it was otherwise, and it can simply be run again. The source is read in one
snapshot.

Full-text structures are derived, never copied: SQLite's FTS5 triggers fire on insert,
and PostgreSQL's ``items.search`` is a generated column (only the columns of
``schema.metadata`` are read or written). ``alembic_version`` is the migrations' own.
PostgreSQL sequences are moved past the copied ids so new rows get fresh ones.

No printing here: the caller shows the report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Engine, Row, Table, func, inspect, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from tracker.errors import StorageError, UsageError
from tracker.storage import schema
from tracker.storage.base import (
    HEAD_REVISION,
    StorageBase,
    make_engine,
    read_database_url,
    reason,
    shown,
)

log = logging.getLogger(__name__)
BATCH = 5000
Progress = Callable[[str], None]


@dataclass(frozen=True)
class TableCopy:
    table: str
    source_rows: int
    target_rows: int


@dataclass(frozen=True)
class CopyReport:
    source: str  # URLs with any password hidden
    target: str
    revision: str
    tables: tuple[TableCopy, ...]
    replaced: int  # rows deleted from the target first (``replace``)

    @property
    def rows(self) -> int:
        return sum(t.target_rows for t in self.tables)


def parse_database_url(url: str) -> URL:
    """A URL tracker can open, or a UsageError saying what was expected."""
    parsed = read_database_url(url)
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise UsageError(f"{shown(parsed)}: tracker stores its data in SQLite or PostgreSQL only")
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise UsageError(f"{shown(parsed)}: give the SQLite file, as sqlite:///PATH")
    return parsed


def _same_database(a: URL, b: URL) -> bool:
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        return Path(a.database or "").expanduser().resolve() == (
            Path(b.database or "").expanduser().resolve()
        )
    return (a.host or "localhost", a.port or 5432, a.database) == (
        b.host or "localhost",
        b.port or 5432,
        b.database,
    )


def _order(table: Table) -> list[Column[Any]]:
    """A stable order for reading a table: its primary key, else every column."""
    return list(table.primary_key.columns) or list(table.columns)


def _count(conn: Connection, table: Table) -> int:
    return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def _existing_data(conn: Connection) -> dict[str, int]:
    """Rows in each of our tables that the database already has (absent tables skipped)."""
    present = set(inspect(conn).get_table_names())
    counts = {t.name: _count(conn, t) for t in schema.metadata.sorted_tables if t.name in present}
    return {name: n for name, n in counts.items() if n}


def _connect_check(engine: Engine, role: str, url: URL) -> None:
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as e:
        raise StorageError(f"cannot open the {role} database {shown(url)}: {reason(e)}") from e


def _reset_sequences(conn: Connection, tables: Sequence[Table]) -> None:
    """New rows on PostgreSQL get ids after the copied ones (the copy set them itself)."""
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence(:table, :column), "
                f'coalesce(max("{column.name}"), 0) + 1, false) FROM "{table.name}"'
            ),
            {"table": table.name, "column": column.name},
        )


def _write(target: Connection, table: Table, parts: Iterable[Sequence[Row[Any]]]) -> Iterator[int]:
    """Write each batch of rows into ``table``; yields the size of each batch written."""
    if target.dialect.name != "postgresql":
        for part in parts:
            target.execute(table.insert(), [dict(row._mapping) for row in part])
            yield len(part)
        return
    # PostgreSQL: COPY, several times faster than INSERTs for the tables of small rows
    # (sightings, fields, categories). The values need no conversion on the way: they
    # were read through the same column types, datetimes aware UTC.
    columns = ", ".join(f'"{c.name}"' for c in table.columns)
    raw: Any = target.connection.dbapi_connection  # same transaction as ``target``
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as c:
        for part in parts:
            for row in part:
                c.write_row(tuple(row))
            yield len(part)


def _copy_table(
    source: Connection,
    target: Connection,
    table: Table,
    total: int,
    batch: int,
    progress: Progress | None,
) -> None:
    rows = source.execution_options(yield_per=batch).execute(
        select(*table.columns).order_by(*_order(table))
    )
    done = 0
    try:
        for written in _write(target, table, rows.partitions()):
            done += written
            if progress:
                progress(f"{table.name}: {done:,} of {total:,} rows")
    except (SQLAlchemyError, target.dialect.loaded_dbapi.Error) as e:
        raise StorageError(
            f"copying table {table.name} failed: {reason(e)} (rolled back: the target "
            "holds what it held before)"
        ) from e


def copy_database(
    source_url: str,
    target_url: str,
    *,
    replace: bool = False,
    batch: int | None = None,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy every row of the database at ``source_url`` into ``target_url``, ``batch``
    rows at a time (default ``BATCH``).

    Raises UsageError for a URL tracker cannot use, StorageError when a database
    cannot be opened, the source is not at the latest revision, the target already
    holds data (without ``replace``), or the counts differ after the copy.
    """
    src_url, dst_url = parse_database_url(source_url), parse_database_url(target_url)
    if _same_database(src_url, dst_url):
        raise UsageError(f"{shown(dst_url)} is the database being copied: choose another")
    if src_url.get_backend_name() == "sqlite" and not Path(src_url.database or "").is_file():
        raise StorageError(f"no database to copy at {src_url.database}")
    source = StorageBase(make_engine(source_url))
    try:
        target = StorageBase(make_engine(target_url))
    except OSError as e:  # SQLite: the file's folder cannot be made
        source.close()
        raise StorageError(f"cannot create the target database {shown(dst_url)}: {e}") from e
    try:
        _connect_check(source.engine, "source", src_url)
        _connect_check(target.engine, "target", dst_url)
        revision = source.revision()
        if revision is None:
            raise StorageError(f"{shown(src_url)} holds no tracker database")
        if revision != HEAD_REVISION:
            raise StorageError(
                f"{shown(src_url)} is at revision {revision}, this tracker expects "
                f"{HEAD_REVISION}: upgrade it first (tracker db upgrade)"
            )
        # Look before migrating: a refused copy must leave the target as it was.
        with target.engine.connect() as conn:
            existing = _existing_data(conn)
        if existing and not replace:
            held = ", ".join(f"{name} {n:,}" for name, n in existing.items())
            raise StorageError(
                f"{shown(dst_url)} already holds data ({held}); copy into an empty "
                "database, or replace what it holds with --replace"
            )
        target.migrate()
        counts, replaced = _copy(source, target, replace, batch or BATCH, progress)
    except SQLAlchemyError as e:  # the seam: anything the drivers raise ends here
        raise StorageError(
            f"copying {shown(src_url)} to {shown(dst_url)} failed: {reason(e)}"
        ) from e
    finally:
        source.close()
        target.close()
    return CopyReport(shown(src_url), shown(dst_url), revision, tuple(counts), replaced)


def _copy(
    source: StorageBase, target: StorageBase, replace: bool, batch: int, progress: Progress | None
) -> tuple[list[TableCopy], int]:
    """Every table's rows, and the rows deleted first (``replace``)."""
    tables = schema.metadata.sorted_tables
    # One snapshot of the source (REPEATABLE READ on PostgreSQL; a read transaction is
    # one on SQLite in WAL mode), one transaction on the target.
    read = source.engine.connect()
    if source.dialect == "postgresql":
        read = read.execution_options(isolation_level="REPEATABLE READ")
    with (
        read as src,
        src.begin(),
        target.engine.connect().execution_options(tracker_write=True) as dst,
        dst.begin(),
    ):
        replaced = 0
        if replace:
            for table in reversed(tables):
                replaced += _count(dst, table)
                dst.execute(table.delete())
        counts: list[TableCopy] = []
        for table in tables:
            total = _count(src, table)
            _copy_table(src, dst, table, total, batch, progress)
            counts.append(TableCopy(table.name, total, _count(dst, table)))
            log.info("table copied table=%s rows=%d", table.name, total)
        if target.dialect == "postgresql":
            _reset_sequences(dst, tables)
        wrong = [c for c in counts if c.source_rows != c.target_rows]
        if wrong:  # raising rolls the whole copy back
            raise StorageError(
                "row counts differ after the copy: "
                + ", ".join(f"{c.table} {c.source_rows} → {c.target_rows}" for c in wrong)
            )
    return counts, replaced
